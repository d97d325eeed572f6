"""Issue 15, item 11: every change a reader can see retires the answers it affects.

A batch's commit bumps its businesses' cache versions (pulse_shared.cache), and the batch
moved its day rows itself: the next overview shows it. The roll-up refresh that follows it
changes the weeks, months and years later; it must bump too, or a weekly summary asked in
between is served from the cache after the data has settled (until the answer expires).
Unit tests of the consumer's bump rules with fakes, then the whole path: the real writer,
the real query-api and Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from redis.asyncio import Redis

from pulse_aggregator.consumer import BatchConsumer
from pulse_aggregator.records import EventBatch
from pulse_aggregator.settings import Settings
from pulse_aggregator.writer import (
    AnalyticsWriter,
    PostgresAnalyticsWriter,
    WriteResult,
    prepare_connection,
)
from pulse_shared.cache import cache_version_key
from pulse_shared.db import asyncpg_dsn
from pulse_shared.events import MetricsObserved, PostMetrics, PostPublished
from pulse_testing.fakes import FakeRedis
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess


class RefreshingWriter:
    """A writer whose summary refresh recomputes the given businesses."""

    def __init__(self, refreshed: frozenset[int]) -> None:
        self.refreshed = refreshed

    async def write(self, batch: EventBatch) -> WriteResult:
        return WriteResult(0, 0, 0, 0)

    async def refresh_summaries(self, recompute_days: bool = False) -> frozenset[int]:
        return self.refreshed


def consumer_with(writer: AnalyticsWriter, redis: Redis | FakeRedis) -> BatchConsumer:
    # The refresh and bump steps touch neither Kafka client.
    return BatchConsumer(
        Settings(),
        cast(AIOKafkaConsumer, None),
        cast(AIOKafkaProducer, None),
        writer,
        cast(Redis, redis),
    )


async def refresh_now(consumer: BatchConsumer) -> None:
    """What the loop does when the stream pauses with summaries due: the refresh, to its
    end."""
    consumer.summaries.due = True
    consumer.summaries.maybe_start(idle=True)
    assert consumer.summaries.task is not None
    assert not consumer.summaries.due  # started
    await consumer.summaries.task


async def test_a_summary_refresh_bumps_the_businesses_it_recomputed() -> None:
    redis = FakeRedis()
    consumer = consumer_with(RefreshingWriter(frozenset({7, 9})), redis)
    await refresh_now(consumer)
    assert sorted(redis.bumped) == [cache_version_key(7), cache_version_key(9)]


async def test_a_refresh_that_recomputed_nothing_bumps_nothing() -> None:
    redis = FakeRedis()
    consumer = consumer_with(RefreshingWriter(frozenset()), redis)
    await refresh_now(consumer)
    assert redis.bumped == []


async def test_a_business_added_while_a_bump_is_under_way_is_bumped_next_time() -> None:
    """A batch and a refresh may bump at once: the one that finishes first must not drop
    what the other added meanwhile."""
    redis = FakeRedis()
    consumer = consumer_with(RefreshingWriter(frozenset()), redis)
    consumer.cache.add({1})
    redis.gate.clear()
    first = asyncio.create_task(consumer.cache.bump())
    await asyncio.sleep(0)  # the first bump is now waiting on Redis
    consumer.cache.add({2})
    redis.gate.set()
    await first
    assert redis.bumped == [cache_version_key(1)]
    assert consumer.cache.pending == {2}
    await consumer.cache.bump()
    assert redis.bumped == [cache_version_key(1), cache_version_key(2)]


# --- the whole path ----------------------------------------------------------------------

PUBLISHED = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
PERIOD = {"start_date": "2026-11-01", "end_date": "2026-11-07"}


@pytest.fixture
async def writer(infra: Infra) -> AsyncIterator[PostgresAnalyticsWriter]:
    pool = await asyncpg.create_pool(
        asyncpg_dsn(infra.database_url), min_size=1, max_size=2, init=prepare_connection
    )
    try:
        yield PostgresAnalyticsWriter(pool)
    finally:
        await pool.close()


def observed(business: int, hour: int, likes: int) -> MetricsObserved:
    return MetricsObserved(
        business_id=business, platform="linkedin", platform_post_id="p", source="poll",
        observed_at=PUBLISHED.replace(hour=hour), metrics=PostMetrics(likes=likes, impressions=500),
    )  # fmt: skip


@pytest.mark.integration
async def test_a_batch_shows_at_once_and_a_roll_up_asked_before_its_refresh_is_retired(
    infra: Infra, query_api: ServiceProcess, writer: PostgresAnalyticsWriter
) -> None:
    business = secrets.randbelow(2**62) + 10**12
    _, token = await infra.token_for(business)
    redis = Redis.from_url(infra.redis_url)
    consumer = consumer_with(writer, redis)

    async def overview(client: httpx.AsyncClient) -> tuple[str, Any]:
        response = await client.get(
            "/api/v1/analytics/overview", params={"business_id": business, **PERIOD}
        )
        assert response.status_code == 200, response.text
        return response.headers["x-cache"], response.json()["summary"]["total_likes"]

    async def week(client: httpx.AsyncClient) -> tuple[str, Any]:
        """The stored weekly summary of every platform (a roll-up of the days)."""
        response = await client.get(
            "/api/v1/analytics/summaries",
            params={"business_id": business, "period_type": "weekly", **PERIOD},
        )
        assert response.status_code == 200, response.text
        rows = response.json()["summaries"]
        return response.headers["x-cache"], rows[0]["total_likes"] if rows else None

    async def batch(*events: PostPublished | MetricsObserved) -> None:
        """A batch as the consumer writes it (``steps.AfterCommit``): the transaction, then
        the bump, the summaries now due."""
        await writer.write(EventBatch.of(list(events)))
        consumer.summaries.mark_due()
        consumer.cache.add({business})
        await consumer.cache.bump()

    post = PostPublished(
        business_id=business, platform="linkedin", platform_post_id="p", account_id="a",
        published_at=PUBLISHED, content="launch", content_type="text",
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(
            base_url=query_api.url, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            await batch(post, observed(business, 10, likes=10))
            await refresh_now(consumer)
            assert await overview(client) == ("miss", 10)
            assert await week(client) == ("miss", 10)

            # A poll is written: its batch moved the day rows, so the overview shows it at
            # once; the week is not rolled up yet: the answer asked now shows it as it is,
            # and is cached.
            await batch(observed(business, 11, likes=25))
            assert await overview(client) == ("miss", 25)
            assert await week(client) == ("miss", 10)
            assert await week(client) == ("hit", 10)

            # The refresh rolls the days up: the next answer shows them.
            await refresh_now(consumer)
            assert await week(client) == ("miss", 25)
    finally:
        await redis.aclose()
