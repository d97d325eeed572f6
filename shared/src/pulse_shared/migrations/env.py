"""Alembic environment: runs migrations over asyncpg with the URL from PulseSettings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from pulse_shared.permissions import DATABASE_ROLES, INGEST_ROLE, REPORTER_ROLE, WORKSPACE_ROLE
from pulse_shared.settings import PulseSettings
from pulse_shared.tables import SECRET_TABLES, metadata

config = context.config
target_metadata = metadata


def _url() -> str:
    return config.attributes.get("database_url") or PulseSettings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _grant_reader(connection: Connection) -> None:
    """Give the read-only role SELECT on every table, now and to come (new partitions too),
    except the secret ones.

    Done on every upgrade rather than in one revision, so that the role's name stays
    configuration and tables of later revisions are covered without repeating it.
    """
    role = config.attributes.get("reader_role") or PulseSettings().database_reader_role
    exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if exists.first() is None:
        return
    quoted = connection.dialect.identifier_preparer.quote(role)
    connection.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {quoted}"))
    connection.execute(
        text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {quoted}")
    )
    # ... but not the tables holding secrets (access tokens): revoked in the same
    # transaction, so the role never holds the grant in between.
    for table in SECRET_TABLES:
        found = connection.execute(text("SELECT to_regclass(:t)"), {"t": f"public.{table}"})
        if found.scalar() is not None:
            connection.execute(text(f"REVOKE ALL ON TABLE public.{table} FROM {quoted}"))


def _grant_rows(connection: Connection) -> None:
    """Give each restricted role its row of pulse_shared.permissions and nothing else: the
    ingest services' (the token vault, the members list), the workspace's (the teams'
    tables), the reporter's (its schedules, deliveries and alerts); no analytics table, so
    a leaked credential reads no customer numbers."""
    settings = PulseSettings()
    configured = {
        INGEST_ROLE: config.attributes.get("ingest_role") or settings.database_ingest_role,
        WORKSPACE_ROLE: config.attributes.get("workspace_role") or settings.database_workspace_role,
        REPORTER_ROLE: config.attributes.get("reporter_role") or settings.database_reporter_role,
    }
    for row, role in configured.items():
        exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.first() is None:
            continue
        quoted = connection.dialect.identifier_preparer.quote(role)
        for table, privileges in sorted(DATABASE_ROLES[row].grants.items()):
            found = connection.execute(text("SELECT to_regclass(:t)"), {"t": f"public.{table}"})
            if found.scalar() is not None:
                granted = ", ".join(sorted(privileges))
                connection.execute(text(f"GRANT {granted} ON TABLE public.{table} TO {quoted}"))
        if row == WORKSPACE_ROLE:
            # Onboarding takes a new business's id from this sequence.
            found = connection.execute(text("SELECT to_regclass('public.business_ids')"))
            if found.scalar() is not None:
                connection.execute(text(f"GRANT USAGE ON SEQUENCE public.business_ids TO {quoted}"))


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
        _grant_reader(connection)
        _grant_rows(connection)


async def run_migrations_online() -> None:
    engine = async_engine_from_config(
        {"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
