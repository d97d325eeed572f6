"""X fields -> PostMetrics: the mapping table of the README, null kept apart from 0."""

from __future__ import annotations

from pulse_ingest_twitter.normalise import anything_reported, tweet_metrics
from pulse_shared.events import PostMetrics
from pulse_shared.ingest.counts import count_of


def test_public_metrics_only_leave_the_private_ones_null() -> None:
    metrics = tweet_metrics(
        {
            "id": "1",
            "public_metrics": {
                "retweet_count": 0,
                "reply_count": 0,
                "like_count": 0,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": 0,
            },
        }
    )
    assert metrics == PostMetrics(
        likes=0,
        comments=0,
        shares=0,
        retweets=0,
        quote_tweets=0,
        impressions=0,
        saves=0,
    )
    # Clicks need a user-context token: not reported is null, not 0.
    assert metrics.clicks is None
    assert metrics.reach is None
    assert metrics.video_watch_time_s is None


def test_shares_are_retweets_plus_quote_tweets() -> None:
    metrics = tweet_metrics({"public_metrics": {"retweet_count": 7, "quote_count": 2}})
    assert (metrics.retweets, metrics.quote_tweets, metrics.shares) == (7, 2, 9)


def test_shares_are_null_only_when_neither_part_is_reported() -> None:
    assert tweet_metrics({"public_metrics": {"like_count": 1}}).shares is None
    assert tweet_metrics({"organic_metrics": {"retweet_count": 4}}).shares == 4


def test_organic_metrics_fill_in_when_public_ones_are_absent() -> None:
    metrics = tweet_metrics(
        {
            "organic_metrics": {
                "impression_count": 900,
                "like_count": 30,
                "reply_count": 4,
                "retweet_count": 6,
                "url_link_clicks": 12,
                "user_profile_clicks": 50,
            }
        }
    )
    assert (metrics.likes, metrics.comments, metrics.retweets) == (30, 4, 6)
    assert (metrics.impressions, metrics.clicks) == (900, 12)


def test_video_views_are_passed_through() -> None:
    assert tweet_metrics({"public_metrics": {}}, video_views=0).video_views == 0
    assert tweet_metrics({"public_metrics": {}}).video_views is None


def test_values_that_are_no_counts_are_not_reported() -> None:
    assert count_of(True) is None
    assert count_of(-1) is None
    assert count_of("5") is None
    assert count_of(2.5) is None
    assert count_of(3.0) == 3
    assert count_of(0) == 0


def test_anything_reported_tells_an_empty_reading() -> None:
    assert not anything_reported(PostMetrics())
    assert anything_reported(PostMetrics(likes=0))
