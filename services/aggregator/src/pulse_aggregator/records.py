"""A consumed Kafka record and what the aggregator makes of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from pulse_aggregator.fast_decode import FastDecoder
from pulse_shared.events import (
    AccountObserved,
    Event,
    MetricsObserved,
    PostPublished,
    PostRemoved,
    describe_validation_error,
)
from pulse_shared.topics import EVENT_TYPES, METRICS_OBSERVED

# metrics.observed.v1, nearly every record, decoded by msgspec; pydantic decides the rest.
SNAPSHOTS = FastDecoder(MetricsObserved)
SnapshotStruct = SNAPSHOTS.struct


class Snapshot(Protocol):
    """A metrics.observed.v1 event as the writer reads it: a ``MetricsObserved`` or the
    same fields decoded by the fast decoder (``metrics`` has the PostMetrics fields)."""

    @property
    def business_id(self) -> int: ...
    @property
    def platform(self) -> str: ...
    @property
    def platform_post_id(self) -> str: ...
    @property
    def observed_at(self) -> datetime: ...
    @property
    def source(self) -> str: ...
    @property
    def event_id(self) -> uuid.UUID: ...
    @property
    def metrics(self) -> Any: ...  # a PostMetrics, or a struct of its fields


Decoded = Event | Snapshot


@dataclass(frozen=True)
class Record:
    """The parts of a Kafka record the aggregator uses (so handlers need no client)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Rejected:
    record: Record
    source_topic: str  # the design's topic name, without any test prefix
    reason: str


@dataclass
class EventBatch:
    posts: list[PostPublished] = field(default_factory=list)
    metrics: list[Snapshot] = field(default_factory=list)
    accounts: list[AccountObserved] = field(default_factory=list)
    removals: list[PostRemoved] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.posts) + len(self.metrics) + len(self.accounts) + len(self.removals)

    def business_ids(self) -> set[int]:
        events: tuple[Decoded, ...] = (*self.posts, *self.metrics, *self.accounts, *self.removals)
        return {e.business_id for e in events}

    @classmethod
    def of(cls, events: Iterable[Decoded]) -> EventBatch:
        batch = cls()
        for event in events:
            if isinstance(event, PostPublished):
                batch.posts.append(event)
            elif isinstance(event, (MetricsObserved, SnapshotStruct)):
                batch.metrics.append(event)
            elif isinstance(event, AccountObserved):
                batch.accounts.append(event)
            elif isinstance(event, PostRemoved):
                batch.removals.append(event)
            else:
                raise TypeError(f"the aggregator does not consume {type(event).__name__}")
        return batch


def decode(record: Record, topic: str, now: datetime, max_skew: timedelta) -> Decoded | Rejected:
    """Parse one record of ``topic`` (a design topic name) into its event, or say why not."""
    model = EVENT_TYPES.get(topic)
    if model is None:
        return Rejected(record, topic, f"no event type for topic {topic!r}")
    if record.value is None:
        return Rejected(record, topic, "empty record value (tombstone)")
    event: Decoded | None = SNAPSHOTS.decode(record.value) if topic == METRICS_OBSERVED else None
    if event is None:
        try:
            event = model.model_validate_json(record.value)
        except ValidationError as exc:
            reason = describe_validation_error(exc)
            return Rejected(record, topic, f"invalid {topic} event: {reason}")
    observed_at = getattr(event, "observed_at", None)
    if observed_at is not None and observed_at > now + max_skew:
        return Rejected(
            record,
            topic,
            f"observed_at: {observed_at.isoformat()} is in the future (now {now.isoformat()})",
        )
    return event
