"""The aggregator's throughput and latency, each beside the ceiling it is held to.

One run, on its own databases and topics (dropped/deleted at the end):

1. generate (seeded) the posts and the ``metrics.observed.v1`` events, ~N/P cumulative
   snapshots per post, serialised once to the wire bytes (not timed); write the posts
   into the end-to-end database with the aggregator's writer (not timed);
2. produce the metrics events to Kafka (produce rate, for information);
3. Kafka ceiling: the raw consume rate of that topic, no parsing, no database;
4. Postgres ceilings: the same events written into a fresh database (same posts) with
   the aggregator's own ``PostgresAnalyticsWriter``, in batches of the size the
   aggregator runs with, made of the records in the order the Kafka consumer of step 3
   delivered them (runs of one partition after another, as the aggregator's batches are);
   parsed beforehand, so only the database work is timed ("writer only"). Then the bare
   ``COPY`` of the same snapshot rows into the emptied table: the ceiling issue 19 holds
   the end-to-end rate to (and, for context, the JSON decode rate);
5. end to end: ONE aggregator process (uvicorn, as deployed) consumes and commits the
   whole topic; rate from its first committed offset to the last (startup and first
   batch excluded), and in total; then a profile from its ``/metrics``;
6. latency: with the aggregator caught up, more events produced at half that rate,
   produce-to-committed latency per record (p50/p99/max);
7. scale-out: ``--scale-out`` (2) aggregator processes in a new consumer group, started
   together, consume the whole topic again (steps 2 and 6's events) into a fresh
   database with the same posts: their combined rate, measured as in step 5. On this
   2-core machine they share the cores with PostgreSQL and Kafka: contention, not scale.

The end-to-end run and the Postgres ceilings do exactly the same work: the metrics
events, on top of the same posts. No figure is asserted; the targets are printed with
PASS/MISS and the exit code is 0 unless something crashed.

Run: ``make bench`` (full size) or, small, ``make bench BENCH_ARGS="--events 50000
--posts 5000 --businesses 20"``; ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import functools
import gc
import itertools
import json
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner
from common import (
    Infra,
    Process,
    create_database,
    data_parser,
    delete_topics,
    drop_database,
    free_port,
    parse_data_args,
)
from prometheus_client.parser import text_string_to_metric_families

from pulse_aggregator.consumer import RefreshPacing
from pulse_aggregator.handlers import by_business
from pulse_aggregator.metrics import STAGE_SECONDS
from pulse_aggregator.records import SNAPSHOTS, EventBatch
from pulse_aggregator.settings import Settings
from pulse_aggregator.writer import PostgresAnalyticsWriter, prepare_connection
from pulse_shared.events import (
    CONTENT_TYPES,
    METRIC_NAMES,
    PLATFORMS,
    ContentType,
    MetricsObserved,
    MetricsSource,
    Platform,
    PostMetrics,
    PostPublished,
)
from pulse_shared.kafka import (
    JSON_HEADERS,
    KafkaConnection,
    cluster_answers,
    ensure_topics,
    make_producer,
)
from pulse_shared.tables import METRIC_COLUMNS
from pulse_shared.topics import METRICS_OBSERVED, POSTS_PUBLISHED, TOPICS, dlq, key_for

# Issue 19's targets: end to end against the bare COPY of the same rows (the honest
# ceiling), and produce -> committed latency at half that rate.
TARGET_COPY_RATIO = 0.35
TARGET_LATENCY_P99_MS = 1000.0
# The earlier targets, still printed.
TARGET_EVENTS_PER_S = 30_000
TARGET_CEILING_RATIO = 0.5
PARTITIONS = {spec.name: spec.partitions for spec in TOPICS}

# --- infrastructure ----------------------------------------------------------------


async def writer_pool(dsn: str) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=WRITE_LANES,
        init=prepare_connection,
        server_settings=Settings().server_settings(),  # as the aggregator's pool
    )
    return pool


# --- data ----------------------------------------------------------------------------


@dataclass
class PostPlan:
    event: PostPublished
    base: dict[str, float]  # the post's final totals, scaled per snapshot
    video: bool


@dataclass
class Dataset:
    anchor: datetime  # "now" of the data: every observed_at is before it
    posts: list[PostPlan]
    keys: list[bytes]  # metrics.observed.v1 records, in produce order
    values: list[bytes]
    businesses: int


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _post_ids(platform: Platform, i: int, business_id: int) -> tuple[str, str, str]:
    """(platform_post_id, account_id, url) in each platform's own style."""
    if platform == "linkedin":
        pid = f"urn:li:share:{7_200_000_000_000_000_000 + i}"
        org = f"urn:li:organization:{1000 + business_id}"
        return pid, org, f"https://www.linkedin.com/feed/update/{pid}"
    if platform == "twitter":
        pid = str(1_850_000_000_000_000_000 + i)
        return pid, str(2_244_990_000 + business_id), f"https://x.com/i/status/{pid}"
    if platform == "facebook":
        page = 100_000_000_000 + business_id
        pid = f"{page}_{10**15 + i}"
        return pid, str(page), f"https://www.facebook.com/{pid}"
    pid = str(17_900_000_000_000_000 + i)
    return pid, str(17_841_400_000_000_000 + business_id), f"https://www.instagram.com/p/B{i:010d}/"


TEXTS = (
    "We are hiring engineers who love data",
    "Five lessons from our first year",
    "Behind the scenes at the studio",
    "New feature: scheduled reports",
    "Customer story: how Acme doubled reach",
    "Our take on the state of social this year",
)
CONTENT_WEIGHTS = (3, 4, 2, 2, 1)  # text, image, video, link, carousel


def _base_metrics(rng: random.Random, video: bool) -> dict[str, float]:
    """A post's final totals: heavy-tailed reach, engagement a few % of impressions."""
    impressions = max(50.0, rng.lognormvariate(8.0, 1.1))  # median ~3,000
    likes = impressions * rng.uniform(0.005, 0.06)
    base = {
        "impressions": impressions,
        "reach": impressions * rng.uniform(0.55, 0.9),
        "likes": likes,
        "comments": likes * rng.uniform(0.03, 0.2),
        "shares": likes * rng.uniform(0.05, 0.2),
        "retweets": likes * rng.uniform(0.1, 0.3),
        "quote_tweets": likes * rng.uniform(0.02, 0.08),
        "clicks": impressions * rng.uniform(0.002, 0.03),
        "saves": likes * rng.uniform(0.02, 0.15),
    }
    if video:
        base["video_views"] = impressions * rng.uniform(0.3, 0.7)
        base["video_watch_time_s"] = base["video_views"] * rng.uniform(4, 25)
    return base


def _metrics_at(platform: Platform, base: dict[str, float], f: float, video: bool) -> PostMetrics:
    """Cumulative totals at fraction ``f`` of the post's final ones (non-decreasing in f),
    with each platform's meaning of likes/shares (see DESIGN.md's formulas)."""

    def n(name: str) -> int:
        return int(base[name] * f)

    views = n("video_views") if video else None
    watch = round(base["video_watch_time_s"] * f, 1) if video else None
    if platform == "twitter":
        retweets, quotes = n("retweets"), n("quote_tweets")
        return PostMetrics(
            likes=n("likes"), comments=n("comments"), shares=retweets + quotes,
            retweets=retweets, quote_tweets=quotes, impressions=n("impressions"),
            clicks=n("clicks"), video_views=views, saves=n("saves"),
        )  # fmt: skip
    if platform == "facebook":
        likes = n("likes")
        return PostMetrics(
            likes=likes, reactions=likes, comments=n("comments"), shares=n("shares"),
            impressions=n("impressions"), reach=n("reach"), clicks=n("clicks"),
            video_views=views, video_watch_time_s=watch,
        )  # fmt: skip
    if platform == "instagram":
        return PostMetrics(
            likes=n("likes"), comments=n("comments"), shares=n("shares"),
            impressions=n("impressions"), reach=n("reach"), saves=n("saves"), video_views=views,
        )  # fmt: skip
    return PostMetrics(
        likes=n("likes"), comments=n("comments"), shares=n("shares"),
        impressions=n("impressions"), reach=n("reach"), clicks=n("clicks"), video_views=views,
    )  # fmt: skip


def _growth(x: float) -> float:
    """Share of a post's final totals reached at fraction x of its tracked life."""
    return (1 - math.exp(-4 * x)) / (1 - math.exp(-4))


def generate(events: int, posts: int, businesses: int, seed: int, anchor: datetime) -> Dataset:
    """Posts published over the 90 days before ``anchor`` (all platforms, every business),
    and ``events`` metrics snapshots spread evenly over them: per post, polls denser early
    in its life, the last an hour or so before ``anchor``. Produce order interleaves the
    posts in rounds (round k = every post's k-th snapshot, shuffled), so each post's
    snapshots are in observed_at order, as an ingest service would send them."""
    rng = random.Random(seed)
    plans: list[PostPlan] = []
    for i in range(posts):
        platform = PLATFORMS[i % len(PLATFORMS)]
        business_id = 1 + (i // len(PLATFORMS)) % businesses
        content_type: ContentType = rng.choices(CONTENT_TYPES, CONTENT_WEIGHTS)[0]
        video = content_type == "video"
        age = rng.uniform(2 * 3600, 90 * 86400)
        pid, account, url = _post_ids(platform, i, business_id)
        event = PostPublished(
            event_id=_uuid(rng),
            business_id=business_id,
            platform=platform,
            platform_post_id=pid,
            account_id=account,
            published_at=(anchor - timedelta(seconds=int(age))),
            content=f"{rng.choice(TEXTS)} (#{i})",
            content_type=content_type,
            platform_post_url=url,
            video_duration_s=round(rng.uniform(6, 180), 1) if video else None,
        )
        plans.append(PostPlan(event, _base_metrics(rng, video), video))

    per_post, extra = divmod(events, posts)
    order: list[tuple[float, int, int]] = []  # (sort key, post, snapshot k)
    counts = [per_post + (1 if i < extra else 0) for i in range(posts)]
    for i, n in enumerate(counts):
        order.extend((k + rng.random(), i, k) for k in range(n))
    order.sort()

    # Snapshot times per post: quadratic schedule from publish to ~1 h before anchor.
    times: list[list[tuple[datetime, float]]] = []
    for plan, n in zip(plans, counts, strict=True):
        published = plan.event.published_at
        end = anchor - timedelta(seconds=3600 + rng.uniform(0, 1800))
        span = (end - published).total_seconds()
        row: list[tuple[datetime, float]] = []
        previous = published
        for k in range(n):
            x = ((k + 1) / n) ** 2
            at = published + timedelta(seconds=int(span * x))
            at = max(at, previous + timedelta(seconds=1))
            row.append((at, _growth(x)))
            previous = at
        times.append(row)

    sources: tuple[MetricsSource, ...] = ("poll",) * 9 + ("webhook",)
    keys: list[bytes] = []
    values: list[bytes] = []
    for _, i, k in order:
        plan = plans[i]
        at, f = times[i][k]
        post = plan.event
        observed = MetricsObserved(
            event_id=_uuid(rng),
            business_id=post.business_id,
            platform=post.platform,
            platform_post_id=post.platform_post_id,
            observed_at=at,
            source=rng.choice(sources),
            metrics=_metrics_at(post.platform, plan.base, f, plan.video),
        )
        keys.append(key_for(observed))
        values.append(observed.model_dump_json().encode())
    return Dataset(anchor, plans, keys, values, businesses)


def snapshot_rounds(
    posts: Sequence[PostPlan], seed: int, start: datetime
) -> Iterator[MetricsObserved]:
    """Round after round, every post's next snapshot, the posts in one shuffled order:
    round k observed k seconds after ``start``, at (1 + k/100) of the post's final
    totals. Endless: take what is needed."""
    rng = random.Random(seed)
    order = list(posts)
    rng.shuffle(order)
    for round_ in itertools.count(1):
        at = start + timedelta(seconds=round_)
        for plan in order:
            post = plan.event
            yield MetricsObserved(
                event_id=_uuid(rng),
                business_id=post.business_id,
                platform=post.platform,
                platform_post_id=post.platform_post_id,
                observed_at=at,
                source="poll",
                metrics=_metrics_at(post.platform, plan.base, 1.0 + 0.01 * round_, plan.video),
            )


def latency_events(data: Dataset, count: int, seed: int) -> tuple[list[bytes], list[bytes]]:
    """``count`` further snapshots, newer than every generated one (observed in the half
    hour before the anchor), a little above each post's final totals."""
    keys: list[bytes] = []
    values: list[bytes] = []
    start = data.anchor - timedelta(minutes=30)
    for event in itertools.islice(snapshot_rounds(data.posts, seed, start), count):
        keys.append(key_for(event))
        values.append(event.model_dump_json().encode())
    return keys, values


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Postgres ceiling ----------------------------------------------------------------

# Records decoded by pydantic alone, for the comparison printed beside the decoder's rate.
DECODE_SAMPLE = 100_000


@dataclass
class PostgresCeiling:
    decode_per_s: float  # the aggregator's decoder (msgspec; pydantic for what it refuses)
    pydantic_per_s: float  # pydantic alone, on the first DECODE_SAMPLE records
    writer_per_s: float
    writer_s: float
    copy_per_s: float  # the median of COPY_RUNS
    stages: dict[str, float]  # seconds per writer stage over the timed writes
    copy_runs_per_s: list[float]


def stage_seconds() -> dict[str, float]:
    """This process's own writer stage histograms (the writer records them wherever it
    runs): seconds so far per stage."""
    return {
        sample.labels["stage"]: sample.value
        for family in STAGE_SECONDS.collect()
        for sample in family.samples
        if sample.name.endswith("_sum")
    }


SUMMARY_INTERVAL_S = Settings().summary_interval_s
SUMMARY_MAX_SHARE = Settings().summary_max_share
WRITE_LANES = Settings().write_lanes
# The bare COPY is timed this many times; its median is the ceiling.
COPY_RUNS = 3


async def load_posts(pool: asyncpg.Pool, data: Dataset, batch: int) -> None:
    """The posts, written by the aggregator's writer (untimed), then ANALYZE, so every
    database starts the timed part from the same state."""
    writer = PostgresAnalyticsWriter(pool)
    for part in chunks([p.event for p in data.posts], batch):
        await writer.write(EventBatch(posts=list(part)))
    await writer.refresh_summaries()
    async with pool.acquire() as conn:
        await conn.execute("ANALYZE")


async def postgres_ceiling(
    infra: Infra, database: str, data: Dataset, delivered: list[bytes], batch: int
) -> PostgresCeiling:
    """The metrics events in the order a Kafka consumer delivered them (runs of one
    partition after another, as the aggregator's batches are made), cut into batches of
    ``batch``, each written by the aggregator's writer in its lanes (split by business,
    written at once)."""
    sample = delivered[:DECODE_SAMPLE]
    started = time.perf_counter()
    for value in sample:
        MetricsObserved.model_validate_json(value)
    pydantic_per_s = len(sample) / (time.perf_counter() - started)
    started = time.perf_counter()
    parsed = [SNAPSHOTS.decode(v) or MetricsObserved.model_validate_json(v) for v in delivered]
    decode_per_s = len(parsed) / (time.perf_counter() - started)
    gc.collect()
    gc.freeze()  # a million live objects: keep the collector from walking them while timed

    pool = await writer_pool(infra.dsn(database))
    try:
        await load_posts(pool, data, batch)
        writer = PostgresAnalyticsWriter(pool)
        stages_before = stage_seconds()
        started = time.perf_counter()
        stored = 0
        # Summaries refreshed as the consumer does: while events flow at most every
        # SUMMARY_INTERVAL_S and SUMMARY_MAX_SHARE of the time, and once at the end.
        now = time.perf_counter()
        pacing = RefreshPacing(SUMMARY_INTERVAL_S, SUMMARY_MAX_SHARE, started=now, ended=now)
        for part in chunks(parsed, batch):
            # In the aggregator's lanes: the batch split by business, written at once.
            lanes = by_business(part, WRITE_LANES, lambda e: e.business_id)
            written = await asyncio.gather(*(writer.write(EventBatch(metrics=g)) for g in lanes))
            stored += sum(w.snapshots_inserted for w in written)
            now = time.perf_counter()
            if pacing.over(now):
                await writer.refresh_summaries()
                pacing.started, pacing.ended = now, time.perf_counter()
        await writer.refresh_summaries()
        writer_s = time.perf_counter() - started
        if stored != len(parsed):
            print(f"WARNING: the ceiling's writer stored {stored:,} of {len(parsed):,} snapshots")
        stages = {k: v - stages_before.get(k, 0.0) for k, v in stage_seconds().items()}

        # For context: the bare COPY of the same snapshot rows into an emptied table.
        metric_columns = [METRIC_COLUMNS[name] for name in METRIC_NAMES]
        columns = [
            "business_id", "platform", "platform_post_id", "observed_at", "source", "event_id",
            *metric_columns,
        ]  # fmt: skip
        rows = [
            (
                e.business_id,
                e.platform,
                e.platform_post_id,
                e.observed_at,
                e.source,
                e.event_id,
                *(getattr(e.metrics, name) for name in METRIC_NAMES),
            )
            for e in parsed
        ]
        first = min(e.observed_at for e in parsed)
        last = max(e.observed_at for e in parsed)
        # One COPY measured 106k to 181k rows/s in runs half an hour apart (a checkpoint of
        # the writer's WAL may or may not fall in it): the median of several.
        copy_runs: list[float] = []
        async with pool.acquire() as conn:
            for _ in range(COPY_RUNS):
                await conn.execute("TRUNCATE post_metric_snapshots")
                await conn.execute("SELECT pulse_ensure_snapshot_partitions($1, $2)", first, last)
                started = time.perf_counter()
                for part in chunks(rows, batch):
                    await conn.copy_records_to_table(
                        "post_metric_snapshots", records=part, columns=columns
                    )
                copy_runs.append(time.perf_counter() - started)
    finally:
        await pool.close()
        del parsed
        gc.unfreeze()
        gc.collect()
    return PostgresCeiling(
        decode_per_s,
        pydantic_per_s,
        len(delivered) / writer_s,
        writer_s,
        len(rows) / statistics.median(copy_runs),
        {k: v for k, v in stages.items() if v > 0},
        [len(rows) / seconds for seconds in copy_runs],
    )


# --- Kafka ---------------------------------------------------------------------------


def metrics_partitions(prefix: str) -> list[TopicPartition]:
    topic = f"{prefix}{METRICS_OBSERVED}"
    return [TopicPartition(topic, p) for p in range(PARTITIONS[METRICS_OBSERVED])]


def consumed_partitions(prefix: str) -> list[TopicPartition]:
    return [
        TopicPartition(f"{prefix}{name}", p)
        for name in (POSTS_PUBLISHED, METRICS_OBSERVED)
        for p in range(PARTITIONS[name])
    ]


async def produce_all(
    kafka: KafkaConnection, topic: str, keys: list[bytes], values: list[bytes]
) -> float:
    """Every record, through an idempotent acks=all producer's batch API; records/s."""
    producer = make_producer(kafka, linger_ms=20)
    await producer.start()
    try:
        started = time.perf_counter()
        await send_in_batches(producer, topic, zip(keys, values, strict=True))
        return len(values) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def send_in_batches(
    producer: AIOKafkaProducer, topic: str, records: Iterable[tuple[bytes, bytes]]
) -> None:
    """(key, value) records through the producer's batch API (far cheaper per record than
    ``send()``), each on the partition ``send()`` would pick for its key (the default
    partitioner); returns when the broker has them all."""
    partitions = sorted(await producer.partitions_for(topic))
    partitioner = DefaultPartitioner()
    open_batches: dict[int, Any] = {}
    sent = []
    for key, value in records:
        partition = partitioner(key, partitions, partitions)
        batch = open_batches.get(partition)
        if batch is None:
            batch = open_batches[partition] = producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None, headers=JSON_HEADERS) is None:
            sent.append(await producer.send_batch(batch, topic, partition=partition))
            batch = open_batches[partition] = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None, headers=JSON_HEADERS)
    for partition, batch in open_batches.items():
        sent.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*sent)


async def end_offsets(
    kafka: KafkaConnection, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**kafka.options(), group_id=None)
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


async def kafka_ceiling(
    kafka: KafkaConnection, prefix: str, total: int, batch: int
) -> tuple[float, list[bytes]]:
    """Raw consume rate of the metrics topic from the beginning: bytes only, no group,
    the aggregator's fetch settings (its max_poll_records); records/s. Also returns the
    values in the order they were delivered (gathered after the clock stopped)."""
    partitions = metrics_partitions(prefix)
    consumer = AIOKafkaConsumer(
        **kafka.options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        polls = []
        started = time.perf_counter()
        read = 0
        while read < total:
            polled = await consumer.getmany(timeout_ms=1000, max_records=batch)
            read += sum(len(records) for records in polled.values())
            polls.append(polled)
        rate = read / (time.perf_counter() - started)
    finally:
        await consumer.stop()
    delivered = [r.value for polled in polls for records in polled.values() for r in records]
    return rate, delivered


class GroupOffsets:
    """The aggregator group's committed offsets, as its admin API answers them."""

    def __init__(
        self, kafka: KafkaConnection, group: str, partitions: list[TopicPartition]
    ) -> None:
        self._admin = AIOKafkaAdminClient(**kafka.options())
        self._group = group
        self._partitions = partitions

    async def __aenter__(self) -> GroupOffsets:
        await self._admin.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._admin.close()

    async def committed(self) -> dict[TopicPartition, int]:
        answer = await self._admin.list_consumer_group_offsets(self._group)
        found = {tp: meta.offset for tp, meta in answer.items() if meta.offset >= 0}
        return {tp: found.get(tp, 0) for tp in self._partitions}


# --- the aggregator process ----------------------------------------------------------


def aggregator_env(
    infra: Infra, prefix: str, database: str, group: str, batch: int, batch_timeout_ms: int
) -> dict[str, str]:
    """An aggregator process's environment: the run's topics, database and consumer group."""
    return {
        **os.environ,
        "PULSE_ENVIRONMENT": "bench",
        **infra.kafka_env(),
        "PULSE_TOPIC_PREFIX": prefix,
        "PULSE_DATABASE_URL": infra.url(database),
        "PULSE_REDIS_URL": infra.redis_url,
        "PULSE_CONSUMER_GROUP": group,
        "PULSE_BATCH_MAX_RECORDS": str(batch),
        "PULSE_BATCH_TIMEOUT_MS": str(batch_timeout_ms),
        "PULSE_LOG_JSON": "true",
    }


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


AGGREGATOR_APP = "pulse_aggregator.app:app"


@dataclass
class Aggregator:
    """An aggregator process as deployed, started without waiting for it (the benchmark
    times its start), with what the benchmark reads from it."""

    service: Process

    @classmethod
    def start(cls, env: dict[str, str], log_dir: str) -> Aggregator:
        port = free_port()
        return cls(Process.spawn(f"aggregator-{port}", AGGREGATOR_APP, env, log_dir, port))

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def pid(self) -> int:
        return self.service.popen.pid

    def check_alive(self) -> None:
        popen = self.service.popen
        if popen.poll() is not None:
            raise RuntimeError(
                f"aggregator exited with {popen.returncode}:\n{self.service.log_tail()}"
            )

    def stop(self) -> None:
        self.service.stop()

    async def scrape(self) -> Samples:
        """Every sample of /metrics, by (sample name, sorted labels)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            text = (await client.get("/metrics")).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def assignments(self) -> list[int]:
        """The partitions it was given at each rebalance (all its topics), from its log."""
        counts = []
        with open(self.service.log, encoding="utf-8", errors="replace") as f:
            for line in f:
                if '"partitions assigned"' in line:
                    with contextlib.suppress(ValueError, KeyError):
                        counts.append(int(json.loads(line)["count"]))
        return counts


def events_consumed(samples: Samples) -> float:
    return sum(
        v for (name, _), v in samples.items() if name == "pulse_aggregator_events_consumed_total"
    )


def stages_in(samples: Samples) -> dict[str, float]:
    """Seconds per writer stage, from an aggregator's /metrics samples."""
    return {
        labels[0][1]: v
        for (name, labels), v in samples.items()
        if name == "pulse_aggregator_stage_seconds_sum" and labels
    }


def difference(after: Samples, before: Samples) -> Samples:
    """What the counters and histogram sums gained between two scrapes of one process."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def summed(scrapes: Sequence[Samples]) -> Samples:
    """Several processes' samples added up (their counters and histogram sums)."""
    out: Samples = {}
    for samples in scrapes:
        for key, value in samples.items():
            out[key] = out.get(key, 0.0) + value
    return out


# --- CPU accounting (Linux /proc), to tell who is busy ------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """pid -> (command name, user+system CPU seconds so far)."""
    out: dict[int, tuple[str, float]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        close = data.rfind(b")")
        comm = data[data.find(b"(") + 1 : close].decode(errors="replace")
        fields = data[close + 2 :].split()
        out[int(name)] = (comm, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return out


def cpu_used(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    named: dict[int, str],
) -> dict[str, float]:
    """CPU seconds between two snapshots, grouped: the ``named`` processes by their name
    (several may share one), PostgreSQL, Kafka, this process, the rest. Processes that
    ended in between are missed, so short-lived ones are undercounted."""
    groups: dict[str, float] = {}
    for pid, (comm, seconds) in after.items():
        used = seconds - before.get(pid, (comm, 0.0))[1]
        if pid in named:
            group = named[pid]
        elif pid == os.getpid():
            group = "bench (this process)"
        elif comm == "postgres":
            group = "postgres (all)"
        elif comm == "java":
            group = "kafka (java)"
        else:
            group = "other"
        groups[group] = groups.get(group, 0.0) + used
    return groups


def aggregator_names(aggregators: Sequence[Aggregator]) -> dict[int, str]:
    name = "aggregator" if len(aggregators) == 1 else f"aggregators ({len(aggregators)})"
    return {a.pid: name for a in aggregators}


# --- end to end ----------------------------------------------------------------------


@dataclass
class EndToEnd:
    total_events: int
    startup_s: float  # process start -> /healthz answers (the first process)
    first_commit_s: float  # process start -> first committed offset seen
    total_s: float  # process start -> every partition committed to its end
    steady_events: int  # events committed after the first commit was seen
    steady_s: float
    cpu: dict[str, float] = field(default_factory=dict)  # over the steady window
    samples: Samples = field(default_factory=dict)  # /metrics, summed over the processes

    @property
    def rate(self) -> float:
        """From the first commit seen to the last: startup and the first batch excluded."""
        return self.steady_events / self.steady_s if self.steady_s > 0 else float("nan")

    @property
    def rate_total(self) -> float:
        return self.total_events / self.total_s


async def end_to_end(
    aggregators: Sequence[Aggregator],
    offsets: GroupOffsets,
    targets: dict[TopicPartition, int],
    started: float,
    dsn: str,
    interval: float = 0.1,
) -> EndToEnd:
    """From the aggregators' start until every event is committed *and* the summaries
    they touched are recomputed (nothing left in summary_pending_moments)."""
    total = sum(targets.values())
    ready_at: float | None = None
    first: tuple[float, int, dict[int, tuple[str, float]]] | None = None
    last_progress, last_done = started, 0
    async with httpx.AsyncClient(base_url=aggregators[0].url, timeout=1) as client:
        while True:
            for aggregator in aggregators:
                aggregator.check_alive()
            now = time.monotonic()
            if ready_at is None:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/healthz")).status_code == 200:
                        ready_at = now
            committed = await offsets.committed()
            seen = time.monotonic()
            done = sum(min(committed[tp], end) for tp, end in targets.items())
            if done > 0 and first is None:
                first = (seen, done, cpu_by_process())
            if done > last_done:
                last_progress, last_done = seen, done
            elif seen - last_progress > 120:
                raise RuntimeError(
                    f"no commit progress for 120 s ({done:,}/{total:,}):\n"
                    + aggregators[0].service.log_tail()
                )
            if all(committed[tp] >= end for tp, end in targets.items()):
                break
            await asyncio.sleep(interval)
    finished = await summaries_settled(dsn, aggregators, interval)
    assert first is not None
    return EndToEnd(
        total_events=total,
        startup_s=(ready_at or finished) - started,
        first_commit_s=first[0] - started,
        total_s=finished - started,
        steady_events=total - first[1],
        steady_s=finished - first[0],
        cpu=cpu_used(first[2], cpu_by_process(), aggregator_names(aggregators)),
        samples=summed([await a.scrape() for a in aggregators]),
    )


async def summaries_settled(dsn: str, aggregators: Sequence[Aggregator], interval: float) -> float:
    """Waits until no summary is pending (every refresh done); returns when (monotonic)."""
    conn = await asyncpg.connect(dsn)
    try:
        while await conn.fetchval("SELECT EXISTS (SELECT 1 FROM summary_pending_moments)"):
            for aggregator in aggregators:
                aggregator.check_alive()
            await asyncio.sleep(interval)
        return time.monotonic()
    finally:
        await conn.close()


# --- latency ---------------------------------------------------------------------------


class CommitTimeline:
    """The group's committed offsets, polled every ``interval`` while in use: when each
    record was first seen committed (a partition's committed offset never goes down)."""

    def __init__(self, offsets: GroupOffsets, interval: float = 0.025) -> None:
        self._offsets = offsets
        self._interval = interval
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self.polls: list[tuple[float, dict[TopicPartition, int]]] = []

    async def __aenter__(self) -> CommitTimeline:
        self._running = True
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *_: object) -> None:
        self._running = False
        if self._task is not None:
            await self._task

    async def _poll(self) -> None:
        while self._running:
            committed = await self._offsets.committed()
            self.polls.append((time.monotonic(), committed))
            await asyncio.sleep(self._interval)

    def done(self, records: Sequence[tuple[TopicPartition, int]]) -> bool:
        latest = self.polls[-1][1] if self.polls else {}
        return all(latest.get(tp, 0) > offset for tp, offset in records)

    async def wait_for(
        self,
        records: Sequence[tuple[TopicPartition, int]],
        alive: Callable[[], None],
        timeout_s: float = 120,
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.done(records):
            alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"records not committed within {timeout_s:.0f} s")
            await asyncio.sleep(self._interval)

    def committed_at(self, records: Sequence[tuple[TopicPartition, int]]) -> list[float | None]:
        """Each record's first poll that saw it committed (None: not yet)."""
        times = [t for t, _ in self.polls]
        timelines = {tp: [c.get(tp, 0) for _, c in self.polls] for tp, _ in records}
        out: list[float | None] = []
        for tp, offset in records:
            index = bisect.bisect_right(timelines[tp], offset)
            out.append(times[index] if index < len(times) else None)
        return out


@dataclass
class Latency:
    events: int
    rate: float  # the paced rate asked for
    achieved: float  # what the producer actually sent per second
    p50_ms: float
    p99_ms: float
    max_ms: float
    # p50 of the first and of the last fifth sent: a rising latency means the aggregator
    # does not keep up with this rate (its backlog grows), a flat one that it does.
    p50_first_ms: float
    p50_last_ms: float
    # p50 and p99 of each part: send -> the broker's acknowledgement, then -> committed.
    to_ack_ms: tuple[float, float]
    ack_to_commit_ms: tuple[float, float]
    # The aggregator's /metrics counted over the run (after minus before): its batches and
    # where their time went, at this rate rather than flat out; and who used the CPU
    # (this process is the producer here).
    samples: Samples = field(default_factory=dict)
    cores: dict[str, float] = field(default_factory=dict)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    index = max(0, math.ceil(p * len(sorted_values)) - 1)
    return sorted_values[index]


async def send_paced(
    producer: AIOKafkaProducer, topic: str, keys: list[bytes], values: list[bytes], rate: float
) -> tuple[list[tuple[float, asyncio.Future[Any]]], dict[int, float], float]:
    """Each record through ``send()`` at ``rate`` (a token bucket): its send time and its
    delivery, when the broker acknowledged it; and the rate achieved."""
    sent: list[tuple[float, asyncio.Future[Any]]] = []
    acked_at: dict[int, float] = {}  # by position in ``sent``: when the broker acknowledged
    started = time.monotonic()
    i = 0
    while i < len(values):
        due = min(len(values), int((time.monotonic() - started) * rate) + 1)
        while i < due:
            at = time.monotonic()
            future = await producer.send(topic, values[i], key=keys[i], headers=JSON_HEADERS)
            future.add_done_callback(functools.partial(_note_ack_time, acked_at, len(sent)))
            sent.append((at, future))
            i += 1
        await asyncio.sleep(0.002)
    return sent, acked_at, len(values) / (time.monotonic() - started)


def _note_ack_time(acked_at: dict[int, float], index: int, _: asyncio.Future[Any]) -> None:
    acked_at[index] = time.monotonic()


async def latency_run(
    kafka: KafkaConnection,
    topic: str,
    offsets: GroupOffsets,
    aggregator: Aggregator,
    keys: list[bytes],
    values: list[bytes],
    rate: float,
) -> Latency:
    """Send at ``rate``, note each record's send time by (partition, offset), and when the
    group's committed offsets were first seen past it."""
    producer = make_producer(kafka)  # the services' own producer settings
    await producer.start()
    try:
        async with CommitTimeline(offsets) as timeline:
            sent, acked_at, achieved = await send_paced(producer, topic, keys, values, rate)
            metas = await asyncio.gather(*(future for _, future in sent))
            records = [(TopicPartition(m.topic, m.partition), m.offset) for m in metas]
            await timeline.wait_for(records, aggregator.check_alive)
    finally:
        await producer.stop()
    committed = timeline.committed_at(records)
    latencies = [((c or math.inf) - at) * 1000 for (at, _), c in zip(sent, committed, strict=True)]
    # Where a record's time went: in the producer until the broker acknowledged it, then
    # until the aggregator committed it.
    to_ack = sorted((acked_at[i] - at) * 1000 for i, (at, _) in enumerate(sent))
    ack_to_commit = sorted(((c or math.inf) - acked_at[i]) * 1000 for i, c in enumerate(committed))
    fifth = max(1, len(latencies) // 5)
    first, last_fifth = sorted(latencies[:fifth]), sorted(latencies[-fifth:])
    latencies.sort()
    return Latency(
        len(values),
        rate,
        achieved,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        latencies[-1],
        percentile(first, 0.5),
        percentile(last_fifth, 0.5),
        (percentile(to_ack, 0.5), percentile(to_ack, 0.99)),
        (percentile(ack_to_commit, 0.5), percentile(ack_to_commit, 0.99)),
    )


# --- scale-out -----------------------------------------------------------------------


@dataclass
class ScaleOut:
    processes: int
    run: EndToEnd
    consumed: list[float]  # events each process consumed (a rebalance may replay some)
    assignments: list[list[int]]  # each process's partitions at each rebalance
    check: str


async def scale_out(
    infra: Infra, data: Dataset, prefix: str, database: str, args: argparse.Namespace, log_dir: str
) -> ScaleOut:
    """``args.scale_out`` aggregator processes in a consumer group of their own, started
    together, over the whole metrics topic (the generated events and the latency run's),
    into a fresh database with the same posts: their combined rate, measured as
    ``end_to_end`` measures one process."""
    group = f"{prefix}aggregator-scale"
    processes: list[Aggregator] = []
    await create_database(infra, database)
    try:
        await load_posts_into(infra, database, data, args.batch)
        targets = await end_offsets(infra.kafka, consumed_partitions(prefix))
        env = aggregator_env(infra, prefix, database, group, args.batch, args.batch_timeout_ms)
        async with GroupOffsets(infra.kafka, group, list(targets)) as offsets:
            started = time.monotonic()
            processes = [Aggregator.start(env, log_dir) for _ in range(args.scale_out)]
            run = await end_to_end(processes, offsets, targets, started, infra.dsn(database))
        consumed = [events_consumed(await p.scrape()) for p in processes]
        assignments = [p.assignments() for p in processes]
        check = await check_outcome(infra, database, prefix, sum(targets.values()), len(data.posts))
    finally:
        for process in processes:
            process.stop()
        await drop_database(infra, database)
    return ScaleOut(len(processes), run, consumed, assignments, check)


async def load_posts_into(infra: Infra, database: str, data: Dataset, batch: int) -> None:
    pool = await writer_pool(infra.dsn(database))
    try:
        await load_posts(pool, data, batch)
    finally:
        await pool.close()


# --- report --------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_profile(e2e: EndToEnd) -> None:
    s = e2e.samples

    def value(name: str, **labels: str) -> float:
        return s.get((name, tuple(sorted(labels.items()))), 0.0)

    window = e2e.total_s - e2e.startup_s  # the consumer loop's life: ready -> all committed
    stages = stages_in(s)
    batches = value("pulse_aggregator_batches_total")
    consumed = events_consumed(s)
    batch_s = value("pulse_aggregator_batch_seconds_sum")

    def line(what: str, seconds: float) -> None:
        print(f"    {what:<46} {seconds:8.2f} s  {100 * seconds / window:5.1f} %")

    print(
        f"\nAggregator profile over {window:.1f} s (ready -> all committed): "
        f"{batches:,.0f} batches, mean {consumed / max(batches, 1):,.0f} events/batch"
    )
    # The aggregator overlaps its work: the summary refresh runs beside the batch writes,
    # and the next batch is decoded while the last is written. So these are wall times of
    # each activity, which add up to more than the window when they overlap.
    print("  wall time of each activity (they overlap, so the sum may exceed 100 %):")
    for stage, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        line(f"stage {stage}", seconds)
    line("batch (poll returned -> offsets committed)", batch_s)
    print_cpu(e2e)
    if e2e.cpu.get("aggregator", 0.0) / e2e.steady_s > 0.85:
        print("    -> the aggregator's one Python thread is (nearly) saturated")


def print_cpu(e2e: EndToEnd) -> None:
    print(f"  CPU over the {e2e.steady_s:.1f} s steady window (cores busy on average; 2 here):")
    for group, seconds in sorted(e2e.cpu.items(), key=lambda kv: -kv[1]):
        print(f"    {group:<24} {seconds / e2e.steady_s:5.2f}")


def print_row(what: str, figure: str, note: str = "") -> None:
    print(f"{what:<50} {figure:>15}  {note}")


def print_throughput(
    args: argparse.Namespace,
    produce_rate: float,
    kafka_rate: float,
    pg: PostgresCeiling,
    e2e: EndToEnd,
) -> None:
    stage_shares = ", ".join(
        f"{stage} {seconds / pg.writer_s:.0%}"
        for stage, seconds in sorted(pg.stages.items(), key=lambda kv: -kv[1])
    )
    print_row(
        "end-to-end, ONE process (first commit -> all)",
        f"{e2e.rate:,.0f} ev/s",
        f"= {e2e.rate / pg.copy_per_s:.2f} x bare COPY, {e2e.rate / pg.writer_per_s:.2f}"
        " x writer-only",
    )
    print_row(
        "end-to-end incl. startup (process start -> all)",
        f"{e2e.rate_total:,.0f} ev/s",
        f"startup {e2e.startup_s:.1f} s, first commit at {e2e.first_commit_s:.1f} s",
    )
    print_row(
        "ceiling: bare COPY of the same snapshot rows",
        f"{pg.copy_per_s:,.0f} rows/s",
        f"median of {COPY_RUNS}; one connection, batches of --batch rows, no conflict handling",
    )
    print_row(
        "ceiling: writer only (no Kafka), its lanes",
        f"{pg.writer_per_s:,.0f} ev/s",
        f"{args.events:,} events in {pg.writer_s:.1f} s",
    )
    print_row("  its writer stages, % of its time", "", stage_shares)
    print_row(
        "  context: JSON decode, the aggregator's",
        f"{pg.decode_per_s:,.0f} ev/s",
        f"one core (msgspec); pydantic alone {pg.pydantic_per_s:,.0f} ev/s",
    )
    print_row(
        "Kafka consume ceiling: no DB, no parsing",
        f"{kafka_rate:,.0f} rec/s",
        f"= {e2e.rate / kafka_rate:.2f} used by end-to-end",
    )
    print_row(
        "produce (send_batch, idempotent, acks=all)",
        f"{produce_rate:,.0f} rec/s",
        "setup, not a target",
    )


def print_latency(lat: Latency) -> None:
    print_row(
        "latency at half rate, produce -> committed",
        f"p50 {lat.p50_ms:,.0f} ms",
        f"p99 {lat.p99_ms:,.0f} ms, max {lat.max_ms:,.0f} ms; {lat.events:,} events at"
        f" {lat.rate:,.0f} ev/s (sent {lat.achieved:,.0f}/s)",
    )
    trend = "rising: not keeping up" if lat.p50_last_ms > 2 * lat.p50_first_ms + 100 else "flat"
    print_row(
        "  p50 of the first / last fifth sent",
        f"{lat.p50_first_ms:,.0f} ms",
        f"/ {lat.p50_last_ms:,.0f} ms ({trend})",
    )
    print_row(
        "  send -> broker ack, p50 / p99",
        f"{lat.to_ack_ms[0]:,.0f} ms",
        f"/ {lat.to_ack_ms[1]:,.0f} ms; ack -> committed {lat.ack_to_commit_ms[0]:,.0f} /"
        f" {lat.ack_to_commit_ms[1]:,.0f} ms",
    )
    s = lat.samples
    batches = s.get(("pulse_aggregator_batches_total", ()), 0.0)
    if batches:
        batch_s = s.get(("pulse_aggregator_batch_seconds_sum", ()), 0.0)
        stages = ", ".join(
            f"{stage} {1000 * v / batches:,.0f}"
            for stage, v in sorted(stages_in(s).items(), key=lambda kv: -kv[1])
            if v > 0
        )
        print_row(
            "  its batches: events, poll -> commit",
            f"{events_consumed(s) / batches:,.0f} ev",
            f"{1000 * batch_s / batches:,.0f} ms mean over {batches:,.0f}; stages, ms per"
            f" batch: {stages}",
        )
        slow = {
            le: batches - s.get(("pulse_aggregator_batch_seconds_bucket", (("le", le),)), batches)
            for le in ("0.5", "1.0", "2.5")
        }
        print_row(
            "  its batches over 0.5 / 1 / 2.5 s",
            f"{slow['0.5']:,.0f}",
            f"/ {slow['1.0']:,.0f} / {slow['2.5']:,.0f} (poll -> commit)",
        )
    refreshes = s.get(("pulse_aggregator_stage_seconds_count", (("stage", "rollups"),)), 0.0)
    if refreshes:
        took = s.get(("pulse_aggregator_stage_seconds_sum", (("stage", "rollups"),)), 0.0)
        print_row(
            "  its roll-up refreshes",
            f"{refreshes:,.0f}",
            f"{1000 * took / refreshes:,.0f} ms mean",
        )
    if lat.cores:
        cores = ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(lat.cores.items(), key=lambda kv: -kv[1])
        )
        print_row("  its CPU, cores busy on average", "", cores)


def print_scale_out(scale: ScaleOut, e2e: EndToEnd) -> None:
    r = scale.run
    print_row(
        f"scale-out: {scale.processes} processes, one group",
        f"{r.rate:,.0f} ev/s",
        f"= {r.rate / e2e.rate:.2f} x one process; {r.total_events:,} events"
        f" (generated + latency run), {r.rate_total:,.0f} ev/s incl. startup",
    )
    for i, (consumed, assigned) in enumerate(zip(scale.consumed, scale.assignments, strict=True)):
        print_row(
            f"  process {i + 1}",
            f"{consumed:,.0f} ev",
            f"consumed; partitions at each rebalance: {assigned or 'none logged'}",
        )
    busy = ", ".join(
        f"{k} {v / r.steady_s:.2f}" for k, v in sorted(r.cpu.items(), key=lambda kv: -kv[1])
    )
    print_row("  CPU cores busy (2 here)", "", busy)
    print(
        "  (on this 2-core machine the processes share the cores with PostgreSQL and Kafka:"
        " this shows contention, not scale)"
    )


def print_targets(
    pg: PostgresCeiling, e2e: EndToEnd, lat: Latency | None, scale: ScaleOut | None
) -> None:
    copy_ratio = e2e.rate / pg.copy_per_s
    print(
        f"target end-to-end >= {TARGET_COPY_RATIO} x bare COPY of the same rows (issue 19):"
        f" {verdict(copy_ratio >= TARGET_COPY_RATIO)} ({copy_ratio:.2f}: {e2e.rate:,.0f} ev/s"
        f" vs {pg.copy_per_s:,.0f} rows/s; writer-only {pg.writer_per_s:,.0f} ev/s ="
        f" {pg.writer_per_s / pg.copy_per_s:.2f} x COPY)"
    )
    if lat is not None:
        print(
            f"target latency p99 at half rate <= {TARGET_LATENCY_P99_MS:,.0f} ms (issue 19):"
            f" {verdict(lat.p99_ms <= TARGET_LATENCY_P99_MS)} ({lat.p99_ms:,.0f} ms)"
        )
    if scale is not None:
        print(
            f"scale-out, {scale.processes} processes (issue 19: printed, no target):"
            f" {scale.run.rate:,.0f} ev/s = {scale.run.rate / e2e.rate:.2f} x one process"
            " (2 cores: contention, not scale)"
        )
    ratio = e2e.rate / pg.writer_per_s
    print(
        f"earlier targets: end-to-end >= {TARGET_EVENTS_PER_S:,} ev/s"
        f" {verdict(e2e.rate >= TARGET_EVENTS_PER_S)} ({e2e.rate:,.0f}); >="
        f" {TARGET_CEILING_RATIO:.0%} of writer-only {verdict(ratio >= TARGET_CEILING_RATIO)}"
        f" ({ratio:.0%})"
    )


def report(
    args: argparse.Namespace,
    produce_rate: float,
    kafka_rate: float,
    pg: PostgresCeiling,
    e2e: EndToEnd,
    lat: Latency | None,
    scale: ScaleOut | None,
) -> None:
    print("\n" + "=" * 96)
    print(
        f"Aggregator benchmark: {args.events:,} metrics.observed.v1 events over {args.posts:,}"
        f" posts and {args.businesses:,} businesses; batch {args.batch:,} records"
    )
    print("=" * 96)
    print_throughput(args, produce_rate, kafka_rate, pg, e2e)
    if lat is not None:
        print_latency(lat)
    if scale is not None:
        print_scale_out(scale, e2e)
    print("-" * 96)
    print_targets(pg, e2e, lat, scale)
    if args.events < 1_000_000:
        print("(a reduced run: the targets are stated for 1,000,000 events)")


async def check_outcome(infra: Infra, database: str, prefix: str, sent: int, posts: int) -> str:
    """What the aggregator left: every snapshot stored, every post analysed, no DLQ."""
    conn = await asyncpg.connect(infra.dsn(database))
    try:
        snapshots = await conn.fetchval("SELECT count(*) FROM post_metric_snapshots")
        analysed = await conn.fetchval("SELECT count(*) FROM post_analytics")
    finally:
        await conn.close()
    dlq_topic = f"{prefix}{dlq(METRICS_OBSERVED)}"
    dlq_partitions = [TopicPartition(dlq_topic, p) for p in range(PARTITIONS[METRICS_OBSERVED])]
    dead = sum((await end_offsets(infra.kafka, dlq_partitions)).values())
    ok = snapshots == sent and analysed == posts and dead == 0
    return (
        f"{'check' if ok else 'WARNING'}: {snapshots:,} snapshots stored of {sent:,} sent,"
        f" post_analytics {analysed:,} of {posts:,} posts, {dead:,} dead-lettered"
    )


# --- main ----------------------------------------------------------------------------


def step(what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {what}", flush=True)


async def require_kafka(kafka: KafkaConnection) -> None:
    if not await cluster_answers(kafka, timeout_s=10):
        raise SystemExit(
            f"Kafka is not answering on {kafka.bootstrap_servers}: run `make infra` first"
        )


async def produce_dataset(
    kafka: KafkaConnection, prefix: str, data: Dataset
) -> tuple[float, dict[TopicPartition, int]]:
    """The metrics events onto the run's topic: the produce rate, and where each consumed
    partition ends."""
    step("producing the metrics events")
    rate = await produce_all(kafka, f"{prefix}{METRICS_OBSERVED}", data.keys, data.values)
    step(f"  {rate:,.0f} rec/s")
    targets = await end_offsets(kafka, consumed_partitions(prefix))
    assert sum(targets.values()) == len(data.values), targets
    return rate, targets


async def measure_postgres_ceiling(
    infra: Infra, database: str, data: Dataset, delivered: list[bytes], batch: int
) -> PostgresCeiling:
    step(f"Postgres ceiling in database {database}")
    await create_database(infra, database)
    try:
        pg = await postgres_ceiling(infra, database, data, delivered, batch)
    finally:
        await drop_database(infra, database)  # no autovacuum of it during what follows
    runs = ", ".join(f"{r:,.0f}" for r in pg.copy_runs_per_s)
    step(f"  writer {pg.writer_per_s:,.0f} ev/s, COPY {pg.copy_per_s:,.0f} rows/s (of {runs})")
    return pg


def latency_count(args: argparse.Namespace, half: float) -> int:
    """events/10, but at least 15 s and at most 60 s of sending (or --latency-events)."""
    if args.latency_events is not None:
        return int(args.latency_events)
    if not math.isfinite(half):
        return 0
    events: int = args.events
    return min(max(events // 10, int(half * 15)), int(half * 60))


async def one_process(
    infra: Infra, data: Dataset, prefix: str, database: str,
    targets: dict[TopicPartition, int], args: argparse.Namespace, log_dir: str,
) -> tuple[EndToEnd, Latency | None]:  # fmt: skip
    """ONE aggregator process consumes the topic (end to end), then, caught up, takes
    more events at half that rate (latency)."""
    step("end to end: one aggregator process")
    group = f"{prefix}aggregator"
    env = aggregator_env(infra, prefix, database, group, args.batch, args.batch_timeout_ms)
    aggregator: Aggregator | None = None
    try:
        async with GroupOffsets(infra.kafka, group, list(targets)) as offsets:
            started = time.monotonic()
            aggregator = Aggregator.start(env, log_dir)
            e2e = await end_to_end([aggregator], offsets, targets, started, infra.dsn(database))
            step(f"  {e2e.rate:,.0f} ev/s (from first commit), {e2e.rate_total:,.0f} in total")
            half = e2e.rate / 2
            count = latency_count(args, half)
            if count <= 0:
                return e2e, None
            keys, values = latency_events(data, count, args.seed + 1)
            step(f"latency: {count:,} events at {half:,.0f} ev/s")
            topic = f"{prefix}{METRICS_OBSERVED}"
            before = await aggregator.scrape()
            cpu_before, started = cpu_by_process(), time.monotonic()
            # The data set's objects are not walked by this process's collector while it
            # sends: a pause of the sender would be counted as the aggregator's latency.
            gc.collect()
            gc.freeze()
            try:
                lat = await latency_run(infra.kafka, topic, offsets, aggregator, keys, values, half)
            finally:
                gc.unfreeze()
            lat.samples = difference(await aggregator.scrape(), before)
            used = cpu_used(cpu_before, cpu_by_process(), aggregator_names([aggregator]))
            lat.cores = {k: v / (time.monotonic() - started) for k, v in used.items()}
            return e2e, lat
    finally:
        if aggregator is not None:
            aggregator.stop()


async def run(args: argparse.Namespace) -> None:
    infra = Infra.from_env(redis_db=12)  # its own (the tests use 15)
    await require_kafka(infra.kafka)
    run_id = secrets.token_hex(4)
    e2e_db = f"pulse_bench_{run_id}"
    prefix = f"bench-{run_id}."

    step(f"generating {args.events:,} events over {args.posts:,} posts (seed {args.seed})")
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    data = generate(args.events, args.posts, args.businesses, args.seed, anchor)
    step(f"{len(data.values):,} records, {sum(map(len, data.values)) / 2**20:,.0f} MiB of JSON")

    created: list[str] = []
    topics_made = False
    log_dir = tempfile.mkdtemp(prefix="pulse-bench-")
    try:
        step(f"database {e2e_db} with the posts; topics {prefix}*")
        await ensure_topics(infra.kafka, prefix)
        topics_made = True
        await create_database(infra, e2e_db)
        created.append(e2e_db)
        await load_posts_into(infra, e2e_db, data, args.batch)
        produce_rate, targets = await produce_dataset(infra.kafka, prefix, data)

        step("Kafka ceiling: raw consume")
        kafka_rate, delivered = await kafka_ceiling(infra.kafka, prefix, args.events, args.batch)
        step(f"  {kafka_rate:,.0f} rec/s")
        pg = await measure_postgres_ceiling(infra, f"{e2e_db}_ceiling", data, delivered, args.batch)
        del delivered

        e2e, lat = await one_process(infra, data, prefix, e2e_db, targets, args, log_dir)
        sent = args.events + (lat.events if lat else 0)
        checks = ["one process: " + await check_outcome(infra, e2e_db, prefix, sent, args.posts)]
        await drop_database(infra, e2e_db)  # no autovacuum of it during the scale-out
        created.remove(e2e_db)

        scale: ScaleOut | None = None
        if args.scale_out > 1:
            step(f"scale-out: {args.scale_out} aggregator processes, one consumer group")
            scale = await scale_out(infra, data, prefix, f"{e2e_db}_scale", args, log_dir)
            step(f"  {scale.run.rate:,.0f} ev/s (from first commit)")
            checks.append(f"{scale.processes} processes: {scale.check}")
        print_profile(e2e)
        report(args, produce_rate, kafka_rate, pg, e2e, lat, scale)
        for check in checks:
            print(check)
    finally:
        for name in created:
            try:
                await drop_database(infra, name)
            except (OSError, asyncpg.PostgresError) as exc:
                print(f"could not drop database {name}: {exc!r}", file=sys.stderr)
        if topics_made:
            try:
                await delete_topics(infra.kafka, prefix)
            except Exception as exc:
                print(f"could not delete topics {prefix}*: {exc!r}", file=sys.stderr)
        print(f"(aggregator logs: {log_dir})")


def main(argv: list[str] | None = None) -> None:
    parser = data_parser(__doc__)
    parser.add_argument(
        "--batch",
        type=int,
        default=20_000,
        help="PULSE_BATCH_MAX_RECORDS of the aggregator, and the ceiling's batch size",
    )
    parser.add_argument("--batch-timeout-ms", type=int, default=200)
    parser.add_argument(
        "--latency-events",
        type=int,
        default=None,
        help="events of the half-rate latency run (default: events/10, 15 to 60 s worth)",
    )
    parser.add_argument(
        "--scale-out",
        type=int,
        default=2,
        help="aggregator processes of the scale-out run (one consumer group); 0 or 1: none",
    )
    asyncio.run(run(parse_data_args(parser, argv)))


if __name__ == "__main__":
    main()
