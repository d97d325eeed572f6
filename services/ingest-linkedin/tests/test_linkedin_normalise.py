"""LinkedIn fields -> PostMetrics: the README table, null kept apart from 0."""

from __future__ import annotations

from pulse_ingest_linkedin.normalise import (
    anything_reported,
    count_of,
    no_activity_metrics,
    share_statistics_metrics,
)
from pulse_shared.events import PostMetrics


def test_every_documented_count_maps() -> None:
    metrics = share_statistics_metrics(
        {
            "uniqueImpressionsCount": 120,
            "shareCount": 3,
            "engagement": 0.0583,
            "clickCount": 4,
            "likeCount": 5,
            "impressionCount": 206,
            "commentCount": 0,
        }
    )
    assert metrics == PostMetrics(
        likes=5, comments=0, shares=3, impressions=206, reach=120, clicks=4
    )


def test_what_linkedin_never_reports_is_null() -> None:
    metrics = share_statistics_metrics({"likeCount": 1})
    assert metrics.reactions is None
    assert metrics.retweets is None
    assert metrics.quote_tweets is None
    assert metrics.video_views is None
    assert metrics.video_watch_time_s is None
    assert metrics.saves is None
    # Absent from this answer: not reported, not zero.
    assert metrics.comments is None


def test_no_activity_is_zero_for_the_reported_counts_only() -> None:
    metrics = no_activity_metrics()
    assert (metrics.likes, metrics.comments, metrics.shares) == (0, 0, 0)
    assert (metrics.impressions, metrics.reach, metrics.clicks) == (0, 0, 0)
    assert metrics.video_views is None


def test_counts() -> None:
    assert count_of(-3) == 0
    assert count_of(4.0) == 4
    assert count_of(0.5) is None
    assert count_of(True) is None
    assert count_of(None) is None


def test_anything_reported() -> None:
    assert not anything_reported(share_statistics_metrics({}))
    assert anything_reported(no_activity_metrics())
