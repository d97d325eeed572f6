"""X tweet fields -> Pulse's :class:`PostMetrics` (the mapping table is in the README).

What X does not report stays None; DESIGN.md's engagement rule makes ``shares`` the sum of
retweets and quote tweets, with both also kept under their own names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulse_shared.events import PostMetrics
from pulse_shared.ingest.counts import count_of


def _metric_group(tweet: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    group = tweet.get(name)
    return group if isinstance(group, Mapping) else {}


def _first_reported(*values: int | None) -> int | None:
    return next((value for value in values if value is not None), None)


def _sum_reported(*values: int | None) -> int | None:
    reported = [value for value in values if value is not None]
    return sum(reported) if reported else None


def tweet_metrics(tweet: Mapping[str, Any], video_views: int | None = None) -> PostMetrics:
    """One tweet object of a ``GET /2/tweets`` answer (``public_metrics`` and, with a
    user-context token, ``non_public_metrics`` / ``organic_metrics``) as Pulse metrics.

    ``video_views`` is the sum of ``view_count`` over the tweet's media in
    ``includes.media`` (None when no attached media reports one)."""
    public = _metric_group(tweet, "public_metrics")
    non_public = _metric_group(tweet, "non_public_metrics")
    organic = _metric_group(tweet, "organic_metrics")

    retweets = _first_reported(
        count_of(public.get("retweet_count")), count_of(organic.get("retweet_count"))
    )
    quote_tweets = count_of(public.get("quote_count"))
    return PostMetrics(
        likes=_first_reported(
            count_of(public.get("like_count")), count_of(organic.get("like_count"))
        ),
        comments=_first_reported(
            count_of(public.get("reply_count")), count_of(organic.get("reply_count"))
        ),
        shares=_sum_reported(retweets, quote_tweets),
        reactions=None,
        retweets=retweets,
        quote_tweets=quote_tweets,
        impressions=_first_reported(
            count_of(public.get("impression_count")),
            count_of(non_public.get("impression_count")),
            count_of(organic.get("impression_count")),
        ),
        reach=None,
        # Link clicks only: profile clicks are not clicks on the post's content.
        clicks=_first_reported(
            count_of(non_public.get("url_link_clicks")),
            count_of(organic.get("url_link_clicks")),
        ),
        video_views=video_views,
        video_watch_time_s=None,
        saves=count_of(public.get("bookmark_count")),
    )


def anything_reported(metrics: PostMetrics) -> bool:
    """Whether a reading says anything: an all-null reading would overwrite the stored
    totals with nulls (the newest observation wins), so it is not published."""
    return any(value is not None for value in metrics.model_dump().values())
