"""The consume -> write -> commit loop, over aiokafka directly.

Why aiokafka rather than a FastStream batch subscriber: the loop must commit exactly the
offsets of the batch it wrote, only after the database commit, must hold the batch (and
the partitions) while the database is down instead of acknowledging or seeking, and
must report lag per partition. aiokafka's ``getmany``/``commit(offsets)`` say that
directly; FastStream's ``msg.ack()`` commits every consumed position, which is the same
here but hides it.

Guarantees: offsets are committed only after the batch's transaction committed and its
rejects reached the DLQ, so a crash (or SIGTERM) at any point replays the batch, and the
writes are idempotent, so a replay changes nothing. A failing database is retried with
exponential backoff and jitter for as long as it takes; no event is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError, IllegalStateError
from redis.asyncio import Redis
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from pulse_aggregator import metrics
from pulse_aggregator.handlers import DecodedBatch, decode_batch, write_batch
from pulse_aggregator.records import Record, Rejected
from pulse_aggregator.settings import Settings
from pulse_aggregator.writer import AnalyticsWriter
from pulse_shared.cache import bump_cache_versions
from pulse_shared.logs import get_logger
from pulse_shared.topics import (
    ACCOUNTS_OBSERVED,
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_REASON,
    DLQ_HEADER_TOPIC,
    METRICS_OBSERVED,
    POSTS_PUBLISHED,
    POSTS_REMOVED,
    dlq,
)

log = get_logger(__name__)

CONSUMED_TOPICS = (POSTS_PUBLISHED, POSTS_REMOVED, METRICS_OBSERVED, ACCOUNTS_OBSERVED)

T = TypeVar("T")
# How often a paused stream retries a cache-version bump that failed (Redis away).
BUMP_RETRY_S = 5.0

# Records decoded between two yields to the event loop (about 10 ms of work).
DECODE_SLICE = 500


def _record(r: ConsumerRecord) -> Record:
    return Record(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))


class BatchConsumer:
    def __init__(
        self,
        settings: Settings,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        writer: AnalyticsWriter,
        redis: Redis | None = None,
    ) -> None:
        self._settings = settings
        self._consumer = consumer
        self._producer = producer
        self._writer = writer
        self._redis = redis
        self._topic_of = {settings.topic(t): t for t in CONSUMED_TOPICS}
        self._stopping = False
        # Held while a batch is between its poll and its offset commit.
        self._in_flight = asyncio.Lock()
        # Businesses whose cache version could not be bumped yet (Redis was down).
        self._unbumped: set[int] = set()
        self._bump_retry_at = 0.0  # monotonic: when a pause may retry a failed bump
        self.batches_committed = 0
        # Summaries may be pending from before a restart: refresh once at start.
        self._summaries_due = True
        self._pacing = RefreshPacing(settings.summary_interval_s, settings.summary_max_share)
        self._refresh: asyncio.Task[frozenset[int]] | None = None
        # Counts rebalances: a batch polled in an earlier generation is not written.
        self._generation = 0

    @staticmethod
    def topics(settings: Settings) -> list[str]:
        return [settings.topic(t) for t in CONSUMED_TOPICS]

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        """Poll, decode, write, commit; the next batch is polled and decoded while the last
        one is written (a pipeline of two), and batches commit strictly in order."""
        s = self._settings
        writing: asyncio.Task[None] | None = None
        try:
            while not self._stopping:
                polled = await self._consumer.getmany(
                    timeout_ms=s.batch_timeout_ms, max_records=s.batch_max_records
                )
                batch = await self._decode(polled) if polled else None
                if writing is not None:
                    await writing
                    writing = None
                if batch is not None:
                    writing = asyncio.create_task(self._write_and_commit(batch))
                idle = writing is None and await self._caught_up()
                if idle and self._unbumped and time.monotonic() >= self._bump_retry_at:
                    # A bump that failed after the last batch's commit: no later batch may
                    # come to carry it, so the pause does (every few seconds).
                    await self._bump_cache_versions()
                self._maybe_refresh_summaries(idle=idle)
            if writing is not None:
                await writing
        finally:
            for task in (writing, self._refresh):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _caught_up(self) -> bool:
        """No assigned partition has records left to fetch (as far as the last fetch told):
        an empty poll while behind is a slow fetch, not a pause in the stream."""
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is not None and await self._consumer.position(tp) < highwater:
                return False
        return True

    def _maybe_refresh_summaries(self, idle: bool) -> None:
        """Summaries are refreshed as soon as the stream pauses, and while it flows at
        most every summary_interval_s and no more than summary_max_share of the time, so
        that busy batches share the work. The refresh runs beside the batches, on its own
        connection, so that PostgreSQL works on both at once; but it competes with them
        for the cores, and a refresh every 5 s that took 2-4 s (every day of every
        business is touched when every post is being polled) left the writer unable to
        keep up at half its throughput. An idle replica also looks every interval for
        work another one left queued (one that crashed, say)."""
        if self._refresh is not None and not self._refresh.done():
            return
        now = time.monotonic()
        interval_over = self._pacing.over(now)
        if (self._summaries_due and (idle or interval_over)) or (idle and interval_over):
            self._summaries_due = False
            self._pacing.started = now
            self._refresh = asyncio.create_task(self._timed_refresh(), name="summary-refresh")

    async def _timed_refresh(self) -> frozenset[int]:
        try:
            refreshed = await self._retrying("refresh summaries", self._writer.refresh_summaries)
        finally:
            self._pacing.ended = time.monotonic()
        # The refresh changed totals that readers see, after the batches' own bumps: their
        # cached answers are retired now, not when they expire.
        self._unbumped |= refreshed
        await self._bump_cache_versions()
        return refreshed

    def rebalance_listener(self) -> ConsumerRebalanceListener:
        """Lets a rebalance wait for the batch in hand to commit, so the partition's new
        owner starts after it instead of applying it a second time."""
        return _FinishBatchBeforeRevoke(self)

    def on_revoke(self) -> None:
        self._generation += 1

    async def _decode(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> _Polled:
        """Decode in slices, yielding between them: the batch being written and the summary
        refresh need the event loop to send their next statements meanwhile."""
        started = time.monotonic()
        records = [_record(r) for batch in polled.values() for r in batch]
        for tp, batch in polled.items():
            metrics.EVENTS_CONSUMED.labels(self._topic_of.get(tp.topic, tp.topic)).inc(len(batch))
        now = datetime.now(UTC)
        skew = timedelta(seconds=self._settings.max_clock_skew_s)
        decoded = DecodedBatch()
        for first in range(0, len(records), DECODE_SLICE):
            part = decode_batch(records[first : first + DECODE_SLICE], self._topic_of, now, skew)
            decoded.accepted += part.accepted
            decoded.rejected += part.rejected
            await asyncio.sleep(0)
        return _Polled(polled, decoded, started, self._generation)

    async def _write_and_commit(self, batch: _Polled) -> None:
        async with self._in_flight:
            if batch.generation != self._generation:
                # Polled before a rebalance: its partitions restart from their committed
                # offsets (with us or their new owner), so writing it now would apply it
                # twice.
                log.info("batch from before a rebalance dropped", records=batch.size)
                return
            await self._process(batch.polled, batch.decoded, batch.started)

    async def _process(
        self,
        polled: dict[TopicPartition, list[ConsumerRecord]],
        decoded: DecodedBatch,
        started: float,
    ) -> None:
        result = await self._retrying(
            "write batch",
            lambda: write_batch(decoded, self._writer, self._topic_of, self._settings.write_lanes),
        )
        if decoded.rejected:
            await self._retrying("dead-letter", lambda: self._dead_letter(decoded.rejected))
        offsets = {tp: batch[-1].offset + 1 for tp, batch in polled.items()}
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group rebalanced while we wrote: the new owner replays these records
            # from the last committed offset, and the writes are idempotent.
            log.warning("offset commit failed after rebalance", error=str(exc))
            return
        finally:
            if result is not None:
                self._summaries_due = True
                self._unbumped |= decoded.events.business_ids()
            await self._bump_cache_versions()
        self.batches_committed += 1
        metrics.BATCHES.inc()
        metrics.BATCH_SECONDS.observe(time.monotonic() - started)
        for tp, batch in polled.items():
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                lag = max(highwater - batch[-1].offset - 1, 0)
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)

    async def _bump_cache_versions(self) -> None:
        """After the commit (of a batch, or of a summary refresh): a failure here must not
        fail the batch, so the businesses are kept and bumped with a later batch (query-api's
        cache entries also expire). A batch and a refresh may bump at once: each removes
        only what it bumped."""
        if self._redis is None or not self._unbumped:
            return
        bumping = frozenset(self._unbumped)
        try:
            await asyncio.wait_for(bump_cache_versions(self._redis, bumping), 1.0)
            self._unbumped -= bumping
        except Exception as exc:
            self._bump_retry_at = time.monotonic() + BUMP_RETRY_S
            metrics.CACHE_BUMP_FAILURES.inc()
            log.warning("cache version bump failed", error=repr(exc), pending=len(self._unbumped))

    async def _dead_letter(self, rejected: list[Rejected]) -> None:
        sends = []
        for item in rejected:
            r = item.record
            headers = [
                *r.headers,
                (DLQ_HEADER_REASON, item.reason.encode()[:4000]),
                (DLQ_HEADER_TOPIC, item.source_topic.encode()),
                (DLQ_HEADER_PARTITION, str(r.partition).encode()),
                (DLQ_HEADER_OFFSET, str(r.offset).encode()),
            ]
            target = self._settings.topic(dlq(item.source_topic))
            sends.append(await self._producer.send(target, r.value, key=r.key, headers=headers))
        await asyncio.gather(*sends)
        for item in rejected:
            metrics.EVENTS_DEAD_LETTERED.labels(item.source_topic).inc()

    async def _retrying(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        """Run ``action`` until it succeeds, backing off; gives up only on shutdown."""
        s = self._settings
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential_jitter(initial=s.retry_initial_s, max=s.retry_max_s),
            before_sleep=lambda state: self._on_retry(what, state.outcome),
            reraise=True,
        ):
            with attempt:
                if self._stopping and attempt.retry_state.attempt_number > 1:
                    raise asyncio.CancelledError(f"shutting down during {what}")
                return await action()
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _on_retry(what: str, outcome: object) -> None:
        metrics.WRITE_RETRIES.inc()
        exc = outcome.exception() if hasattr(outcome, "exception") else None
        log.warning("retrying", step=what, error=repr(exc))


@dataclass
class RefreshPacing:
    """When the summary refresh may run again while events flow: ``interval_s`` after the
    last one started, and only after a rest that keeps it to ``max_share`` of the time (a
    refresh of d seconds rests d * (1 / max_share - 1))."""

    interval_s: float
    max_share: float
    started: float = 0.0  # the last refresh, on the caller's clock
    ended: float = 0.0

    def over(self, now: float) -> bool:
        took = max(self.ended - self.started, 0.0)
        rest = took * (1 / self.max_share - 1)
        return now - self.started >= self.interval_s and now - self.ended >= rest


@dataclass
class _Polled:
    polled: dict[TopicPartition, list[ConsumerRecord]]
    decoded: DecodedBatch
    started: float
    generation: int

    @property
    def size(self) -> int:
        return sum(len(records) for records in self.polled.values())


class _FinishBatchBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: BatchConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        c = self._consumer
        c.on_revoke()  # whatever was polled but not yet written is stale now
        wait_s = c._settings.rebalance_wait_s
        try:
            await asyncio.wait_for(c._in_flight.acquire(), wait_s)
        except TimeoutError:
            # A batch stuck on a failing database must not stall the whole group; its
            # commit will fail and the new owner replays it (idempotently).
            log.warning("rebalance did not wait for the batch in hand", seconds=wait_s)
            return
        c._in_flight.release()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", count=len(assigned))
