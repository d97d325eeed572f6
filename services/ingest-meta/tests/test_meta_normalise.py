"""Graph fields -> PostMetrics: the README tables, null kept apart from 0."""

from __future__ import annotations

from pulse_ingest_meta.normalise import (
    FacebookCounts,
    anything_reported,
    facebook_post_metrics,
    instagram_media_metrics,
    seconds_of_milliseconds,
)
from pulse_shared.events import PostMetrics
from pulse_shared.ingest.counts import count_of


def test_a_facebook_post_counts_every_reaction_as_a_like() -> None:
    metrics = facebook_post_metrics(
        {
            "post_media_view": 1234,
            "post_total_media_view_unique": 900,
            "post_clicks": 40,
            "post_video_views": 300,
            "post_video_view_time": 4500,
        },
        FacebookCounts(reactions=12, comments=3, shares=2),
    )
    assert metrics == PostMetrics(
        likes=12,
        comments=3,
        shares=2,
        reactions=12,
        impressions=1234,
        reach=900,
        clicks=40,
        video_views=300,
        video_watch_time_s=4.5,
    )
    assert metrics.saves is None
    assert metrics.retweets is None


def test_a_facebook_post_without_insights_keeps_them_null() -> None:
    metrics = facebook_post_metrics({}, FacebookCounts(reactions=0, comments=0, shares=0))
    assert (metrics.likes, metrics.comments, metrics.shares) == (0, 0, 0)
    assert metrics.impressions is None
    assert metrics.video_views is None


def test_an_instagram_media_maps_views_to_impressions_and_video_views() -> None:
    metrics = instagram_media_metrics(
        {
            "views": 5000,
            "reach": 3200,
            "likes": 210,
            "comments": 14,
            "shares": 9,
            "saved": 33,
            "total_interactions": 266,
        }
    )
    assert metrics == PostMetrics(
        likes=210,
        comments=14,
        shares=9,
        impressions=5000,
        reach=3200,
        video_views=5000,
        saves=33,
    )
    assert metrics.reactions is None
    assert metrics.clicks is None
    assert metrics.video_watch_time_s is None


def test_reels_watch_time_is_in_seconds() -> None:
    metrics = instagram_media_metrics({"ig_reels_video_view_total_time": 61000})
    assert metrics.video_watch_time_s == 61.0


def test_values() -> None:
    assert count_of(-1) is None
    assert count_of(7.0) == 7
    assert seconds_of_milliseconds(1500) == 1.5
    assert seconds_of_milliseconds(-5) is None
    assert seconds_of_milliseconds(True) is None


def test_nothing_reported() -> None:
    assert not anything_reported(instagram_media_metrics({}))
    assert anything_reported(instagram_media_metrics({"likes": 0}))
