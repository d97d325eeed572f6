"""Alert sentences, titles and dashboard links, as exact strings."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest

from pulse_reporter import alert_text
from pulse_reporter.alert_text import AlertText
from pulse_reporter.anomalies import Anomaly, Metric, Reconnection

ROUTE_TS = Path(__file__).resolve().parents[2] / "dashboard" / "web" / "route.ts"
DASHBOARD = "https://pulse.example.com/"


def anomaly(
    metric: Metric, value: float, median: float, day: date = date(2025, 10, 14),
    platform: str = "linkedin", weeks: int = 6,
) -> Anomaly:  # fmt: skip
    percent = None if median == 0 else (value - median) * 100 / abs(median)
    return Anomaly(
        business_id=42, platform=platform, metric=metric, day=day, value=value,
        baseline_median=median, weeks_used=weeks, change=value - median,
        percent_change=percent, z=-9.0 if value < median else 9.0,
        direction="below" if value < median else "above",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("alert", "sentence"),
    [
        (
            anomaly("engagement", 412, 700),
            "Engagement on LinkedIn was 412 on Tue 14 Oct, 41% below your usual Tuesday "
            "(median 700 over the last 6 Tuesdays)",
        ),
        (
            anomaly("engagement", 1_580, 1_000, date(2025, 10, 17), "facebook", 8),
            "Engagement on Facebook was 1,580 on Fri 17 Oct, 58% above your usual Friday "
            "(median 1,000 over the last 8 Fridays)",
        ),
        (
            anomaly("impressions", 12_400, 32_500.5, date(2025, 10, 15), "twitter", 7),
            "Impressions on X were 12,400 on Wed 15 Oct, 62% below your usual Wednesday "
            "(median 32,501 over the last 7 Wednesdays)",
        ),
        (
            anomaly("impressions", 1_234_567, 402_000, date(2025, 10, 19), "instagram", 8),
            "Impressions on Instagram were 1,234,567 on Sun 19 Oct, 207% above your usual "
            "Sunday (median 402,000 over the last 8 Sundays)",
        ),
        (
            anomaly("engagement_rate", 2.14, 3.46, date(2025, 10, 13), "instagram", 8),
            "Engagement rate on Instagram was 2.1% on Mon 13 Oct, 1.4 percentage points below "
            "your usual Monday (median 3.5% over the last 8 Mondays)",
        ),
        (
            anomaly("engagement_rate", 4.05, 3.0, date(2025, 10, 18), "linkedin", 6),
            "Engagement rate on LinkedIn was 4.1% on Sat 18 Oct, 1.1 percentage points above "
            "your usual Saturday (median 3.0% over the last 6 Saturdays)",
        ),
        (
            anomaly("followers", 3, 25),
            "LinkedIn gained 3 followers on Tue 14 Oct, against a net gain of 25 on your usual "
            "Tuesday (median over the last 6 Tuesdays)",
        ),
        (
            anomaly("followers", -40, 2),
            "LinkedIn lost 40 followers on Tue 14 Oct, against a net gain of 2 on your usual "
            "Tuesday (median over the last 6 Tuesdays)",
        ),
        (
            anomaly("followers", 1, -30, platform="twitter"),
            "X gained 1 follower on Tue 14 Oct, against a net loss of 30 on your usual Tuesday "
            "(median over the last 6 Tuesdays)",
        ),
        (
            anomaly("followers", -1_250, 0, platform="facebook"),
            "Facebook lost 1,250 followers on Tue 14 Oct, against no net change on your usual "
            "Tuesday (median over the last 6 Tuesdays)",
        ),
    ],
)
def test_an_anomaly_reads_as_a_sentence_with_its_numbers(alert: Anomaly, sentence: str) -> None:
    assert alert_text.anomaly_sentence(alert) == sentence


@pytest.mark.parametrize(
    ("alert", "title"),
    [
        (anomaly("engagement", 412, 700), "LinkedIn engagement 41% below usual on Tue 14 Oct"),
        (
            anomaly("impressions", 1_580, 1_000, platform="twitter"),
            "X impressions 58% above usual on Tue 14 Oct",
        ),
        (
            anomaly("engagement_rate", 2.14, 3.46),
            "LinkedIn engagement rate 1.4 points below usual on Tue 14 Oct",
        ),
        (anomaly("followers", -40, 2), "LinkedIn lost 40 followers on Tue 14 Oct"),
    ],
)
def test_an_anomaly_has_a_short_title(alert: Anomaly, title: str) -> None:
    assert alert_text.anomaly_title(alert) == title
    assert len(title) <= 70  # a mail subject, a Slack heading


def test_rounding_is_half_away_from_zero_never_bankers() -> None:
    assert alert_text.count(412.5) == "413"
    assert alert_text.count(413.5) == "414"
    assert alert_text.count(-0.4) == "0"
    assert alert_text.rate(2.25) == "2.3%"
    assert alert_text.followers_phrase(-0.4) == "had no net change in followers"


def test_a_reconnection_reads_as_a_sentence_in_the_business_time_zone() -> None:
    since = datetime(2025, 10, 13, 23, 30, tzinfo=UTC)
    r = Reconnection(42, "linkedin", "Acme", since)

    assert alert_text.reconnection_sentence(r) == (
        "Your LinkedIn account \u201cAcme\u201d needs reconnecting: Pulse has not been able "
        "to read it since Mon 13 Oct."
    )
    assert alert_text.reconnection_sentence(r, ZoneInfo("Asia/Tokyo")).endswith("since Tue 14 Oct.")
    assert alert_text.alert_text(r, DASHBOARD) == AlertText(
        "LinkedIn account \u201cAcme\u201d needs reconnecting",
        alert_text.reconnection_sentence(r),
        "https://pulse.example.com/connections",
    )


def test_an_anomaly_links_to_the_trends_of_its_platform_over_its_baseline_weeks() -> None:
    link = alert_text.dashboard_link(anomaly("engagement", 412, 700), DASHBOARD)

    assert link == (
        "https://pulse.example.com/?business=42&platform=linkedin&range=custom"
        "&from=2025-08-19&to=2025-10-14#/trends"
    )
    assert alert_text.dashboard_link(anomaly("engagement", 1, 2), "https://p.example") == (
        alert_text.dashboard_link(anomaly("engagement", 1, 2), "https://p.example/")
    )


def test_the_link_speaks_the_dashboards_own_parameter_names() -> None:
    """Read from services/dashboard/web/route.ts, so a rename there fails here."""
    route = ROUTE_TS.read_text()
    filter_params = re.search(r"const FILTER_PARAMS = \[([^\]]*)\]", route)
    platforms = re.search(r"const PLATFORM_FILTERS = new Set\(\[([^\]]*)\]\)", route)
    assert filter_params is not None
    assert platforms is not None
    names = set(re.findall(r'"([^"]+)"', filter_params.group(1)))
    known_platforms = set(re.findall(r'"([^"]+)"', platforms.group(1)))
    assert 'range === "custom"' in route
    hash_views = re.search(r"const HASH_VIEWS: readonly string\[\] = \[([^\]]*)\]", route)
    assert hash_views is not None
    # An anomaly links to Trends, the alert mail to the Alerts view.
    assert {"trends", "alerts"} <= set(re.findall(r'"([^"]+)"', hash_views.group(1)))
    assert 'CONNECTIONS_PATH = "/connections"' in route

    for platform in ("linkedin", "twitter", "facebook", "instagram"):
        url = urlsplit(
            alert_text.dashboard_link(anomaly("engagement", 1, 2, platform=platform), DASHBOARD)
        )
        query = dict(parse_qsl(url.query))
        assert set(query) <= names
        assert query["platform"] in known_platforms
        assert query["range"] == "custom"
        assert query["from"] < query["to"]
        assert url.path == "/"
        assert url.fragment == "/trends"


def test_alert_text_puts_title_sentence_and_link_together() -> None:
    a = anomaly("engagement", 412, 700)

    assert alert_text.alert_text(a, DASHBOARD) == AlertText(
        "LinkedIn engagement 41% below usual on Tue 14 Oct",
        alert_text.anomaly_sentence(a),
        alert_text.dashboard_link(a, DASHBOARD),
    )
