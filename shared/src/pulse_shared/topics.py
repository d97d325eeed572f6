"""Kafka topic names, keys and shapes: DESIGN.md's topic table, once."""

from __future__ import annotations

from dataclasses import dataclass

from pulse_shared.events import (
    AccountObserved,
    Event,
    MetricsObserved,
    PostPublished,
    PostRemoved,
    RefreshRequested,
)

POSTS_PUBLISHED = "posts.published.v1"
POSTS_REMOVED = "posts.removed.v1"
METRICS_OBSERVED = "metrics.observed.v1"
ACCOUNTS_OBSERVED = "accounts.observed.v1"
REFRESH_REQUESTED = "refresh.requested.v1"

DLQ_SUFFIX = ".dlq"

# Headers a dead-lettered record carries, beside the source record's own headers.
# Every event published by Pulse carries its event_id as a header too, so a record can be
# traced (logs of ingest, aggregator, DLQ tools) without parsing its body.
EVENT_ID_HEADER = "pulse-event-id"
DLQ_HEADER_REASON = "pulse-dlq-reason"
DLQ_HEADER_TOPIC = "pulse-dlq-source-topic"
DLQ_HEADER_PARTITION = "pulse-dlq-source-partition"
DLQ_HEADER_OFFSET = "pulse-dlq-source-offset"


def dlq(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    event: type[Event]
    # posts.published.v1 and posts.removed.v1 are keyed by post and read again to rebuild
    # the ingest poll schedule, so they are compacted; the others are time-retained logs.
    compacted: bool = False
    retention_ms: int = 7 * 24 * 3600 * 1000


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(POSTS_PUBLISHED, 12, PostPublished, compacted=True),
    TopicSpec(POSTS_REMOVED, 12, PostRemoved, compacted=True),
    TopicSpec(METRICS_OBSERVED, 12, MetricsObserved),
    TopicSpec(ACCOUNTS_OBSERVED, 12, AccountObserved),
    TopicSpec(REFRESH_REQUESTED, 3, RefreshRequested),
)

EVENT_TYPES: dict[str, type[Event]] = {spec.name: spec.event for spec in TOPICS}


def post_key(platform: str, platform_post_id: str) -> bytes:
    return f"{platform}:{platform_post_id}".encode()


def account_key(platform: str, account_id: str) -> bytes:
    return f"{platform}:{account_id}".encode()


def business_key(business_id: int) -> bytes:
    return str(business_id).encode()


def key_for(event: Event) -> bytes:
    """The record key DESIGN.md gives each event, so one post stays on one partition."""
    match event:
        case PostPublished() | PostRemoved() | MetricsObserved():
            return post_key(event.platform, event.platform_post_id)
        case AccountObserved():
            return account_key(event.platform, event.account_id)
        case RefreshRequested():
            return business_key(event.business_id)
    raise TypeError(f"no key defined for {type(event).__name__}")
