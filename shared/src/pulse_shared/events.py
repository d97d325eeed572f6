"""The events that cross service boundaries, exactly as the wire format in DESIGN.md
names them.

Validation is strict (a number given as a string is refused, not coerced), unknown
fields are refused, every timestamp must carry a time zone and is normalised to UTC,
and counts cannot be negative. Metric values are cumulative totals at ``observed_at``:
null means "the platform does not report it", zero means zero.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

SCHEMA_VERSION = 1

Platform: TypeAlias = Literal["linkedin", "twitter", "facebook", "instagram"]
PLATFORMS: tuple[Platform, ...] = ("linkedin", "twitter", "facebook", "instagram")
ContentType: TypeAlias = Literal["text", "image", "video", "link", "carousel"]
CONTENT_TYPES: tuple[ContentType, ...] = ("text", "image", "video", "link", "carousel")
MetricsSource: TypeAlias = Literal["poll", "webhook", "refresh", "backfill"]


# No platform tracked here existed before this: an earlier timestamp is a bug upstream.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00: past datetime's last year in UTC
        raise ValueError("is out of range once in UTC") from None
    if value < EARLIEST:
        raise ValueError(f"must not be before {EARLIEST.date().isoformat()}")
    return value


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here keeps it out of the pipeline.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
Count = Annotated[int, Field(ge=0, le=2**63 - 1)]
BusinessId = Annotated[int, Field(gt=0, le=2**63 - 1)]
Text = Annotated[str, AfterValidator(_no_nul)]
PlatformId = Annotated[Text, Field(min_length=1, max_length=255)]
Url = Annotated[Text, Field(max_length=2048, pattern=r"^https?://")]


class Event(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    schema_version: Literal[1] = 1
    business_id: BusinessId


class PostPublished(Event):
    """``posts.published.v1``: a post exists and should be tracked."""

    platform: Platform
    platform_post_id: PlatformId
    account_id: PlatformId
    published_at: UtcDatetime
    content: Annotated[Text, Field(max_length=10_000)] = ""
    content_type: ContentType
    platform_post_url: Url | None = None
    video_duration_s: Annotated[float, Field(ge=0)] | None = None
    # The post's preview image, where the platform gives one (discovery fills it).
    thumbnail_url: Url | None = None


class PostRemoved(Event):
    """``posts.removed.v1``: a post is gone from the platform. Its history stays; it is no
    longer polled."""

    platform: Platform
    platform_post_id: PlatformId
    removed_at: UtcDatetime


class PostMetrics(BaseModel):
    """The cumulative metrics of one post; a missing metric is null, never zero."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    likes: Count | None = None
    comments: Count | None = None
    shares: Count | None = None
    reactions: Count | None = None
    retweets: Count | None = None
    quote_tweets: Count | None = None
    impressions: Count | None = None
    reach: Count | None = None
    clicks: Count | None = None
    video_views: Count | None = None
    video_watch_time_s: Annotated[float, Field(ge=0)] | None = None
    saves: Count | None = None


METRIC_NAMES: tuple[str, ...] = tuple(PostMetrics.model_fields)


class MetricsObserved(Event):
    """``metrics.observed.v1``: a cumulative snapshot of one post at ``observed_at``."""

    platform: Platform
    platform_post_id: PlatformId
    observed_at: UtcDatetime
    source: MetricsSource
    metrics: PostMetrics


class AccountObserved(Event):
    """``accounts.observed.v1``: an account's follower count at ``observed_at``."""

    platform: Platform
    account_id: PlatformId
    observed_at: UtcDatetime
    followers: Count


class RefreshRequested(Event):
    """``refresh.requested.v1``: fetch fresh numbers for a business now."""

    platforms: Annotated[list[Platform], Field(min_length=1, max_length=len(PLATFORMS))]
    requested_at: UtcDatetime


AnyEvent: TypeAlias = (
    PostPublished | PostRemoved | MetricsObserved | AccountObserved | RefreshRequested
)


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming every offending field, e.g. ``metrics.likes: Input should be ...``."""
    parts = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "<event>"
        parts.append(f"{field}: {error['msg']}")
    return "; ".join(parts)
