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
from pulse_aggregator.handlers import decode_batch, write_batch
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
    dlq,
)

log = get_logger(__name__)

CONSUMED_TOPICS = (POSTS_PUBLISHED, METRICS_OBSERVED, ACCOUNTS_OBSERVED)

T = TypeVar("T")


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
        self.batches_committed = 0
        # Summaries may be pending from before a restart: refresh once at start.
        self._summaries_due = True
        self._last_refresh = 0.0
        self._refresh: asyncio.Task[int] | None = None

    @staticmethod
    def topics(settings: Settings) -> list[str]:
        return [settings.topic(t) for t in CONSUMED_TOPICS]

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        s = self._settings
        try:
            while not self._stopping:
                polled = await self._consumer.getmany(
                    timeout_ms=s.batch_timeout_ms, max_records=s.batch_max_records
                )
                if polled:
                    async with self._in_flight:
                        await self._process(polled)
                self._maybe_refresh_summaries(idle=not polled and await self._caught_up())
        finally:
            if self._refresh is not None:
                self._refresh.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._refresh

    async def _caught_up(self) -> bool:
        """No assigned partition has records left to fetch (as far as the last fetch told):
        an empty poll while behind is a slow fetch, not a pause in the stream."""
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is not None and await self._consumer.position(tp) < highwater:
                return False
        return True

    def _maybe_refresh_summaries(self, idle: bool) -> None:
        """Summaries are refreshed as soon as the stream pauses, and at most every
        summary_interval_s while it flows, so that busy batches share the work. The
        refresh runs beside the batches, on its own connection, so that PostgreSQL works
        on both at once. An idle replica also looks every interval for work another one
        left queued (one that crashed, say)."""
        if self._refresh is not None and not self._refresh.done():
            return
        since = time.monotonic() - self._last_refresh
        interval_over = since >= self._settings.summary_interval_s
        if (self._summaries_due and (idle or interval_over)) or (idle and interval_over):
            self._summaries_due = False
            self._last_refresh = time.monotonic()
            self._refresh = asyncio.create_task(
                self._retrying("refresh summaries", self._writer.refresh_summaries),
                name="summary-refresh",
            )

    def rebalance_listener(self) -> ConsumerRebalanceListener:
        """Lets a rebalance wait for the batch in hand to commit, so the partition's new
        owner starts after it instead of applying it a second time."""
        return _FinishBatchBeforeRevoke(self._in_flight, self._settings.rebalance_wait_s)

    async def _process(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        started = time.monotonic()
        records = [_record(r) for batch in polled.values() for r in batch]
        for r in records:
            metrics.EVENTS_CONSUMED.labels(self._topic_of.get(r.topic, r.topic)).inc()
        decoded = decode_batch(
            records,
            self._topic_of,
            now=datetime.now(UTC),
            max_skew=timedelta(seconds=self._settings.max_clock_skew_s),
        )
        result = await self._retrying(
            "write batch", lambda: write_batch(decoded, self._writer, self._topic_of)
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
        """After the commit: a failure here must not fail the batch, so the businesses are
        kept and bumped with a later batch (query-api's cache entries also expire)."""
        if self._redis is None or not self._unbumped:
            return
        try:
            await asyncio.wait_for(bump_cache_versions(self._redis, self._unbumped), 1.0)
            self._unbumped.clear()
        except Exception as exc:
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


class _FinishBatchBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, in_flight: asyncio.Lock, wait_s: float) -> None:
        self._in_flight = in_flight
        self._wait_s = wait_s

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        try:
            await asyncio.wait_for(self._in_flight.acquire(), self._wait_s)
        except TimeoutError:
            # A batch stuck on a failing database must not stall the whole group; its
            # commit will fail and the new owner replays it (idempotently).
            log.warning("rebalance did not wait for the batch in hand", seconds=self._wait_s)
            return
        self._in_flight.release()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", count=len(assigned))
