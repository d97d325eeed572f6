"""The consume -> write -> commit loop, over aiokafka directly.

Why aiokafka rather than a FastStream batch subscriber: the loop must commit exactly the
offsets of the batch it wrote, only after the database commit, must hold the batch (and
the partitions) while the database is down instead of acknowledging or seeking, and
must report lag per partition. aiokafka's ``getmany``/``commit(offsets)`` say that
directly; FastStream's ``msg.ack()`` commits every consumed position, which is the same
here but hides it.

The loop polls and hands each batch to its steps (``pulse_aggregator.steps``: decode ->
write -> dead-letter -> commit offsets -> after-commit), the next batch polled and decoded
while the last one is written; when the stream pauses it retries a failed cache bump. A
batch moves its summaries itself, in its own transaction (``pulse_shared.summaries``):
there is no refresh to schedule.

Guarantees: offsets are committed only after the batch's transaction committed and its
rejects reached the DLQ, so a crash (or SIGTERM) at any point replays the batch, and the
writes are idempotent, so a replay changes nothing. A failing database is retried with
exponential backoff and jitter for as long as it takes; no event is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from redis.asyncio import Redis

from pulse_aggregator.settings import Settings
from pulse_aggregator.steps import BatchSteps, CacheVersions, Retry, batch_steps
from pulse_aggregator.writer import AnalyticsWriter
from pulse_shared.logs import get_logger
from pulse_shared.topics import ACCOUNTS_OBSERVED, METRICS_OBSERVED, POSTS_PUBLISHED, POSTS_REMOVED

log = get_logger(__name__)

CONSUMED_TOPICS = (POSTS_PUBLISHED, POSTS_REMOVED, METRICS_OBSERVED, ACCOUNTS_OBSERVED)


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
        self._retry = Retry(settings.retry_initial_s, settings.retry_max_s, lambda: self._stopping)
        self._writer = writer
        self.cache = CacheVersions(redis)
        topic_of = {settings.topic(t): t for t in CONSUMED_TOPICS}
        self.steps = batch_steps(
            settings, consumer, producer, writer, topic_of, self._retry, self.cache
        )

    @property
    def batches_committed(self) -> int:
        return self.steps.after_commit.batches

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
        await self.refresh_queued_summaries()
        try:
            while not self._stopping:
                polled = await self._consumer.getmany(
                    timeout_ms=s.batch_timeout_ms, max_records=s.batch_max_records
                )
                batch = await self.steps.decode(polled) if polled else None
                if writing is not None:
                    await writing
                    writing = None
                if batch is not None:
                    writing = asyncio.create_task(self.steps.process(batch))
                idle = writing is None and await self._caught_up()
                if idle and self.cache.retry_due(time.monotonic()):
                    # A bump that failed after the last batch's commit: no later batch may
                    # come to carry it, so the pause does (every few seconds).
                    await self.cache.bump()
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing

    async def refresh_queued_summaries(self) -> None:
        """Recomputes the summaries a version before this one left queued in
        ``summary_pending_moments`` (it refreshed them on a schedule), once, before the
        first batch; their readers' cached answers are retired."""
        refreshed = await self._retry("refresh queued summaries", self._writer.refresh_summaries)
        self.cache.add(refreshed)
        await self.cache.bump()

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
