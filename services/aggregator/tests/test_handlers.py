"""The batch handler on its own: decoding, routing and rejects, with an in-memory writer."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from pulse_aggregator.handlers import Written, decode_batch, write_batch
from pulse_aggregator.records import EventBatch, Record
from pulse_aggregator.writer import EventsRefused, WriteResult

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SKEW = timedelta(minutes=5)
TOPIC_OF = {
    "t.posts.published.v1": "posts.published.v1",
    "t.metrics.observed.v1": "metrics.observed.v1",
}


class FakeWriter:
    def __init__(self) -> None:
        self.batches: list[EventBatch] = []

    async def write(self, batch: EventBatch) -> WriteResult:
        self.batches.append(batch)
        return WriteResult(len(batch.posts), len(batch.metrics), 0, len(batch.accounts))

    async def refresh_summaries(self, recompute_days: bool = False) -> frozenset[int]:
        return frozenset()


def metrics_event(**changes: object) -> bytes:
    event: dict[str, object] = {
        "business_id": 7,
        "platform": "twitter",
        "platform_post_id": "1",
        "observed_at": "2026-11-25T11:00:00Z",
        "source": "poll",
        "metrics": {"likes": 3, "impressions": 100},
    }
    event.update(changes)
    return json.dumps(event).encode()


def record(value: bytes | None, topic: str = "t.metrics.observed.v1", offset: int = 0) -> Record:
    return Record(topic, 0, offset, b"twitter:1", value)


def test_good_records_become_events_by_type() -> None:
    post = json.dumps(
        {
            "business_id": 7,
            "platform": "twitter",
            "platform_post_id": "1",
            "account_id": "99",
            "published_at": "2026-11-25T10:00:00Z",
            "content_type": "text",
        }
    ).encode()
    batch = decode_batch(
        [record(post, "t.posts.published.v1"), record(metrics_event(), offset=1)],
        TOPIC_OF,
        NOW,
        SKEW,
    )
    assert batch.rejected == []
    assert [e.platform_post_id for e in batch.events.posts] == ["1"]
    assert [e.metrics.likes for e in batch.events.metrics] == [3]


def test_bad_records_are_rejected_with_a_reason_naming_the_field() -> None:
    batch = decode_batch(
        [
            record(b"{not json", offset=1),
            record(metrics_event(business_id="7"), offset=2),
            record(metrics_event(observed_at="2026-11-25T13:00:00Z"), offset=3),
            record(None, offset=4),
            record(metrics_event(), offset=5),
            record(metrics_event(observed_at="9999-12-31T23:59:59-05:00"), offset=6),
        ],
        TOPIC_OF,
        NOW,
        SKEW,
    )
    reasons = {r.record.offset: r.reason for r in batch.rejected}
    assert "Invalid JSON" in reasons[1]
    assert "business_id: Input should be a valid integer" in reasons[2]
    assert "observed_at" in reasons[3]
    assert "future" in reasons[3]
    assert "tombstone" in reasons[4]
    assert "observed_at: Value error, is out of range once in UTC" in reasons[6]
    assert all(r.source_topic == "metrics.observed.v1" for r in batch.rejected)
    assert len(batch.events.metrics) == 1


async def test_write_batch_hands_only_good_events_to_the_writer() -> None:
    writer = FakeWriter()
    batch = decode_batch([record(b"[]"), record(metrics_event(), offset=1)], TOPIC_OF, NOW, SKEW)
    written = await write_batch(batch, writer, TOPIC_OF)
    assert written == Written(WriteResult(0, 1, 0, 0), refused=[])
    assert len(writer.batches) == 1
    assert len(writer.batches[0].metrics) == 1


async def test_a_batch_of_only_rejects_writes_nothing() -> None:
    writer = FakeWriter()
    batch = decode_batch([record(b"[]")], TOPIC_OF, NOW, SKEW)
    assert await write_batch(batch, writer, TOPIC_OF) == Written(None, refused=[])
    assert writer.batches == []


class RefusingWriter(FakeWriter):
    """Refuses any batch holding a post id the database would not take."""

    async def write(self, batch: EventBatch) -> WriteResult:
        if any(e.platform_post_id == "poison" for e in batch.metrics):
            raise EventsRefused("DataError: value out of range")
        return await super().write(batch)


async def test_a_refused_event_is_isolated_and_the_rest_written() -> None:
    writer = RefusingWriter()
    records = [record(metrics_event(platform_post_id=f"p{n}"), offset=n) for n in range(7)]
    records.insert(4, record(metrics_event(platform_post_id="poison"), offset=99))
    batch = decode_batch(records, TOPIC_OF, NOW, SKEW)
    written = await write_batch(batch, writer, TOPIC_OF)
    assert [r.record.offset for r in written.refused] == [99]
    assert written.refused[0].reason.startswith("database refused the event: DataError")
    assert written.result == WriteResult(0, 7, 0, 0)  # every half that was written, added up
    stored = sorted(e.platform_post_id for b in writer.batches for e in b.metrics)
    assert stored == [f"p{n}" for n in range(7)]
    assert batch.rejected == []  # the batch is left as it was decoded: a retry starts over


async def test_a_batch_written_twice_answers_its_refusal_once_each_time() -> None:
    """Issue 19: the consumer retries a batch whose write failed (a lane's connection
    dropped) after another lane had found a refused event; that attempt's refusal must not
    stay behind in the batch to be dead-lettered a second time."""
    writer = RefusingWriter()
    records = [record(metrics_event(platform_post_id=f"p{n}"), offset=n) for n in range(3)]
    records.append(record(metrics_event(platform_post_id="poison"), offset=99))
    batch = decode_batch(records, TOPIC_OF, NOW, SKEW)
    first = await write_batch(batch, writer, TOPIC_OF)
    second = await write_batch(batch, writer, TOPIC_OF)
    assert [r.record.offset for r in first.refused] == [99]
    assert [r.record.offset for r in second.refused] == [99]
    assert batch.rejected == []


async def test_lanes_hold_whole_businesses_and_their_results_add_up() -> None:
    writer = FakeWriter()
    records = [
        record(metrics_event(business_id=b, platform_post_id=f"{b}-{n}"), offset=10 * b + n)
        for b in (1, 2, 3, 4, 5)
        for n in range(3)
    ]
    batch = decode_batch(records, TOPIC_OF, NOW, SKEW)
    written = await write_batch(batch, writer, TOPIC_OF, lanes=2)
    assert written.result == WriteResult(0, 15, 0, 0)
    lanes = [sorted({e.business_id for e in b.metrics}) for b in writer.batches]
    assert sorted(lanes) == [[1, 3, 5], [2, 4]]
    # Within a lane, a business's events keep the order they were polled in.
    for b in writer.batches:
        ids = [e.platform_post_id for e in b.metrics if e.business_id == 1]
        assert ids == sorted(ids)


class FailingLaneWriter(FakeWriter):
    """The lane of even businesses fails once its odd twin has finished."""

    def __init__(self) -> None:
        super().__init__()
        self.odd_lane_done = asyncio.Event()

    async def write(self, batch: EventBatch) -> WriteResult:
        if all(e.business_id % 2 == 0 for e in batch.metrics):
            await self.odd_lane_done.wait()
            raise ConnectionResetError("the database went away")
        result = await super().write(batch)
        self.odd_lane_done.set()
        return result


async def test_a_failed_lane_fails_the_batch_after_every_lane_has_finished() -> None:
    writer = FailingLaneWriter()
    records = [record(metrics_event(business_id=b), offset=b) for b in (1, 2, 3, 4)]
    batch = decode_batch(records, TOPIC_OF, NOW, SKEW)
    with pytest.raises(ConnectionResetError):
        await write_batch(batch, writer, TOPIC_OF, lanes=2)
    # The odd lane committed: retrying the whole batch rewrites it, which is idempotent.
    assert [sorted(e.business_id for e in b.metrics) for b in writer.batches] == [[1, 3]]
