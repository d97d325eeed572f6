"""LinkedIn share statistics -> Pulse's :class:`PostMetrics` (the mapping table is in the
README). What LinkedIn does not report (reactions by type, retweets, video, saves) stays
None."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulse_shared.events import PostMetrics


def count_of(value: object) -> int | None:
    """A reported count, or None when absent or not a number.

    LinkedIn documents that ``likeCount`` can be negative (likes removed outnumbering
    likes given in a window); a cumulative count below zero means nothing, so it is
    floored at 0 rather than dropped: the platform did report the post."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float) and value.is_integer():
        return max(0, int(value))
    return None


def share_statistics_metrics(statistics: Mapping[str, Any]) -> PostMetrics:
    """One element's ``totalShareStatistics`` as Pulse metrics. ``engagement`` (a ratio
    LinkedIn computes) is not stored: Pulse computes its own rate from the counts."""
    return PostMetrics(
        likes=count_of(statistics.get("likeCount")),
        comments=count_of(statistics.get("commentCount")),
        shares=count_of(statistics.get("shareCount")),
        impressions=count_of(statistics.get("impressionCount")),
        reach=count_of(statistics.get("uniqueImpressionsCount")),
        clicks=count_of(statistics.get("clickCount")),
    )


def no_activity_metrics() -> PostMetrics:
    """A post LinkedIn leaves out of the answer: the docs say posts without activity are
    omitted, so every count LinkedIn reports is 0 (and the rest stays null)."""
    return share_statistics_metrics(
        {
            "likeCount": 0,
            "commentCount": 0,
            "shareCount": 0,
            "impressionCount": 0,
            "uniqueImpressionsCount": 0,
            "clickCount": 0,
        }
    )


def anything_reported(metrics: PostMetrics) -> bool:
    """Whether a reading says anything: an all-null reading would overwrite the stored
    totals with nulls (the newest observation wins), so it is not published."""
    return any(value is not None for value in metrics.model_dump().values())
