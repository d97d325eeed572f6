"""A post's exact numbers at an instant, and how each platform names them.

Every number is ``floor(lifetime total x attention progress)``: a pure function of the
post and the instant, the same in every answer and in ``GET /_sim/truth``, and never
smaller at a later instant. Because impressions >= reach >= engagement holds for the
lifetime totals and flooring keeps order, it holds at every instant too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pulse_platform_sim.patterns import attention_progress
from pulse_platform_sim.population import Account, Population, Post


@dataclass(frozen=True)
class Counts:
    """A post's whole numbers at one instant, in the simulator's own terms."""

    impressions: int
    reach: int
    likes: int
    comments: int
    shares: int
    quotes: int
    saves: int
    clicks: int
    profile_clicks: int
    video_views: int
    video_watch_time_ms: int


def counts_at(post: Post, at: datetime) -> Counts:
    age_hours = (at - post.published_at).total_seconds() / 3600
    progress = attention_progress(post.platform, age_hours)
    life = post.lifetime

    def part(total: float) -> int:
        return math.floor(total * progress)

    return Counts(
        impressions=part(life.impressions),
        reach=part(life.reach),
        likes=part(life.likes),
        comments=part(life.comments),
        shares=part(life.shares),
        quotes=part(life.quotes),
        saves=part(life.saves),
        clicks=part(life.clicks),
        profile_clicks=part(life.profile_clicks),
        video_views=part(life.video_views),
        video_watch_time_ms=part(life.video_watch_time_s * 1000),
    )


# --- X ------------------------------------------------------------------------------


def x_public_metrics(c: Counts) -> dict[str, int]:
    return {
        "retweet_count": c.shares,
        "reply_count": c.comments,
        "like_count": c.likes,
        "quote_count": c.quotes,
        "bookmark_count": c.saves,
        "impression_count": c.impressions,
    }


def x_engagements(c: Counts) -> int:
    return c.likes + c.comments + c.shares + c.quotes + c.clicks + c.profile_clicks


def x_non_public_metrics(c: Counts) -> dict[str, int]:
    return {
        "impression_count": c.impressions,
        "url_link_clicks": c.clicks,
        "user_profile_clicks": c.profile_clicks,
        "engagements": x_engagements(c),
    }


def x_organic_metrics(c: Counts) -> dict[str, int]:
    return {
        "impression_count": c.impressions,
        "like_count": c.likes,
        "reply_count": c.comments,
        "retweet_count": c.shares,
        "url_link_clicks": c.clicks,
        "user_profile_clicks": c.profile_clicks,
    }


# --- LinkedIn -----------------------------------------------------------------------


def linkedin_share_statistics(c: Counts) -> dict[str, Any]:
    engaged = c.clicks + c.likes + c.comments + c.shares
    return {
        "uniqueImpressionsCount": c.reach,
        "shareCount": c.shares,
        "engagement": engaged / c.impressions if c.impressions else 0.0,
        "clickCount": c.clicks,
        "likeCount": c.likes,
        "impressionCount": c.impressions,
        "commentCount": c.comments,
    }


# --- Meta -----------------------------------------------------------------------------


def facebook_insights(post: Post, c: Counts) -> dict[str, int]:
    return {
        "post_media_view": c.impressions,
        "post_total_media_view_unique": c.reach,
        "post_clicks": c.clicks,
        "post_video_views": c.video_views if post.is_video else 0,
        "post_video_view_time": c.video_watch_time_ms if post.is_video else 0,
    }


def facebook_counts(c: Counts) -> dict[str, int]:
    return {"reactions": c.likes, "comments": c.comments, "shares": c.shares}


def instagram_insights(post: Post, c: Counts) -> dict[str, int]:
    return {
        # "views" replaced both impressions and plays.
        "views": c.impressions,
        "reach": c.reach,
        "likes": c.likes,
        "comments": c.comments,
        "shares": c.shares,
        "saved": c.saves,
        "total_interactions": c.likes + c.comments + c.shares + c.saves,
        "ig_reels_video_view_total_time": c.video_watch_time_ms if post.is_video else 0,
    }


# --- everything about one post, for GET /_sim/truth ------------------------------------


def platform_numbers(post: Post, at: datetime) -> dict[str, Any]:
    """The post's numbers under the names its platform's API uses."""
    c = counts_at(post, at)
    if post.platform == "twitter":
        media = {"view_count": c.video_views} if post.is_video else None
        return {
            "public_metrics": x_public_metrics(c),
            "non_public_metrics": x_non_public_metrics(c),
            "organic_metrics": x_organic_metrics(c),
            "media_public_metrics": media,
        }
    if post.platform == "linkedin":
        return {"totalShareStatistics": linkedin_share_statistics(c)}
    if post.platform == "facebook":
        return {"insights": facebook_insights(post, c), "counts": facebook_counts(c)}
    return {"insights": instagram_insights(post, c)}


def normalised_metrics(post: Post, at: datetime) -> dict[str, float | int | None]:
    """The post's numbers as Pulse's ``metrics`` object should hold them (DESIGN.md and the
    mapping table in the platform notes: null = the platform does not report it)."""
    c = counts_at(post, at)
    video = post.is_video
    watch_s = c.video_watch_time_ms / 1000 if video else None
    metrics: dict[str, float | int | None] = dict.fromkeys(
        (
            "likes",
            "comments",
            "shares",
            "reactions",
            "retweets",
            "quote_tweets",
            "impressions",
            "reach",
            "clicks",
            "video_views",
            "video_watch_time_s",
            "saves",
        )
    )
    metrics.update(likes=c.likes, comments=c.comments, impressions=c.impressions)
    if post.platform == "twitter":
        metrics.update(
            shares=c.shares + c.quotes,
            retweets=c.shares,
            quote_tweets=c.quotes,
            clicks=c.clicks,
            video_views=c.video_views if video else None,
            saves=c.saves,
        )
    elif post.platform == "linkedin":
        metrics.update(shares=c.shares, reach=c.reach, clicks=c.clicks)
    elif post.platform == "facebook":
        metrics.update(
            reactions=c.likes,
            shares=c.shares,
            reach=c.reach,
            clicks=c.clicks,
            video_views=c.video_views if video else None,
            video_watch_time_s=watch_s,
        )
    else:
        metrics.update(
            shares=c.shares,
            reach=c.reach,
            saves=c.saves,
            video_views=c.impressions if video else None,
            video_watch_time_s=watch_s,
        )
    return metrics


def x_tweet_count(population: Population, account: Account, at: datetime) -> int:
    return account.earlier_posts + len(population.posts_of(account, at))


def facebook_fan_count(account: Account, at: datetime) -> int:
    # Page likes trail follows a little: some people follow without liking.
    return int(account.followers_at(at) * 0.93)
