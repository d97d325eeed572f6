"""Reads under writes: query-api's cold latency while the aggregator writes at half its
rate, beside the same latency idle, both from one run; and how soon an observation is
visible in the overview (produce -> visible, from outside, through query-api's HTTP API).

One run, on its own database, topics and Redis database (dropped, deleted and flushed at
the end):

1. data: ``aggregator_bench``'s generator (posts over 90 days, cumulative snapshots of
   them); the posts written by the aggregator's writer, the snapshots produced to Kafka;
2. fill: ONE aggregator process consumes them; its rate from its first commit until
   everything is committed and every summary settled (``aggregator_bench``'s end to end);
3. idle: query-api with its answer cache off (``PULSE_CACHE_ENABLED=false``), each of
   ``query_bench``'s endpoints timed for business 1: ``--requests`` sequential requests
   over one keep-alive connection, p50/p99;
4. under writes: a load process (its own, so its CPU is not this one's, whose clock
   times the requests) produces a newer snapshot of every post in turn at half the fill
   rate; after ``--settle`` seconds, the same timings again against the same process;
5. visibility, still under that load: ``--probes`` observations planted one after the
   other, ``--probe-interval`` apart, at most one in flight per business: each a newer
   snapshot of a post of the overview's period with 1e9 more impressions, sent with the
   services' producer settings; the business's ``/overview`` is then polled every
   ``--poll-interval`` until its total impressions hold them: produce -> visible. The
   group's committed offsets are followed too (produce -> committed), which tells the
   aggregator's share of the delay from the summaries'.

The probe reads through a query-api with the Redis answer cache ON, as deployed: the
dashboard and the reporter read through it, and freshness then depends on the
aggregator retiring cached answers (it bumps a business's cache version after each
batch commit, and again after each roll-up refresh for the businesses it recomputed).
With the cache off the probe would see only when PostgreSQL has the totals, and a
missing bump, an answer served stale for up to its 60 s lifetime, would go unseen. The
overview's totals come from the day rows of ``analytics_summaries``, which each batch
moves in its own transaction (their weeks, months and years follow in a paced refresh):
produce -> committed and committed -> visible tell the batch's share of the delay from
the cache's and the reader's.

No figure is asserted: each target is printed with PASS/MISS and the exit code is 0
unless something crashed. Run: ``make bench`` (full size) or, small,
``make bench RW_BENCH_ARGS="--events 50000 --posts 5000 --businesses 20 --requests 50
--probes 30"``; ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from typing import Any

import asyncpg
import httpx
import redis
from aggregator_bench import (
    Aggregator,
    CommitTimeline,
    Dataset,
    EndToEnd,
    GroupOffsets,
    PostPlan,
    _metrics_at,
    _uuid,
    aggregator_env,
    cpu_by_process,
    cpu_used,
    end_offsets,
    end_to_end,
    generate,
    load_posts_into,
    metrics_partitions,
    percentile,
    produce_dataset,
    require_kafka,
    send_in_batches,
    step,
    verdict,
)
from common import (
    Infra,
    Process,
    create_database,
    data_parser,
    delete_topics,
    drop_database,
    parse_data_args,
)
from query_bench import (
    API,
    Subject,
    Timing,
    prepare_subject,
    query_api_env,
    start_query_api,
    time_all,
)

from pulse_shared.events import METRIC_NAMES, MetricsObserved
from pulse_shared.kafka import JSON_HEADERS, KafkaConnection, ensure_topics, make_producer
from pulse_shared.topics import METRICS_OBSERVED, key_for

# Issue 19's targets.
TARGET_READ_SLOWDOWN = 1.5  # each endpoint's cold p99 under writes / idle
TARGET_VISIBLE_P99_S = 5.0  # produce -> visible in the overview, p99

# This benchmark's own Redis database (aggregator_bench 12, connect_bench 13, query_bench 14,
# the tests 15).
REDIS_DB = 11
MARKER = 10**9  # impressions a probe adds to its post: no other change comes near it
LOAD_TICK_S = 0.02


@dataclass(frozen=True)
class Names:
    """Everything a run makes for itself, from one random id."""

    run_id: str

    @property
    def prefix(self) -> str:
        return f"rwbench-{self.run_id}."

    @property
    def database(self) -> str:
        return f"pulse_rwbench_{self.run_id}"

    @property
    def group(self) -> str:
        return f"{self.prefix}aggregator"

    @property
    def topic(self) -> str:
        return f"{self.prefix}{METRICS_OBSERVED}"


# --- private resources, each undone at the end -----------------------------------------


async def private_topics(stack: contextlib.AsyncExitStack, infra: Infra, names: Names) -> None:
    await ensure_topics(infra.kafka, names.prefix)

    async def delete() -> None:
        try:
            await delete_topics(infra.kafka, names.prefix)
        except Exception as exc:
            print(f"could not delete topics {names.prefix}*: {exc!r}", file=sys.stderr)

    stack.push_async_callback(delete)


async def private_database(stack: contextlib.AsyncExitStack, infra: Infra, names: Names) -> None:
    await create_database(infra, names.database)

    async def drop() -> None:
        try:
            await drop_database(infra, names.database)
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"could not drop database {names.database}: {exc!r}", file=sys.stderr)

    stack.push_async_callback(drop)


def private_redis(stack: contextlib.AsyncExitStack, infra: Infra) -> None:
    """The run's Redis database, empty at the start and at the end (cache versions and
    answers: what the aggregator bumps and query-api reads)."""
    client = redis.Redis.from_url(infra.redis_url)
    client.flushdb()
    stack.callback(client.flushdb)


# --- fill: the aggregator's own rate -----------------------------------------------------


async def fill(
    infra: Infra, names: Names, offsets: GroupOffsets, aggregator: Aggregator, started: float
) -> EndToEnd:
    """The aggregator consumes the generated events: its rate, as aggregator_bench's end
    to end measures it (first commit -> all committed, summaries settled)."""
    targets = await end_offsets(infra.kafka, metrics_partitions(names.prefix))
    return await end_to_end([aggregator], offsets, targets, started, infra.dsn(names.database))


async def vacuum(infra: Infra, database: str) -> None:
    conn = await asyncpg.connect(infra.dsn(database), command_timeout=None)
    try:
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


# --- members: one user of every business, its token ---------------------------------------


async def member_of_all(infra: Infra, database: str, secret: str) -> Subject:
    """Business 1's owner (query_bench's subject, its token), made a member of every other
    business too: the probes read them all."""
    subject = await prepare_subject(infra, database, secret)
    conn = await asyncpg.connect(infra.dsn(database))
    try:
        await conn.execute(
            """INSERT INTO business_members (business_id, user_id, role)
               SELECT id, $1, 'viewer' FROM businesses WHERE id <> $2""",
            subject.user,
            subject.business_id,
        )
    finally:
        await conn.close()
    return subject


# --- the background load: half the aggregator's rate -----------------------------------------


@dataclass
class BackgroundLoad:
    """A process of its own producing every post's next snapshot in turn at ``rate``
    until stopped (:func:`wire_rounds`, through the producer's batch API)."""

    process: multiprocessing.process.BaseProcess
    stopping: EventType
    sent: Synchronized[int]
    rate: float
    started: float
    stopped: float | None = None

    @classmethod
    def start(
        cls, kafka: KafkaConnection, topic: str, posts: Sequence[PostPlan], rate: float, seed: int
    ) -> BackgroundLoad:
        context = multiprocessing.get_context("spawn")
        ready, stopping = context.Event(), context.Event()
        sent: Synchronized[int] = context.Value("q", 0)
        begin = datetime.now(UTC) - timedelta(hours=1)  # newer than every generated snapshot
        process = context.Process(
            target=produce_load,
            args=(kafka, topic, list(posts), rate, seed, begin, ready, stopping, sent),
            name="load",
            daemon=True,
        )
        process.start()
        load = cls(process, stopping, sent, rate, time.monotonic())
        while not ready.wait(0.5):
            load.check_alive()
        load.started = time.monotonic()
        return load

    def check_alive(self) -> None:
        if not self.process.is_alive() and self.stopped is None:
            raise RuntimeError(f"the load process exited ({self.process.exitcode})")

    def stop(self) -> None:
        if self.stopped is None:
            self.stopped = time.monotonic()
        self.stopping.set()
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def produce_load(
    kafka: KafkaConnection, topic: str, posts: list[PostPlan], rate: float, seed: int,
    begin: datetime, ready: EventType, stopping: EventType, sent: Synchronized[int],
) -> None:  # fmt: skip
    """The load process's body."""
    asyncio.run(_produce_load(kafka, topic, posts, rate, seed, begin, ready, stopping, sent))


async def _produce_load(
    kafka: KafkaConnection, topic: str, posts: list[PostPlan], rate: float, seed: int,
    begin: datetime, ready: EventType, stopping: EventType, sent: Synchronized[int],
) -> None:  # fmt: skip
    """Every ``LOAD_TICK_S``, what is due at ``rate`` (at most a second's worth at once)."""
    records = wire_rounds(posts, seed, begin)
    producer = make_producer(kafka)
    await producer.start()
    try:
        ready.set()
        started = time.monotonic()
        while not stopping.is_set():
            due = min(int((time.monotonic() - started) * rate) - sent.value, int(rate) + 1)
            if due > 0:
                await send_in_batches(producer, topic, itertools.islice(records, due))
                sent.value += due
            await asyncio.sleep(LOAD_TICK_S)
    finally:
        await producer.stop()


def wire_rounds(
    posts: Sequence[PostPlan], seed: int, begin: datetime
) -> Iterator[tuple[bytes, bytes]]:
    """``aggregator_bench.snapshot_rounds`` as (key, value) wire bytes, without a model per
    event: building and dumping one costs ~70 us, most of a core at 10,000 events/s taken
    from the machine the reads are timed on. Each post's JSON is laid out once (now, not
    when the first event is taken) from the model's own dump; an event writes its id, time
    and numbers into it. The first round's first events are checked by the model."""
    rng = random.Random(seed)
    order = list(posts)
    rng.shuffle(order)
    layouts = [(key_for(plan.event), *wire_layout(plan)) for plan in order]

    def rounds() -> Iterator[tuple[bytes, bytes]]:
        for round_ in itertools.count(1):
            at = (begin + timedelta(seconds=round_)).isoformat()
            f = 1.0 + 0.01 * round_
            for i, (key, layout, totals) in enumerate(layouts):
                event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                value = (layout % (event_id, at, *(v * f for v in totals))).encode()
                if round_ == 1 and i < 20:
                    MetricsObserved.model_validate_json(value)  # raises if the layout is wrong
                yield key, value

    return rounds()


def wire_layout(plan: PostPlan) -> tuple[str, list[float]]:
    """A %-format of ``plan``'s snapshot event (id, observed_at, then its numbers) and its
    final totals, whose multiples fill it in (null metrics stay null)."""
    post = plan.event
    metrics = _metrics_at(post.platform, plan.base, 1.0, plan.video)
    fixed = MetricsObserved(
        business_id=post.business_id, platform=post.platform,
        platform_post_id=post.platform_post_id, observed_at=datetime.now(UTC), source="poll",
        metrics=metrics,
    ).model_dump(mode="json", exclude={"event_id", "observed_at", "metrics"})  # fmt: skip
    parts, totals = [], []
    for name in METRIC_NAMES:
        value = getattr(metrics, name)
        if value is None:
            parts.append(f'"{name}":null')
        else:
            parts.append(f'"{name}":%.1f' if isinstance(value, float) else f'"{name}":%d')
            totals.append(float(value))
    body = json.dumps(fixed)[1:-1].replace("%", "%%")
    layout = '{"event_id":"%s","observed_at":"%s",' + body + ',"metrics":{' + ",".join(parts) + "}}"
    return layout, totals


# --- visibility probes ---------------------------------------------------------------------


@dataclass
class Probe:
    business_id: int
    sent_at: float
    record: tuple[Any, int]  # (TopicPartition, offset) of the planted observation
    visible_at: float | None  # None: not within --probe-timeout
    polls: int
    cache: str  # X-Cache of the answer that showed it
    committed_at: float | None = None
    failed_polls: int = 0  # answers that timed out (the client's 30 s) or were errors

    @property
    def visible_s(self) -> float:
        return (self.visible_at - self.sent_at) if self.visible_at is not None else float("inf")

    @property
    def committed_s(self) -> float:
        return (self.committed_at - self.sent_at) if self.committed_at is not None else float("inf")


def probe_posts(data: Dataset, now: datetime, seed: int) -> dict[int, list[PostPlan]]:
    """Per business, its posts well inside the overview's default period (the last 30
    days), shuffled: each probe plants on one not probed before."""
    rng = random.Random(seed)
    out: dict[int, list[PostPlan]] = {}
    for plan in data.posts:
        age = now - plan.event.published_at
        if timedelta(hours=3) <= age <= timedelta(days=28):
            out.setdefault(plan.event.business_id, []).append(plan)
    for plans in out.values():
        rng.shuffle(plans)
    return out


def planted(plan: PostPlan, rng: random.Random) -> MetricsObserved:
    """A snapshot of ``plan``'s post observed now (newer than any other of it), with
    ``MARKER`` more impressions than its final totals."""
    post = plan.event
    metrics = _metrics_at(post.platform, plan.base, 3.0, plan.video)
    return MetricsObserved(
        event_id=_uuid(rng),
        business_id=post.business_id,
        platform=post.platform,
        platform_post_id=post.platform_post_id,
        observed_at=datetime.now(UTC),
        source="webhook",
        metrics=metrics.model_copy(update={"impressions": (metrics.impressions or 0) + MARKER}),
    )


async def overview_impressions(client: httpx.AsyncClient, business_id: int) -> tuple[int, str]:
    """The overview's total impressions (its default period) and its X-Cache."""
    response = await client.get(f"{API}/overview", params={"business_id": business_id})
    response.raise_for_status()
    total = response.json()["summary"]["total_impressions"] or 0
    return int(total), response.headers.get("x-cache", "-")


async def probe(
    client: httpx.AsyncClient,
    producer: Any,
    topic: str,
    event: MetricsObserved,
    poll_s: float,
    timeout_s: float,
) -> Probe:
    """Plant ``event``, then poll its business's overview until it shows (or timeout_s).
    An answer that times out or fails is counted and asked again: a slow overview under
    writes is a finding, not the end of the run."""
    business = event.business_id
    before, failed = None, 0
    while before is None:
        try:
            before, _ = await overview_impressions(client, business)
        except httpx.HTTPError:
            failed += 1
            if failed * 30 > timeout_s:
                raise
    sent_at = time.monotonic()
    delivery = await producer.send(
        topic, event.model_dump_json().encode(), key=key_for(event), headers=JSON_HEADERS
    )
    meta = await delivery
    record = (meta.topic_partition, meta.offset)
    polls = 0
    while time.monotonic() - sent_at < timeout_s:
        polls += 1
        try:
            total, cache = await overview_impressions(client, business)
        except httpx.HTTPError:
            failed += 1
            continue
        if total >= before + MARKER // 2:
            return Probe(business, sent_at, record, time.monotonic(), polls, cache, None, failed)
        await asyncio.sleep(poll_s)
    return Probe(business, sent_at, record, None, polls, "-", None, failed)


async def lag(infra: Infra, names: Names, offsets: GroupOffsets) -> int:
    """Records of the metrics topic not yet committed by the aggregator."""
    ends = await end_offsets(infra.kafka, metrics_partitions(names.prefix))
    committed = await offsets.committed()
    return sum(max(end - committed.get(tp, 0), 0) for tp, end in ends.items())


# --- the stage the phases play on --------------------------------------------------------------


@dataclass
class Stage:
    """What every phase uses: the run's names and data, its aggregator (and the group's
    committed offsets), its two query-api processes and the member that reads."""

    infra: Infra
    names: Names
    data: Dataset
    args: argparse.Namespace
    aggregator: Aggregator
    offsets: GroupOffsets
    cold: Process  # PULSE_CACHE_ENABLED=false: the read timings
    cached: Process  # the Redis answer cache on, as deployed: the visibility probes
    subject: Subject
    load: BackgroundLoad | None = None

    def processes(self) -> dict[int, str]:
        """pid -> name, for the CPU accounting."""
        named = {
            self.aggregator.pid: "aggregator",
            self.cold.popen.pid: "query-api (cache off)",
            self.cached.popen.pid: "query-api (cache on)",
        }
        if self.load is not None and self.load.process.pid is not None:
            named[self.load.process.pid] = "load producer"
        return named

    def check_alive(self) -> None:
        self.aggregator.check_alive()
        if self.load is not None:
            self.load.check_alive()


async def set_up(
    stack: contextlib.AsyncExitStack, infra: Infra, names: Names, data: Dataset,
    args: argparse.Namespace, log_dir: str,
) -> tuple[Stage, EndToEnd]:  # fmt: skip
    """The run's topics, database and Redis database; the posts written, the events
    produced and consumed by one aggregator process (its rate: the fill); the member;
    the two query-api processes. Each is undone by ``stack``."""
    step(
        f"database {names.database} with the posts; topics {names.prefix}*;"
        f" Redis database {REDIS_DB}"
    )
    await private_topics(stack, infra, names)
    await private_database(stack, infra, names)
    private_redis(stack, infra)
    await load_posts_into(infra, names.database, data, args.batch)
    await produce_dataset(infra.kafka, names.prefix, data)

    step("fill: one aggregator process consumes them")
    env = aggregator_env(
        infra, names.prefix, names.database, names.group, args.batch, args.batch_timeout_ms
    )
    offsets = await stack.enter_async_context(
        GroupOffsets(infra.kafka, names.group, metrics_partitions(names.prefix))
    )
    started = time.monotonic()
    aggregator = Aggregator.start(env, log_dir)
    stack.callback(aggregator.stop)
    fill_run = await fill(infra, names, offsets, aggregator, started)
    step(f"  {fill_run.rate:,.0f} ev/s (from first commit); VACUUM (ANALYZE)")
    await vacuum(infra, names.database)  # the idle figures start from a settled database

    secret = f"bench-secret-{secrets.token_hex(16)}"
    subject = await member_of_all(infra, names.database, secret)
    api_env = query_api_env(infra, names.database, secret, names.prefix)
    cold = start_query_api({**api_env, "PULSE_CACHE_ENABLED": "false"}, log_dir, "cold")
    stack.callback(cold.stop)
    cached = start_query_api({**api_env, "PULSE_CACHE_ENABLED": "true"}, log_dir, "cached")
    stack.callback(cached.stop)
    stage = Stage(infra, names, data, args, aggregator, offsets, cold, cached, subject)
    return stage, fill_run


# --- phases --------------------------------------------------------------------------------


@dataclass
class Phase:
    """What a phase's machine did: the load sent, the aggregator's lag at its end, the
    cores each process kept busy on average, its summary refreshes."""

    seconds: float = 0.0
    sent_per_s: float = 0.0
    lag_end: int = 0
    cores: dict[str, float] = field(default_factory=dict)
    refreshes: float = 0.0  # roll-up refreshes the aggregator ran (stage "rollups")
    refresh_s: float = 0.0  # their time, in all
    rows_written: dict[str, int] = field(default_factory=dict)  # per table: ins + upd + del
    # Per named process: seconds its threads waited for a core, per second: runnable
    # but not running (the machine's other work had the cores).
    waited: dict[str, float] = field(default_factory=dict)


def run_queue_seconds(named: dict[int, str]) -> dict[int, tuple[str, float]]:
    """pid -> (name, seconds its threads have waited in a run queue so far), for the
    named processes and PostgreSQL's (Linux /proc/<pid>/task/<tid>/schedstat: on-CPU ns,
    waiting ns, timeslices)."""
    out: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(entry)
            name = named.get(pid)
            if name is None:
                with open(f"/proc/{pid}/comm", encoding="ascii", errors="replace") as f:
                    if f.read().strip() != "postgres":
                        continue
                name = "postgres (all)"
            waited = 0.0
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as f:
                    waited += int(f.read().split()[1]) / 1e9
            out[pid] = (name, waited)
    return out


def waited_between(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """Seconds waited between two snapshots, by name (a process gone by the second is
    missed)."""
    out: dict[str, float] = {}
    for pid, (name, seconds) in after.items():
        out[name] = out.get(name, 0.0) + seconds - before.get(pid, (name, 0.0))[1]
    return out


# Rows written per table the endpoints read, as PostgreSQL counts them (its statistics
# lag a second or so behind): what the aggregator's batches and refreshes rewrite.
ROWS_WRITTEN = """
SELECT CASE WHEN relname LIKE 'post_metric_snapshots%' THEN 'post_metric_snapshots'
            ELSE relname END AS name,
       sum(n_tup_ins + n_tup_upd + n_tup_del)::bigint AS written
FROM pg_stat_user_tables
WHERE relname IN ('analytics_summaries', 'activity_daily', 'post_analytics')
   OR relname LIKE 'post_metric_snapshots%'
GROUP BY 1
"""


async def rows_written(stage: Stage) -> dict[str, int]:
    conn = await asyncpg.connect(stage.infra.dsn(stage.names.database))
    try:
        return {row["name"]: row["written"] for row in await conn.fetch(ROWS_WRITTEN)}
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def observed(stage: Stage) -> AsyncIterator[Phase]:
    """Yields a Phase, filled in when the block ends."""
    phase = Phase()
    cpu, started = cpu_by_process(), time.monotonic()
    waited = run_queue_seconds(stage.processes())
    sent = stage.load.sent.value if stage.load else 0
    refreshes, refresh_s = await refresh_counters(stage.aggregator)
    written = await rows_written(stage)
    yield phase
    phase.seconds = time.monotonic() - started
    phase.cores = {
        k: v / phase.seconds for k, v in cpu_used(cpu, cpu_by_process(), stage.processes()).items()
    }
    after = run_queue_seconds(stage.processes())
    phase.waited = {k: v / phase.seconds for k, v in waited_between(waited, after).items()}
    if stage.load is not None:
        phase.sent_per_s = (stage.load.sent.value - sent) / phase.seconds
    phase.lag_end = await lag(stage.infra, stage.names, stage.offsets)
    count, seconds = await refresh_counters(stage.aggregator)
    phase.refreshes, phase.refresh_s = count - refreshes, seconds - refresh_s
    phase.rows_written = {k: v - written.get(k, 0) for k, v in (await rows_written(stage)).items()}


async def refresh_counters(aggregator: Aggregator) -> tuple[float, float]:
    """The aggregator's summary refreshes so far: how many, and their seconds in all."""
    samples = await aggregator.scrape()
    key = (("stage", "rollups"),)
    return (
        samples.get(("pulse_aggregator_stage_seconds_count", key), 0.0),
        samples.get(("pulse_aggregator_stage_seconds_sum", key), 0.0),
    )


async def timed_reads(stage: Stage) -> tuple[dict[str, Timing], Phase]:
    """query_bench's timings of every endpoint, cache off (blocking httpx, in a thread)."""
    async with observed(stage) as phase:
        timings = await asyncio.to_thread(time_all, stage.cold, stage.subject, stage.args, False)
        stage.check_alive()
    return timings, phase


async def start_load(stack: contextlib.AsyncExitStack, stage: Stage, rate: float) -> None:
    """The background load at ``rate``, then ``--settle`` seconds for the aggregator to
    settle into it."""
    args = stage.args
    step(f"under writes: load at {rate:,.0f} ev/s, {args.settle:.0f} s to settle")
    topic = stage.names.topic
    stage.load = BackgroundLoad.start(stage.infra.kafka, topic, stage.data.posts, rate, args.seed)
    stack.callback(stage.load.stop)
    deadline = time.monotonic() + args.settle
    while time.monotonic() < deadline:
        stage.check_alive()
        await asyncio.sleep(0.2)


async def visibility(stage: Stage) -> tuple[list[Probe], Phase]:
    """``--probes`` probes, ``--probe-interval`` apart, at most one in flight per
    business (a business's totals tell one probe only) and ``--probes-in-flight`` in all
    (each polls the overview every ``--poll-interval``: when visibility is slow, more
    would load query-api with the probes' own polling, the thing measured); the offsets
    committed followed."""
    args = stage.args
    posts = probe_posts(stage.data, datetime.now(UTC), args.seed + 2)
    free: asyncio.Queue[int] = asyncio.Queue()
    for business in random.Random(args.seed).sample(sorted(posts), len(posts)):
        free.put_nowait(business)
    rng = random.Random(args.seed + 3)
    in_flight = asyncio.Semaphore(args.probes_in_flight)
    headers = {"Authorization": f"Bearer {stage.subject.token}"}
    producer = make_producer(stage.infra.kafka)  # the services' own producer settings
    await producer.start()
    try:
        async with (
            observed(stage) as phase,
            httpx.AsyncClient(base_url=stage.cached.url, headers=headers, timeout=30) as client,
            CommitTimeline(stage.offsets, interval=0.05) as timeline,
        ):

            async def one(business: int) -> Probe:
                try:
                    event = planted(posts[business].pop(), rng)
                    return await probe(client, producer, stage.names.topic, event,
                                       args.poll_interval, args.probe_timeout)  # fmt: skip
                finally:
                    in_flight.release()
                    if posts[business]:
                        free.put_nowait(business)

            tasks = []
            for _ in range(min(args.probes, sum(map(len, posts.values())))):
                stage.check_alive()
                await in_flight.acquire()
                tasks.append(asyncio.create_task(one(await free.get())))
                await asyncio.sleep(args.probe_interval)
            probes = list(await asyncio.gather(*tasks))
            await timeline.wait_for([p.record for p in probes], stage.check_alive)
        for p, at in zip(probes, timeline.committed_at([p.record for p in probes]), strict=True):
            p.committed_at = at
    finally:
        await producer.stop()
    return probes, phase


# --- report ------------------------------------------------------------------------------------


def print_phases(phases: dict[str, Phase], asked: float) -> None:
    print(f"load asked: {asked:,.0f} ev/s (half the fill rate)")
    for name, p in phases.items():
        cores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(p.cores.items(), key=lambda kv: -kv[1]))
        every = f" (one every {p.seconds / p.refreshes:.1f} s)" if p.refreshes else ""
        print(
            f"  {name:<22} {p.seconds:5.0f} s: load sent {p.sent_per_s:,.0f} ev/s, aggregator"
            f" lag at the end {p.lag_end:,} records; {p.refreshes:.0f} summary refreshes{every}"
            f"{f', mean {p.refresh_s / p.refreshes:.2f} s' if p.refreshes else ''}"
        )
        print(f"  {'':<22} cores busy: {cores}")
        waits = ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(p.waited.items(), key=lambda kv: -kv[1])
        )
        print(f"  {'':<22} waited for a core (s per s): {waits}")
        rows = ", ".join(f"{k} {v / p.seconds:,.0f}" for k, v in sorted(p.rows_written.items()))
        print(f"  {'':<22} rows written per s: {rows}")


def print_reads(idle: dict[str, Timing], loaded: dict[str, Timing]) -> None:
    print(
        f"{'endpoint (cache off)':<34} {'idle p50':>9} {'idle p99':>9} {'load p50':>9}"
        f" {'load p99':>9} {'p99 x':>6}"
    )
    for name, i in idle.items():
        w = loaded[name]
        print(
            f"{name:<34} {i.p50:9.1f} {i.p99:9.1f} {w.p50:9.1f} {w.p99:9.1f} {w.p99 / i.p99:6.2f}"
        )


def seconds(value: float) -> str:
    """A delay; never seen (inf) as such."""
    return f"{value:6.2f} s" if value != float("inf") else "  never"


def print_visibility(probes: list[Probe], timeout_s: float) -> None:
    def spread(values: list[float]) -> str:
        values = sorted(values)
        return (
            f"p50 {seconds(percentile(values, 0.5))}  p99 {seconds(percentile(values, 0.99))}"
            f"  max {seconds(values[-1])}"
        )

    print(f"  produce -> visible in /overview    {spread([p.visible_s for p in probes])}")
    print(f"  produce -> committed (aggregator)  {spread([p.committed_s for p in probes])}")
    print(
        "  committed -> visible               "
        + spread([p.visible_s - p.committed_s for p in probes])
    )
    caches: dict[str, int] = {}
    for p in probes:
        caches[p.cache] = caches.get(p.cache, 0) + 1
    missing = sum(1 for p in probes if p.visible_at is None)
    print(
        f'  {len(probes)} probes, {missing} not visible within {timeout_s:.0f} s ("never");'
        f" {sum(p.polls for p in probes) / len(probes):.1f} polls per probe;"
        f" X-Cache of the answer that showed it: {caches}"
    )
    failed = sum(p.failed_polls for p in probes)
    if failed:
        print(f"  {failed} overview answers timed out (30 s) or failed while probing")


def print_targets(idle: dict[str, Timing], loaded: dict[str, Timing], probes: list[Probe]) -> None:
    for name, i in idle.items():
        ratio = loaded[name].p99 / i.p99
        print(
            f"target {name} cold p99 under writes <= {TARGET_READ_SLOWDOWN} x idle (issue 19):"
            f" {verdict(ratio <= TARGET_READ_SLOWDOWN)} ({ratio:.2f}: {loaded[name].p99:.1f}"
            f" vs {i.p99:.1f} ms)"
        )
    p99 = percentile(sorted(p.visible_s for p in probes), 0.99)
    print(
        f"target produce -> visible in /overview p99 <= {TARGET_VISIBLE_P99_S:.0f} s"
        f" (issue 19): {verdict(p99 <= TARGET_VISIBLE_P99_S)} ({seconds(p99).strip()})"
    )


def report(
    args: argparse.Namespace, fill_run: EndToEnd, idle: dict[str, Timing],
    loaded: dict[str, Timing], probes: list[Probe], phases: dict[str, Phase],
) -> None:  # fmt: skip
    line = "=" * 100
    print("\n" + line)
    print(
        f"Reads under writes: {args.events:,} events over {args.posts:,} posts and"
        f" {args.businesses:,} businesses; business 1 read, {args.requests} requests per"
        " endpoint and phase"
    )
    print(line)
    print(
        f"aggregator rate (fill: first commit -> all committed, summaries settled):"
        f" {fill_run.rate:,.0f} ev/s"
    )
    print_phases(phases, fill_run.rate / 2)
    print("\nlatency (ms): one query-api process, cache off; the same process idle and under load")
    print_reads(idle, loaded)
    print("\nvisibility of a planted observation in /overview (query-api cache on), under load")
    print_visibility(probes, args.probe_timeout)
    print("-" * 100)
    print_targets(idle, loaded, probes)
    if args.events < 1_000_000:
        print("(a reduced run: the targets are stated for 1,000,000 events)")


# --- main ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    infra = Infra.from_env(redis_db=REDIS_DB)
    await require_kafka(infra.kafka)
    names = Names(secrets.token_hex(4))
    step(f"generating {args.events:,} events over {args.posts:,} posts (seed {args.seed})")
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    data = generate(args.events, args.posts, args.businesses, args.seed, anchor)
    log_dir = tempfile.mkdtemp(prefix="pulse-rwbench-")
    try:
        async with contextlib.AsyncExitStack() as stack:
            stage, fill_run = await set_up(stack, infra, names, data, args, log_dir)
            step("idle: every endpoint, cache off")
            idle, idle_phase = await timed_reads(stage)
            await start_load(stack, stage, fill_run.rate / 2)
            step("under writes: every endpoint, cache off")
            loaded, reads_phase = await timed_reads(stage)
            step(f"visibility: {args.probes} probes, {args.probe_interval:.1f} s apart, cache on")
            probes, probes_phase = await visibility(stage)
            assert stage.load is not None
            stage.load.stop()
        phases = {"idle reads": idle_phase, "reads under load": reads_phase,
                  "probes under load": probes_phase}  # fmt: skip
        report(args, fill_run, idle, loaded, probes, phases)
    finally:
        print(f"(logs: {log_dir})")


def main(argv: list[str] | None = None) -> None:
    parser = data_parser(__doc__, events_help="metrics events to fill")
    parser.add_argument("--batch", type=int, default=20_000, help="PULSE_BATCH_MAX_RECORDS")
    parser.add_argument("--batch-timeout-ms", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200, help="per endpoint and phase")
    parser.add_argument(
        "--export-requests", type=int, default=None, help="of the export (default: --requests)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds per endpoint and phase: a slower one is timed on fewer",
    )
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds of load before the timings under it"
    )
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument(
        "--probes-in-flight", type=int, default=5, help="probes polling the overview at once"
    )
    parser.add_argument("--probe-interval", type=float, default=1.0, help="seconds between probes")
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.2,
        help="seconds between a probe's reads of the overview",
    )
    parser.add_argument("--probe-timeout", type=float, default=60.0)
    args = parse_data_args(parser, argv)
    if args.export_requests is None:
        args.export_requests = args.requests
    if args.probes <= 0:
        parser.error("need probes > 0")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
