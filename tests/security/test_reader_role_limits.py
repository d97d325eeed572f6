"""Issue 13, item 1, in depth: whatever query-api sends, its database role bounds it. The
limits are set on the role at install (deploy/local/postgres.sh, as the superuser): a
statement stops after seconds, a transaction may not idle, temp files are capped, and the
role cannot lift the temp-file cap itself."""

from __future__ import annotations

import asyncpg
import pytest

from pulse_shared.db import asyncpg_dsn
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration


async def test_the_reader_role_is_bounded_and_cannot_lift_the_temp_file_cap(
    infra: Infra,
) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(infra.reader_database_url))
    try:
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("statement_timeout", "idle_in_transaction_session_timeout",
                         "temp_file_limit")
        }  # fmt: skip
        assert settings["statement_timeout"] not in ("0", "")
        assert settings["idle_in_transaction_session_timeout"] not in ("0", "")
        assert settings["temp_file_limit"] not in ("-1", "")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("SET temp_file_limit = -1")
    finally:
        await conn.close()


async def test_a_statement_past_the_limit_is_cancelled(infra: Infra) -> None:
    """The role's limit, shortened for this session (a role may lower its own): the same
    mechanism stops a runaway day series."""
    conn = await asyncpg.connect(asyncpg_dsn(infra.reader_database_url))
    try:
        await conn.execute("SET statement_timeout = '200ms'")
        with pytest.raises(asyncpg.QueryCanceledError):
            await conn.fetchval(
                "SELECT count(*) FROM generate_series('2000-01-01'::timestamptz, "
                "'infinity'::timestamptz, interval '1 day')"
            )
    finally:
        await conn.close()
