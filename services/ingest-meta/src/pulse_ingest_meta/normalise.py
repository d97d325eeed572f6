"""Graph API fields -> Pulse's :class:`PostMetrics` for Facebook posts and Instagram
media (the mapping table is in the README).

DESIGN.md's engagement rule makes a Facebook post's ``likes`` the total of all its
reactions (the total is also kept as ``reactions``). What Meta does not report stays None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pulse_shared.events import PostMetrics
from pulse_shared.ingest.counts import count_of

# An insights answer, metric name -> its (lifetime) value.
InsightValues = Mapping[str, int | float]


def seconds_of_milliseconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value) / 1000.0


@dataclass(frozen=True)
class FacebookCounts:
    """``GET /{post-id}?fields=reactions.summary(total_count),comments.summary(true),shares``."""

    reactions: int | None
    comments: int | None
    shares: int | None


def facebook_post_metrics(insights: InsightValues, counts: FacebookCounts | None) -> PostMetrics:
    reactions = counts.reactions if counts else None
    return PostMetrics(
        likes=reactions,
        comments=counts.comments if counts else None,
        shares=counts.shares if counts else None,
        reactions=reactions,
        impressions=count_of(insights.get("post_media_view")),
        reach=count_of(insights.get("post_total_media_view_unique")),
        clicks=count_of(insights.get("post_clicks")),
        video_views=count_of(insights.get("post_video_views")),
        video_watch_time_s=seconds_of_milliseconds(insights.get("post_video_view_time")),
    )


def instagram_media_metrics(insights: InsightValues) -> PostMetrics:
    # ``views`` replaced both ``impressions`` and the video ``plays``, so it fills both.
    views = count_of(insights.get("views"))
    return PostMetrics(
        likes=count_of(insights.get("likes")),
        comments=count_of(insights.get("comments")),
        shares=count_of(insights.get("shares")),
        impressions=views,
        reach=count_of(insights.get("reach")),
        video_views=views,
        video_watch_time_s=seconds_of_milliseconds(insights.get("ig_reels_video_view_total_time")),
        saves=count_of(insights.get("saved")),
    )


def anything_reported(metrics: PostMetrics) -> bool:
    """Whether a reading says anything: an all-null reading would overwrite the stored
    totals with nulls (the newest observation wins), so it is not published."""
    return any(value is not None for value in metrics.model_dump().values())
