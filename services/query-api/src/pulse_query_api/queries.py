"""The SQL behind the aggregate endpoints. Every number is computed in PostgreSQL, from the
daily summary rows the aggregator keeps (a period's totals are sums of its days, exactly)
or from indexed post tables; Python only shapes and rounds the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from pulse_query_api.scope import Scope
from pulse_shared import formulas
from pulse_shared.events import CONTENT_TYPES, PLATFORMS
from pulse_shared.schedule import GRACE, sql_poll_interval

SUMMARY_SUMS = """
    COALESCE(sum(total_posts), 0)::bigint AS total_posts,
    COALESCE(sum(total_likes), 0)::bigint AS total_likes,
    COALESCE(sum(total_comments), 0)::bigint AS total_comments,
    COALESCE(sum(total_shares), 0)::bigint AS total_shares,
    COALESCE(sum(total_impressions), 0)::bigint AS total_impressions,
    COALESCE(sum(total_reach), 0)::bigint AS total_reach,
    COALESCE(sum(total_clicks), 0)::bigint AS total_clicks,
    COALESCE(sum(rated_posts), 0)::bigint AS rated_posts,
    COALESCE(sum(engagement_rate_sum), 0) AS engagement_rate_sum,
    sum(follower_growth)::bigint AS follower_growth
"""

PERIOD_SUMMARY = text(f"""
SELECT {SUMMARY_SUMS}
FROM analytics_summaries
WHERE business_id = :business_id AND platform = :platform AND period_type = 'daily'
  AND period_start BETWEEN :start AND :end
""")

BY_PLATFORM = text(f"""
SELECT platform, {SUMMARY_SUMS}
FROM analytics_summaries
WHERE business_id = :business_id AND platform <> 'all' AND period_type = 'daily'
  AND period_start BETWEEN :start AND :end
GROUP BY platform
""")

_platform_filter = "(:platform = 'all' OR p.platform = :platform)"

TOP_POSTS_SQL = """
SELECT p.id AS post_id, p.business_id, p.platform, p.platform_post_id, p.platform_post_url,
       p.published_at, p.content_type, p.content_preview, p.thumbnail_url, p.removed_at,
       a.likes_count, a.comments_count,
       a.shares_count,
       a.reactions_count, a.retweets_count, a.quote_tweets_count, a.saves_count,
       a.impressions, a.reach, a.clicks, a.video_views, a.video_watch_time_s,
       a.engagement_rate, a.click_through_rate, a.fetched_at
FROM published_posts p
JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
WHERE p.business_id = :business_id AND p.published_at >= :since AND p.published_at < :until
  AND {platform_filter} AND COALESCE(a.impressions, 0) > 0
ORDER BY {order} DESC, p.id
LIMIT :limit
"""

# The orders top posts may be ranked by: API name -> SQL (never user text in SQL).
TOP_POST_ORDERS = {
    "engagement_rate": "a.engagement_rate",
    "likes_count": "COALESCE(a.likes_count, 0)",
    "impressions": "COALESCE(a.impressions, 0)",
    "total_engagement": (
        "(COALESCE(a.likes_count, 0) + COALESCE(a.comments_count, 0) + COALESCE(a.shares_count, 0))"
    ),
}
TOP_POSTS = {
    metric: text(TOP_POSTS_SQL.format(platform_filter=_platform_filter, order=order))
    for metric, order in TOP_POST_ORDERS.items()
}

# Per local (day of week, hour) of publication: the posts with impressions, and the mean
# and variance of their engagement rates.
SLOTS = text(f"""
SELECT (extract(isodow FROM p.published_at AT TIME ZONE :tz) - 1)::int AS day,
       extract(hour FROM p.published_at AT TIME ZONE :tz)::int AS hour,
       count(*) AS posts, sum(a.engagement_rate) AS rate_sum,
       sum(a.engagement_rate * a.engagement_rate) AS rate_sq_sum
FROM published_posts p
JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
WHERE p.business_id = :business_id AND p.published_at >= :since AND p.published_at < :until
  AND {_platform_filter} AND COALESCE(a.impressions, 0) > 0
GROUP BY 1, 2
""")

FRESHNESS = text(f"""
SELECT max(a.fetched_at) AS data_as_of,
       count(*) FILTER (
           WHERE {sql_poll_interval("(now() - p.published_at)")} IS NOT NULL
             AND COALESCE(a.fetched_at, p.published_at)
                 < now() - {sql_poll_interval("(now() - p.published_at)")}
                   - interval '{int(GRACE.total_seconds())} seconds'
       ) AS stale_posts
FROM published_posts p
LEFT JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
WHERE p.business_id = :business_id AND p.published_at >= :since AND p.published_at < :until
  AND {_platform_filter}
""")


def _params(scope: Scope) -> dict[str, Any]:
    since, until = scope.bounds()
    return {
        "business_id": scope.business_id,
        "platform": scope.platform,
        "start": scope.start,
        "end": scope.end,
        "since": since,
        "until": until,
        "tz": scope.timezone,
    }


def shape_summary(row: Any) -> dict[str, Any]:
    """The design's summary fields from the additive sums, rates rounded at the edge."""
    engagement = row.total_likes + row.total_comments + row.total_shares
    return {
        "total_posts": row.total_posts,
        "total_likes": row.total_likes,
        "total_comments": row.total_comments,
        "total_shares": row.total_shares,
        "total_impressions": row.total_impressions,
        "total_reach": row.total_reach,
        "total_clicks": row.total_clicks,
        "total_engagement": engagement,
        "avg_engagement_rate": formulas.round2(
            row.engagement_rate_sum / row.rated_posts if row.rated_posts else 0.0
        ),
        "engagement_rate": formulas.round2(
            formulas.weighted_engagement_rate(engagement, row.total_impressions)
        ),
        "avg_impressions": formulas.round2(
            row.total_impressions / row.total_posts if row.total_posts else 0.0
        ),
        "follower_growth": None if row.follower_growth is None else int(row.follower_growth),
    }


async def period_summary(session: AsyncSession, scope: Scope) -> dict[str, Any]:
    row = (await session.execute(PERIOD_SUMMARY, _params(scope))).one()
    return shape_summary(row)


async def by_platform(session: AsyncSession, scope: Scope) -> list[dict[str, Any]]:
    rows = {r.platform: r for r in (await session.execute(BY_PLATFORM, _params(scope))).all()}
    shaped = [{"platform": p, **shape_summary(rows[p])} for p in PLATFORMS if p in rows]
    posts = sum(s["total_posts"] for s in shaped)
    engagement = sum(s["total_engagement"] for s in shaped)
    for s in shaped:
        s["share_of_posts"] = formulas.round2(formulas.ratio_pct(s["total_posts"], posts))
        s["share_of_engagement"] = formulas.round2(
            formulas.ratio_pct(s["total_engagement"], engagement)
        )
    return shaped


async def top_posts(
    session: AsyncSession, scope: Scope, limit: int = 10, metric: str = "engagement_rate"
) -> list[dict[str, Any]]:
    """The period's posts with impressions, best first by ``metric``."""
    rows = (await session.execute(TOP_POSTS[metric], {**_params(scope), "limit": limit})).all()
    return [
        {
            "post_id": r.post_id,
            "business_id": r.business_id,
            "platform": r.platform,
            "platform_post_id": r.platform_post_id,
            "platform_post_url": r.platform_post_url,
            "published_at": r.published_at,
            "content_type": r.content_type,
            "content_preview": r.content_preview,
            "thumbnail_url": r.thumbnail_url,
            "removed_at": r.removed_at,
            "likes": r.likes_count,
            "comments": r.comments_count,
            "shares": r.shares_count,
            "reactions": r.reactions_count,
            "retweets": r.retweets_count,
            "quote_tweets": r.quote_tweets_count,
            "saves": r.saves_count,
            "impressions": r.impressions,
            "reach": r.reach,
            "clicks": r.clicks,
            "video_views": r.video_views,
            "video_watch_time_s": r.video_watch_time_s,
            "engagement_rate": formulas.round2(r.engagement_rate),
            "click_through_rate": formulas.round2(r.click_through_rate),
            "fetched_at": r.fetched_at,
        }
        for r in rows
    ]


# How many posts' worth of the overall mean a slot's estimate starts from: a slot with a
# handful of posts stays near the mean, one with many is judged on its own.
PRIOR_POSTS = 5.0
# Posts at which the sample-size part of the confidence reaches one half.
CONFIDENCE_HALF_AT = 30.0


def _shrunk(rate_sum: float, posts: float, mean: float) -> float:
    return (rate_sum + PRIOR_POSTS * mean) / (posts + PRIOR_POSTS)


async def best_times(session: AsyncSession, scope: Scope) -> dict[str, Any]:
    """By day of week and by hour (local), each slot's raw mean engagement rate and its
    score: the mean shrunk toward the overall mean as if PRIOR_POSTS more posts at the
    overall mean had been published there. Recommendations rank (day, hour) slots by
    score. The confidence (0-100) is n / (n + 30) for n rated posts, times how clearly
    the best slot stands out: its score's distance above the overall mean in standard
    errors (sd / sqrt(posts in the slot)), capped at 1."""
    slots = (await session.execute(SLOTS, _params(scope))).all()
    n = sum(s.posts for s in slots)
    total = sum(s.rate_sum for s in slots)
    mean = total / n if n else 0.0
    variance = (sum(s.rate_sq_sum for s in slots) / n - mean * mean) if n else 0.0
    sd = max(variance, 0.0) ** 0.5

    def axis(key: str, size: int) -> list[dict[str, Any]]:
        groups: dict[int, list[float]] = {i: [0.0, 0.0] for i in range(size)}
        for s in slots:
            g = groups[getattr(s, key)]
            g[0] += s.posts
            g[1] += s.rate_sum
        return [
            {
                key: i,
                "posts": int(posts),
                "avg_engagement_rate": formulas.round2(rate_sum / posts if posts else 0.0),
                "score": formulas.round2(_shrunk(rate_sum, posts, mean)),
                "_score": _shrunk(rate_sum, posts, mean),
                "_posts": posts,
            }
            for i, (posts, rate_sum) in groups.items()
        ]

    by_day, by_hour = axis("day", 7), axis("hour", 24)
    ranked = sorted(
        (s for s in slots if s.posts),
        key=lambda s: (-_shrunk(s.rate_sum, s.posts, mean), -s.posts, s.day, s.hour),
    )
    recommendations = [
        {
            "day": s.day,
            "hour": s.hour,
            "posts": s.posts,
            "score": formulas.round2(_shrunk(s.rate_sum, s.posts, mean)),
        }
        for s in ranked[:3]
    ]
    best_day = max((d for d in by_day if d["_posts"]), key=lambda d: d["_score"], default=None)
    best_hour = max((h for h in by_hour if h["_posts"]), key=lambda h: h["_score"], default=None)
    confidence = 0
    if ranked:
        top = ranked[0]
        gap = _shrunk(top.rate_sum, top.posts, mean) - mean
        se = sd / top.posts**0.5 if top.posts else 0.0
        separation = 1.0 if gap > 0 and se == 0 else min(1.0, max(gap, 0.0) / se if se else 0.0)
        confidence = round(100 * n / (n + CONFIDENCE_HALF_AT) * separation)
    for d in (*by_day, *by_hour):
        del d["_score"], d["_posts"]
    by_slot = [
        {
            "day": s.day,
            "hour": s.hour,
            "posts": s.posts,
            "avg_engagement_rate": formulas.round2(s.rate_sum / s.posts),
            "score": formulas.round2(_shrunk(s.rate_sum, s.posts, mean)),
        }
        for s in sorted(slots, key=lambda s: (s.day, s.hour))
        if s.posts
    ]
    return {
        "by_day": by_day,
        "by_hour": by_hour,
        "by_slot": by_slot,
        "recommendations": recommendations,
        "best_day": best_day["day"] if best_day else None,
        "best_hour": best_hour["hour"] if best_hour else None,
        "confidence_score": confidence,
        "posts_considered": n,
    }


async def freshness(session: AsyncSession, scope: Scope) -> tuple[datetime | None, int]:
    row = (await session.execute(FRESHNESS, _params(scope))).one()
    return row.data_as_of, row.stale_posts


def change_pct(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, float | None]:
    return {
        key: formulas.round2(formulas.growth_pct(current[key], previous[key]))
        for key in current
        if isinstance(current[key], int | float) or current[key] is None
    }


STORED_SUMMARIES = text("""
SELECT platform, period_type, period_start, period_end, total_posts, total_likes,
       total_comments, total_shares, total_impressions, total_reach, total_clicks,
       rated_posts, engagement_rate_sum, follower_growth, best_post_id,
       best_post_engagement_rate
FROM analytics_summaries
WHERE business_id = :business_id AND platform = :platform AND period_type = :period_type
  AND period_start BETWEEN :start AND :end
ORDER BY period_start
""")


async def stored_summaries(
    session: AsyncSession, scope: Scope, period_type: str
) -> list[dict[str, Any]]:
    """The aggregator's rows of ``period_type`` that start inside the scope's dates."""
    params = {**_params(scope), "period_type": period_type}
    return [
        {
            "platform": r.platform,
            "period_type": r.period_type,
            "period_start": r.period_start,
            "period_end": r.period_end,
            **shape_summary(r),
            "best_post_id": r.best_post_id,
            "best_post_engagement_rate": formulas.round2(r.best_post_engagement_rate),
        }
        for r in (await session.execute(STORED_SUMMARIES, params)).all()
    ]


CONTENT_PERFORMANCE = text(f"""
SELECT p.content_type, count(*) AS posts,
       COALESCE(sum(a.likes_count), 0)::bigint AS likes,
       COALESCE(sum(a.comments_count), 0)::bigint AS comments,
       COALESCE(sum(a.shares_count), 0)::bigint AS shares,
       COALESCE(sum(a.impressions), 0)::bigint AS impressions,
       COALESCE(sum(a.clicks), 0)::bigint AS clicks,
       count(*) FILTER (WHERE COALESCE(a.impressions, 0) > 0) AS rated_posts,
       COALESCE(sum(a.engagement_rate) FILTER (WHERE COALESCE(a.impressions, 0) > 0), 0)
           AS engagement_rate_sum
FROM published_posts p
LEFT JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
WHERE p.business_id = :business_id AND p.published_at >= :since AND p.published_at < :until
  AND {_platform_filter}
GROUP BY p.content_type
""")


async def content_performance(session: AsyncSession, scope: Scope) -> list[dict[str, Any]]:
    """Each content type (all five, zeros included): posts and average metrics per post."""
    rows = {
        r.content_type: r
        for r in (await session.execute(CONTENT_PERFORMANCE, _params(scope))).all()
    }
    out = []
    for content_type in CONTENT_TYPES:
        r = rows.get(content_type)
        posts = r.posts if r else 0
        engagement = (r.likes + r.comments + r.shares) if r else 0

        def per_post(total: int, posts: int = posts) -> float | None:
            return formulas.round2(total / posts if posts else 0.0)

        out.append({
            "content_type": content_type, "posts": posts,
            "avg_likes": per_post(r.likes if r else 0),
            "avg_comments": per_post(r.comments if r else 0),
            "avg_shares": per_post(r.shares if r else 0),
            "avg_impressions": per_post(r.impressions if r else 0),
            "avg_clicks": per_post(r.clicks if r else 0),
            "avg_engagement_rate": formulas.round2(
                r.engagement_rate_sum / r.rated_posts if r and r.rated_posts else 0.0),
            "engagement_rate": formulas.round2(formulas.weighted_engagement_rate(
                engagement, r.impressions if r else 0)),
        })  # fmt: skip
    return out


_BUCKETS = """
buckets AS (
    SELECT g::date AS period_start,
           (g + CAST(CAST(:step AS text) AS interval))::date AS next_start
    FROM generate_series(
        date_trunc(:unit, CAST(:start AS date)), CAST(:end AS date),
        CAST(CAST(:step AS text) AS interval)
    ) AS g
),
published AS (
    SELECT b.period_start,
           COALESCE(sum(x.total_posts), 0)::bigint AS posts,
           COALESCE(sum(x.total_likes), 0)::bigint AS likes,
           COALESCE(sum(x.total_comments), 0)::bigint AS comments,
           COALESCE(sum(x.total_shares), 0)::bigint AS shares,
           COALESCE(sum(x.total_impressions), 0)::bigint AS impressions
    FROM buckets b
    LEFT JOIN analytics_summaries x
      ON x.business_id = :business_id AND x.platform = :platform AND x.period_type = 'daily'
     AND x.period_start >= b.period_start AND x.period_start < b.next_start
     AND x.period_start BETWEEN :start AND :end
    GROUP BY b.period_start
)"""

# Publish-day trends: the daily summary rows inside the range, summed per period (a week
# or month cut by the range counts only its days inside it), gaps filled with zeros.
PUBLISH_TRENDS = text(f"""
WITH {_BUCKETS}
SELECT * FROM published ORDER BY period_start
""")

# Activity-day trends: what the posts gained on each local day (``activity_daily``, kept
# by the aggregator), summed per period; ``posts`` stays the number published in it.
ACTIVITY_TRENDS = text(f"""
WITH {_BUCKETS},
gained AS (
    SELECT b.period_start,
           COALESCE(sum(a.likes), 0)::bigint AS likes,
           COALESCE(sum(a.comments), 0)::bigint AS comments,
           COALESCE(sum(a.shares), 0)::bigint AS shares,
           COALESCE(sum(a.impressions), 0)::bigint AS impressions
    FROM buckets b
    LEFT JOIN activity_daily a
      ON a.business_id = :business_id AND (:platform = 'all' OR a.platform = :platform)
     AND a.day >= b.period_start AND a.day < b.next_start
     AND a.day BETWEEN :start AND :end
    GROUP BY b.period_start
)
SELECT p.period_start, p.posts, g.likes, g.comments, g.shares, g.impressions
FROM published p JOIN gained g USING (period_start)
ORDER BY p.period_start
""")

TREND_UNITS = {
    "daily": ("day", "1 day"),
    "weekly": ("week", "1 week"),
    "monthly": ("month", "1 month"),
}


async def trends(
    session: AsyncSession, scope: Scope, period: str, basis: str
) -> list[dict[str, Any]]:
    unit, step = TREND_UNITS[period]
    params = {**_params(scope), "unit": unit, "step": step, "period_type": period}
    query = PUBLISH_TRENDS if basis == "publish" else ACTIVITY_TRENDS
    out = []
    for r in (await session.execute(query, params)).all():
        engagement = r.likes + r.comments + r.shares
        out.append({
            "period_start": r.period_start, "posts": r.posts, "likes": r.likes,
            "comments": r.comments, "shares": r.shares, "impressions": r.impressions,
            "engagement": engagement,
            "engagement_rate": formulas.round2(
                formulas.weighted_engagement_rate(engagement, r.impressions)),
        })  # fmt: skip
    return out
