"""What an alert says: a title (a mail subject, a Slack heading), a sentence with its
numbers, and a link to the dashboard view that shows it. Pure: no I/O, no clock.

"Engagement on LinkedIn was 412 on Tue 14 Oct, 41% below your usual Tuesday (median 700
over the last 6 Tuesdays)". Counts are whole numbers with thousands separators; an
engagement rate has one decimal ("2.1%") and its change is told in **percentage points**
(a rate 41 % below its usual reads too easily as 41 points below); followers tell the
day's net change ("gained 3", "lost 40") beside the usual one. Day and month names are
English and do not depend on the machine's locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from pulse_reporter.anomalies import BASELINE_WEEKS, Anomaly, Reconnection

PLATFORM_NAMES = {
    "linkedin": "LinkedIn",
    "twitter": "X",
    "facebook": "Facebook",
    "instagram": "Instagram",
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The link shows the weeks the baseline came from and the day itself.
LINK_DAYS = BASELINE_WEEKS * 7


@dataclass(frozen=True)
class AlertText:
    title: str
    sentence: str
    link: str


# --- numbers and days ---------------------------------------------------------------------


def _rounded(value: float, places: int = 0) -> Decimal:
    """Half away from zero, as people round (412.5 -> 413), not banker's rounding; never
    a negative zero."""
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded == 0 else rounded


def count(value: float) -> str:
    """A whole number with thousands separators: 12400.4 -> "12,400"."""
    return f"{_rounded(value):,}"


def rate(value: float) -> str:
    """An engagement rate: 2.14 -> "2.1%"."""
    return f"{_rounded(value, 1)}%"


def short_day(day: date) -> str:
    """Tue 14 Oct."""
    return f"{WEEKDAYS[day.weekday()][:3]} {day.day} {MONTHS[day.month - 1]}"


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


# --- sentences ----------------------------------------------------------------------------


def _usual(a: Anomaly) -> str:
    return f"your usual {WEEKDAYS[a.day.weekday()]}"


def _over(a: Anomaly) -> str:
    return f"over the last {a.weeks_used} {WEEKDAYS[a.day.weekday()]}s"


def percent_phrase(a: Anomaly) -> str:
    """ "41% below": the change in percent of the median, rounded to a whole percent."""
    percent = abs(a.percent_change or 0.0)
    return f"{_rounded(percent)}% {a.direction}"


def points_phrase(a: Anomaly) -> str:
    """ "1.4 percentage points below": between the rates as the sentence shows them."""
    points = abs(_rounded(a.value, 1) - _rounded(a.baseline_median, 1))
    unit = "percentage point" if points == 1 else "percentage points"
    return f"{points} {unit} {a.direction}"


def count_sentence(a: Anomaly) -> str:
    label, verb = ("Engagement", "was") if a.metric == "engagement" else ("Impressions", "were")
    return (
        f"{label} on {platform_name(a.platform)} {verb} {count(a.value)} on {short_day(a.day)}, "
        f"{percent_phrase(a)} {_usual(a)} (median {count(a.baseline_median)} {_over(a)})"
    )


def rate_sentence(a: Anomaly) -> str:
    return (
        f"Engagement rate on {platform_name(a.platform)} was {rate(a.value)} on "
        f"{short_day(a.day)}, {points_phrase(a)} {_usual(a)} "
        f"(median {rate(a.baseline_median)} {_over(a)})"
    )


def followers_phrase(net: float) -> str:
    """ "gained 3 followers" / "lost 40 followers" / "gained 1 follower" / "had no net
    change in followers"."""
    n = _rounded(net)
    if n == 0:
        return "had no net change in followers"
    noun = "follower" if abs(n) == 1 else "followers"
    return f"gained {n:,} {noun}" if n > 0 else f"lost {-n:,} {noun}"


def usual_followers_phrase(median: float) -> str:
    """ "a net gain of 25" / "a net loss of 5" / "no net change"."""
    n = _rounded(median)
    if n == 0:
        return "no net change"
    return f"a net gain of {n:,}" if n > 0 else f"a net loss of {-n:,}"


def followers_sentence(a: Anomaly) -> str:
    """LinkedIn lost 40 followers on Tue 14 Oct, against a net gain of 2 on your usual
    Tuesday (median over the last 6 Tuesdays)."""
    return (
        f"{platform_name(a.platform)} {followers_phrase(a.value)} on {short_day(a.day)}, "
        f"against {usual_followers_phrase(a.baseline_median)} on {_usual(a)} "
        f"(median {_over(a)})"
    )


def anomaly_sentence(a: Anomaly) -> str:
    if a.metric == "engagement_rate":
        return rate_sentence(a)
    if a.metric == "followers":
        return followers_sentence(a)
    return count_sentence(a)


def anomaly_title(a: Anomaly) -> str:
    """A short line: "LinkedIn engagement 41% below usual on Tue 14 Oct"."""
    platform, day = platform_name(a.platform), short_day(a.day)
    if a.metric == "followers":
        return f"{platform} {followers_phrase(a.value)} on {day}"
    if a.metric == "engagement_rate":
        points = abs(_rounded(a.value, 1) - _rounded(a.baseline_median, 1))
        return f"{platform} engagement rate {points} points {a.direction} usual on {day}"
    return f"{platform} {a.metric} {percent_phrase(a)} usual on {day}"


def reconnection_sentence(r: Reconnection, tz: tzinfo = UTC) -> str:
    """``since`` is shown as the business's local day (``tz``)."""
    return (
        f"Your {platform_name(r.platform)} account \u201c{r.account_name}\u201d needs "
        f"reconnecting: Pulse has not been able to read it since "
        f"{short_day(r.since.astimezone(tz).date())}."
    )


def reconnection_title(r: Reconnection) -> str:
    return f"{platform_name(r.platform)} account \u201c{r.account_name}\u201d needs reconnecting"


# --- links --------------------------------------------------------------------------------


def dashboard_link(a: Anomaly, dashboard_url: str) -> str:
    """The dashboard's Trends view of this business and platform over the baseline's eight
    weeks and the day (the filters its route.ts reads: business, platform, range=custom,
    from, to; the view in the hash)."""
    query = urlencode(
        {
            "business": a.business_id,
            "platform": a.platform,
            "range": "custom",
            "from": (a.day - timedelta(days=LINK_DAYS)).isoformat(),
            "to": a.day.isoformat(),
        }
    )
    return f"{dashboard_url.rstrip('/')}/?{query}#/trends"


def connections_link(dashboard_url: str) -> str:
    return f"{dashboard_url.rstrip('/')}/connections"


def anomaly_text(a: Anomaly, dashboard_url: str) -> AlertText:
    return AlertText(anomaly_title(a), anomaly_sentence(a), dashboard_link(a, dashboard_url))


def reconnection_text(r: Reconnection, dashboard_url: str, tz: tzinfo = UTC) -> AlertText:
    return AlertText(
        reconnection_title(r), reconnection_sentence(r, tz), connections_link(dashboard_url)
    )


def alert_text(alert: Anomaly | Reconnection, dashboard_url: str, tz: tzinfo = UTC) -> AlertText:
    """Title, sentence and link of any alert; ``tz``: the business's time zone."""
    if isinstance(alert, Reconnection):
        return reconnection_text(alert, dashboard_url, tz)
    return anomaly_text(alert, dashboard_url)
