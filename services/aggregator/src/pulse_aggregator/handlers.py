"""What the aggregator does with one polled batch of records.

Thin on purpose: decode each record, set the bad ones aside for the dead-letter queue,
and hand the good ones to the writer as one unit of work. The consumer loop owns
retries and offset commits; this function owns no I/O of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pulse_aggregator.records import EventBatch, Record, Rejected, decode
from pulse_aggregator.writer import AnalyticsWriter, WriteResult
from pulse_shared.events import AccountObserved, MetricsObserved, PostPublished
from pulse_shared.logs import get_logger

log = get_logger(__name__)


@dataclass
class DecodedBatch:
    events: EventBatch = field(default_factory=EventBatch)
    rejected: list[Rejected] = field(default_factory=list)


def decode_batch(
    records: Iterable[Record], topic_of: dict[str, str], now: datetime, max_skew: timedelta
) -> DecodedBatch:
    """Split records into events by type and rejects; ``topic_of`` maps the consumed
    topic name (which may carry a test prefix) to the design's topic name."""
    out = DecodedBatch()
    for record in records:
        topic = topic_of.get(record.topic, record.topic)
        result = decode(record, topic, now, max_skew)
        match result:
            case Rejected():
                out.rejected.append(result)
            case PostPublished():
                out.events.posts.append(result)
            case MetricsObserved():
                out.events.metrics.append(result)
            case AccountObserved():
                out.events.accounts.append(result)
            case _:
                out.rejected.append(Rejected(record, topic, "event type not consumed here"))
    return out


async def write_batch(batch: DecodedBatch, writer: AnalyticsWriter) -> WriteResult | None:
    for rejected in batch.rejected:
        r = rejected.record
        log.warning(
            "event rejected",
            topic=r.topic,
            partition=r.partition,
            offset=r.offset,
            reason=rejected.reason,
        )
    if not len(batch.events):
        return None
    return await writer.write(batch.events)
