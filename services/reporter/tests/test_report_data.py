"""The report's data model, built from real query-api answers.

The JSON under data/ was captured from the `make up` stack for the demo business (id 1,
America/New_York) on its local date 2026-12-06, with the requests
:func:`query_api_requests` names: weekly/ for 23-29 Nov 2026, monthly/ for November 2026;
accounts.json, calendar.json and business.json (the workspace's /v1/me entry) beside them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from pulse_reporter.report_data import (
    Period,
    PeriodKind,
    build_report,
    change_direction,
    format_change,
    format_count,
    format_local_time,
    format_pct,
    format_period,
    format_signed,
    format_signed_pct,
    has_data,
    last_complete_period,
    period_title,
    query_api_requests,
)
from services.reporter.tests.support import answer, answers, saved_report

# --- build_report ----------------------------------------------------------------------


def test_the_weekly_report_carries_the_business_and_its_periods() -> None:
    report = saved_report("weekly")
    assert (report.business_id, report.business_name) == (1, "Acme 1")
    assert report.timezone == "America/New_York"
    assert report.period == Period(date(2026, 11, 23), date(2026, 11, 29))
    assert report.previous_period == Period(date(2026, 11, 16), date(2026, 11, 22))


def test_cards_are_the_overview_totals_with_query_api_changes() -> None:
    report = saved_report("weekly")
    shown = {c.key: (c.value, c.previous, c.change_pct) for c in report.cards}
    assert shown == {
        "total_posts": (173, 171, 1.17),
        "total_impressions": (421614, 359217, 17.37),
        "total_engagement": (7522, 6455, 16.53),
        "engagement_rate": (1.78, 1.8, -1.11),
        "total_clicks": (1320, 581, 127.19),
        "follower_growth": (178, 175, 1.71),
    }
    assert report.card("engagement_rate") is not None
    assert report.card("engagement_rate").unit == "percent"  # type: ignore[union-attr]


def test_a_total_some_platforms_do_not_report_says_which() -> None:
    report = saved_report("weekly")
    assert report.card("total_clicks").note == "Not reported by X and Instagram"  # type: ignore[union-attr]
    assert report.card("total_impressions").note is None  # type: ignore[union-attr]


def test_trends_pair_each_day_with_the_same_day_of_the_week_before() -> None:
    engagement, impressions = saved_report("weekly").trends
    assert (engagement.metric, engagement.granularity) == ("engagement", "daily")
    assert [p.value for p in engagement.current] == [448, 1371, 410, 355, 2637, 1489, 812]
    assert [p.value for p in engagement.previous] == [1435, 450, 2349, 761, 270, 1050, 140]
    assert engagement.current[0].start == date(2026, 11, 23)
    assert engagement.previous[0].start == date(2026, 11, 16)
    assert impressions.current[4].value == 166375


def test_the_monthly_trend_is_weekly_with_the_cut_weeks_marked_partial() -> None:
    engagement = saved_report("monthly").trends[0]
    assert engagement.granularity == "weekly"
    assert [p.partial for p in engagement.current] == [True, False, False, False, False, True]
    assert [(p.start.day, p.end.day) for p in engagement.current][:2] == [(1, 1), (2, 8)]


def test_platforms_keep_query_api_ranking_and_insights() -> None:
    report = saved_report("weekly")
    assert [p.platform for p in report.platforms] == [
        "instagram",
        "linkedin",
        "facebook",
        "twitter",
    ]
    assert report.platforms[0].engagement_rate == 4.31
    assert report.platforms[0].clicks is None  # Instagram reports no clicks: not 0
    assert report.insights[0] == "Instagram posts earn 3.3× the engagement rate of X posts"  # noqa: RUF001
    assert len(report.insights) == 3


def test_top_posts_are_the_five_best_with_their_links() -> None:
    posts = saved_report("weekly").top_posts
    assert len(posts) == 5
    assert posts[0].post_id == 329
    assert posts[0].text == "Our take on the state of social media (video #12)"
    assert posts[0].permalink == "https://www.instagram.com/p/li67NUsB19n/"
    assert posts[0].published_at == datetime(2026, 11, 26, 13, 41, 59, tzinfo=UTC)
    assert [p.engagement_rate for p in posts] == [6.93, 6.57, 6.54, 5.07, 4.65]


def test_best_times_cover_every_hour_of_the_week_and_the_recommendations() -> None:
    best = saved_report("weekly").best_times
    assert len(best.slots) == 168
    assert (best.slots[0].day, best.slots[0].hour, best.slots[-1].day) == (0, 0, 6)
    assert [r.label for r in best.recommendations] == [
        "Wednesday 10:00–12:00",  # noqa: RUF001
        "Wednesday 08:00–10:00",  # noqa: RUF001
        "Friday 17:00–19:00",  # noqa: RUF001
    ]
    assert (best.confidence, best.posts_considered) == (47, 706)
    assert best.period == Period(date(2026, 9, 1), date(2026, 11, 29))


def test_follower_growth_largest_first_and_platforms_without_counts_last() -> None:
    report = saved_report("weekly")
    assert [(f.platform, f.growth) for f in report.followers] == [
        ("instagram", 131),
        ("linkedin", 47),
        ("facebook", None),
        ("twitter", None),
    ]
    assert report.total_followers == 21449


def test_freshness_counts_stale_posts_and_accounts_to_reconnect() -> None:
    report = saved_report("weekly")
    assert report.freshness.stale_posts == 33
    assert report.freshness.posts == 173
    assert report.freshness.data_as_of == datetime(2026, 12, 6, 14, 40, 4, 171593, tzinfo=UTC)
    assert report.freshness.needs_reconnection == ()
    assert report.freshness.is_stale

    documents = answers("weekly")
    documents["overview"] = {**documents["overview"], "stale_posts": 0}
    assert not build_report(**documents).freshness.is_stale
    accounts = documents["accounts"]["accounts"]
    accounts[0] = {**accounts[0], "status": "needs_reconnection", "status_reason": "token revoked"}
    issues = build_report(**documents).freshness.needs_reconnection
    assert [(i.platform, i.name, i.reason) for i in issues] == [
        ("facebook", "Acme 1", "token revoked")
    ]
    assert build_report(**documents).freshness.is_stale


def test_answers_for_another_period_are_refused() -> None:
    documents = answers("weekly")
    documents["trends"] = answer("monthly", "trends")
    with pytest.raises(ValueError, match="trends answers for"):
        build_report(**documents)


def test_the_requests_name_the_saved_answers_periods() -> None:
    period = Period(date(2026, 11, 23), date(2026, 11, 29))
    requests = query_api_requests(1, "weekly", period)
    path, params = requests["trends"]
    assert path == "/api/v1/analytics/trends"
    assert params == {
        "business_id": "1",
        "start_date": "2026-11-23",
        "end_date": "2026-11-29",
        "period": "daily",
        "basis": "publish",
        "compare": "previous",
    }
    assert requests["best_times"][1] == {"business_id": "1", "end_date": "2026-11-29", "days": "90"}
    assert set(requests) == set(answers("weekly")) - {"kind", "business_name"}
    saved = answer("weekly", "trends")
    assert (saved["period_type"], saved["basis"], saved["compare"]) == (
        "daily",
        "publish",
        "previous",
    )


# --- Periods and skipping ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "today", "expected"),
    [
        ("weekly", date(2026, 12, 7), (date(2026, 11, 30), date(2026, 12, 6))),  # a Monday
        ("weekly", date(2026, 12, 6), (date(2026, 11, 23), date(2026, 11, 29))),  # a Sunday
        ("weekly", date(2026, 1, 1), (date(2025, 12, 22), date(2025, 12, 28))),
        ("monthly", date(2026, 12, 2), (date(2026, 11, 1), date(2026, 11, 30))),
        ("monthly", date(2026, 3, 2), (date(2026, 2, 1), date(2026, 2, 28))),
        ("monthly", date(2024, 3, 1), (date(2024, 2, 1), date(2024, 2, 29))),
        ("monthly", date(2027, 1, 2), (date(2026, 12, 1), date(2026, 12, 31))),
    ],
)
def test_last_complete_period(kind: PeriodKind, today: date, expected: tuple[date, date]) -> None:
    assert last_complete_period(kind, today) == expected


def test_a_period_without_posts_or_follower_counts_has_no_data() -> None:
    report = saved_report("weekly")
    assert has_data(report)
    no_posts = replace(report, freshness=replace(report.freshness, posts=0))
    assert has_data(no_posts)  # followers were still counted
    nothing = replace(no_posts, followers=tuple(replace(f, growth=None) for f in report.followers))
    assert not has_data(nothing)


# --- How numbers and dates read ------------------------------------------------------------


def test_numbers_have_thousands_separators_one_decimal_and_a_dash_when_missing() -> None:
    assert format_count(1363164) == "1,363,164"
    assert format_count(None) == "—"
    assert format_pct(1.78) == "1.8%"
    assert format_pct(-0.25) == "\u22120.2%"
    assert format_pct(None) == "—"
    assert format_signed(178) == "+178"
    assert format_signed(-1200) == "\u22121,200"
    assert format_signed(0) == "0"
    assert format_signed_pct(0.71) == "+0.7%"


def test_changes_have_an_arrow_and_a_sign() -> None:
    assert format_change(16.53) == "▲ +16.5%"
    assert format_change(-1.11) == "▼ \u22121.1%"
    assert format_change(0.04) == "► 0.0%"
    assert format_change(None) == "—"
    assert [change_direction(v) for v in (2.0, -0.06, 0.04, None)] == ["up", "down", "flat", "none"]


def test_periods_read_as_ranges_of_local_days() -> None:
    assert format_period(Period(date(2026, 11, 23), date(2026, 11, 29))) == "23\u201329 Nov 2026"
    assert (
        format_period(Period(date(2026, 11, 30), date(2026, 12, 6))) == "30 Nov \u2013 6 Dec 2026"
    )
    assert (
        format_period(Period(date(2025, 12, 29), date(2026, 1, 4)))
        == "29 Dec 2025 \u2013 4 Jan 2026"
    )
    november = Period(date(2026, 11, 1), date(2026, 11, 30))
    assert period_title("monthly", november) == "November 2026"
    assert period_title("weekly", Period(date(2026, 11, 23), date(2026, 11, 29))) == (
        "Week of 23\u201329 Nov 2026"
    )


def test_instants_read_on_the_business_clock_with_its_zone() -> None:
    winter = datetime(2026, 11, 26, 13, 41, 59, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 3, 30, tzinfo=UTC)
    assert format_local_time(winter, "America/New_York") == "26 Nov 2026, 08:41 EST"
    assert format_local_time(summer, "America/New_York") == "30 Jun 2026, 23:30 EDT"
    assert format_local_time(None, "America/New_York") == "—"
