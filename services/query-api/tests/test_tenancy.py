"""Each transaction of query-api sees one business (pulse_query_api.tenancy), and hands
none to the next user of its pooled connection, however it ends."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from pulse_query_api.tenancy import business_session
from pulse_shared.db import asyncpg_dsn
from pulse_testing.infra import Infra
from pulse_testing.waiting import eventually

pytestmark = pytest.mark.integration

SEEN = text(
    "SELECT array_agg(DISTINCT business_id) FROM published_posts WHERE business_id = ANY(:mine)"
)
STATE = text("SELECT pg_backend_pid(), current_setting('pulse.business_id', true), now()")
SLEEPING = "SELECT wait_event FROM pg_stat_activity WHERE pid = $1"


@pytest.fixture
async def two_businesses(db: asyncpg.Connection) -> list[int]:
    businesses = [secrets.randbelow(2**62) + 10**12 for _ in range(2)]
    for business in businesses:
        await db.execute("INSERT INTO businesses (id) VALUES ($1)", business)
        await db.execute(
            "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
            "content_type, published_at, event_id) "
            "VALUES ($1, 'linkedin', 'p', 'a', 'text', $2, $3)",
            business, datetime(2026, 11, 2, tzinfo=UTC), uuid.uuid4(),
        )  # fmt: skip
    return businesses


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    """One pooled connection as the reader role, so every session reuses it."""
    engine = create_async_engine(infra.reader_database_url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


async def next_user_sees(engine: AsyncEngine, mine: list[int]) -> tuple[int, str, object]:
    """What the next session on the pooled connection finds: its pid, the setting, rows."""
    async with AsyncSession(engine) as session:
        pid, setting, _ = (await session.execute(STATE)).one()
        return pid, setting, (await session.execute(SEEN, {"mine": mine})).scalar()


async def test_a_session_sees_its_business_only_and_hands_it_to_nobody(
    engine: AsyncEngine, two_businesses: list[int]
) -> None:
    first, second = two_businesses
    async with business_session(engine, first) as session:
        pid, setting, began = (await session.execute(STATE)).one()
        assert setting == str(first)
        assert (await session.execute(SEEN, {"mine": two_businesses})).scalar() == [first]
        # One transaction: the statements share its start.
        assert (await session.execute(STATE)).one()[2] == began
    assert await next_user_sees(engine, two_businesses) == (pid, "", None)

    async with business_session(engine, second) as session:
        assert (await session.execute(SEEN, {"mine": two_businesses})).scalar() == [second]
        with pytest.raises(DBAPIError):
            await session.execute(text("SELECT 1 / 0"))
    assert await next_user_sees(engine, two_businesses) == (pid, "", None)


async def test_a_cancelled_query_leaves_no_transaction_behind(
    infra: Infra, engine: AsyncEngine, two_businesses: list[int]
) -> None:
    """As when a client leaves (CancelOnDisconnect cancels the request's task): cancelled
    once its query is seen running, a sleep that would outlast the test."""
    first = two_businesses[0]
    backend: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def slow() -> None:
        async with business_session(engine, first) as session:
            backend.set_result((await session.execute(STATE)).one()[0])
            await session.execute(text("SELECT pg_sleep(120)"))

    task = asyncio.create_task(slow())
    pid = await asyncio.wait_for(backend, timeout=60)
    # Another connection of the same role sees what that backend waits on.
    watch = await asyncpg.connect(asyncpg_dsn(infra.reader_database_url))
    try:

        async def sleeping() -> bool:
            waits_on: str | None = await watch.fetchval(SLEEPING, pid)
            return waits_on == "PgSleep"

        await eventually(sleeping, timeout=60, interval=0.05)
    finally:
        await watch.close()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    _, setting, seen = await next_user_sees(engine, two_businesses)
    assert (setting or "", seen) == ("", None)
