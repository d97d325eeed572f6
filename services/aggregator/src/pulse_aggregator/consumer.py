"""The consume -> write -> commit loop, over aiokafka directly.

Why aiokafka rather than a FastStream batch subscriber: the loop must commit exactly the
offsets of the batch it wrote, only after the database commit, must hold the batch (and
the partitions) while the database is down instead of acknowledging or seeking, and
must report lag per partition. aiokafka's ``getmany``/``commit(offsets)`` say that
directly; FastStream's ``msg.ack()`` commits every consumed position, which is the same
here but hides it.

The :class:`Intake` polls and decodes all the time into the next batch while the loop
hands the last one to its steps (``pulse_aggregator.steps``: decode -> write ->
dead-letter -> commit offsets -> after-commit); between batches the loop runs the roll-up
refresh
(:class:`SummaryRefresh`: a batch moves the day rows itself, their weeks, months, years and
``all`` rows follow) and retries a failed cache bump.

Guarantees: offsets are committed only after the batch's transaction committed and its
rejects reached the DLQ, so a crash (or SIGTERM) at any point replays the batch, and the
writes are idempotent, so a replay changes nothing. A failing database is retried with
exponential backoff and jitter for as long as it takes; no event is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from redis.asyncio import Redis

from pulse_aggregator.settings import Settings
from pulse_aggregator.steps import Batch, BatchSteps, CacheVersions, Retry, batch_steps
from pulse_aggregator.writer import AnalyticsWriter
from pulse_shared.logs import get_logger
from pulse_shared.topics import ACCOUNTS_OBSERVED, METRICS_OBSERVED, POSTS_PUBLISHED, POSTS_REMOVED

log = get_logger(__name__)

CONSUMED_TOPICS = (POSTS_PUBLISHED, POSTS_REMOVED, METRICS_OBSERVED, ACCOUNTS_OBSERVED)
# How long one poll of the intake waits for records: short, since it polls all the time.
POLL_TIMEOUT_MS = 100


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
        self._stopping = False
        retry = Retry(settings.retry_initial_s, settings.retry_max_s, lambda: self._stopping)
        self.cache = CacheVersions(redis)
        pacing = RefreshPacing(settings.summary_interval_s, settings.summary_max_share)
        self.summaries = SummaryRefresh(writer, pacing, retry, self.cache)
        self._pause = StreamPause(settings.summary_pause_s)
        topic_of = {settings.topic(t): t for t in CONSUMED_TOPICS}
        self.steps = batch_steps(
            settings, consumer, producer, writer, topic_of, retry, self.cache,
            self.summaries.mark_due,
        )  # fmt: skip

    @property
    def batches_committed(self) -> int:
        return self.steps.after_commit.batches

    @staticmethod
    def topics(settings: Settings) -> list[str]:
        return [settings.topic(t) for t in CONSUMED_TOPICS]

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        """Write and commit what :class:`Intake` polled and decoded meanwhile, one batch at
        a time, strictly in order; between batches, the roll-up refresh and a retried cache
        bump."""
        s = self._settings
        intake = Intake(self._consumer, self.steps, s.batch_max_records, self._pause)
        polling = asyncio.create_task(intake.run(), name="aggregator-intake")
        try:
            while not self._stopping:
                await intake.wait(s.batch_timeout_ms / 1000)
                if polling.done():
                    polling.result()  # the intake failed: so does the loop
                batch = intake.take()
                if batch is not None:
                    await self.steps.process(batch)
                idle = batch is None and await self._caught_up()
                if idle and self.cache.retry_due(time.monotonic()):
                    # A bump that failed after the last batch's commit: no later batch may
                    # come to carry it, so the pause does (every few seconds).
                    await self.cache.bump()
                self.summaries.maybe_start(idle=idle and self._pause.paused(time.monotonic()))
        finally:
            for task in (polling, self.summaries.task):
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

    def rebalance_listener(self) -> ConsumerRebalanceListener:
        """Lets a rebalance wait for the batch in hand to commit, so the partition's new
        owner starts after it instead of applying it a second time."""
        return _FinishBatchBeforeRevoke(self.steps, self._settings.rebalance_wait_s)


class Intake:
    """Polls all the time, each poll decoded and joined to the one batch waiting to be
    written, up to ``max_records``: while a batch is written the next one gathers every
    record as it arrives. (aiokafka fetches a partition again only once its buffered
    records are taken: polled once per write, a record arriving during a write waited at
    the broker for that write and the next before it was even polled.)"""

    def __init__(
        self, consumer: AIOKafkaConsumer, steps: BatchSteps, max_records: int, pause: StreamPause
    ) -> None:
        self._consumer = consumer
        self._steps = steps
        self._max_records = max_records
        self._pause = pause
        self._pending: Batch | None = None
        self._has_records = asyncio.Event()
        self._has_room = asyncio.Event()
        self._has_room.set()

    async def run(self) -> None:
        while True:
            room = self._max_records - (self._pending.size if self._pending else 0)
            if room <= 0:
                self._has_room.clear()
                await self._has_room.wait()
                continue
            polled = await self._consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=room)
            if not polled:
                continue
            self._pause.saw_records(time.monotonic())
            batch = await self._steps.decode(polled)
            self._pending = batch if self._pending is None else self._pending.joined(batch)
            self._has_records.set()

    async def wait(self, timeout_s: float) -> None:
        """Until a batch is waiting, or ``timeout_s``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._has_records.wait(), timeout_s)

    def take(self) -> Batch | None:
        batch, self._pending = self._pending, None
        self._has_records.clear()
        self._has_room.set()
        return batch


class SummaryRefresh:
    """The roll-up refresh (the weeks, months, years and ``all`` rows of the days the
    batches moved), run beside the batches on its own connection so that PostgreSQL works
    on both at once: as soon as the stream pauses (no poll brought records for
    ``summary_pause_s``, :class:`StreamPause`), and while it flows at most every
    ``summary_interval_s`` and no more than ``summary_max_share`` of the time, so that busy
    batches share the work (every week and month of every business is touched when every
    post is being polled). An idle replica also looks every interval for work another one
    left queued (one that crashed, say). The first refresh after a start also recomputes
    the day rows of what it finds queued: an aggregator from before the batches moved day
    rows left its moments for a refresh to recompute from the source rows."""

    def __init__(
        self, writer: AnalyticsWriter, pacing: RefreshPacing, retry: Retry, cache: CacheVersions
    ) -> None:
        self._writer = writer
        self._pacing = pacing
        self._retry = retry
        self._cache = cache
        self.due = True  # summaries may be pending from before a restart: refresh once
        self._recompute_days = True
        self.task: asyncio.Task[frozenset[int]] | None = None

    def mark_due(self) -> None:
        self.due = True

    def maybe_start(self, idle: bool) -> None:
        if self.task is not None and not self.task.done():
            return
        now = time.monotonic()
        interval_over = self._pacing.over(now)
        if (self.due and (idle or interval_over)) or (idle and interval_over):
            self.due = False
            self._pacing.started = now
            self.task = asyncio.create_task(self._refresh(), name="summary-refresh")

    async def _refresh(self) -> frozenset[int]:
        try:
            refreshed = await self._retry(
                "refresh summaries",
                lambda: self._writer.refresh_summaries(recompute_days=self._recompute_days),
            )
            self._recompute_days = False
        finally:
            self._pacing.ended = time.monotonic()
        # The refresh changed totals that readers see, after the batches' own bumps: their
        # cached answers are retired now, not when they expire.
        self._cache.add(refreshed)
        await self._cache.bump()
        return refreshed


@dataclass
class StreamPause:
    """Whether the stream has paused: no poll brought records for ``after_s``. An empty
    poll between two batches of a steady stream is not a pause; a refresh started on
    every one would run beside nearly every batch of a moderate stream, unpaced."""

    after_s: float
    last_records: float = float("-inf")  # when a poll last brought records (monotonic)

    def saw_records(self, now: float) -> None:
        self.last_records = now

    def paused(self, now: float) -> bool:
        return now - self.last_records >= self.after_s


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


class _FinishBatchBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, steps: BatchSteps, wait_s: float) -> None:
        self._steps = steps
        self._wait_s = wait_s

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._steps.revoke()  # whatever was polled but not yet written is stale now
        try:
            await asyncio.wait_for(self._steps.in_flight.acquire(), self._wait_s)
        except TimeoutError:
            # A batch stuck on a failing database must not stall the whole group; its
            # commit will fail and the new owner replays it (idempotently).
            log.warning("rebalance did not wait for the batch in hand", seconds=self._wait_s)
            return
        self._steps.in_flight.release()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", count=len(assigned))
