"""Event streams for the exactness tests, and the database read-back they compare."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from reference import Reference, empty_activity, metric_columns

from pulse_shared.events import (
    AccountObserved,
    ContentType,
    Event,
    MetricsObserved,
    Platform,
    PostMetrics,
    PostPublished,
)
from pulse_shared.kafka import KafkaConnection
from pulse_shared.topics import (
    ACCOUNTS_OBSERVED,
    METRICS_OBSERVED,
    POSTS_PUBLISHED,
    TOPICS,
    key_for,
)

PLATFORMS: tuple[Platform, ...] = ("linkedin", "twitter", "facebook", "instagram")
CONTENT: tuple[ContentType, ...] = ("text", "image", "video", "link", "carousel")
# Around both 2026 DST changes (US 8 March, Europe 29 March) and a month end.
START = datetime(2026, 3, 1, tzinfo=UTC)
SPAN_HOURS = 40 * 24
TOPIC_OF = {type(spec.event): spec.name for spec in TOPICS}


@dataclass
class Stream:
    """Records to produce, in order: (topic, key, value bytes); and what they mean."""

    records: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def add(self, event: Event, raw: bytes | None = None) -> None:
        topic = {
            PostPublished: POSTS_PUBLISHED,
            MetricsObserved: METRICS_OBSERVED,
            AccountObserved: ACCOUNTS_OBSERVED,
        }[type(event)]
        self.records.append((topic, key_for(event), raw or event.model_dump_json().encode()))
        self.events.append(event)

    def split(self, parts: int) -> list[Stream]:
        """The stream in ``parts`` consecutive pieces, to be produced one after another."""
        size = -(-len(self.records) // parts)
        return [
            Stream(self.records[i : i + size], self.events[i : i + size])
            for i in range(0, len(self.records), size)
        ]


def metrics(rng: random.Random, scale: float, platform: str) -> PostMetrics:
    impressions = int(rng.randint(50, 5000) * scale)
    likes = int(impressions * rng.uniform(0, 0.08))
    return PostMetrics(
        likes=likes,
        comments=int(likes * rng.uniform(0, 0.3)),
        shares=int(likes * rng.uniform(0, 0.2)) if platform != "instagram" else None,
        reactions=likes if platform == "facebook" else None,
        retweets=int(likes * 0.1) if platform == "twitter" else None,
        impressions=impressions if rng.random() > 0.05 else None,  # sometimes not reported
        reach=int(impressions * 0.7) if platform in ("facebook", "instagram") else None,
        clicks=int(impressions * rng.uniform(0, 0.03)) if rng.random() > 0.1 else None,
        video_views=int(impressions * 0.5) if rng.random() > 0.7 else None,
        video_watch_time_s=round(rng.uniform(0, 900), 3) if rng.random() > 0.8 else None,
        saves=int(likes * 0.1) if platform == "instagram" else None,
    )


def build_stream(
    rng: random.Random, businesses: list[int], posts_per_business: int, snapshots_per_post: int
) -> Stream:
    """Posts, snapshots and follower counts with every awkward case of the issue:
    duplicates, out-of-order snapshots, metrics before their post, two different
    snapshots at one instant, a post republished at another time, late follower counts."""
    pending: list[tuple[float, Event, bytes | None]] = []  # (sort key, event, raw)
    for business in businesses:
        for n in range(posts_per_business):
            platform = PLATFORMS[rng.randrange(4)]
            post_id = f"{business}-{n}"
            published = START + timedelta(minutes=rng.randrange(SPAN_HOURS * 60))
            post = PostPublished(
                business_id=business, platform=platform, platform_post_id=post_id,
                account_id=f"acct-{business}-{platform}", published_at=published,
                content=f"post {n}", content_type=CONTENT[rng.randrange(5)],
                platform_post_url=f"https://example.com/{post_id}",
                video_duration_s=30.0 if rng.random() > 0.7 else None,
            )  # fmt: skip
            order = rng.random()
            pending.append((order, post, None))
            if rng.random() < 0.1:  # republished: moved to another day (another period)
                moved = post.model_copy(
                    update={"event_id": uuid.uuid4(), "published_at": published + timedelta(
                        hours=rng.randint(-72, 72))}
                )  # fmt: skip
                pending.append((order + 0.001, moved, None))
            # Some posts are first seen days after they went out (an account connected
            # late): what they gathered before counts on their publish day.
            first_seen = 1 if rng.random() < 0.7 else rng.randint(24, 10 * 24)
            for s in range(snapshots_per_post):
                observed = published + timedelta(hours=first_seen + s * rng.randint(1, 30))
                snap = MetricsObserved(
                    business_id=business, platform=platform, platform_post_id=post_id,
                    observed_at=observed, source="poll",
                    metrics=metrics(rng, (s + 1) / snapshots_per_post, platform),
                )  # fmt: skip
                # Random positions: some snapshots before the post, newer before older.
                pending.append((rng.random(), snap, None))
                if rng.random() < 0.15:  # a duplicate delivery, same bytes
                    pending.append((rng.random(), snap, snap.model_dump_json().encode()))
                if rng.random() < 0.05:  # another snapshot at the same instant
                    other = snap.model_copy(
                        update={"event_id": uuid.uuid4(),
                                "metrics": metrics(rng, 1.0, platform)}
                    )  # fmt: skip
                    pending.append((rng.random(), other, None))
        for platform in PLATFORMS:
            followers = rng.randint(100, 10_000)
            for day in range(0, SPAN_HOURS // 24, rng.randint(1, 3)):
                followers += rng.randint(-20, 80)
                observed = START + timedelta(days=day, hours=rng.randint(0, 23))
                account = AccountObserved(
                    business_id=business, platform=platform,
                    account_id=f"acct-{business}-{platform}", observed_at=observed,
                    followers=max(followers, 0),
                )  # fmt: skip
                pending.append((rng.random(), account, None))
    stream = Stream()
    for _, event, raw in sorted(pending, key=lambda p: p[0]):
        stream.add(event, raw)
    return stream


def reference_of(*streams: Stream) -> Reference:
    ref = Reference()
    for stream in streams:
        for event in stream.events:
            ref.apply(event)
    return ref


async def produce(kafka: KafkaConnection, prefix: str, stream: Stream) -> None:
    producer = AIOKafkaProducer(**kafka.options(), enable_idempotence=True)
    await producer.start()
    try:
        sends = [
            await producer.send(prefix + topic, value, key=key)
            for topic, key, value in stream.records
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def caught_up(kafka: KafkaConnection, prefix: str, group: str) -> bool:
    """True when ``group`` has committed every record of the aggregator's topics."""
    partitions = [
        TopicPartition(prefix + spec.name, p)
        for spec in TOPICS
        if spec.name in (POSTS_PUBLISHED, METRICS_OBSERVED, ACCOUNTS_OBSERVED)
        for p in range(spec.partitions)
    ]
    admin = AIOKafkaAdminClient(**kafka.options())
    consumer = AIOKafkaConsumer(**kafka.options(), enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        # A partition never committed to answers -1 (or is missing).
        done = {tp: max(c.offset, 0) for tp, c in committed.items()}
        return all(done.get(tp, 0) >= ends[tp] for tp in partitions)
    finally:
        await consumer.stop()
        await admin.close()


async def wait_caught_up(
    kafka: KafkaConnection, prefix: str, group: str, timeout: float = 120
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await caught_up(kafka, prefix, group):
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"consumer group {group} did not catch up within {timeout} s")
        await asyncio.sleep(0.3)


async def wait_summaries_refreshed(db: asyncpg.Connection, businesses: list[int]) -> None:
    """Until no summary work of the businesses is queued (the aggregator refreshes it
    as soon as the stream pauses)."""
    deadline = asyncio.get_running_loop().time() + 60
    while await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM summary_pending_moments WHERE business_id = ANY($1))",
        businesses,
    ):
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("summaries still pending after 60 s")
        await asyncio.sleep(0.1)


async def wait_settled(
    db: asyncpg.Connection,
    kafka: KafkaConnection,
    prefix: str,
    group: str,
    businesses: list[int],
) -> None:
    """Until the pipeline has nothing left to do for the businesses: the group has committed
    every record (so every batch is in the database) and no summary work is queued."""
    await wait_caught_up(kafka, prefix, group)
    await wait_summaries_refreshed(db, businesses)


# How many backends wait for one of the advisory locks with these keys (pg_locks shows a
# bigint key as its two 32-bit halves).
WAITING_LOCK_KEYS = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
  AND ((classid::bigint << 32) | objid::bigint) = ANY($1::bigint[])
"""


@contextlib.asynccontextmanager
async def batch_writes_held(db: asyncpg.Connection, businesses: list[int]) -> AsyncIterator[None]:
    """Hold the businesses' time-zone locks, which every batch write takes shared right after
    opening its transaction: a batch of theirs then waits inside its open transaction, and
    nothing of it can commit, until the block ends (as a time-zone change would hold it)."""
    keys = [-b for b in businesses]
    await db.execute("SELECT count(pg_advisory_lock(k)) FROM unnest($1::bigint[]) k", keys)
    try:
        yield
    finally:
        await db.execute("SELECT count(pg_advisory_unlock(k)) FROM unnest($1::bigint[]) k", keys)


async def wait_batch_held(db: asyncpg.Connection, businesses: list[int]) -> None:
    """Until a batch write of the businesses waits on ``batch_writes_held``'s locks."""
    keys = [-b for b in businesses]
    deadline = asyncio.get_running_loop().time() + 120
    while not await db.fetchval(WAITING_LOCK_KEYS, keys):
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("no batch write reached the held locks within 120 s")
        await asyncio.sleep(0.05)


FLOAT_COLUMNS = {
    "engagement_rate", "click_through_rate", "avg_engagement_rate", "avg_impressions",
    "best_post_engagement_rate", "video_watch_time_s", "click_through_rate_sum",
}  # fmt: skip


def same(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """The columns where ``actual`` differs from ``expected`` (floats to 1e-9 relative)."""
    diffs = []
    for name, want in expected.items():
        got = actual[name]
        if name in FLOAT_COLUMNS and want is not None and got is not None:
            if want != pytest.approx(got, rel=1e-9, abs=1e-9):
                diffs.append(f"{name}: expected {want}, got {got}")
        elif want != got:
            diffs.append(f"{name}: expected {want!r}, got {got!r}")
    return diffs


async def assert_database_matches(
    db: asyncpg.Connection, ref: Reference, businesses: list[int]
) -> None:
    """Every analytics row of ``businesses`` equals what the reference computes."""
    await wait_summaries_refreshed(db, businesses)
    timezones = {
        r["id"]: r["timezone"]
        for r in await db.fetch(
            "SELECT id, timezone FROM businesses WHERE id = ANY($1)", businesses
        )
    }
    assert set(timezones) == set(businesses)

    posts = await db.fetch("SELECT * FROM published_posts WHERE business_id = ANY($1)", businesses)
    post_ids = {(r["business_id"], r["platform"], r["platform_post_id"]): r["id"] for r in posts}
    expected_posts = {k: p for k, p in ref.posts.items() if k[0] in timezones}
    assert set(post_ids) == set(expected_posts)
    for r in posts:
        want = expected_posts[(r["business_id"], r["platform"], r["platform_post_id"])]
        assert (r["published_at"], r["content_type"], r["account_id"], r["event_id"]) == (
            want.published_at, want.content_type, want.account_id, want.event_id,
        )  # fmt: skip

    snapshots = await db.fetch(
        "SELECT * FROM post_metric_snapshots WHERE business_id = ANY($1)", businesses
    )
    expected_snaps = {
        (k, at): e for k, by_time in ref.snapshots.items() if k[0] in timezones
        for at, e in by_time.items()
    }  # fmt: skip
    assert len(snapshots) == len(expected_snaps)
    for r in snapshots:
        want_event = expected_snaps[((r["business_id"], r["platform"], r["platform_post_id"]),
                                     r["observed_at"])]  # fmt: skip
        assert r["event_id"] == want_event.event_id
        assert not same(metric_columns(want_event.metrics), dict(r))

    analytics = await db.fetch(
        "SELECT * FROM post_analytics WHERE business_id = ANY($1)", businesses
    )
    expected_analytics = {k: v for k, v in ref.analytics().items() if k[0] in timezones}
    assert len(analytics) == len(expected_analytics)
    for r in analytics:
        key = (r["business_id"], r["platform"], r["platform_post_id"])
        assert r["post_id"] == post_ids[key]
        assert not same(expected_analytics[key], dict(r)), (
            key,
            same(expected_analytics[key], dict(r)),
        )

    accounts = await db.fetch(
        "SELECT business_id, platform, account_id, observed_at, followers FROM account_snapshots "
        "WHERE business_id = ANY($1)",
        businesses,
    )
    assert {(r["business_id"], r["platform"], r["account_id"], r["observed_at"]): r["followers"]
            for r in accounts} == {
        (*k, at): f for k, by_time in ref.followers.items() if k[0] in timezones
        for at, f in by_time.items()
    }  # fmt: skip

    rows = await db.fetch(
        "SELECT * FROM analytics_summaries WHERE business_id = ANY($1)", businesses
    )
    actual = {(r["business_id"], r["platform"], r["period_type"], r["period_start"]): dict(r)
              for r in rows}  # fmt: skip
    expected = {k: v for k, v in ref.summaries(timezones, post_ids).items() if k[0] in timezones}
    # The comparison covers every kind of row: all period types, growth, best posts.
    assert {k[2] for k in expected} == {"daily", "weekly", "monthly", "yearly"}
    assert any(v["follower_growth"] for v in expected.values())
    assert any(v["best_post_id"] for v in expected.values())
    # ... and a metric some posts of a period reported and others did not.
    assert any(0 < v["reported_reach"] < v["total_posts"] for v in expected.values())
    missing = sorted(set(expected) - set(actual))[:5]
    extra = sorted(set(actual) - set(expected))[:5]
    assert not missing, f"missing summary rows {missing}"
    assert not extra, f"unexpected summary rows {extra}"
    problems = {k: d for k in expected if (d := same(expected[k], actual[k]))}
    assert not problems, dict(list(problems.items())[:5])

    activity = {
        (r["business_id"], r["platform"], r["day"]): {k: r[k] for k in empty_activity()}
        for r in await db.fetch(
            "SELECT * FROM activity_daily WHERE business_id = ANY($1)", businesses
        )
    }
    expected_activity = {k: v for k, v in ref.activity(timezones).items() if k[0] in timezones}
    assert expected_activity, "the scenario has no snapshots"
    # Gains before a post's first snapshot, put on its earlier publish day, are compared too.
    assert any(v["attributed_posts"] for v in expected_activity.values())
    assert activity == expected_activity, {
        k: (activity.get(k), expected_activity.get(k))
        for k in set(activity) ^ set(expected_activity)
        | {k for k in activity if activity[k] != expected_activity.get(k)}
    }
