"""deploy/local/postgres.sh on a server of the test's own (another port and run directory):
the database it creates for `make up` has the locale of every Pulse database
(pulse_shared.db.DATABASE_LOCALE), as the tests' and the benchmarks' have."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from pulse_shared.db import asyncpg_dsn
from pulse_testing.infra import Infra
from pulse_testing.processes import throwaway_postgres

pytestmark = pytest.mark.integration

LOCALE = """SELECT pg_encoding_to_char(encoding), datcollate, datctype
            FROM pg_database WHERE datname = current_database()"""


async def _locale(url: str) -> tuple[str, str, str]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        row = await conn.fetchrow(LOCALE)
        return row[0], row[1], row[2]
    finally:
        await conn.close()


def test_the_database_made_by_postgres_sh_compares_text_as_every_pulse_database(
    infra: Infra,
) -> None:
    with throwaway_postgres() as server:  # migrated by alembic's own event loop: a sync test
        made_by_script = asyncio.run(_locale(server.app_url))
    tests_database = asyncio.run(_locale(infra.database_url))
    assert made_by_script == tests_database == ("UTF8", "C", "C.UTF-8")
