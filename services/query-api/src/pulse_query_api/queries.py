"""The SQL behind the aggregate endpoints. Every number is computed in PostgreSQL, from the
daily summary rows the aggregator keeps (a period's totals are sums of its days, exactly)
or from indexed post tables; Python only shapes and rounds the answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from pulse_query_api import best_times as best_times_model
from pulse_query_api.post_row import (
    ENGAGEMENT,
    POST_COLUMNS,
    POSTS_WITH_NUMBERS,
    RATE_EXISTS,
    post_fields,
)
from pulse_query_api.scope import Compare, Scope
from pulse_shared import activity, formulas, summaries
from pulse_shared.events import CONTENT_TYPES, PLATFORMS
from pulse_shared.schedule import GRACE, sql_poll_interval
from pulse_shared.tables import METRIC_COLUMNS

# The additive columns of the summary rows (pulse_shared.summaries), summed, and follower
# growth (null when no account was observed).
SUMMARY_SUMS = ",\n    ".join(
    [
        f"COALESCE(sum({c}), 0) AS {c}"
        if c in summaries.FLOAT_SUMS
        else f"COALESCE(sum({c}), 0)::bigint AS {c}"
        for c in summaries.ADDITIVE
    ]
    + ["sum(follower_growth)::bigint AS follower_growth"]
)

# Per platform of the scope, the period's daily rows added up, and (``previous``) those of
# the compared period :compared_start..:compared_end (a year before a 366-day period shares
# a day with it): the one read behind a summary, its platforms and what it is compared with.
PERIOD_SUMS_BY_PLATFORM = text(f"""
SELECT platform, p.previous, {SUMMARY_SUMS}
FROM (VALUES (false, CAST(:start AS date), CAST(:end AS date)),
             (true, CAST(:compared_start AS date), CAST(:compared_end AS date)))
     AS p(previous, first_day, last_day)
JOIN analytics_summaries s ON s.period_start BETWEEN p.first_day AND p.last_day
WHERE s.business_id = :business_id AND s.platform <> 'all' AND s.period_type = 'daily'
  AND (:platform = 'all' OR s.platform = :platform)
GROUP BY 1, 2
""")

# Followers at the end of each period [since, until) (arrays, numbered from 1), per
# platform: of every account, its latest count before the period's end (``followers``),
# and of the accounts observed in the period, whose growth the summaries add up, the same
# counts (``observed_followers``, null when none was). The business's accounts are found
# by skipping along the primary key (a handful of probes), then one probe per account and
# period.
FOLLOWERS_AT_PERIOD_ENDS = text("""
WITH RECURSIVE accounts AS (
    (SELECT platform, account_id FROM account_snapshots
     WHERE business_id = :business_id ORDER BY platform, account_id LIMIT 1)
    UNION ALL
    SELECT n.platform, n.account_id FROM accounts a
    CROSS JOIN LATERAL (
        SELECT s.platform, s.account_id FROM account_snapshots s
        WHERE s.business_id = :business_id
          AND (s.platform, s.account_id) > (a.platform, a.account_id)
        ORDER BY s.platform, s.account_id LIMIT 1
    ) n
)
SELECT p.n, a.platform, sum(last.followers)::bigint AS followers,
       (sum(last.followers) FILTER (WHERE last.observed_at >= p.since))::bigint
           AS observed_followers
FROM unnest(CAST(:since AS timestamptz[]), CAST(:until AS timestamptz[]))
     WITH ORDINALITY AS p(since, until, n)
CROSS JOIN accounts a
CROSS JOIN LATERAL (
    SELECT s.followers, s.observed_at FROM account_snapshots s
    WHERE s.business_id = :business_id AND s.platform = a.platform
      AND s.account_id = a.account_id AND s.observed_at < p.until
    ORDER BY s.observed_at DESC LIMIT 1
) last
WHERE :platform = 'all' OR a.platform = :platform
GROUP BY p.n, a.platform
""")

_platform_filter = "(:platform = 'all' OR p.platform = :platform)"
# The scope's posts published in its period (instants :since..:until), with their latest
# numbers: what top posts, freshness, content performance and the export read. A FROM with
# its WHERE, so a statement adds its own conditions with AND.
PERIOD_POSTS = f"""{POSTS_WITH_NUMBERS}
WHERE p.business_id = :business_id AND p.published_at >= :since AND p.published_at < :until
  AND {_platform_filter}"""
TOP_POSTS_SQL = f"""
SELECT {POST_COLUMNS}
FROM {PERIOD_POSTS}
  AND {{ranked}}
ORDER BY {{order}} DESC NULLS LAST, p.id
LIMIT :limit
"""

TopPostMetric = Literal[
    "likes", "comments", "shares", "reactions", "retweets", "quote_tweets", "saves", "clicks",
    "reach", "impressions", "video_views", "engagement", "engagement_rate",
    "click_through_rate",
]  # fmt: skip
# What top posts may be ranked by: API name -> (SQL value, which posts are ranked). A count
# ranks every post of the period, an unreported value after every reported one (never as
# 0); a rate ranks only the posts that have it; ties go to the lower post id.
TOP_POST_ORDERS: dict[str, tuple[str, str]] = {
    **{name: (f"a.{METRIC_COLUMNS[name]}", "TRUE")
       for name in get_args(TopPostMetric) if name in METRIC_COLUMNS},
    "engagement": (ENGAGEMENT, "TRUE"),
    **{rate: (f"a.{rate}", exists) for rate, exists in RATE_EXISTS.items()},
}  # fmt: skip
assert set(TOP_POST_ORDERS) == set(get_args(TopPostMetric))
# Built from our own constants only: the values are bind parameters.
TOP_POSTS = {
    metric: text(TOP_POSTS_SQL.format(ranked=ranked, order=order))
    for metric, (order, ranked) in TOP_POST_ORDERS.items()
}

# Per local (day of week, hour) of publication, the posts with impressions: how many, the
# sum of their engagement rates, and the sums the best-times model uses, of each rate
# capped at the period's outlier fence, Q3 + :fence x IQR (best_times.py).
SLOT_EVIDENCE = text(f"""
WITH rated AS (
    SELECT (extract(isodow FROM p.published_at AT TIME ZONE :tz) - 1)::int AS day,
           extract(hour FROM p.published_at AT TIME ZONE :tz)::int AS hour,
           a.engagement_rate AS rate
    FROM published_posts p
    JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
    WHERE p.business_id = :business_id AND p.published_at >= :since
      AND p.published_at < :until AND {_platform_filter} AND COALESCE(a.impressions, 0) > 0
),
quartiles AS (
    SELECT percentile_cont(ARRAY[0.25, 0.75]::float8[]) WITHIN GROUP (ORDER BY rate) AS q
    FROM rated
),
capped AS (
    SELECT day, hour, rate, least(rate, q[2] + CAST(:fence AS float8) * (q[2] - q[1])) AS y
    FROM rated, quartiles
)
SELECT day, hour, count(*) AS posts, sum(rate) AS rate_sum, sum(y) AS capped_sum,
       sum(y * y) AS capped_sq_sum
FROM capped
GROUP BY day, hour
""")

# Stale against the request's instant (:now, query-api's clock), not the database's.
FRESHNESS = text(f"""
SELECT max(a.fetched_at) AS data_as_of,
       count(*) FILTER (
           WHERE {sql_poll_interval("(:now - p.published_at)")} IS NOT NULL
             AND COALESCE(a.fetched_at, p.published_at)
                 < :now - {sql_poll_interval("(:now - p.published_at)")}
                   - interval '{int(GRACE.total_seconds())} seconds'
       ) AS stale_posts
FROM {PERIOD_POSTS}
""")


def scope_params(scope: Scope) -> dict[str, Any]:
    """The bind parameters every statement here may take of the scope."""
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


# A summary's nullable totals, by the metric whose reported_<metric> count tells them apart.
SUMMARY_TOTALS = {
    "total_likes": "likes", "total_comments": "comments", "total_shares": "shares",
    "total_impressions": "impressions", "total_reach": "reach", "total_clicks": "clicks",
}  # fmt: skip
_ENGAGEMENT_TOTALS = ("total_likes", "total_comments", "total_shares")


def added(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Summary rows (additive sums and follower growth) added up; follower growth stays
    null when no part observed an account."""
    total: dict[str, Any] = dict.fromkeys(summaries.ADDITIVE, 0)
    growth: int | None = None
    for part in parts:
        for column in summaries.ADDITIVE:
            total[column] += part[column]
        if part["follower_growth"] is not None:
            growth = (growth or 0) + int(part["follower_growth"])
    total["follower_growth"] = growth
    return total


def mean(total: float, count: int) -> float | None:
    """total / count rounded at the edge; null when there is nothing to average."""
    return formulas.round2(total / count) if count else None


@dataclass(frozen=True)
class FollowerCounts:
    """A platform's followers at a period's end (FOLLOWERS_AT_PERIOD_ENDS)."""

    at_end: int  # of every account with a count by then: its latest one
    observed: int | None  # of the accounts observed in the period; None when none was


def follower_fields(growth: int | None, counts: Iterable[FollowerCounts]) -> dict[str, Any]:
    """``followers`` at the end of the period (every account's latest count by then; null
    when no account has one) and the growth relative to the count at the period's start of
    the accounts it adds up (observed followers - growth), null when that is 0."""
    counts = list(counts)
    observed = [c.observed for c in counts if c.observed is not None]
    grown_to = sum(observed) if observed else None
    return {
        "follower_growth": growth,
        "followers": sum(c.at_end for c in counts) if counts else None,
        "follower_growth_pct": None
        if growth is None or grown_to is None
        else formulas.round2(formulas.growth_pct(grown_to, grown_to - growth)),
    }


def _totals(t: Mapping[str, Any]) -> dict[str, Any]:
    """The totals of added rows ``t``, their engagement and its weighted rate."""
    posts = t["total_posts"]
    totals = {
        name: t[name] if t[f"reported_{metric}"] or not posts else None
        for name, metric in SUMMARY_TOTALS.items()
    }
    engagement = (
        None
        if all(totals[n] is None for n in _ENGAGEMENT_TOTALS)
        else sum(totals[n] or 0 for n in _ENGAGEMENT_TOTALS)
    )
    return {
        "total_posts": posts,
        **totals,
        "total_engagement": engagement,
        "engagement_rate": formulas.round2(
            formulas.weighted_engagement_rate(engagement or 0, t["total_impressions"])
            if t["reported_impressions"]
            else None
        ),
    }


def shape_summary(
    parts: Mapping[str, Mapping[str, Any]], followers: Mapping[str, FollowerCounts]
) -> dict[str, Any]:
    """The summary fields of the platforms' summed rows ``parts`` (platform -> row), with
    ``followers`` (platform -> its followers at the period's end), rates rounded at the edge.

    Null means not reported: a total over posts none of which reported the metric is null
    (over no posts it is 0); a rate or mean whose denominator no post reported is null;
    ``coverage`` says, per total, how many posts and which platforms it adds up, and which
    platforms had posts that did not report it (left out)."""
    t = added(parts.values())
    return {
        **_totals(t),
        "avg_engagement_rate": mean(t["engagement_rate_sum"], t["rated_posts"]),
        "avg_impressions": mean(t["total_impressions"], t["reported_impressions"]),
        "avg_reach": mean(t["total_reach"], t["reported_reach"]),
        "click_through_rate": formulas.round2(
            formulas.ratio_pct(t["total_clicks"], t["ctr_impressions"])
            if t["reported_clicks"]
            else None
        ),
        "avg_click_through_rate": mean(t["click_through_rate_sum"], t["ctr_rated_posts"]),
        **follower_fields(t["follower_growth"], followers.values()),
        "coverage": {
            name: {
                "posts": t[f"reported_{metric}"],
                "platforms": [
                    p for p in PLATFORMS if p in parts and parts[p][f"reported_{metric}"] > 0
                ],
                "not_reported_by": [
                    p
                    for p in PLATFORMS
                    if p in parts
                    and parts[p]["total_posts"] > 0
                    and parts[p][f"reported_{metric}"] == 0
                ],
            }
            for name, metric in SUMMARY_TOTALS.items()
        },
    }


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


async def followers_at_ends(
    session: AsyncSession, scope: Scope, periods: Sequence[tuple[date, date]]
) -> list[dict[str, FollowerCounts]]:
    """Per period (its first and last local day), per platform of the scope with a count by
    its end: the followers then, of every account and of those observed in it
    (FOLLOWERS_AT_PERIOD_ENDS)."""
    if not periods:
        return []
    params = {
        **scope_params(scope),
        "since": [_local_midnight(first, scope.timezone) for first, _ in periods],
        "until": [_local_midnight(last + timedelta(days=1), scope.timezone) for _, last in periods],
    }
    out: list[dict[str, FollowerCounts]] = [{} for _ in periods]
    for r in (await session.execute(FOLLOWERS_AT_PERIOD_ENDS, params)).all():
        out[r.n - 1][r.platform] = FollowerCounts(r.followers, r.observed_followers)
    return out


def _platform_items(
    parts: Mapping[str, Mapping[str, Any]], followers: Mapping[str, FollowerCounts]
) -> list[dict[str, Any]]:
    shaped = [
        {"platform": p, **shape_summary({p: parts[p]}, {p: followers[p]} if p in followers else {})}
        for p in PLATFORMS
        if p in parts
    ]
    posts = sum(s["total_posts"] for s in shaped)
    engagement = sum(s["total_engagement"] or 0 for s in shaped)
    for s in shaped:
        s["share_of_posts"] = formulas.round2(formulas.ratio_pct(s["total_posts"], posts))
        s["share_of_engagement"] = formulas.round2(
            formulas.ratio_pct(s["total_engagement"], engagement)
        )
    return shaped


async def period_summaries(
    session: AsyncSession, scope: Scope, compared: Scope | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    """The scope's summary, its platforms' (those with a row in the period), and with
    ``compared`` (a period before the scope's: Scope.compared) the summary of that period."""
    # Without a compared period, an empty one (its end before its start).
    other = compared or replace(scope, start=scope.start, end=scope.start - timedelta(days=1))
    params = {**scope_params(scope), "compared_start": other.start, "compared_end": other.end}
    rows = (await session.execute(PERIOD_SUMS_BY_PLATFORM, params)).all()
    current = {r.platform: dict(r._mapping) for r in rows if not r.previous}
    before = {r.platform: dict(r._mapping) for r in rows if r.previous}
    periods = [(scope.start, scope.end)] + ([(other.start, other.end)] if compared else [])
    followers = await followers_at_ends(session, scope, periods)
    return (
        shape_summary(current, followers[0]),
        _platform_items(current, followers[0]),
        shape_summary(before, followers[1]) if compared else None,
    )


async def period_summary(session: AsyncSession, scope: Scope) -> dict[str, Any]:
    return (await period_summaries(session, scope))[0]


async def by_platform(session: AsyncSession, scope: Scope) -> list[dict[str, Any]]:
    """The summary of each platform of the scope that has a row in the period."""
    return (await period_summaries(session, scope))[1]


async def top_posts(
    session: AsyncSession, scope: Scope, limit: int = 10, metric: str = "engagement_rate"
) -> list[dict[str, Any]]:
    """The period's posts best first by ``metric`` (TOP_POST_ORDERS says which are ranked),
    in API names, rates rounded (null where a post has none)."""
    rows = (await session.execute(TOP_POSTS[metric], {**scope_params(scope), "limit": limit})).all()
    return [post_fields(r._mapping) for r in rows]


async def best_times(session: AsyncSession, scope: Scope) -> dict[str, Any]:
    """When to post, over the scope's posts with impressions: the evidence per local (day,
    hour) from SLOT_EVIDENCE, through the pooled model of best_times.py."""
    params = {**scope_params(scope), "fence": best_times_model.OUTLIER_FENCE_IQR}
    rows = (await session.execute(SLOT_EVIDENCE, params)).all()
    return best_times_model.estimate(
        [
            best_times_model.SlotEvidence(
                r.day, r.hour, r.posts, r.rate_sum, r.capped_sum, r.capped_sq_sum
            )
            for r in rows
        ]
    )


async def freshness(session: AsyncSession, scope: Scope) -> tuple[datetime | None, int]:
    row = (await session.execute(FRESHNESS, {**scope_params(scope), "now": scope.now})).one()
    return row.data_as_of, row.stale_posts


def change_pct(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, float | None]:
    return {
        key: formulas.round2(formulas.growth_pct(current[key], previous[key]))
        for key in current
        if isinstance(current[key], int | float) or current[key] is None
    }


# The stored rows of one period type starting in the range: the scope's own (its best post)
# and, for 'all', each platform's (what its totals cover).
STORED_SUMMARIES = text(f"""
SELECT platform, period_type, period_start, period_end,
       {", ".join(summaries.ADDITIVE)}, follower_growth, best_post_id,
       best_post_engagement_rate
FROM analytics_summaries
WHERE business_id = :business_id AND period_type = :period_type
  AND (platform = :platform OR (:platform = 'all' AND platform <> 'all'))
  AND period_start BETWEEN :start AND :end
ORDER BY period_start
""")


async def stored_summaries(
    session: AsyncSession, scope: Scope, period_type: str
) -> list[dict[str, Any]]:
    """The aggregator's rows of ``period_type`` that start inside the scope's dates, each
    with the summary fields of its platforms' rows."""
    params = {**scope_params(scope), "period_type": period_type}
    rows = (await session.execute(STORED_SUMMARIES, params)).all()
    own = [r for r in rows if r.platform == scope.platform]
    parts: dict[date, dict[str, Mapping[str, Any]]] = {}
    for r in rows:
        if scope.platform != "all" or r.platform != "all":
            parts.setdefault(r.period_start, {})[r.platform] = dict(r._mapping)
    followers = await followers_at_ends(
        session, scope, [(r.period_start, r.period_end) for r in own]
    )
    return [
        {
            "platform": r.platform,
            "period_type": r.period_type,
            "period_start": r.period_start,
            "period_end": r.period_end,
            **shape_summary(parts.get(r.period_start, {}), seen),
            "best_post_id": r.best_post_id,
            "best_post_engagement_rate": formulas.round2(r.best_post_engagement_rate),
        }
        for r, seen in zip(own, followers, strict=True)
    ]


_reported_counts = ",\n       ".join(
    f"count(a.{METRIC_COLUMNS[m]}) AS reported_{m}" for m in SUMMARY_TOTALS.values()
)
_has_ctr = "a.clicks IS NOT NULL AND COALESCE(a.impressions, 0) > 0"
CONTENT_AVERAGES = ("likes", "comments", "shares", "impressions", "reach", "clicks")
SUMS_BY_CONTENT_TYPE = text(f"""
SELECT p.content_type, count(*) AS posts,
       COALESCE(sum(a.likes_count), 0)::bigint AS likes,
       COALESCE(sum(a.comments_count), 0)::bigint AS comments,
       COALESCE(sum(a.shares_count), 0)::bigint AS shares,
       COALESCE(sum(a.impressions), 0)::bigint AS impressions,
       COALESCE(sum(a.reach), 0)::bigint AS reach,
       COALESCE(sum(a.clicks), 0)::bigint AS clicks,
       {_reported_counts},
       count(*) FILTER (WHERE COALESCE(a.impressions, 0) > 0) AS rated_posts,
       COALESCE(sum(a.engagement_rate) FILTER (WHERE COALESCE(a.impressions, 0) > 0), 0)
           AS engagement_rate_sum,
       count(*) FILTER (WHERE {_has_ctr}) AS ctr_rated_posts,
       COALESCE(sum(a.click_through_rate) FILTER (WHERE {_has_ctr}), 0)
           AS click_through_rate_sum
FROM {PERIOD_POSTS}
GROUP BY p.content_type
""")


async def content_performance(session: AsyncSession, scope: Scope) -> list[dict[str, Any]]:
    """Each content type (all five): posts, and per metric its mean over the posts that
    reported it (null when none did, or there are no posts of the type)."""
    rows = {
        r.content_type: r._mapping
        for r in (await session.execute(SUMS_BY_CONTENT_TYPE, scope_params(scope))).all()
    }
    out = []
    for content_type in CONTENT_TYPES:
        r = rows.get(content_type)
        if r is None:
            out.append({"content_type": content_type, "posts": 0, **dict.fromkeys(
                (*(f"avg_{m}" for m in CONTENT_AVERAGES), "avg_engagement_rate",
                 "engagement_rate", "avg_click_through_rate"))})  # fmt: skip
            continue
        engagement = r["likes"] + r["comments"] + r["shares"]
        out.append({
            "content_type": content_type, "posts": r["posts"],
            **{f"avg_{m}": mean(r[m], r[f"reported_{m}"]) for m in CONTENT_AVERAGES},
            "avg_engagement_rate": mean(r["engagement_rate_sum"], r["rated_posts"]),
            "engagement_rate": formulas.round2(
                formulas.weighted_engagement_rate(engagement, r["impressions"])
                if r["reported_impressions"] else None),
            "avg_click_through_rate": mean(r["click_through_rate_sum"], r["ctr_rated_posts"]),
        })  # fmt: skip
    return out


# Trends: the range cut into local days, weeks (from Monday) or months. A week or month the
# range cuts is clipped to the range (``partial``, with the ``days`` it covers), never
# labelled from outside it. Each bucket's numbers are read per calendar period (its
# ``date_trunc``) and platform, so one read gives the total and the per-platform series.
TREND_UNITS = {"daily": "day", "weekly": "week", "monthly": "month"}


@dataclass(frozen=True)
class Bucket:
    key: date  # the calendar period's first day, as date_trunc gives it
    start: date  # its first day inside the range
    end: date  # its last day inside the range
    partial: bool

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _period_after(first: date, period: str) -> date:
    if period == "daily":
        return first + timedelta(days=1)
    if period == "weekly":
        return first + timedelta(days=7)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def trend_buckets(start: date, end: date, period: str) -> list[Bucket]:
    """The periods from the one holding ``start`` to the one holding ``end``, clipped."""
    if period == "weekly":
        key = start - timedelta(days=start.weekday())
    elif period == "monthly":
        key = start.replace(day=1)
    else:
        key = start
    out = []
    while key <= end:
        after = _period_after(key, period)
        first, last = max(key, start), min(after - timedelta(days=1), end)
        out.append(Bucket(key, first, last, first != key or last != after - timedelta(days=1)))
        key = after
    return out


# A day of :start..:end moved by :years and :days is the day of the range it is set beside
# (0 and 0 for the range itself; a compared period's days move to the range's), so the
# compared series falls into the range's buckets.
_BUCKET_OF = "date_trunc(:unit, {day} + make_interval(years => :years, days => :days))::date"

PUBLISHED_BY_BUCKET = text(f"""
SELECT {_BUCKET_OF.format(day="period_start")} AS bucket, platform, {SUMMARY_SUMS}
FROM analytics_summaries
WHERE business_id = :business_id AND platform <> 'all' AND period_type = 'daily'
  AND (:platform = 'all' OR platform = :platform)
  AND period_start BETWEEN :start AND :end
GROUP BY 1, 2
""")

# What the posts gained on each local day (``activity_daily``, kept by the aggregator).
GAINED_BY_BUCKET = text(f"""
SELECT {_BUCKET_OF.format(day="day")} AS bucket, platform,
       {", ".join(f"sum({c})::bigint AS {c}" for c in activity.ACTIVITY_COUNTS)}
FROM activity_daily
WHERE business_id = :business_id AND (:platform = 'all' OR platform = :platform)
  AND day BETWEEN :start AND :end
GROUP BY 1, 2
""")

_GAINS = ("likes", "comments", "shares", "impressions", "reach", "clicks")


def _gained(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Activity rows added up, as trend fields: a gain no contributing post reported is
    null; the bucket is ``estimated`` when it holds gains made before some post's first
    snapshot (put on its publish day)."""
    t = dict.fromkeys(activity.ACTIVITY_COUNTS, 0)
    for part in parts:
        for column in activity.ACTIVITY_COUNTS:
            t[column] += part[column]
    posts = t["active_posts"] + t["attributed_posts"]
    gains = {m: t[m] if t[f"reported_{m}"] or not posts else None for m in _GAINS}
    engagement = (
        None
        if all(gains[m] is None for m in ("likes", "comments", "shares"))
        else sum(gains[m] or 0 for m in ("likes", "comments", "shares"))
    )
    return {
        **gains,
        "engagement": engagement,
        "engagement_rate": formulas.round2(
            formulas.weighted_engagement_rate(engagement or 0, t["impressions"])
            if t["reported_impressions"]
            else None
        ),
        "estimated": t["attributed_posts"] > 0,
    }


def _trend_item(
    bucket: Bucket,
    published: Mapping[str, Mapping[str, Any]],
    gained: Mapping[str, Mapping[str, Any]] | None,
    followers: Mapping[str, FollowerCounts],
) -> dict[str, Any]:
    t = added(published.values())
    s = _totals(t)
    numbers = {
        "likes": s["total_likes"], "comments": s["total_comments"], "shares": s["total_shares"],
        "impressions": s["total_impressions"], "reach": s["total_reach"],
        "clicks": s["total_clicks"], "engagement": s["total_engagement"],
        "engagement_rate": s["engagement_rate"], "estimated": False,
    }  # fmt: skip
    return {
        "period_start": bucket.start,
        "period_end": bucket.end,
        "days": bucket.days,
        "partial": bucket.partial,
        "posts": s["total_posts"],
        **(numbers if gained is None else _gained(gained.values())),
        **follower_fields(t["follower_growth"], followers.values()),
    }


Rows = dict[tuple[date, str], Mapping[str, Any]]


@dataclass(frozen=True)
class BucketRows:
    """What a read of a period gives, by (the range's bucket, platform)."""

    published: Rows
    gained: Rows | None  # activity basis only
    followers: list[dict[str, FollowerCounts]]  # per bucket

    def platforms(self) -> set[str]:
        found = {p for _, p in self.published} | {p for _, p in self.gained or {}}
        return found | {p for f in self.followers for p in f}


async def _bucket_rows(
    session: AsyncSession,
    read: Scope,
    period: str,
    basis: str,
    days_of: Sequence[tuple[date, date]],
    shift: tuple[int, int] = (0, 0),
) -> BucketRows:
    """The daily rows of ``read``'s days added up per bucket (their days moved by ``shift``,
    years and days, into the range's) and platform, and the followers at the end of each
    bucket's days ``days_of``."""
    params = {
        **scope_params(read),
        "unit": TREND_UNITS[period],
        "years": shift[0],
        "days": shift[1],
    }
    published: Rows = {
        (r.bucket, r.platform): dict(r._mapping)
        for r in (await session.execute(PUBLISHED_BY_BUCKET, params)).all()
    }
    gained: Rows | None = None
    if basis == "activity":
        gained = {
            (r.bucket, r.platform): dict(r._mapping)
            for r in (await session.execute(GAINED_BY_BUCKET, params)).all()
        }
    return BucketRows(published, gained, await followers_at_ends(session, read, days_of))


def _picked(rows: Rows, key: date, platforms: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    return {p: rows[(key, p)] for p in platforms if (key, p) in rows}


def _series(buckets: Sequence[Bucket], rows: BucketRows, platforms: Sequence[str]) -> list[Any]:
    return [
        _trend_item(
            b,
            _picked(rows.published, b.key, platforms),
            None if rows.gained is None else _picked(rows.gained, b.key, platforms),
            {p: f[p] for p in platforms if p in f},
        )
        for b, f in zip(buckets, rows.followers, strict=True)
    ]


async def trends(
    session: AsyncSession, scope: Scope, period: str, basis: str, compare: Compare | None = None
) -> dict[str, Any]:
    """The series of the scope (``trends``) and of each of its platforms with anything in
    the range (``by_platform``). Publish basis: the metrics of the posts published in each
    bucket; activity basis: what every post gained during it. ``posts`` and the followers
    are the same on both. With ``compare``, the same series over the compared period
    (``compared_trends``): each bucket's days moved back (Scope.back), so bucket i of both
    series covers days set beside each other."""
    buckets = trend_buckets(scope.start, scope.end, period)
    rows = await _bucket_rows(session, scope, period, basis, [(b.start, b.end) for b in buckets])
    out: dict[str, Any] = {"trends": _series(buckets, rows, PLATFORMS)}
    present = rows.platforms()
    before: BucketRows | None = None
    back = buckets
    if compare is not None:
        compared = scope.compared(compare)
        back = [
            replace(b, start=scope.back(compare, b.start), end=scope.back(compare, b.end))
            for b in buckets
        ]
        shift = (1, 0) if compare == "year" else (0, scope.days)
        days_of = [(b.start, b.end) for b in back]
        before = await _bucket_rows(session, compared, period, basis, days_of, shift)
        present |= before.platforms()
        out["compare"] = compare
        out["compared_period"] = {
            "start_date": compared.start, "end_date": compared.end, "timezone": scope.timezone,
        }  # fmt: skip
        out["compared_trends"] = _series(back, before, PLATFORMS)
    out["by_platform"] = [
        {"platform": p, "trends": _series(buckets, rows, [p])}
        | ({} if before is None else {"compared_trends": _series(back, before, [p])})
        for p in PLATFORMS
        if p in present
    ]
    return out
