"""The batch path's steps and their ordering rules, with in-memory fakes (no Kafka, no
PostgreSQL, no Redis): decode -> write -> dead-letter -> commit offsets -> after-commit.

Every fake writes what happens to it into one shared journal, so a test reads the order
the steps ran in. The kill -9, outage and rebalance tests (test_exactness.py) run the same
steps in the real process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import cast

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from redis.asyncio import Redis

from pulse_aggregator.consumer import BatchConsumer
from pulse_aggregator.handlers import Written
from pulse_aggregator.records import EventBatch, Record
from pulse_aggregator.settings import Settings
from pulse_aggregator.steps import (
    AfterCommit,
    Batch,
    BatchSteps,
    CacheVersions,
    CommitOffsets,
    DeadLetter,
    Decode,
    Retry,
    Write,
)
from pulse_aggregator.writer import EventsRefused, WriteResult
from pulse_shared.topics import (
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_REASON,
    DLQ_HEADER_TOPIC,
)
from pulse_testing.fakes import FakeRedis

PREFIX = "t."
TOPIC = PREFIX + "metrics.observed.v1"
TOPIC_OF = {TOPIC: "metrics.observed.v1"}
SKEW = timedelta(seconds=Settings().max_clock_skew_s)
FAST = Retry(initial_s=0.001, max_s=0.001)


# --- fakes -------------------------------------------------------------------------------


class FakeWriter:
    """The database: refuses any lane holding a post id in ``refuse``; fails the next
    ``fail_business[b]`` writes that hold business b (a dropped connection); or waits on
    ``gate``."""

    def __init__(self, journal: list[str], refuse: frozenset[str] = frozenset()) -> None:
        self.journal = journal
        self.refuse = refuse
        self.fail_business: dict[int, int] = {}
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()  # set when a write begins
        self.attempts = 0

    async def write(self, batch: EventBatch) -> WriteResult:
        self.attempts += 1
        self.entered.set()
        await self.gate.wait()
        businesses = sorted(batch.business_ids())
        for business in businesses:
            if self.fail_business.get(business, 0) > 0:
                self.fail_business[business] -= 1
                raise ConnectionResetError("the database went away")
        if any(e.platform_post_id in self.refuse for e in batch.metrics):
            raise EventsRefused("DataError: value out of range")
        self.journal.append(f"write {','.join(e.platform_post_id for e in batch.metrics)}")
        return WriteResult(0, len(batch.metrics), 0, 0)

    async def refresh_summaries(self, recompute_days: bool = False) -> frozenset[int]:
        return frozenset()


class FakeProducer:
    """The DLQ producer: ``send`` queues, the broker acknowledges a moment later; the
    first ``fail`` sends fail."""

    def __init__(self, journal: list[str], fail: int = 0) -> None:
        self.journal = journal
        self.fail = fail
        self.sent: list[tuple[str, bytes | None, bytes | None, dict[str, bytes]]] = []
        self.acks: list[asyncio.Future[None]] = []

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Awaitable[None]:
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionResetError("the broker went away")
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sent = (topic, value, key, dict(headers or ()))
        asyncio.get_running_loop().call_soon(self._acknowledge, ack, sent)
        self.acks.append(ack)
        return ack

    def _acknowledge(
        self,
        ack: asyncio.Future[None],
        sent: tuple[str, bytes | None, bytes | None, dict[str, bytes]],
    ) -> None:
        self.sent.append(sent)
        value = sent[1]
        self.journal.append(f"dead-letter {value!r}")
        ack.set_result(None)


class FakeKafka:
    """The consumer: commits into the journal (or refuses after a rebalance), knows each
    partition's end, and plays ``polls`` to the loop, then stops it."""

    def __init__(self, journal: list[str], polls: list[dict[TopicPartition, list[Record]]]) -> None:
        self.journal = journal
        self.polls = polls
        self.committed: list[dict[TopicPartition, int]] = []
        self.commit_error: Exception | None = None
        self.ends: dict[TopicPartition, int] = {}
        self.drained: Callable[[], None] | None = None  # once every poll was committed
        self.popped = asyncio.Event()  # set at each poll handed out

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.commit_error is not None:
            raise self.commit_error
        self.committed.append(dict(offsets))
        self.journal.append(f"commit {sorted((tp.partition, o) for tp, o in offsets.items())}")

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.ends.get(partition)

    async def getmany(
        self, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[Record]]:
        if self.polls:
            self.popped.set()
            return self.polls.pop(0)
        if self.committed and self.drained is not None:
            self.drained()
        await asyncio.sleep(0.001)
        return {}

    def assignment(self) -> set[TopicPartition]:
        return set()

    async def position(self, partition: TopicPartition) -> int:
        return 0


def metrics_record(post: str, business: int = 7, partition: int = 0, offset: int = 0) -> Record:
    value = {
        "business_id": business, "platform": "twitter", "platform_post_id": post,
        "observed_at": "2026-11-25T11:00:00Z", "source": "poll",
        "metrics": {"likes": 3, "impressions": 100},
    }  # fmt: skip
    return Record(TOPIC, partition, offset, f"twitter:{post}".encode(), json.dumps(value).encode())


def poll(*records: Record) -> dict[TopicPartition, list[Record]]:
    polled: dict[TopicPartition, list[Record]] = {}
    for r in records:
        polled.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
    return polled


class Pipeline:
    """The steps composed as ``steps.batch_steps`` composes them, over fakes."""

    def __init__(self, refuse: frozenset[str] = frozenset(), lanes: int = 2) -> None:
        self.journal: list[str] = []
        self.writer = FakeWriter(self.journal, refuse)
        self.producer = FakeProducer(self.journal)
        self.kafka = FakeKafka(self.journal, [])
        self.cache = CacheVersions(cast(Redis, FakeRedis(self.journal)))
        self.summaries_due = 0
        self.after_commit = AfterCommit(self.kafka, self.cache, self._mark_due)
        self.steps = BatchSteps(
            Decode(TOPIC_OF, SKEW),
            Write(self.writer, TOPIC_OF, lanes, FAST),
            DeadLetter(self.producer, lambda topic: PREFIX + topic, FAST),
            CommitOffsets(self.kafka),
            self.after_commit,
        )

    def _mark_due(self) -> None:
        self.summaries_due += 1

    async def run(self, *records: Record) -> Batch:
        batch = await self.steps.decode(poll(*records))
        await self.steps.process(batch)
        return batch


# --- decode ------------------------------------------------------------------------------


async def test_decode_splits_a_poll_and_says_which_offsets_to_commit() -> None:
    decode = Decode(TOPIC_OF, SKEW)
    polled = poll(
        metrics_record("a", partition=0, offset=10),
        Record(TOPIC, 0, 11, b"twitter:x", b"{not json"),
        metrics_record("b", partition=3, offset=40),
    )
    batch = await decode(polled, generation=4)
    assert [e.platform_post_id for e in batch.decoded.events.metrics] == ["a", "b"]
    assert [r.record.offset for r in batch.decoded.rejected] == [11]
    assert batch.offsets == {TopicPartition(TOPIC, 0): 12, TopicPartition(TOPIC, 3): 41}
    assert (batch.generation, batch.size) == (4, 3)


# --- write -------------------------------------------------------------------------------


async def test_write_holds_on_until_the_database_answers() -> None:
    journal: list[str] = []
    writer = FakeWriter(journal)
    writer.fail_business[7] = 3
    decoded = (await Decode(TOPIC_OF, SKEW)(
        poll(metrics_record("a")), 0)).decoded  # fmt: skip
    written = await Write(writer, TOPIC_OF, 2, FAST)(decoded)
    assert written == Written(WriteResult(0, 1, 0, 0), refused=[])
    assert writer.attempts == 4
    assert journal == ["write a"]


async def test_a_retried_write_answers_each_refusal_once() -> None:
    """Attempt 1: business 7's lane isolates the refused event, business 8's lane loses
    its connection, so the batch is written again; only that attempt's refusal counts."""
    journal: list[str] = []
    writer = FakeWriter(journal, refuse=frozenset({"poison"}))
    writer.fail_business[8] = 1
    polled = poll(
        metrics_record("a", business=7, offset=0),
        metrics_record("poison", business=7, offset=1),
        metrics_record("b", business=8, offset=2),
    )
    decoded = (await Decode(TOPIC_OF, SKEW)(polled, 0)).decoded
    written = await Write(writer, TOPIC_OF, 2, FAST)(decoded)
    assert [r.record.offset for r in written.refused] == [1]
    assert decoded.rejected == []


# --- dead-letter -------------------------------------------------------------------------


async def test_dead_letter_carries_the_reason_and_where_the_record_came_from() -> None:
    pipeline = Pipeline()
    batch = await pipeline.steps.decode(poll(Record(TOPIC, 5, 77, b"k", b"[]", (("h", b"v"),))))
    await pipeline.steps.dead_letter(batch.decoded.rejected)
    assert all(ack.done() for ack in pipeline.producer.acks)  # acknowledged, not just queued
    [(topic, value, key, headers)] = pipeline.producer.sent
    assert (topic, value, key) == (PREFIX + "metrics.observed.v1.dlq", b"[]", b"k")
    assert headers[DLQ_HEADER_TOPIC] == b"metrics.observed.v1"
    assert (headers[DLQ_HEADER_PARTITION], headers[DLQ_HEADER_OFFSET]) == (b"5", b"77")
    assert b"invalid metrics.observed.v1 event" in headers[DLQ_HEADER_REASON]
    assert headers["h"] == b"v"  # the record's own headers are kept


async def test_dead_letter_with_nothing_to_send_sends_nothing() -> None:
    pipeline = Pipeline()
    await pipeline.steps.dead_letter([])
    assert pipeline.producer.sent == []


# --- commit offsets ----------------------------------------------------------------------


async def test_commit_offsets_after_a_rebalance_is_not_an_error() -> None:
    journal: list[str] = []
    kafka = FakeKafka(journal, [])
    kafka.commit_error = CommitFailedError()
    assert await CommitOffsets(kafka)({TopicPartition(TOPIC, 0): 5}) is False
    kafka.commit_error = None
    assert await CommitOffsets(kafka)({TopicPartition(TOPIC, 0): 5}) is True
    assert kafka.committed == [{TopicPartition(TOPIC, 0): 5}]


# --- after-commit --------------------------------------------------------------------------


async def test_after_commit_retires_answers_and_makes_summaries_due_even_if_not_committed() -> None:
    """The database committed either way: its readers must not be served the old answers."""
    pipeline = Pipeline()
    batch = await pipeline.steps.decode(poll(metrics_record("a", business=7)))
    written = Written(WriteResult(0, 1, 0, 0))
    await pipeline.after_commit(batch, written, committed=False)
    assert pipeline.journal == ["bump pulse:cache-version:7"]
    assert (pipeline.summaries_due, pipeline.after_commit.batches) == (1, 0)
    await pipeline.after_commit(batch, written, committed=True)
    assert pipeline.after_commit.batches == 1


async def test_after_commit_of_a_batch_that_wrote_nothing_retires_nothing() -> None:
    pipeline = Pipeline()
    batch = await pipeline.steps.decode(poll(Record(TOPIC, 0, 0, b"k", b"[]")))
    await pipeline.after_commit(batch, Written(), committed=True)
    assert pipeline.journal == []
    assert (pipeline.summaries_due, pipeline.after_commit.batches) == (0, 1)


# --- the steps in order ----------------------------------------------------------------------


async def test_the_database_then_the_dead_letters_then_the_offsets_then_the_cache() -> None:
    pipeline = Pipeline(refuse=frozenset({"poison"}), lanes=1)
    await pipeline.run(
        metrics_record("a", offset=0),
        Record(TOPIC, 0, 1, b"k", b"[]"),
        metrics_record("poison", offset=2),
        metrics_record("b", offset=3),
    )
    assert [entry.split(" ")[0] for entry in pipeline.journal] == [
        "write", "write", "dead-letter", "dead-letter", "commit", "bump",
    ]  # fmt: skip
    assert pipeline.journal[-2] == "commit [(0, 4)]"


async def test_nothing_is_dead_lettered_or_committed_while_the_database_fails() -> None:
    pipeline = Pipeline()
    pipeline.writer.fail_business[7] = 5
    await pipeline.run(metrics_record("a"), Record(TOPIC, 0, 1, b"k", b"[]"))
    assert pipeline.writer.attempts == 6
    assert [entry.split(" ")[0] for entry in pipeline.journal] == [
        "write", "dead-letter", "commit", "bump",
    ]  # fmt: skip


async def test_no_offset_is_committed_until_the_dead_letter_queue_takes_the_rejects() -> None:
    pipeline = Pipeline()
    pipeline.producer.fail = 3
    await pipeline.run(Record(TOPIC, 0, 0, b"k", b"[]"), metrics_record("a", offset=1))
    assert [entry.split(" ")[0] for entry in pipeline.journal] == [
        "write", "dead-letter", "commit", "bump",
    ]  # fmt: skip


async def test_a_batch_polled_before_a_rebalance_is_dropped() -> None:
    pipeline = Pipeline()
    batch = await pipeline.steps.decode(poll(metrics_record("a")))
    pipeline.steps.revoke()
    await pipeline.steps.process(batch)
    assert pipeline.journal == []  # not written, not committed: its new owner replays it
    # A batch polled after the rebalance is written.
    await pipeline.run(metrics_record("a"))
    assert [entry.split(" ")[0] for entry in pipeline.journal] == ["write", "commit", "bump"]


async def test_a_rebalance_waits_for_the_batch_in_hand_to_commit() -> None:
    journal: list[str] = []
    writer = FakeWriter(journal)
    writer.gate.clear()
    settings = Settings(topic_prefix=PREFIX)
    consumer = BatchConsumer(settings, FakeKafka(journal, []), FakeProducer(journal), writer)
    batch = await consumer.steps.decode(poll(metrics_record("a")))
    processing = asyncio.create_task(consumer.steps.process(batch))
    await asyncio.sleep(0.01)  # the batch is waiting inside its write
    revoking = asyncio.create_task(consumer.rebalance_listener().on_partitions_revoked(set()))
    await asyncio.sleep(0.01)
    assert not revoking.done()
    writer.gate.set()
    await revoking
    journal.append("revoked")
    await processing
    assert [entry.split(" ")[0] for entry in journal] == ["write", "commit", "revoked"]


async def test_a_retried_batch_dead_letters_each_refusal_once() -> None:
    pipeline = Pipeline(refuse=frozenset({"poison"}))
    pipeline.writer.fail_business[8] = 1
    await pipeline.run(
        metrics_record("a", business=7, offset=0),
        metrics_record("poison", business=7, offset=1),
        metrics_record("b", business=8, offset=2),
    )
    assert [key for _, _, key, _ in pipeline.producer.sent] == [b"twitter:poison"]


async def test_the_consumer_loop_dead_letters_a_refusal_once_when_its_batch_is_retried() -> None:
    """Issue 19: ``write_batch`` appended the refusals to the batch it was given, so a batch
    written again after a lane failed dead-lettered the refusals of both attempts. The loop
    as the app runs it, over fakes."""
    journal: list[str] = []
    kafka = FakeKafka(
        journal,
        [
            poll(
                metrics_record("a", business=7, offset=0),
                metrics_record("poison", business=7, offset=1),
                metrics_record("b", business=8, offset=2),
            )
        ],
    )
    producer = FakeProducer(journal)
    writer = FakeWriter(journal, refuse=frozenset({"poison"}))
    writer.fail_business[8] = 1  # business 8's lane fails once: the batch is retried
    settings = Settings(topic_prefix=PREFIX, retry_initial_s=0.001, retry_max_s=0.001)
    loop = BatchConsumer(settings, kafka, producer, writer)
    kafka.drained = loop.stop
    await asyncio.wait_for(loop.run(), 20)
    assert [key for _, _, key, _ in producer.sent] == [b"twitter:poison"]
    assert kafka.committed == [{TopicPartition(TOPIC, 0): 3}]


# --- the intake: polls joined while a batch is written -------------------------------------


async def test_a_later_poll_joins_a_batch_polled_in_the_same_generation() -> None:
    decode = Decode(TOPIC_OF, SKEW)
    first = await decode(poll(metrics_record("a", offset=5), metrics_record("b", 3, 1, 9)), 2)
    later = await decode(poll(metrics_record("c", offset=6), Record(TOPIC, 2, 0, None, None)), 2)
    joined = first.joined(later)
    assert [e.platform_post_id for e in joined.decoded.events.metrics] == ["a", "b", "c"]
    assert [r.record.partition for r in joined.decoded.rejected] == [2]
    assert joined.offsets == {
        TopicPartition(TOPIC, 0): 7, TopicPartition(TOPIC, 1): 10, TopicPartition(TOPIC, 2): 1,
    }  # fmt: skip
    assert (joined.generation, joined.started, joined.size) == (2, first.started, 4)


async def test_a_batch_from_before_a_rebalance_is_not_joined_to_a_poll_after_it() -> None:
    decode = Decode(TOPIC_OF, SKEW)
    stale = await decode(poll(metrics_record("a", offset=5)), 2)
    later = await decode(poll(metrics_record("b", offset=3)), 3)
    assert stale.joined(later) is later  # the stale one is replayed from its committed offset


async def polls_left(kafka: FakeKafka, count: int) -> None:
    while len(kafka.polls) > count:
        kafka.popped.clear()
        await kafka.popped.wait()


async def test_the_polls_made_while_a_batch_is_written_are_the_next_batch() -> None:
    """The intake goes on polling while a batch is written; everything it gathered is the
    next batch, one write, its offsets committed once."""
    journal: list[str] = []
    kafka = FakeKafka(journal, [poll(metrics_record("a", offset=0))])
    writer = FakeWriter(journal)
    writer.gate.clear()
    loop = BatchConsumer(Settings(topic_prefix=PREFIX), kafka, FakeProducer(journal), writer)
    running = asyncio.create_task(loop.run())
    await asyncio.wait_for(writer.entered.wait(), 20)  # "a" is held in its write
    kafka.polls += [poll(metrics_record("b", offset=1)), poll(metrics_record("c", offset=2))]
    await asyncio.wait_for(polls_left(kafka, 0), 20)
    kafka.drained = loop.stop
    writer.gate.set()
    await asyncio.wait_for(running, 20)
    assert [entry for entry in journal if entry.startswith("write")] == ["write a", "write b,c"]
    assert kafka.committed == [{TopicPartition(TOPIC, 0): 1}, {TopicPartition(TOPIC, 0): 3}]


async def test_the_intake_stops_polling_while_a_full_batch_waits() -> None:
    journal: list[str] = []
    kafka = FakeKafka(journal, [poll(metrics_record("a", offset=0))])
    writer = FakeWriter(journal)
    writer.gate.clear()
    settings = Settings(topic_prefix=PREFIX, batch_max_records=2)
    loop = BatchConsumer(settings, kafka, FakeProducer(journal), writer)
    running = asyncio.create_task(loop.run())
    await asyncio.wait_for(writer.entered.wait(), 20)
    kafka.polls += [poll(metrics_record(p, offset=i)) for i, p in enumerate("bcd", start=1)]
    await asyncio.wait_for(polls_left(kafka, 1), 20)  # "b" and "c" wait: the batch is full
    for _ in range(100):
        await asyncio.sleep(0)
    assert len(kafka.polls) == 1  # "d" is left at the broker meanwhile
    kafka.drained = lambda: loop.stop() if len(kafka.committed) == 3 else None
    writer.gate.set()
    await asyncio.wait_for(running, 20)
    assert [entry for entry in journal if entry.startswith("write")] == [
        "write a", "write b,c", "write d",
    ]  # fmt: skip
