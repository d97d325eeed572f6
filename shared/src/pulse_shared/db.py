"""Database connections: one async SQLAlchemy engine per process, and a raw asyncpg DSN."""

from __future__ import annotations

from sqlalchemy.engine import make_url
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


def create_engine(
    database_url: str, pool_size: int = 10, server_settings: dict[str, str] | None = None
) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": server_settings or SERVER_SETTINGS},
    )


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (postgresql+asyncpg://...) as a DSN asyncpg itself accepts."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
