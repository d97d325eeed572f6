"""The aggregator as a real process over real Kafka and PostgreSQL."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from redis.asyncio import Redis

from pulse_shared import formulas
from pulse_shared.cache import cache_version
from pulse_shared.topics import (
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_REASON,
    DLQ_HEADER_TOPIC,
    METRICS_OBSERVED,
    POSTS_PUBLISHED,
    TOPICS,
    dlq,
)
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, assert_operational_endpoints
from pulse_testing.waiting import eventually

pytestmark = pytest.mark.integration

JSON = [("content-type", b"application/json")]


def post_event(business_id: int, post_id: str, **changes: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "schema_version": 1,
        "business_id": business_id,
        "platform": "twitter",
        "platform_post_id": post_id,
        "account_id": "2244994945",
        "published_at": "2026-11-20T09:30:00Z",
        "content": "Launch day!",
        "content_type": "image",
        "platform_post_url": f"https://x.com/pulse/status/{post_id}",
        "video_duration_s": None,
    }
    event.update(changes)
    return event


def metrics_event(
    business_id: int, post_id: str, observed_at: datetime, **metrics: int | None
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "schema_version": 1,
        "business_id": business_id,
        "platform": "twitter",
        "platform_post_id": post_id,
        "observed_at": observed_at.isoformat().replace("+00:00", "Z"),
        "source": "poll",
        "metrics": metrics,
    }


async def send(
    producer: AIOKafkaProducer, infra: Infra, topic: str, key: str, value: bytes | dict[str, Any]
) -> None:
    body = value if isinstance(value, bytes) else json.dumps(value).encode()
    await producer.send_and_wait(infra.topic_prefix + topic, body, key=key.encode(), headers=JSON)


def new_business() -> int:
    return random.randint(10_000_000, 2**62)


async def analytics_row(db: asyncpg.Connection, business_id: int) -> asyncpg.Record | None:
    return await db.fetchrow("SELECT * FROM post_analytics WHERE business_id = $1", business_id)


async def test_malformed_events_are_dead_lettered_and_do_not_stall_the_partition(
    infra: Infra, aggregator: ServiceProcess, producer: AIOKafkaProducer, db: asyncpg.Connection
) -> None:
    business = new_business()
    key = "twitter:42"  # every record on one partition, behind the bad ones
    now = datetime.now(UTC).replace(microsecond=0)
    bad: dict[str, bytes | dict[str, Any]] = {
        "bad json": b'{"business_id": 1, ',
        "missing field": json.dumps(
            {k: v for k, v in metrics_event(business, "42", now).items() if k != "source"}
        ).encode(),
        "wrong type": metrics_event(business, "42", now, likes="ten"),  # type: ignore[arg-type]
        "future": metrics_event(business, "42", now + timedelta(days=2), likes=1),
    }
    for value in bad.values():
        await send(producer, infra, METRICS_OBSERVED, key, value)
    await send(producer, infra, POSTS_PUBLISHED, key, post_event(business, "42"))
    await send(
        producer,
        infra,
        METRICS_OBSERVED,
        key,
        metrics_event(business, "42", now, likes=8, comments=1, shares=1, impressions=400),
    )

    row = await eventually(lambda: analytics_row(db, business))
    assert (row["likes_count"], row["impressions"]) == (8, 400)
    assert row["engagement_rate"] == pytest.approx(2.5)

    dead = await read_dlq(infra, business)
    reasons = {r["reason"] for r in dead}
    assert len(dead) == 4, reasons
    assert any("Invalid JSON" in r for r in reasons)
    assert any(
        r.startswith("invalid metrics.observed.v1 event: source: Field required") for r in reasons
    )
    assert any("metrics.likes: Input should be a valid integer" in r for r in reasons)
    assert any("in the future" in r for r in reasons)
    for r in dead:
        assert r["topic"] == METRICS_OBSERVED
        assert r["key"] == key.encode()
        assert int(r["offset"]) >= 0
        assert int(r["partition"]) >= 0
    assert "event rejected" in aggregator.log()


async def read_dlq(infra: Infra, business: int) -> list[dict[str, Any]]:
    """Every dead letter of the metrics DLQ that mentions ``business`` (or cannot be parsed)."""
    topic = infra.topic_prefix + dlq(METRICS_OBSERVED)
    consumer = AIOKafkaConsumer(**infra.kafka.options(), enable_auto_commit=False)
    await consumer.start()
    try:
        count = next(t.partitions for t in TOPICS if t.name == METRICS_OBSERVED)
        partitions = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[dict[str, Any]] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await behind():
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    value = r.value or b""
                    if str(business).encode() in value or value.startswith(b'{"business_id": 1, '):
                        headers = dict(r.headers)
                        found.append(
                            {
                                "reason": headers[DLQ_HEADER_REASON].decode(),
                                "topic": headers[DLQ_HEADER_TOPIC].decode(),
                                "partition": headers[DLQ_HEADER_PARTITION].decode(),
                                "offset": headers[DLQ_HEADER_OFFSET].decode(),
                                "key": r.key,
                            }
                        )
        return found
    finally:
        await consumer.stop()


async def test_out_of_order_duplicate_and_early_snapshots_converge(
    infra: Infra, aggregator: ServiceProcess, producer: AIOKafkaProducer, db: asyncpg.Connection
) -> None:
    business = new_business()
    key = "twitter:77"
    t1 = datetime(2026, 11, 21, 10, tzinfo=UTC)
    t2 = datetime(2026, 11, 22, 10, tzinfo=UTC)
    newer = metrics_event(
        business, "77", t2, likes=50, comments=5, shares=5, impressions=1000, clicks=9
    )
    older = metrics_event(
        business, "77", t1, likes=10, comments=1, shares=0, impressions=300, clicks=2
    )
    # Metrics before the post, the newer snapshot before the older one, and a duplicate.
    for event in (newer, older, newer):
        await send(producer, infra, METRICS_OBSERVED, key, event)

    async def snapshots_stored() -> int | None:
        n = await db.fetchval(
            "SELECT count(*) FROM post_metric_snapshots WHERE business_id = $1", business
        )
        return n if n == 2 else None

    await eventually(snapshots_stored)
    assert await analytics_row(db, business) is None  # no post yet: kept, not dropped

    await send(producer, infra, POSTS_PUBLISHED, key, post_event(business, "77"))
    row = await eventually(lambda: analytics_row(db, business))
    assert row["likes_count"] == 50
    assert row["fetched_at"] == t2
    assert row["engagement_rate"] == pytest.approx(formulas.engagement_rate(50, 5, 5, 1000))
    assert row["click_through_rate"] == pytest.approx(formulas.click_through_rate(9, 1000))
    assert row["reactions_count"] is None  # not reported stays null
    assert await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", business) == "UTC"
    # Every committed change bumps the business's cache version, just after its commit.
    redis = Redis.from_url(infra.redis_url)
    try:

        async def bumped_twice() -> bool:
            return await cache_version(redis, business) >= 2

        await eventually(bumped_twice)
    finally:
        await redis.aclose()


async def test_aggregator_operational_endpoints(aggregator: ServiceProcess) -> None:
    await assert_operational_endpoints(aggregator, {"database", "consumer", "partitions"})
