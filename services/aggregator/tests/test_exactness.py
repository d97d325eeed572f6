"""The aggregator's database equals a plain-Python reference computed from the same events,
whatever the delivery: duplicates, reordering, metrics before posts, replay from offset 0,
a time-zone change, and a kill -9 mid-stream followed by restart (and a rebalance).

All over the real Kafka and PostgreSQL, with the aggregator as a real process.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import signal

import asyncpg
import pytest
from scenario import (
    Stream,
    assert_database_matches,
    batch_writes_held,
    build_stream,
    caught_up,
    produce,
    reference_of,
    wait_batch_held,
    wait_caught_up,
    wait_settled,
)

from pulse_shared.kafka import ensure_topics
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, start_service
from pulse_testing.waiting import eventually

pytestmark = pytest.mark.integration

SESSION_GROUP_SUFFIX = "aggregator"  # conftest's aggregator fixture: <prefix>aggregator


def new_businesses(n: int) -> list[int]:
    """Fresh ids every run, whatever the stream's seed: tests share one database."""
    return [secrets.randbelow(2**62) + 10**12 for _ in range(n)]


async def test_duplicates_reordering_and_metrics_before_posts(
    infra: Infra, aggregator: ServiceProcess, db: asyncpg.Connection
) -> None:
    rng = random.Random(3)
    businesses = new_businesses(3)
    stream = build_stream(rng, businesses, posts_per_business=40, snapshots_per_post=4)
    await produce(infra.kafka, infra.topic_prefix, stream)
    await wait_caught_up(infra.kafka, infra.topic_prefix, infra.topic_prefix + "aggregator")
    await assert_database_matches(db, reference_of(stream), businesses)


async def test_time_zone_change_rebuilds_and_later_events_follow_it(
    infra: Infra, aggregator: ServiceProcess, db: asyncpg.Connection
) -> None:
    rng = random.Random(5)
    businesses = new_businesses(3)
    first = build_stream(rng, businesses, posts_per_business=30, snapshots_per_post=3)
    group = infra.topic_prefix + "aggregator"
    await produce(infra.kafka, infra.topic_prefix, first)
    await wait_caught_up(infra.kafka, infra.topic_prefix, group)

    zones = ["Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"]
    for business, zone in zip(businesses, zones, strict=True):
        await set_business_timezone(db, business, zone)
    await assert_database_matches(db, reference_of(first), businesses)

    # Events after the change are placed in the new zone's days.
    second = build_stream(rng, businesses, posts_per_business=10, snapshots_per_post=2)
    await produce(infra.kafka, infra.topic_prefix, second)
    await wait_caught_up(infra.kafka, infra.topic_prefix, group)
    await assert_database_matches(db, reference_of(first, second), businesses)

    with pytest.raises(asyncpg.InvalidParameterValueError):
        await set_business_timezone(db, businesses[0], "Mars/Olympus_Mons")
    with pytest.raises(LookupError):
        await set_business_timezone(db, 2**62 + 7, "UTC")


async def test_replay_from_offset_zero_changes_nothing(
    infra: Infra,
    aggregator: ServiceProcess,
    db: asyncpg.Connection,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    rng = random.Random(11)
    businesses = new_businesses(2)
    stream = build_stream(rng, businesses, posts_per_business=30, snapshots_per_post=3)
    await produce(infra.kafka, infra.topic_prefix, stream)
    await wait_settled(
        db, infra.kafka, infra.topic_prefix, infra.topic_prefix + "aggregator",
        businesses,
    )  # fmt: skip
    before = await row_versions(db, businesses)

    # A second aggregator in a new group reads every topic from offset 0.
    group = f"{infra.topic_prefix}replay-{secrets.token_hex(3)}"
    replay = start_service(
        "aggregator-replay",
        "pulse_aggregator.app:app",
        infra.env(PULSE_CONSUMER_GROUP=group),
        str(tmp_path_factory.mktemp("logs")),
    )
    try:
        await wait_caught_up(infra.kafka, infra.topic_prefix, group)
    finally:
        replay.stop()
    await assert_database_matches(db, reference_of(stream), businesses)
    # Not one row was rewritten: the replay found nothing new to apply.
    assert await row_versions(db, businesses) == before


async def row_versions(db: asyncpg.Connection, businesses: list[int]) -> dict[str, list[str]]:
    """The physical version (xmin) of every analytics row of the businesses, per table."""
    versions = {}
    for table in ("published_posts", "post_analytics", "post_metric_snapshots",
                  "account_snapshots", "analytics_summaries"):  # fmt: skip
        rows = await db.fetch(
            f"SELECT xmin::text AS v FROM {table} WHERE business_id = ANY($1) ORDER BY ctid",
            businesses,
        )
        versions[table] = [r["v"] for r in rows]
    return versions


async def test_sigterm_and_kill_9_mid_stream_then_restart_and_rebalance(
    infra: Infra, db: asyncpg.Connection, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The crash test uses topics of its own, so no other aggregator can do its work. Each
    stop comes while a batch is inside its open transaction: the test holds the locks every
    batch write takes, waits until a batch waits on them, then stops the aggregator."""
    rng = random.Random(17)
    businesses = new_businesses(4)
    stream = build_stream(rng, businesses, posts_per_business=250, snapshots_per_post=8)
    first_part, second_part, third_part = stream.split(3)
    prefix = f"{infra.topic_prefix}crash-{secrets.token_hex(3)}."
    group = prefix + "aggregator"
    await ensure_topics(infra.kafka, prefix)
    env = infra.env(
        PULSE_TOPIC_PREFIX=prefix, PULSE_CONSUMER_GROUP=group, PULSE_BATCH_MAX_RECORDS="500"
    )
    logs = str(tmp_path_factory.mktemp("logs"))

    async def stopped_mid_batch(service: ServiceProcess, part: Stream, sig: int) -> None:
        async with batch_writes_held(db, businesses):
            await produce(infra.kafka, prefix, part)
            await wait_batch_held(db, businesses)
            service.stop(sig, timeout=120)  # the log below says it stopped, not SIGABRT
        # The held batch never committed, so its records are still to be consumed.
        assert not await caught_up(infra.kafka, prefix, group)

    # SIGTERM mid-stream: the batch in hand is abandoned, never half-committed.
    first = start_service("aggregator-1", "pulse_aggregator.app:app", env, logs)
    await produce(infra.kafka, prefix, first_part)
    await wait_caught_up(infra.kafka, prefix, group)
    await stopped_mid_batch(first, second_part, signal.SIGTERM)
    assert "aggregator stopped" in first.log()

    # kill -9 mid-stream, after the restarted aggregator has committed what was left.
    restarted = start_service("aggregator-1b", "pulse_aggregator.app:app", env, logs)
    await wait_caught_up(infra.kafka, prefix, group)
    await stopped_mid_batch(restarted, third_part, signal.SIGKILL)
    assert restarted.process.returncode == -signal.SIGKILL

    second = start_service("aggregator-2", "pulse_aggregator.app:app", env, logs)
    # A second replica joins mid-stream: the group rebalances the partitions between them.
    third = start_service("aggregator-3", "pulse_aggregator.app:app", env, logs)
    try:
        await wait_caught_up(infra.kafka, prefix, group, timeout=180)
        await assert_database_matches(db, reference_of(stream), businesses)
    finally:
        second.stop()
        third.stop()


class TcpProxy:
    """A TCP proxy to PostgreSQL that the test can cut, like a network outage."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for writer in list(self._writers):
            writer.transport.abort()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self._target_port)
        self._writers |= {client_w, server_w}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                w.transport.abort()

        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))
        self._writers -= {client_w, server_w}


async def test_database_outage_pauses_and_loses_nothing_and_redis_down_is_harmless(
    infra: Infra, db: asyncpg.Connection, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rng = random.Random(23)
    businesses = new_businesses(2)
    before = build_stream(rng, businesses, posts_per_business=20, snapshots_per_post=2)
    during = build_stream(rng, businesses, posts_per_business=20, snapshots_per_post=2)
    prefix = f"{infra.topic_prefix}outage-{secrets.token_hex(3)}."
    group = prefix + "aggregator"
    await ensure_topics(infra.kafka, prefix)
    proxy = TcpProxy(int(infra.database_url.rsplit(":", 1)[1].split("/")[0]))
    await proxy.start()
    env = infra.env(
        PULSE_TOPIC_PREFIX=prefix,
        PULSE_CONSUMER_GROUP=group,
        PULSE_DATABASE_URL=infra.database_url.replace(
            f":{infra.database_url.rsplit(':', 1)[1].split('/')[0]}/", f":{proxy.port}/"
        ),
        PULSE_REDIS_URL="redis://127.0.0.1:1/0",  # nothing listens there: Redis is down
        PULSE_RETRY_MAX_S="1",
    )
    # In a thread: start_service blocks, and the proxy lives on this event loop.
    service = await asyncio.to_thread(
        start_service,
        "aggregator-outage",
        "pulse_aggregator.app:app",
        env,
        str(tmp_path_factory.mktemp("logs")),
    )
    try:
        await produce(infra.kafka, prefix, before)
        await wait_caught_up(infra.kafka, prefix, group)
        logged_before_cut = len(service.log())
        await proxy.cut()
        await produce(infra.kafka, prefix, during)

        async def write_failed() -> bool:
            return any(
                '"step": "write batch"' in line and "retrying" in line
                for line in service.log()[logged_before_cut:].splitlines()
            )

        await eventually(write_failed, timeout=60)
        assert not await caught_up(infra.kafka, prefix, group)  # paused, not skipped
        await proxy.start()
        await wait_caught_up(infra.kafka, prefix, group)
        await assert_database_matches(db, reference_of(before, during), businesses)
    finally:
        service.stop()
    log = service.log()
    assert '"step": "write batch"' in log
    assert "retrying" in log
    assert "cache version bump failed" in log
