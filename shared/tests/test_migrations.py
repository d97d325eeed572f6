"""The migration creates exactly the tables of pulse_shared.tables, with the roles'
privileges the design asks for."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from pulse_shared import summaries, tables
from pulse_shared.db import asyncpg_dsn
from pulse_shared.tables import metadata
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration

PARTITION = re.compile(r"^post_metric_snapshots_y\d{4}m\d{2}$")


async def test_migrated_schema_matches_table_definitions(infra: Infra) -> None:
    engine = create_async_engine(infra.database_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    await engine.dispose()

    # Partitions (and their indexes) made at run time are not in the metadata; nothing
    # else may differ.
    def on_partition(item: tuple[Any, ...]) -> bool:
        thing = item[1]
        table = getattr(thing, "table", thing)
        return bool(PARTITION.search(getattr(table, "name", "")))

    assert [d for d in diff if not on_partition(d)] == []


async def test_period_indexes_cover_what_the_period_queries_read(
    db: asyncpg.Connection,
) -> None:
    """What tables.py declares (postgresql_include) is what the migrations built: the
    autogenerate comparison above does not look at INCLUDE columns."""
    definitions = {
        r["indexname"]: r["indexdef"]
        for r in await db.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'published_posts'"
        )
    }
    for index in tables.published_posts.indexes:
        include = index.dialect_options["postgresql"]["include"]
        if include:
            assert str(index.name) in definitions, index.name
            assert definitions[str(index.name)].endswith(f"INCLUDE ({', '.join(include)})")


async def test_tables_keep_the_room_on_their_pages_that_tables_py_declares(
    db: asyncpg.Connection,
) -> None:
    """The storage options (fillfactor) of tables.py are the migrated tables': the
    autogenerate comparison does not look at them either."""
    declared = {
        table.name: [f"{k}={v}" for k, v in table.dialect_options["postgresql"]["with"].items()]
        for table in metadata.sorted_tables
        if table.dialect_options["postgresql"]["with"]
    }
    assert {"post_analytics", "analytics_summaries", "activity_daily"} <= declared.keys()
    migrated = {
        r["relname"]: r["reloptions"]
        for r in await db.fetch(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY($1::text[])",
            list(declared),
        )
    }
    assert migrated == declared


async def test_every_design_table_exists(db: asyncpg.Connection) -> None:
    names = {
        r["relname"]
        for r in await db.fetch(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p')"
        )
    }
    assert {
        "businesses",
        "business_members",
        "published_posts",
        "post_analytics",
        "post_metric_snapshots",
        "account_snapshots",
        "analytics_summaries",
    } <= names
    kind = await db.fetchval("SELECT relkind FROM pg_class WHERE relname = 'post_metric_snapshots'")
    assert kind == b"p" or kind == "p"  # partitioned


async def test_monthly_partitions_are_made_on_demand(db: asyncpg.Connection) -> None:
    await db.execute(
        "SELECT pulse_ensure_snapshot_partitions('2025-12-31 23:00+00', '2026-02-01 00:00+00')"
    )
    await db.execute(  # twice: idempotent
        "SELECT pulse_ensure_snapshot_partitions('2025-12-31 23:00+00', '2026-02-01 00:00+00')"
    )
    parts = {
        r["relname"]
        for r in await db.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'post_metric_snapshots'::regclass"
        )
    }
    assert {
        "post_metric_snapshots_y2025m12",
        "post_metric_snapshots_y2026m01",
        "post_metric_snapshots_y2026m02",
    } <= parts


async def test_application_role_is_not_a_superuser(db: asyncpg.Connection) -> None:
    assert await db.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False
    assert await db.fetchval(
        "SELECT pg_catalog.pg_get_userbyid(datdba) = current_user FROM pg_database "
        "WHERE datname = current_database()"
    )


async def test_reader_role_can_only_select(infra: Infra) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(infra.reader_database_url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM post_analytics") >= 0
        # Partitions made after the migration are readable too (default privileges).
        await conn.fetchval("SELECT count(*) FROM post_metric_snapshots")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("INSERT INTO businesses (id) VALUES (999999)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("SELECT pulse_ensure_snapshot_partitions(now(), now())")
    finally:
        await conn.close()


async def test_ingest_role_reaches_the_connected_accounts_and_the_members_only(
    infra: Infra,
) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(infra.ingest_database_url))
    try:
        await conn.execute(
            "INSERT INTO connected_accounts (business_id, platform, account_id, "
            "encrypted_token, token_kind) VALUES (4242, 'twitter', 'role-test', 'x', 'user') "
            "ON CONFLICT DO NOTHING"
        )
        await conn.execute(
            "UPDATE connected_accounts SET status = 'active' WHERE account_id = 'role-test'"
        )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM connected_accounts WHERE account_id = 'role-test'"
            )
            == 1
        )
        # Who is a member: the connect routes check it (read only).
        assert await conn.fetchval("SELECT count(*) FROM business_members") >= 0
        for table in ("published_posts", "post_analytics", "post_metric_snapshots",
                      "analytics_summaries", "account_connections"):  # fmt: skip
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f"SELECT count(*) FROM {table}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM connected_accounts")
    finally:
        await conn.close()


async def test_workspace_role_writes_the_teams_tables_only(infra: Infra) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(infra.workspace_database_url))
    try:
        business = await conn.fetchval("SELECT nextval('business_ids')")
        await conn.execute("INSERT INTO businesses (id, name) VALUES ($1, 'Team test')", business)
        await conn.execute(
            "INSERT INTO business_members (business_id, user_id, role) VALUES ($1, 'u', 'owner')",
            business,
        )
        await conn.execute(
            "UPDATE business_members SET role = 'admin' WHERE business_id = $1", business
        )
        await conn.execute(
            "INSERT INTO audit_log (business_id, actor, action) VALUES ($1, 'u', 'test')", business
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "UPDATE business_members SET role = 'member' WHERE business_id = $1", business
            )
        await conn.execute("DELETE FROM business_members WHERE business_id = $1", business)
        # Never renames, moves or deletes a business; never touches analytics or tokens.
        for statement in (
            "UPDATE businesses SET timezone = 'Europe/Berlin'",
            "DELETE FROM businesses",
            "DELETE FROM audit_log",
            "SELECT count(*) FROM published_posts",
            "SELECT count(*) FROM post_analytics",
            "SELECT count(*) FROM analytics_summaries",
            "SELECT count(*) FROM connected_accounts",
            "SELECT count(*) FROM account_connections",
            "CREATE TABLE intruder (id int)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_neither_the_reader_nor_ingest_reads_the_teams_secrets(infra: Infra) -> None:
    for url in (infra.reader_database_url, infra.ingest_database_url):
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            for table in ("users", "invites", "api_tokens", "audit_log"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.fetchval(f"SELECT count(*) FROM {table}")
        finally:
            await conn.close()


async def test_the_summaries_scratch_columns_have_the_types_of_their_tables(
    db: asyncpg.Connection,
) -> None:
    """The per-batch moves and day changes are declared from tables.py's columns: each
    holds exactly what the column it is read from or added to holds."""
    await db.execute(summaries.SETUP_SQL)
    types = """SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
               WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped"""
    pairs = [
        ("pg_temp.summary_moves", "post_analytics", summaries.STATE_COLUMNS),
        ("pg_temp.day_changes", "analytics_summaries", summaries.CHANGE_COLUMNS),
    ]
    for scratch, table, columns in pairs:
        declared = {r[0]: r[1] for r in await db.fetch(types, scratch)}
        stored = {r[0]: r[1] for r in await db.fetch(types, table)}
        assert {c: declared[c] for c in columns} == {c: stored[c] for c in columns}, scratch
