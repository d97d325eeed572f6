"""Database connections: one async SQLAlchemy engine per process, and a raw asyncpg DSN."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# asyncpg prepares every statement; after five runs PostgreSQL may switch to a generic
# plan that ignores the parameters' values. Measured on 20M snapshots, the activity-trends
# query then took 510 s instead of milliseconds: plan every run.
SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan"}

# For a service answering many small indexed reads at once on few cores: no parallel
# workers (starting them costs more than such a query, and they take the cores other
# requests need), no JIT compilation (tens of milliseconds spent to save microseconds).
READER_SERVER_SETTINGS = {
    **SERVER_SETTINGS,
    "max_parallel_workers_per_gather": "0",
    "jit": "off",
    # Every local day is computed with an explicit zone; instants the database prints
    # (the CSV export) are UTC whatever the server's default.
    "timezone": "UTC",
}


# How long opening a connection may take: a server that does not answer (a partition,
# not a refusal) fails the request in seconds, not after asyncpg's default minute.
CONNECT_TIMEOUT_S = 5.0

# What every Pulse database is created with (CREATE DATABASE <name> <this>; the shell
# scripts that create one, deploy/local/postgres.sh and deploy/docker/postgres-init.sh,
# write it out). Its text compares and sorts byte by byte: for UTF-8 the same order as
# C.UTF-8's code points, but PostgreSQL takes its fast paths for the C collation only
# (memcmp, abbreviated sort keys), and every key of the write path is text (platform,
# platform_post_id, account_id). The character classes (upper(), lower()) stay UTF-8.
DATABASE_LOCALE = "TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"


def create_engine(
    database_url: str, pool_size: int = 10, server_settings: dict[str, str] | None = None
) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={
            "server_settings": server_settings or SERVER_SETTINGS,
            "timeout": CONNECT_TIMEOUT_S,
        },
    )


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (postgresql+asyncpg://...) as a DSN asyncpg itself accepts."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


# What PostgreSQL going away looks like from asyncpg: a connection refused or broken, the
# server shutting down or crashed (57P01-57P03: "terminating connection due to
# administrator command", "the database system is shutting down"), and asyncpg's own
# confusion over a connection the server ended in the middle of an operation.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: SQLAlchemy's ``orig``, then the cause chain."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not c for c in chain):
        chain.append(current)
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )
    return chain


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached right now (as opposed to a
    query it refused)."""
    return any(
        isinstance(e, _UNREACHABLE) or (isinstance(e, DBAPIError) and e.connection_invalidated)
        for e in _chain(exc)
    )


def database_timed_out(exc: BaseException) -> bool:
    """Whether ``exc`` is a statement cancelled by its timeout (or by the server)."""
    return any(isinstance(e, asyncpg.exceptions.QueryCanceledError) for e in _chain(exc))
