"""Migration 0012 on data: a membership from before roles (it could do everything) becomes
an owner; onboarding's ids start past every business; a downgrade gives the old rows back.
In a database of its own, on the session's server."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from pulse_shared.db import asyncpg_dsn
from pulse_testing.infra import ROOT, Infra

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(infra: Infra) -> AsyncIterator[tuple[Config, str]]:
    name = f"{infra.database_name}_t{secrets.token_hex(3)}"
    server = make_url(infra.database_url)
    admin = await asyncpg.connect(
        asyncpg_dsn(server.set(database="postgres").render_as_string(hide_password=False))
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    config = Config(os.path.join(ROOT, "shared", "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["reader_role"] = make_url(infra.reader_database_url).username
    config.attributes["ingest_role"] = make_url(infra.ingest_database_url).username
    config.attributes["workspace_role"] = make_url(infra.workspace_database_url).username
    try:
        await asyncio.to_thread(command.upgrade, config, "0011")
        yield config, url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_members_become_owners_and_a_downgrade_restores_them(
    database: tuple[Config, str],
) -> None:
    config, url = database
    db = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await db.execute("INSERT INTO businesses (id) VALUES (7), (40)")
        await db.execute(
            "INSERT INTO business_members (business_id, user_id) VALUES (7, 'ana'), (40, 'bo')"
        )
        await asyncio.to_thread(command.upgrade, config, "0012")
        roles = await db.fetch("SELECT user_id, role FROM business_members ORDER BY user_id")
        assert [(r["user_id"], r["role"]) for r in roles] == [("ana", "owner"), ("bo", "owner")]
        assert await db.fetchval("SELECT nextval('business_ids')") == 41
        with pytest.raises(asyncpg.NotNullViolationError):
            await db.execute("INSERT INTO business_members (business_id, user_id) VALUES (7, 'c')")
        await asyncio.to_thread(command.downgrade, config, "0011")
        roles = await db.fetch("SELECT DISTINCT role FROM business_members")
        assert [r["role"] for r in roles] == ["member"]
        for table in ("users", "invites", "api_tokens", "audit_log"):
            assert await db.fetchval("SELECT to_regclass($1)", table) is None
    finally:
        await db.close()
