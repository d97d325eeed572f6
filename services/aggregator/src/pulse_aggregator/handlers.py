"""What the aggregator does with one polled batch of records.

Thin on purpose: decode each record, set the bad ones aside for the dead-letter queue,
and hand the good ones to the writer as one unit of work, which answers what it wrote and
what the database refused. The batch's steps (``pulse_aggregator.steps``) own retries,
the dead-letter producer and offset commits; this module owns no I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from pulse_aggregator.records import Decoded, EventBatch, Record, Rejected, SnapshotStruct, decode
from pulse_aggregator.writer import AnalyticsWriter, EventsRefused, WriteResult
from pulse_shared.events import (
    AccountObserved,
    MetricsObserved,
    PostPublished,
    PostRemoved,
)
from pulse_shared.logs import get_logger
from pulse_shared.topics import EVENT_ID_HEADER

log = get_logger(__name__)

CONSUMED_EVENTS = (PostPublished, PostRemoved, MetricsObserved, SnapshotStruct, AccountObserved)
T = TypeVar("T")


@dataclass
class DecodedBatch:
    accepted: list[tuple[Record, Decoded]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def events(self) -> EventBatch:
        return EventBatch.of(event for _, event in self.accepted)


def decode_batch(
    records: Iterable[Record], topic_of: dict[str, str], now: datetime, max_skew: timedelta
) -> DecodedBatch:
    """Split records into events and rejects; ``topic_of`` maps the consumed topic name
    (which may carry a test prefix) to the design's topic name."""
    out = DecodedBatch()
    for record in records:
        topic = topic_of.get(record.topic, record.topic)
        result = decode(record, topic, now, max_skew)
        if isinstance(result, Rejected):
            out.rejected.append(result)
        elif isinstance(result, CONSUMED_EVENTS):
            out.accepted.append((record, result))
        else:
            out.rejected.append(Rejected(record, topic, "event type not consumed here"))
    return out


def by_business(items: Sequence[T], lanes: int, business_of: Callable[[T], int]) -> list[list[T]]:
    """``items`` in at most ``lanes`` groups, each holding whole businesses (in order)."""
    groups: list[list[T]] = [[] for _ in range(max(lanes, 1))]
    for item in items:
        groups[business_of(item) % len(groups)].append(item)
    return [g for g in groups if g]


@dataclass(frozen=True)
class Written:
    """What one attempt at writing a batch did: what it wrote (None: nothing), and the
    events the database refused, each with its reason, for the dead-letter queue."""

    result: WriteResult | None = None
    refused: list[Rejected] = field(default_factory=list)

    def __add__(self, other: Written) -> Written:
        if self.result is None or other.result is None:
            result = self.result or other.result
        else:
            result = self.result + other.result
        return Written(result, self.refused + other.refused)


async def write_batch(
    batch: DecodedBatch, writer: AnalyticsWriter, topic_of: dict[str, str], lanes: int = 1
) -> Written:
    """Write the batch's events in ``lanes`` transactions at once, each holding whole
    businesses: no two touch the same rows (every analytics key leads with the business),
    and PostgreSQL works on them on several cores. Each is idempotent, so if one fails
    after another committed, writing the whole batch again is exact. If the database
    refuses the data itself, a lane is split in halves until the refused events are
    alone; they are returned with the database's reason, the rest is written. The batch
    itself is not changed: a retry starts from the same batch and returns its own."""
    if not batch.accepted:
        return Written()
    groups = by_business(batch.accepted, lanes, lambda pair: pair[1].business_id)
    # Every lane finishes (or fails) before this returns: a retry of the batch never
    # runs beside a lane of the attempt before it.
    outcomes = await asyncio.gather(
        *(_write_isolating(g, writer, topic_of) for g in groups), return_exceptions=True
    )
    written = Written()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        written += outcome
    return written


async def _write_isolating(
    pairs: list[tuple[Record, Decoded]], writer: AnalyticsWriter, topic_of: dict[str, str]
) -> Written:
    try:
        return Written(await writer.write(EventBatch.of(event for _, event in pairs)))
    except EventsRefused as exc:
        if len(pairs) == 1:
            record = pairs[0][0]
            topic = topic_of.get(record.topic, record.topic)
            return Written(refused=[Rejected(record, topic, f"database refused the event: {exc}")])
        middle = len(pairs) // 2
        first = await _write_isolating(pairs[:middle], writer, topic_of)
        return first + await _write_isolating(pairs[middle:], writer, topic_of)


def log_rejected(rejected: Rejected) -> None:
    r = rejected.record
    log.warning(
        "event rejected", topic=r.topic, partition=r.partition, offset=r.offset,
        event_id=_event_id(r), reason=rejected.reason,
    )  # fmt: skip


def _event_id(record: Record) -> str | None:
    """The event id the publisher put in the headers (None from a publisher that did not),
    so a rejected event can be traced back to the ingest log line that published it."""
    for name, value in record.headers:
        if name == EVENT_ID_HEADER:
            return value.decode("utf-8", "replace")
    return None
