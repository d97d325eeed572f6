"""One scheduled report's data, built from query-api's answers, and how it writes numbers.

The reporter computes no analytics: every total, rate, change, insight and best time here
is one query-api returned, so no formula is written twice. :func:`build_report` only picks,
orders and types those answers; it is pure (parsed JSON in, frozen dataclasses out), so it
is tested on saved real answers. The formatting helpers at the end are shared by the PDF,
the email and the charts, so the three write a number alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

PeriodKind = Literal["weekly", "monthly"]
Unit = Literal["count", "percent"]
Json = Mapping[str, Any]

PLATFORM_NAMES = {
    "linkedin": "LinkedIn",
    "twitter": "X",
    "facebook": "Facebook",
    "instagram": "Instagram",
}
# The trend granularity each report kind asks query-api for (`period` of /trends).
TREND_PERIOD: dict[PeriodKind, str] = {"weekly": "daily", "monthly": "weekly"}
# When to post rests on more posts than one week holds: the last 90 days to the period's end.
BEST_TIMES_DAYS = 90
TOP_POSTS = 5


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included


@dataclass(frozen=True)
class Card:
    """A headline number of the period beside the compared period's."""

    key: str  # the summary field: "total_impressions", "follower_growth", ...
    label: str
    value: float | None
    previous: float | None
    change_pct: float | None  # query-api's change_pct; None when not computable
    unit: Unit = "count"
    note: str | None = None  # e.g. which platforms do not report it


@dataclass(frozen=True)
class TrendPoint:
    start: date
    end: date
    value: float | None  # None: none of the bucket's posts reported the metric
    partial: bool = False  # a week or month the range cuts: not comparable with a whole one


@dataclass(frozen=True)
class Trend:
    metric: str  # the trends item's field: "engagement", "impressions"
    label: str
    granularity: Literal["daily", "weekly", "monthly"]
    current: tuple[TrendPoint, ...]
    previous: tuple[TrendPoint, ...]  # item i beside current's item i; empty when not compared


@dataclass(frozen=True)
class PlatformRow:
    platform: str
    posts: int
    impressions: int | None
    engagement: int | None
    engagement_rate: float | None
    clicks: int | None
    share_of_posts: float
    share_of_engagement: float


@dataclass(frozen=True)
class TopPost:
    post_id: int
    platform: str
    published_at: datetime  # aware (UTC as the API gives it)
    content_type: str
    text: str
    permalink: str | None
    thumbnail_url: str | None  # never fetched by the renderer: the caller passes the bytes
    impressions: int | None
    engagement: int | None
    engagement_rate: float | None


@dataclass(frozen=True)
class Slot:
    day: int  # 0 = Monday, local
    hour: int
    posts: int
    score: float


@dataclass(frozen=True)
class Recommendation:
    label: str  # query-api's words: the day and the hours
    day: int
    hour: int  # its best hour
    start_hour: int
    end_hour: int  # included
    posts: int
    score: float


@dataclass(frozen=True)
class BestTimes:
    period: Period  # the posts it rests on (may be longer than the report's period)
    slots: tuple[Slot, ...]  # the 168 (day, hour), day-major
    recommendations: tuple[Recommendation, ...]
    baseline_score: float
    confidence: int  # 0-100
    posts_considered: int
    message: str


@dataclass(frozen=True)
class FollowerGrowth:
    platform: str
    followers: int | None  # at the period's end
    growth: int | None  # None: no count observed in the period
    growth_pct: float | None


@dataclass(frozen=True)
class AccountIssue:
    platform: str
    name: str
    reason: str | None


@dataclass(frozen=True)
class Freshness:
    data_as_of: datetime | None
    stale_posts: int  # posts whose numbers are older than their poll schedule promises
    posts: int
    needs_reconnection: tuple[AccountIssue, ...]

    @property
    def is_stale(self) -> bool:
        return self.stale_posts > 0 or bool(self.needs_reconnection)


@dataclass(frozen=True)
class Report:
    business_id: int
    business_name: str
    timezone: str
    kind: PeriodKind
    period: Period
    previous_period: Period
    cards: tuple[Card, ...]
    trends: tuple[Trend, ...]
    platforms: tuple[PlatformRow, ...]  # ranked by engagement rate, as query-api ranks them
    insights: tuple[str, ...]
    top_posts: tuple[TopPost, ...]
    best_times: BestTimes
    followers: tuple[FollowerGrowth, ...]
    total_followers: int | None
    freshness: Freshness

    def card(self, key: str) -> Card | None:
        return next((c for c in self.cards if c.key == key), None)


# --- Periods -------------------------------------------------------------------------


def last_complete_period(kind: PeriodKind, today_local: date) -> tuple[date, date]:
    """The last complete Monday-Sunday week, or calendar month, before ``today_local``
    (the business's local date: today itself is never complete)."""
    if kind == "weekly":
        end = today_local - timedelta(days=today_local.weekday() + 1)
        return end - timedelta(days=6), end
    end = today_local.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def has_data(report: Report) -> bool:
    """Whether the period has anything to report: a post published in it, or a follower
    count observed in it. A report without either is skipped, not sent."""
    return report.freshness.posts > 0 or any(f.growth is not None for f in report.followers)


# --- Building the report from query-api's answers ------------------------------------


def query_api_requests(
    business_id: int, kind: PeriodKind, period: Period
) -> dict[str, tuple[str, dict[str, str]]]:
    """What to ask query-api for one report: by :func:`build_report`'s keyword, the path
    and the query parameters (GET, the reporter's bearer token)."""
    business = {"business_id": str(business_id)}
    span = {**business, "start_date": period.start.isoformat(), "end_date": period.end.isoformat()}
    analytics = "/api/v1/analytics"
    return {
        "overview": (f"{analytics}/overview", {**span, "compare": "previous"}),
        "trends": (
            f"{analytics}/trends",
            {**span, "period": TREND_PERIOD[kind], "basis": "publish", "compare": "previous"},
        ),
        "platforms": (f"{analytics}/platform-comparison", span),
        "top_posts": (
            f"{analytics}/top-posts",
            {**span, "metric": "engagement_rate", "limit": str(TOP_POSTS)},
        ),
        "best_times": (
            f"{analytics}/best-times",
            {**business, "end_date": period.end.isoformat(), "days": str(BEST_TIMES_DAYS)},
        ),
        "accounts": (f"{analytics}/accounts", business),
    }


# (label, summary field, unit) of the headline cards, in reading order.
CARDS: tuple[tuple[str, str, Unit], ...] = (
    ("Posts published", "total_posts", "count"),
    ("Impressions", "total_impressions", "count"),
    ("Engagements", "total_engagement", "count"),
    ("Engagement rate", "engagement_rate", "percent"),
    ("Clicks", "total_clicks", "count"),
    ("New followers", "follower_growth", "count"),
)
TREND_METRICS = (("engagement", "Engagements"), ("impressions", "Impressions"))


def build_report(
    *,
    kind: PeriodKind,
    business_name: str,
    overview: Json,
    trends: Json,
    platforms: Json,
    top_posts: Json,
    best_times: Json,
    accounts: Json,
) -> Report:
    """The report of one period from query-api's answers for it (each the parsed JSON of
    one endpoint, all asked for the same period; ``best_times`` may cover a longer one)."""
    period = _period(overview["period"])
    for name, doc in (("trends", trends), ("platforms", platforms), ("top_posts", top_posts)):
        if _period(doc["period"]) != period:
            raise ValueError(f"{name} answers for {doc['period']}, not the overview's period")
    summary = overview["summary"]
    return Report(
        business_id=int(accounts["business_id"]),
        business_name=business_name,
        timezone=overview["period"]["timezone"],
        kind=kind,
        period=period,
        previous_period=_period(overview["previous_period"]),
        cards=_cards(overview),
        trends=tuple(_trend(trends, metric, label) for metric, label in TREND_METRICS),
        platforms=tuple(_platform_row(p) for p in platforms["platforms"]),
        insights=tuple(i["text"] for i in platforms["insights"]),
        top_posts=tuple(_top_post(p) for p in top_posts["top_posts"]),
        best_times=_best_times(best_times),
        followers=_followers(platforms["platforms"]),
        total_followers=summary["followers"],
        freshness=Freshness(
            data_as_of=_instant(overview["data_as_of"]),
            stale_posts=int(overview["stale_posts"]),
            posts=int(summary["total_posts"]),
            needs_reconnection=tuple(
                AccountIssue(a["platform"], a["display_name"], a["status_reason"])
                for a in accounts["accounts"]
                if a["status"] == "needs_reconnection"
            ),
        ),
    )


def _period(doc: Json) -> Period:
    return Period(date.fromisoformat(doc["start_date"]), date.fromisoformat(doc["end_date"]))


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _cards(overview: Json) -> tuple[Card, ...]:
    current, previous = overview["summary"], overview["previous_summary"]
    coverage = current.get("coverage", {})
    return tuple(
        Card(
            key=field,
            label=label,
            value=current[field],
            previous=previous[field],
            change_pct=overview["change_pct"].get(field),
            unit=unit,
            note=_not_reported_note(coverage.get(field)),
        )
        for label, field, unit in CARDS
    )


def _not_reported_note(coverage: Json | None) -> str | None:
    """Which platforms with posts a total leaves out, because they do not report it."""
    if not coverage or not coverage["not_reported_by"]:
        return None
    return "Not reported by " + _names(coverage["not_reported_by"])


def _names(platforms: Iterable[str]) -> str:
    names = [platform_name(p) for p in platforms]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _trend(doc: Json, metric: str, label: str) -> Trend:
    def points(items: Sequence[Json] | None) -> tuple[TrendPoint, ...]:
        return tuple(
            TrendPoint(
                start=date.fromisoformat(i["period_start"]),
                end=date.fromisoformat(i["period_end"]),
                value=i[metric],
                partial=bool(i["partial"]),
            )
            for i in items or ()
        )

    return Trend(
        metric=metric,
        label=label,
        granularity=doc["period_type"],
        current=points(doc["trends"]),
        previous=points(doc.get("compared_trends")),
    )


def _platform_row(p: Json) -> PlatformRow:
    return PlatformRow(
        platform=p["platform"],
        posts=int(p["total_posts"]),
        impressions=p["total_impressions"],
        engagement=p["total_engagement"],
        engagement_rate=p["engagement_rate"],
        clicks=p["total_clicks"],
        share_of_posts=float(p["share_of_posts"]),
        share_of_engagement=float(p["share_of_engagement"]),
    )


def _top_post(p: Json) -> TopPost:
    return TopPost(
        post_id=int(p["post_id"]),
        platform=p["platform"],
        published_at=datetime.fromisoformat(p["published_at"]),
        content_type=p["content_type"],
        text=p["content_preview"],
        permalink=p.get("platform_post_url"),
        thumbnail_url=p.get("thumbnail_url"),
        impressions=p["impressions"],
        engagement=p["engagement"],
        engagement_rate=p["engagement_rate"],
    )


def _best_times(doc: Json) -> BestTimes:
    return BestTimes(
        period=_period(doc["period"]),
        slots=tuple(Slot(s["day"], s["hour"], s["posts"], s["score"]) for s in doc["by_slot"]),
        recommendations=tuple(
            Recommendation(
                r["label"],
                r["day"],
                r["hour"],
                r["start_hour"],
                r["end_hour"],
                r["posts"],
                r["score"],
            )
            for r in doc["recommendations"]
        ),
        baseline_score=float(doc["baseline_score"]),
        confidence=int(doc["confidence_score"]),
        posts_considered=int(doc["posts_considered"]),
        message=doc["message"],
    )


def _followers(platforms: Sequence[Json]) -> tuple[FollowerGrowth, ...]:
    """Each platform's growth, the largest first; those without counts last."""
    rows = [
        FollowerGrowth(
            p["platform"], p["followers"], p["follower_growth"], p["follower_growth_pct"]
        )
        for p in platforms
    ]
    return tuple(sorted(rows, key=lambda f: (f.growth is None, -(f.growth or 0), f.platform)))


# --- How the report writes numbers and dates -----------------------------------------

DASH = "—"  # a missing value
MINUS = "\u2212"  # a minus sign, not a hyphen
EN_DASH = "\u2013"  # between the ends of a range
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_count(value: float | None) -> str:
    """12,345; "—" when missing."""
    return DASH if value is None else f"{round(value):,}"


def format_pct(value: float | None) -> str:
    """A percentage with one decimal: 1.8%."""
    return DASH if value is None else f"{value:.1f}%".replace("-", MINUS)


def format_value(value: float | None, unit: Unit) -> str:
    return format_pct(value) if unit == "percent" else format_count(value)


def format_signed(value: float | None) -> str:
    """A gain or loss with its sign (a minus sign for a loss): +25, 0; "—" when missing."""
    if value is None:
        return DASH
    rounded = round(value)
    return f"+{rounded:,}" if rounded > 0 else f"{MINUS}{-rounded:,}" if rounded < 0 else "0"


def format_signed_pct(value: float | None) -> str:
    """A relative gain or loss with its sign: +0.7%, 0.0% (a minus sign for a loss)."""
    if value is None:
        return DASH
    return ("+" if round(value, 1) > 0 else "") + format_pct(value)


def change_direction(change_pct: float | None) -> Literal["up", "down", "flat", "none"]:
    if change_pct is None:
        return "none"
    shown = round(change_pct, 1)
    return "up" if shown > 0 else "down" if shown < 0 else "flat"


def format_change(change_pct: float | None) -> str:
    """An arrow, the sign and one decimal ("▲ +16.5%", "► 0.0%"); "—" when there is nothing
    to compare with."""
    if change_pct is None:
        return DASH
    arrow = {"up": "▲ +", "down": f"▼ {MINUS}", "flat": "► "}[change_direction(change_pct)]
    return f"{arrow}{abs(change_pct):.1f}%"


def format_day(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def format_period(period: Period) -> str:
    """A range of days, each part written once: 23-29 Nov 2026, 30 Nov - 6 Dec 2026 (with an
    en dash)."""
    start, end = period.start, period.end
    if start == end:
        return format_day(start)
    if start.year != end.year:
        return f"{format_day(start)} {EN_DASH} {format_day(end)}"
    if start.month != end.month:
        return f"{start.day} {MONTHS[start.month - 1]} {EN_DASH} {format_day(end)}"
    return f"{start.day}{EN_DASH}{format_day(end)}"


def period_title(kind: PeriodKind, period: Period) -> str:
    """How the report names its period: "Week of 23-29 Nov 2026", "November 2026"."""
    if kind == "monthly" and period.start.day == 1 and period.start.month == period.end.month:
        return f"{MONTH_NAMES[period.start.month - 1]} {period.start.year}"
    return f"Week of {format_period(period)}" if kind == "weekly" else format_period(period)


def format_local_time(instant: datetime | None, timezone: str) -> str:
    """An instant on the business's clock: 26 Nov 2026, 08:41 EST."""
    if instant is None:
        return DASH
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{format_day(local.date())}, {local:%H:%M} {local.tzname()}"
