"""A polled batch's way to its offset commit, one named step after another:

    decode -> write -> dead-letter -> commit offsets -> after-commit

- :class:`Decode`: the poll's records into events and rejects, stamped with the rebalance
  generation they were polled in;
- :class:`Write`: the events into PostgreSQL (``handlers.write_batch``), retried until the
  database answers; it returns what it wrote and what the database refused;
- :class:`DeadLetter`: every reject, the decoder's and the database's, to its DLQ with the
  reason, source partition and offset, retried until the broker takes them;
- :class:`CommitOffsets`: the batch's offsets, only now; a rebalance meanwhile is not an
  error (the partitions' new owner replays the batch, and the writes are idempotent);
- :class:`AfterCommit`: the businesses' cached answers retired and their summaries due,
  since the database changed whether or not the offsets committed; then the batch counted.

:class:`BatchSteps` composes them (:func:`batch_steps`, from the settings) and holds the
ordering rules: one batch at a time, in poll order; a batch polled before a rebalance is
dropped, never written; the database, then the dead letters, then the offsets. A crash
anywhere replays the batch from its last committed offsets. The rules have unit tests with
in-memory fakes (``tests/test_steps.py``); the kill -9, outage and rebalance tests run the
real process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from redis.asyncio import Redis
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from pulse_aggregator import metrics
from pulse_aggregator.handlers import DecodedBatch, Written, decode_batch, log_rejected, write_batch
from pulse_aggregator.records import Record, Rejected
from pulse_aggregator.settings import Settings
from pulse_aggregator.writer import AnalyticsWriter
from pulse_shared.cache import bump_cache_versions
from pulse_shared.logs import get_logger
from pulse_shared.topics import (
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_REASON,
    DLQ_HEADER_TOPIC,
    dlq,
)

log = get_logger(__name__)

T = TypeVar("T")

# Records decoded between two yields to the event loop (a few ms of work with msgspec).
DECODE_SLICE = 500
# How often a paused stream retries a cache-version bump that failed (Redis away).
BUMP_RETRY_S = 5.0


class PolledRecord(Protocol):
    """What the steps read of a consumed record (aiokafka's ``ConsumerRecord``)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]] | None: ...


class OffsetCommitter(Protocol):
    """The consumer's side the steps use (``AIOKafkaConsumer``)."""

    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...

    def highwater(self, partition: TopicPartition) -> int | None: ...


class DeadLetterProducer(Protocol):
    """The producer's side the steps use (``AIOKafkaProducer``): ``send`` answers once the
    record is queued, with what completes when the broker has it."""

    async def send(
        self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Awaitable[Any]: ...


@dataclass(frozen=True)
class Batch:
    """One poll, decoded: what to write and dead-letter, the offsets to commit then."""

    decoded: DecodedBatch
    offsets: dict[TopicPartition, int]  # per partition: its last record's offset + 1
    generation: int  # the rebalance generation it was polled in
    started: float  # monotonic, at its poll
    size: int

    def joined(self, later: Batch) -> Batch:
        """This batch with the records of a later poll after its own (per partition the
        later offsets). A batch polled before a rebalance is not joined to one polled
        after: it is stale (its partitions restart from their committed offsets), while
        the later one's records follow the new positions and must be written."""
        if later.generation != self.generation:
            return later
        decoded = DecodedBatch(
            self.decoded.accepted + later.decoded.accepted,
            self.decoded.rejected + later.decoded.rejected,
        )
        offsets = self.offsets | later.offsets
        return Batch(decoded, offsets, self.generation, self.started, self.size + later.size)


@dataclass
class Retry:
    """Runs an action until it succeeds, backing off exponentially with jitter; gives up
    only when the consumer is stopping. No event is ever skipped."""

    initial_s: float
    max_s: float
    stopping: Callable[[], bool] = lambda: False

    async def __call__(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential_jitter(multiplier=self.initial_s, max=self.max_s),
            before_sleep=lambda state: _on_retry(what, state.outcome),
            reraise=True,
        ):
            with attempt:
                if self.stopping() and attempt.retry_state.attempt_number > 1:
                    raise asyncio.CancelledError(f"shutting down during {what}")
                return await action()
        raise AssertionError("unreachable")  # pragma: no cover


def _on_retry(what: str, outcome: object) -> None:
    metrics.WRITE_RETRIES.inc()
    exc = outcome.exception() if hasattr(outcome, "exception") else None
    log.warning("retrying", step=what, error=repr(exc))


class Decode:
    """Decodes a poll in slices, yielding between them: the batch being written and the
    summary refresh need the event loop to send their next statements meanwhile."""

    def __init__(self, topic_of: dict[str, str], max_skew: timedelta) -> None:
        self._topic_of = topic_of  # consumed topic name -> the design's topic name
        self._max_skew = max_skew

    async def __call__(
        self, polled: Mapping[TopicPartition, Sequence[PolledRecord]], generation: int
    ) -> Batch:
        started = time.monotonic()
        records = [_record(r) for batch in polled.values() for r in batch]
        for tp, batch in polled.items():
            metrics.EVENTS_CONSUMED.labels(self._topic_of.get(tp.topic, tp.topic)).inc(len(batch))
        now = datetime.now(UTC)
        decoded = DecodedBatch()
        for first in range(0, len(records), DECODE_SLICE):
            chunk = records[first : first + DECODE_SLICE]
            part = decode_batch(chunk, self._topic_of, now, self._max_skew)
            decoded.accepted += part.accepted
            decoded.rejected += part.rejected
            await asyncio.sleep(0)
        offsets = {tp: batch[-1].offset + 1 for tp, batch in polled.items()}
        return Batch(decoded, offsets, generation, started, len(records))


def _record(r: PolledRecord) -> Record:
    return Record(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))


class Write:
    """The batch's events into the database, in its write lanes, until the database
    answers. Each attempt answers its own refusals, so a retry never repeats one."""

    def __init__(
        self, writer: AnalyticsWriter, topic_of: dict[str, str], lanes: int, retry: Retry
    ) -> None:
        self._writer = writer
        self._topic_of = topic_of
        self._lanes = lanes
        self._retry = retry

    async def __call__(self, decoded: DecodedBatch) -> Written:
        return await self._retry(
            "write batch", lambda: write_batch(decoded, self._writer, self._topic_of, self._lanes)
        )


class DeadLetter:
    """Each reject to the DLQ of its source topic, with the reason written where it
    happened, its source partition and offset; every send acknowledged before returning."""

    def __init__(
        self, producer: DeadLetterProducer, topic: Callable[[str], str], retry: Retry
    ) -> None:
        self._producer = producer
        self._topic = topic  # a design topic name -> the name consumed (with any prefix)
        self._retry = retry

    async def __call__(self, rejected: Sequence[Rejected]) -> None:
        if not rejected:
            return
        for item in rejected:
            log_rejected(item)
        await self._retry("dead-letter", lambda: self._send(rejected))
        for item in rejected:
            metrics.EVENTS_DEAD_LETTERED.labels(item.source_topic).inc()

    async def _send(self, rejected: Sequence[Rejected]) -> None:
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
            target = self._topic(dlq(item.source_topic))
            sends.append(await self._producer.send(target, r.value, key=r.key, headers=headers))
        await asyncio.gather(*sends)


class CommitOffsets:
    """The batch's offsets, committed; False when the group rebalanced meanwhile: the new
    owner replays these records from the last committed offset, idempotently."""

    def __init__(self, consumer: OffsetCommitter) -> None:
        self._consumer = consumer

    async def __call__(self, offsets: dict[TopicPartition, int]) -> bool:
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("offset commit failed after rebalance", error=str(exc))
            return False
        return True


class CacheVersions:
    """The businesses whose readers' cached answers are to be retired (query-api's cache
    versions, ``pulse_shared.cache``), after a commit of a batch or of a summary refresh.
    A failed bump must not fail the batch: its businesses are kept for a later bump (the
    cached answers also expire). A batch and a refresh may bump at once: each removes only
    what it bumped."""

    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis
        self.pending: set[int] = set()
        self.retry_at = 0.0  # monotonic: when a paused stream may retry a failed bump

    def add(self, businesses: Iterable[int]) -> None:
        self.pending |= set(businesses)

    def retry_due(self, now: float) -> bool:
        return bool(self.pending) and now >= self.retry_at

    async def bump(self) -> None:
        if self._redis is None or not self.pending:
            return
        bumping = frozenset(self.pending)
        try:
            await asyncio.wait_for(bump_cache_versions(self._redis, bumping), 1.0)
            self.pending -= bumping
        except Exception as exc:
            self.retry_at = time.monotonic() + BUMP_RETRY_S
            metrics.CACHE_BUMP_FAILURES.inc()
            log.warning("cache version bump failed", error=repr(exc), pending=len(self.pending))


class AfterCommit:
    """What follows a batch's database commit and offset commit. A batch that wrote
    something makes its summaries due and its businesses' cached answers stale, whether or
    not its offsets committed (the database changed either way); one that committed is
    counted, and its partitions' lag reported."""

    def __init__(
        self, consumer: OffsetCommitter, cache: CacheVersions, summaries_due: Callable[[], None]
    ) -> None:
        self._consumer = consumer
        self._cache = cache
        self._summaries_due = summaries_due
        self.batches = 0  # committed

    async def __call__(self, batch: Batch, written: Written, committed: bool) -> None:
        if written.result is not None:
            self._summaries_due()
            self._cache.add(batch.decoded.events.business_ids())
        await self._cache.bump()
        if not committed:
            return
        self.batches += 1
        metrics.BATCHES.inc()
        metrics.BATCH_SECONDS.observe(time.monotonic() - batch.started)
        for tp, next_offset in batch.offsets.items():
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                lag = max(highwater - next_offset, 0)
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)


class BatchSteps:
    """The steps in their order, one batch at a time. ``in_flight`` is held while a batch
    is between its write and its offset commit, so a rebalance can wait for it."""

    def __init__(
        self,
        decode: Decode,
        write: Write,
        dead_letter: DeadLetter,
        commit_offsets: CommitOffsets,
        after_commit: AfterCommit,
    ) -> None:
        self.decode_step = decode
        self.write = write
        self.dead_letter = dead_letter
        self.commit_offsets = commit_offsets
        self.after_commit = after_commit
        self.generation = 0  # rebalances so far
        self.in_flight = asyncio.Lock()

    def revoke(self) -> None:
        """A rebalance began: whatever was polled but not yet written is stale now."""
        self.generation += 1

    async def decode(self, polled: Mapping[TopicPartition, Sequence[PolledRecord]]) -> Batch:
        return await self.decode_step(polled, self.generation)

    async def process(self, batch: Batch) -> None:
        async with self.in_flight:
            if batch.generation != self.generation:
                # Its partitions restart from their committed offsets (with us or their new
                # owner), so writing it now would apply it twice.
                log.info("batch from before a rebalance dropped", records=batch.size)
                return
            written = await self.write(batch.decoded)
            await self.dead_letter([*batch.decoded.rejected, *written.refused])
            committed = False
            try:
                committed = await self.commit_offsets(batch.offsets)
            finally:
                await self.after_commit(batch, written, committed)


def batch_steps(
    settings: Settings,
    consumer: OffsetCommitter,
    producer: DeadLetterProducer,
    writer: AnalyticsWriter,
    topic_of: dict[str, str],
    retry: Retry,
    cache: CacheVersions,
    summaries_due: Callable[[], None],
) -> BatchSteps:
    """The aggregator's batch path, composed from its settings."""
    return BatchSteps(
        Decode(topic_of, timedelta(seconds=settings.max_clock_skew_s)),
        Write(writer, topic_of, settings.write_lanes, retry),
        DeadLetter(producer, settings.topic, retry),
        CommitOffsets(consumer),
        AfterCommit(consumer, cache, summaries_due),
    )
