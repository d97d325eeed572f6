"""The daily alert job on the session's PostgreSQL, day by day with the test's clock: series
the test built (fixed seeds) served by a fake Analytics, so the detector and the job are
under test; then once through the real query-api with activity planted in the database.

One planted drop gives one alert with its sentence and numbers; a quiet business hears
nothing in 90 days; a day is judged once per replica and a re-run inserts nothing; the
cooldown reads the alerts table; an account needing reconnection is one alert until it is
reconnected; a business nobody configured is alerted in the app only."""

from __future__ import annotations

import json
import random
import statistics
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from pulse_reporter import anomalies
from pulse_reporter.alert_store import BusinessToJudge
from pulse_reporter.alerting import AlertJob, due_day, reconnection_key
from pulse_reporter.analytics import AnalyticsUnavailable, QueryApiAnalytics
from pulse_reporter.anomalies import Reconnection
from pulse_shared import formulas
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra
from services.reporter.tests import noise
from services.reporter.tests.alert_support import (
    DAY,
    SERIES_DAYS,
    SERIES_START,
    AlertAnalytics,
    alert_settings,
    alerting,
    alerts_of,
    calm_business,
    deliveries_of,
    dropped_on,
    judged_at,
    set_alert_settings,
)
from services.reporter.tests.delivery_support import (
    DASHBOARD,
    Clock,
    add_business,
    new_business_id,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["services.reporter.tests.fixtures"]

NEW_YORK = ZoneInfo("America/New_York")


def whole(value: float) -> Decimal:
    """Rounded as the sentences round: half away from zero."""
    return Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)


# --- when, pure ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wall_clock", "due"),
    [
        ("2026-11-18 06:59", date(2026, 11, 16)),  # before 07:00: Monday's
        ("2026-11-18 07:00", date(2026, 11, 17)),  # from 07:00: Tuesday's
        ("2026-11-18 23:59", date(2026, 11, 17)),
        ("2026-11-19 00:00", date(2026, 11, 17)),  # past midnight, before 07:00
        # DST ended on Sunday 1 Nov 2026 at 02:00: 07:00 is 07:00 on the wall clock.
        ("2026-11-01 06:59", date(2026, 10, 30)),
        ("2026-11-01 07:00", date(2026, 10, 31)),
    ],
)
def test_a_day_is_due_from_seven_on_the_local_wall_clock_the_next_day(
    wall_clock: str, due: date
) -> None:
    local = datetime.fromisoformat(wall_clock).replace(tzinfo=NEW_YORK)
    assert due_day("America/New_York", local.astimezone(UTC), 7) == due


def test_a_reconnection_is_keyed_on_its_account_and_the_instant_it_was_last_read() -> None:
    since = datetime(2026, 11, 14, 8, 0, tzinfo=UTC)
    r = Reconnection(42, "linkedin", "Acme Bakery", since)
    assert reconnection_key(r) == "42:reconnection:linkedin:Acme Bakery:2026-11-14T08:00:00Z"


# --- the job, on planted series --------------------------------------------------------


async def test_one_planted_drop_gives_exactly_one_alert_with_its_sentence_and_numbers(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    series, dropped, usual = dropped_on(calm_business(), DAY, 0.55)
    analytics = AlertAnalytics(series={business: series})
    clock = Clock(judged_at(DAY))

    assert await alerting(pool, analytics, alert_settings(infra), clock).tick() == 1

    [row] = await alerts_of(db, business)
    percent = whole((usual - dropped) / usual * 100)
    assert (row["alert_key"], row["kind"], row["platform"], row["metric"], row["day"]) == (
        f"{business}:anomaly:linkedin:engagement:2026-11-17", "anomaly", "linkedin",
        "engagement", DAY,
    )  # fmt: skip
    assert row["sentence"] == (
        f"Engagement on LinkedIn was {dropped:,} on Tue 17 Nov, {percent}% below your usual "
        f"Tuesday (median {whole(usual):,} over the last 8 Tuesdays)"
    )
    assert row["title"] == f"LinkedIn engagement {percent}% below usual on Tue 17 Nov"
    assert row["link"] == (
        f"{DASHBOARD}/?business={business}&platform=linkedin&range=custom"
        "&from=2026-09-22&to=2026-11-17#/trends"
    )
    assert row["created_at"] == clock.now
    numbers = json.loads(row["numbers"])
    assert numbers["value"] == dropped
    assert numbers["baseline_median"] == usual
    assert numbers["change"] == dropped - usual
    assert numbers["percent_change"] == pytest.approx((dropped - usual) / usual * 100)
    assert (numbers["weeks_used"], numbers["direction"]) == (8, "below")
    assert numbers["z"] <= -anomalies.PRESETS["medium"].min_abs_z
    # Nobody configured the business: the alert is in the app, mailed and posted nowhere.
    assert await deliveries_of(db, business) == []
    # The day and the 8 weeks before it, asked once.
    assert analytics.series_asked.count((business, DAY - timedelta(weeks=8), DAY)) == 1


async def test_the_business_s_sensitivity_is_the_one_its_settings_name(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    """A 45 % drop: news at medium (40 %), not at low (50 %)."""
    series, _, _ = dropped_on(calm_business(), DAY, 0.55)
    await set_alert_settings(db, business, sensitivity="low")
    analytics = AlertAnalytics(series={business: series})

    assert await alerting(pool, analytics, alert_settings(infra), Clock(judged_at(DAY))).tick() == 0
    assert DAY in analytics.days_asked(business)
    assert await alerts_of(db, business) == []


@pytest.mark.parametrize("seed", [2, 5])
async def test_a_quiet_business_with_realistic_noise_hears_nothing_in_90_days(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int, seed: int
) -> None:
    series = noise.quiet_business(seed, SERIES_START, SERIES_DAYS)
    analytics = AlertAnalytics(series={business: series})
    clock = Clock(judged_at(DAY))
    job = alerting(pool, analytics, alert_settings(infra), clock)
    days = [DAY - timedelta(days=back) for back in range(89, -1, -1)]

    for day in days:  # each morning at 07:30, and once more at noon (nothing new to judge)
        clock.now = judged_at(day)
        assert await job.tick() == 0
        clock.now = judged_at(day, hour=12)
        assert await job.tick() == 0

    assert analytics.days_asked(business) == days  # each day judged, once
    assert await alerts_of(db, business) == []
    # Not vacuous: most days of the four accounts were big enough to judge.
    platforms = anomalies.platforms_of(business, series)
    judged = anomalies.measure_range(platforms, days[0], days[-1])
    assert sum(1 for day in judged for m in day if m.metric != "followers") >= 200


async def test_re_running_a_day_inserts_nothing_new(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    series, _, _ = dropped_on(calm_business(), DAY, 0.5)
    await set_alert_settings(db, business, recipients=["team@example.com"])
    analytics = AlertAnalytics(series={business: series})
    clock, settings = Clock(judged_at(DAY)), alert_settings(infra)
    first = AlertJob(pool, analytics, settings, clock)
    assert await first.judge_due() == 1
    [alert] = await alerts_of(db, business)
    [delivery] = await deliveries_of(db, business)

    clock.advance(hours=3)
    assert await first.judge_due() == 0  # this replica judged the day already: not asked
    assert analytics.days_asked(business) == [DAY]
    restarted = AlertJob(pool, analytics, settings, clock)  # or another replica
    assert await restarted.judge_due() == 0  # asked again, nothing new
    assert analytics.days_asked(business) == [DAY, DAY]
    assert await alerts_of(db, business) == [alert]
    assert await deliveries_of(db, business) == [delivery]


async def test_the_cooldown_remembers_the_alerts_in_the_table(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    series = calm_business()
    for day in (DAY, DAY + timedelta(days=1), DAY + timedelta(days=8)):
        series, _, _ = dropped_on(series, day, 0.4)
    analytics, settings = AlertAnalytics(series={business: series}), alert_settings(infra)
    wednesday = DAY + timedelta(days=1)
    # On its own, Wednesday's drop is news.
    assert anomalies.daily_alerts(series, "medium", wednesday, business_id=business) != []

    for day in (DAY, wednesday, DAY + timedelta(days=8)):
        clock = Clock(judged_at(day))
        # A new job each day (a restart, another replica): the memory is the table's.
        await AlertJob(pool, analytics, settings, clock).judge_due()

    days = [row["day"] for row in await alerts_of(db, business)]
    assert days == [DAY, DAY + timedelta(days=8)]  # Wednesday's inside the 7-day cooldown


async def test_an_account_needing_reconnection_is_one_alert_until_it_is_reconnected(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    last_read = datetime(2026, 11, 14, 3, 0, tzinfo=UTC)  # Fri 13 Nov, 22:00 in New York
    account = Reconnection(business, "linkedin", "Acme Bakery", last_read)
    analytics = AlertAnalytics(accounts={business: [account]})
    settings = alert_settings(infra)

    for day in (DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)):
        await AlertJob(pool, analytics, settings, Clock(judged_at(day))).judge_due()

    [alert] = await alerts_of(db, business)
    assert (alert["kind"], alert["platform"], alert["metric"], alert["day"]) == (
        "reconnection", "linkedin", None, date(2026, 11, 13),
    )  # fmt: skip
    assert alert["alert_key"] == (
        f"{business}:reconnection:linkedin:Acme Bakery:2026-11-14T03:00:00Z"
    )
    assert alert["title"] == "LinkedIn account \u201cAcme Bakery\u201d needs reconnecting"
    assert alert["sentence"] == (
        "Your LinkedIn account \u201cAcme Bakery\u201d needs reconnecting: Pulse has not been "
        "able to read it since Fri 13 Nov."
    )
    assert alert["link"] == f"{DASHBOARD}/connections"
    assert json.loads(alert["numbers"]) == {
        "account": "Acme Bakery", "since": "2026-11-14T03:00:00+00:00",
    }  # fmt: skip

    # Reconnected, read on Thursday, then lost again: a new episode, a new alert.
    again = Reconnection(
        business, "linkedin", "Acme Bakery", datetime(2026, 11, 19, 15, tzinfo=UTC)
    )
    analytics.accounts[business] = [again]
    await AlertJob(pool, analytics, settings, Clock(judged_at(DAY + timedelta(days=3)))).judge_due()
    assert [a["day"] for a in await alerts_of(db, business)] == [
        date(2026, 11, 13),
        date(2026, 11, 19),
    ]


async def test_an_account_unread_for_minutes_is_judged_again_after_the_grace(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    """A platform that forgot its tokens in a restart, reconnected minutes later: no
    alert. One still unread once the grace has passed: its alert then, the same day."""
    now = judged_at(DAY)
    account = Reconnection(business, "linkedin", "Acme Bakery", now - timedelta(minutes=5))
    analytics = AlertAnalytics(accounts={business: [account]})
    clock = Clock(now)
    job = AlertJob(pool, analytics, alert_settings(infra), clock)

    assert await job.judge_due() == 0
    clock.now = now + timedelta(minutes=20)
    assert await job.judge_due() == 0  # its grace (30 minutes of being unread) runs
    analytics.accounts[business] = []  # reconnected
    clock.now = now + timedelta(minutes=26)
    assert await job.judge_due() == 0
    assert await alerts_of(db, business) == []

    broken = Reconnection(business, "x", "@acme", now + timedelta(minutes=30))
    analytics.accounts[business] = [broken]
    second = AlertJob(pool, analytics, alert_settings(infra), clock)
    clock.now = now + timedelta(minutes=40)
    assert await second.judge_due() == 0
    clock.now = now + timedelta(minutes=60)
    assert await second.judge_due() == 1
    [alert] = await alerts_of(db, business)
    assert (alert["kind"], alert["platform"]) == ("reconnection", "x")


async def test_query_api_away_ends_the_round_and_each_day_is_tried_again_later(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    other = await add_business(db, "Bread & Co")
    try:
        series, _, _ = dropped_on(calm_business(), DAY, 0.5)
        analytics = AlertAnalytics(series={business: series, other: series})
        analytics.failing = AnalyticsUnavailable("query-api answered 503", 503)
        clock = Clock(judged_at(DAY))
        job = AlertJob(pool, analytics, alert_settings(infra, alert_judge_retry_s=600), clock)

        def asked() -> list[int]:
            return [b for b, _, _ in analytics.series_asked if b in (business, other)]

        assert await job.judge_due() == 0
        assert asked() == [min(business, other)]  # the round ended at the first failure
        clock.advance(seconds=1)
        assert await job.judge_due() == 0
        assert asked() == sorted((business, other))  # the next round, the next business
        analytics.failing = None
        clock.advance(seconds=598)
        assert await job.judge_due() == 0  # neither is tried again before its retry
        clock.advance(seconds=1)
        assert await job.judge_due() == 1  # the first's retry is due, not yet the second's
        clock.advance(seconds=1)
        assert await job.judge_due() == 1
        assert len(await alerts_of(db, business)) == len(await alerts_of(db, other)) == 1
    finally:
        await db.execute("DELETE FROM businesses WHERE id = $1", other)


# --- through the real query-api --------------------------------------------------------

# query-api's calendar is held at QUERY_API_NOW (19 Nov 2026, 23:30 UTC): in a business on
# UTC time, Wednesday 18 Nov is complete, and its alerts are due from 07:00 on the 19th.
REAL_DAY = date(2026, 11, 18)


async def plant_linkedin_activity(
    db: asyncpg.Connection, business: int, gains: list[tuple[date, int, int]]
) -> None:
    """One LinkedIn post published on the first day, observed at 22:00 UTC every day: its
    cumulative numbers grow by each day's (likes, impressions)."""
    post = uuid.uuid4().hex
    first = datetime.combine(gains[0][0], datetime.min.time(), UTC)
    pulse_id = await db.fetchval(
        "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
        "content_type, published_at, content_preview, event_id) "
        "VALUES ($1, 'linkedin', $2, 'page', 'text', $3, 'Fresh bread', $4) RETURNING id",
        business, post, first + timedelta(hours=8), uuid.uuid4(),
    )  # fmt: skip
    await db.execute(
        "SELECT pulse_ensure_snapshot_partitions($1, $2)", first, first + timedelta(days=90)
    )
    likes = impressions = 0
    rows = []
    for day, day_likes, day_impressions in gains:
        likes, impressions = likes + day_likes, impressions + day_impressions
        observed = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=22)
        rows.append((business, post, observed, uuid.uuid4(), likes, impressions))
    await db.executemany(
        "INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, "
        "observed_at, source, event_id, likes_count, comments_count, shares_count, impressions) "
        "VALUES ($1, 'linkedin', $2, $3, 'poll', $4, $5, 0, 0, $6)",
        rows,
    )
    await db.execute(
        "INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id, "
        "likes_count, comments_count, shares_count, impressions, engagement_rate, fetched_at) "
        "VALUES ($1, $2, 'linkedin', $3, $4, 0, 0, $5, $6, $7)",
        business, pulse_id, post, likes, impressions,
        formulas.engagement_rate(likes, 0, 0, impressions), rows[-1][2],
    )  # fmt: skip
    # Written behind the aggregator's back: rebuild what it keeps (activity_daily).
    await set_business_timezone(db, business, "UTC")


async def test_a_drop_planted_in_the_database_is_one_alert_through_the_real_query_api(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, reporter_analytics: QueryApiAnalytics
) -> None:
    business = new_business_id()  # its posts stay (as test_analytics' do); its alerts not
    await db.execute("INSERT INTO businesses (id, name) VALUES ($1, 'Nordlicht Café')", business)
    rng = random.Random(18)
    days = [REAL_DAY - timedelta(days=back) for back in range(60, -1, -1)]
    gains = [
        (d, round(700 * rng.uniform(0.95, 1.05)), round(20_000 * rng.uniform(0.95, 1.05)))
        for d in days
    ]
    gains[-1] = (REAL_DAY, 300, gains[-1][2])  # Wednesday's engagement less than half
    await plant_linkedin_activity(db, business, gains)
    weeks_before = {REAL_DAY - timedelta(weeks=w) for w in range(1, 9)}
    usual = statistics.median(likes for d, likes, _ in gains if d in weeks_before)
    now = datetime(2026, 11, 19, 7, 30, tzinfo=UTC)
    assert due_day("UTC", now, 7) == REAL_DAY
    job = AlertJob(pool, reporter_analytics, alert_settings(infra), Clock(now))
    try:
        made = await job.judge(BusinessToJudge(business, "UTC", "medium"), REAL_DAY, now)
        [row] = await alerts_of(db, business)
    finally:
        await db.execute("DELETE FROM alerts WHERE business_id = $1", business)

    assert made == 1
    assert row["alert_key"] == f"{business}:anomaly:linkedin:engagement:2026-11-18"
    percent = whole((usual - 300) / usual * 100)
    assert row["sentence"] == (
        f"Engagement on LinkedIn was 300 on Wed 18 Nov, {percent}% below your usual Wednesday "
        f"(median {whole(usual):,} over the last 8 Wednesdays)"
    )
    assert json.loads(row["numbers"])["baseline_median"] == usual
