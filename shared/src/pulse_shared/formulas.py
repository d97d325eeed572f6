"""The metric formulas of DESIGN.md, implemented once.

Each formula exists twice in *form* but once in *meaning*: a Python function (for
services that compute on a handful of values) and a SQL expression builder (for the
set-based SQL that computes over millions of rows). ``shared/tests`` evaluates both on
the same inputs in a real PostgreSQL and requires them to agree.

Rules: a null count counts as 0; a zero denominator gives 0, except where "no data"
must be told apart from zero (growth from nothing, video completion of a post with no
duration), which gives None; nothing is rounded here - :func:`round2` is for the edge
(API responses, exports).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal


def _n(value: float | None) -> float:
    return 0 if value is None else value


def engagement(likes: int | None, comments: int | None, shares: int | None) -> int:
    """likes + comments + shares, a null counting as 0."""
    return int(_n(likes) + _n(comments) + _n(shares))


def ratio_pct(numerator: float | None, denominator: float | None) -> float:
    """numerator / denominator x 100; 0 when the denominator is 0 or null."""
    den = _n(denominator)
    if den <= 0:
        return 0.0
    return _n(numerator) * 100.0 / den


def engagement_rate(
    likes: int | None, comments: int | None, shares: int | None, impressions: int | None
) -> float:
    return ratio_pct(engagement(likes, comments, shares), impressions)


def click_through_rate(clicks: int | None, impressions: int | None) -> float:
    return ratio_pct(clicks, impressions)


def virality(shares: int | None, impressions: int | None) -> float:
    return ratio_pct(shares, impressions)


def video_completion(
    watch_time_s: float | None, views: int | None, duration_s: float | None
) -> float | None:
    """watch time / (views x duration) x 100; None when the post is not a measured video."""
    if watch_time_s is None or views is None or duration_s is None:
        return None
    return ratio_pct(watch_time_s, views * duration_s)


def growth_pct(current: float | None, previous: float | None) -> float | None:
    """(current - previous) / previous x 100; None when there is nothing to grow from."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) * 100.0 / abs(previous)


def avg_engagement_rate(rates_with_impressions: Iterable[tuple[float, int | None]]) -> float:
    """Mean of per-post engagement rates over the posts that have impressions."""
    rates = [rate for rate, impressions in rates_with_impressions if _n(impressions) > 0]
    return sum(rates) / len(rates) if rates else 0.0


def weighted_engagement_rate(total_engagement: int, total_impressions: int | None) -> float:
    """Total engagement / total impressions x 100 over a set of posts."""
    return ratio_pct(total_engagement, total_impressions)


def round2(value: float | None) -> float | None:
    """Round half away from zero to 2 decimals (as PostgreSQL's round(numeric) does)."""
    if value is None:
        return None
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# --- SQL expression builders ------------------------------------------------------
# They take SQL expressions (column names, usually) and return a SQL expression of
# type double precision. Inputs are trusted identifiers from our own code, never user
# input.


def sql_engagement(likes: str, comments: str, shares: str) -> str:
    return f"(COALESCE({likes}, 0) + COALESCE({comments}, 0) + COALESCE({shares}, 0))"


def sql_local_day(instant: str, timezone: str) -> str:
    """The local calendar day of ``instant`` in the time zone ``timezone``."""
    return f"({instant} AT TIME ZONE {timezone})::date"


def sql_day_start(day: str, timezone: str) -> str:
    """The instant the local calendar day ``day`` begins in the time zone ``timezone``
    (``day + 1``: the instant it ends)."""
    return f"({day})::timestamp AT TIME ZONE {timezone}"


def sql_ratio_pct(numerator: str, denominator: str) -> str:
    return (
        f"(CASE WHEN COALESCE({denominator}, 0) > 0 "
        f"THEN COALESCE({numerator}, 0)::double precision * 100.0 / ({denominator}) "
        f"ELSE 0.0 END)"
    )


def sql_engagement_rate(likes: str, comments: str, shares: str, impressions: str) -> str:
    return sql_ratio_pct(sql_engagement(likes, comments, shares), impressions)


def sql_click_through_rate(clicks: str, impressions: str) -> str:
    return sql_ratio_pct(clicks, impressions)


def sql_avg_engagement_rate(rate: str, impressions: str) -> str:
    """An aggregate: mean of per-post rates over the posts with impressions (0 if none)."""
    return f"COALESCE(AVG({rate}) FILTER (WHERE COALESCE({impressions}, 0) > 0), 0.0)"


def sql_mean(total: str, count: str) -> str:
    """total / count as double precision; 0 when there is nothing to average."""
    return f"(CASE WHEN {count} > 0 THEN ({total})::double precision / {count} ELSE 0.0 END)"


def sql_weighted_engagement_rate(total_engagement: str, total_impressions: str) -> str:
    return sql_ratio_pct(total_engagement, total_impressions)
