"""Each database transaction of query-api sees one business.

Behind the business filter of every query, the reader role's row-level security
(migration 0008) shows a transaction only the rows of the business in its
``pulse.business_id`` setting, and no row without one. The setting is made with
``SET LOCAL``: it ends with its transaction, so a pooled connection never carries one
request's business into another's.

It costs no round trip. SQLAlchemy would send its BEGIN alone before the first query;
here the BEGIN and the SET LOCAL go in that one message instead (two statements in one
simple query), so the driver runs the connection in autocommit and this module ends the
transaction. Only a computation opens one: a cached answer touches no database.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

BUSINESS_SETTING = "pulse.business_id"


def set_business(business_id: int) -> str:
    """SQL making ``business_id`` the transaction's business (formatted as an integer, so
    nothing else can reach the statement)."""
    return f"SET LOCAL {BUSINESS_SETTING} = {business_id:d}"


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection:
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    return raw


@contextlib.asynccontextmanager
async def business_connection(
    engine: AsyncEngine, business_id: int
) -> AsyncIterator[AsyncConnection]:
    """A pooled connection inside a read-only transaction that sees ``business_id``."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        raw = await driver_connection(conn)
        await raw.execute(f"BEGIN READ ONLY; {set_business(business_id)}")
        try:
            yield conn
        finally:
            await _end(conn, raw)


async def _end(conn: AsyncConnection, raw: asyncpg.Connection) -> None:
    if raw.is_closed():
        return
    try:
        await raw.execute("ROLLBACK")
    except BaseException:
        # Never back to the pool inside the transaction, its business set.
        await conn.invalidate()
        raise


@contextlib.asynccontextmanager
async def business_session(engine: AsyncEngine, business_id: int) -> AsyncIterator[AsyncSession]:
    """A session over :func:`business_connection`."""
    async with (
        business_connection(engine, business_id) as conn,
        AsyncSession(bind=conn) as session,
    ):
        yield session
