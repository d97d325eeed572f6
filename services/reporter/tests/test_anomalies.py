"""Daily alerts on planted and simulated series (fixed seeds, dates passed in)."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from pulse_reporter import anomalies
from pulse_reporter.anomalies import Anomaly, DayValue, InputMetric
from services.reporter.tests import noise

LAST_DAY = date(2025, 10, 29)
FIRST_DAY = LAST_DAY - timedelta(days=89)  # the 90 judged days
SERIES_START = FIRST_DAY - timedelta(weeks=anomalies.BASELINE_WEEKS)
SERIES_DAYS = (LAST_DAY - SERIES_START).days + 1
TUESDAY = date(2025, 10, 14)

Series = dict[tuple[str, InputMetric], list[DayValue]]


def quiet_accounts(seed: int = 7) -> Series:
    """Four calm accounts of a business: steady, small noise, nothing happening."""
    sizes = {"linkedin": 700, "twitter": 300, "facebook": 1_500, "instagram": 5_000}
    profiles = [noise.quiet_profile(platform, size) for platform, size in sizes.items()]
    return noise.business_series(random.Random(seed), profiles, SERIES_START, SERIES_DAYS)


def flat(
    value: float | None, days: int = SERIES_DAYS, start: date = SERIES_START
) -> list[DayValue]:
    return [DayValue(start + timedelta(days=i), value) for i in range(days)]


def same_weekdays_before(series: list[DayValue], day: date) -> list[float]:
    """The reference baseline, in plain Python: the usable same weekdays of 8 weeks."""
    wanted = {day - timedelta(weeks=w) for w in range(1, 9)}
    return [d.value for d in series if d.day in wanted and d.value is not None and not d.estimated]


def run(series: Series, sensitivity: anomalies.Sensitivity = "medium") -> list[Anomaly]:
    return anomalies.preview(series, sensitivity, FIRST_DAY, LAST_DAY, business_id=42)


def with_day(series: Series, key: tuple[str, InputMetric], day: date, value: float) -> Series:
    return noise.planted(series, key[0], key[1], day, value=value)


def test_one_planted_drop_gives_exactly_one_alert_with_its_numbers() -> None:
    quiet = quiet_accounts()
    usual = statistics.median(same_weekdays_before(quiet[("linkedin", "engagement")], TUESDAY))
    dropped = round(usual * 0.55)
    series = with_day(quiet, ("linkedin", "engagement"), TUESDAY, dropped)

    alerts = run(series)

    assert run(quiet) == []
    assert len(alerts) == 1
    [alert] = alerts
    assert (alert.business_id, alert.platform, alert.metric, alert.day, alert.direction) == (
        42, "linkedin", "engagement", TUESDAY, "below"
    )  # fmt: skip
    assert alert.value == dropped
    assert alert.baseline_median == usual
    assert alert.weeks_used == 8
    assert alert.change == dropped - usual
    assert alert.percent_change == pytest.approx((dropped - usual) / usual * 100)
    assert alert.percent_change == pytest.approx(-45, abs=0.2)
    assert alert.z <= -anomalies.PRESETS["medium"].min_abs_z


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
def test_a_quiet_business_with_realistic_noise_gives_no_alert_in_90_days(seed: int) -> None:
    """The generator's businesses, each platform's size drawn from noise.SIZES (the bench
    measures the rate behind this: a few quiet businesses in a hundred do hear a false
    alert in 90 days at `medium`)."""
    series = noise.quiet_business(seed, SERIES_START, SERIES_DAYS)
    platforms = anomalies.platforms_of(42, series)
    judged = [m for day in anomalies.measure_range(platforms, FIRST_DAY, LAST_DAY) for m in day]

    assert len([m for m in judged if m.metric != "followers"]) >= 200  # not vacuous
    assert run(series) == []


def test_a_small_account_gives_no_alert_even_on_large_swings() -> None:
    small = {p: noise.SIZES["small"] for p in noise.PLATFORMS}
    series: Series = noise.quiet_business(11, SERIES_START, SERIES_DAYS, small)
    for week, factor in enumerate((0.0, 4.0, 0.1, 6.0)):
        day = TUESDAY - timedelta(weeks=week)
        series = noise.planted(series, "linkedin", "engagement", day, factor=factor)
        series = noise.planted(series, "linkedin", "impressions", day, factor=factor)
    series = with_day(series, ("linkedin", "followers"), TUESDAY + timedelta(days=1), 15)

    assert run(series, "high") == []


def test_the_cooldown_mutes_the_same_metric_and_direction_only() -> None:
    quiet = quiet_accounts()
    key: tuple[str, InputMetric] = ("linkedin", "engagement")
    series = quiet
    for day in (TUESDAY, TUESDAY + timedelta(days=1), TUESDAY + timedelta(days=8)):
        series = noise.planted(series, *key, day, factor=0.4)
    series = noise.planted(series, *key, TUESDAY + timedelta(days=3), factor=3.0)

    fired = [(a.day, a.direction) for a in run(series)]

    assert fired == [
        (TUESDAY, "below"),  # the next day's drop is inside the 7-day cooldown
        (TUESDAY + timedelta(days=3), "above"),  # another direction
        (TUESDAY + timedelta(days=8), "below"),  # past the cooldown
    ]


def test_the_daily_job_honours_the_recent_alerts() -> None:
    series = noise.planted(quiet_accounts(), "linkedin", "engagement", TUESDAY, factor=0.4)
    [sent] = anomalies.daily_alerts(series, "medium", TUESDAY, business_id=42)
    repeat = noise.planted(
        series, "linkedin", "engagement", TUESDAY + timedelta(days=2), factor=0.4
    )

    assert anomalies.daily_alerts(repeat, "medium", TUESDAY, business_id=42, recent=[sent]) == []
    assert (
        anomalies.daily_alerts(
            repeat, "medium", TUESDAY + timedelta(days=2), business_id=42, recent=[sent]
        )
        == []
    )
    [later] = anomalies.daily_alerts(repeat, "medium", TUESDAY + timedelta(days=2), business_id=42)
    assert later.day == TUESDAY + timedelta(days=2)


def test_an_estimated_day_is_never_judged() -> None:
    series = noise.planted(
        quiet_accounts(), "linkedin", "engagement", TUESDAY, factor=5.0, estimated=True
    )

    assert run(series) == []


def test_estimated_and_unreported_days_are_left_out_of_the_baseline() -> None:
    quiet = quiet_accounts()
    key: tuple[str, InputMetric] = ("linkedin", "engagement")
    series = quiet
    series = noise.planted(series, *key, TUESDAY - timedelta(weeks=2), factor=9.0, estimated=True)
    series = noise.planted(series, *key, TUESDAY - timedelta(weeks=5), factor=9.0, estimated=True)
    usable = same_weekdays_before(series[key], TUESDAY)
    series = with_day(series, key, TUESDAY, round(statistics.median(usable) * 0.5))

    [alert] = run(series)

    assert alert.weeks_used == 6
    assert alert.baseline_median == statistics.median(usable)
    # one more unusable Tuesday (not reported): five are too few to judge by
    unreported = TUESDAY - timedelta(weeks=7)
    fewer = {
        **series,
        key: [DayValue(d.day, None) if d.day == unreported else d for d in series[key]],
    }
    assert run(fewer) == []


def test_fewer_than_six_usable_weeks_give_no_judgement() -> None:
    start = TUESDAY - timedelta(weeks=5)
    days = (TUESDAY - start).days + 1
    series: Series = {
        ("linkedin", "engagement"): flat(1_000, days, start),
        ("linkedin", "impressions"): flat(40_000, days, start),
    }
    series = with_day(series, ("linkedin", "engagement"), TUESDAY, 50)
    platform = anomalies.platforms_of(42, series)[0]

    assert anomalies.baseline(platform, "engagement", TUESDAY) is None
    assert anomalies.measure(platform, "engagement", TUESDAY) is None
    assert anomalies.preview(series, "high", start, TUESDAY, business_id=42) == []


@pytest.mark.parametrize(
    ("metric", "usual", "day_value", "fires"),
    [
        ("engagement", 1_000, 1_000, False),
        ("engagement", 1_000, 950, False),
        ("engagement", 1_000, 400, True),
        ("engagement", 1_000, 2_500, True),
        ("followers", 0, -10, False),
        ("followers", 0, -40, True),
        ("followers", 25, 25, False),
    ],
)
def test_a_flat_series_with_a_mad_of_zero_gives_finite_z_and_sensible_alerts(
    metric: InputMetric, usual: float, day_value: float, fires: bool
) -> None:
    series: Series = {
        ("facebook", "engagement"): flat(1_000),
        ("facebook", "impressions"): flat(40_000),
        ("facebook", "followers"): flat(25),
        ("facebook", metric): flat(usual),
    }
    series = with_day(series, ("facebook", metric), TUESDAY, day_value)
    platform = anomalies.platforms_of(42, series)[0]
    base = anomalies.baseline(platform, metric, TUESDAY)
    measured = anomalies.measure(platform, metric, TUESDAY)

    assert base is not None
    assert base.mad == 0
    assert measured is not None
    assert abs(measured.z) < 50
    assert [a.metric for a in run(series)] == ([metric] if fires else [])


def test_engagement_rate_alerts_alone_when_neither_count_explains_it() -> None:
    quiet = quiet_accounts()
    series = noise.planted(quiet, "instagram", "engagement", TUESDAY, factor=0.7)
    series = noise.planted(series, "instagram", "impressions", TUESDAY, factor=1.3)

    [alert] = run(series)

    def rate(day: date) -> float:
        engagement, impressions = (
            next(d.value for d in series[("instagram", m)] if d.day == day)
            for m in ("engagement", "impressions")
        )
        assert engagement is not None
        assert impressions
        return engagement * 100 / impressions

    usual = statistics.median(rate(TUESDAY - timedelta(weeks=w)) for w in range(1, 9))
    assert (alert.platform, alert.metric, alert.direction) == (
        "instagram",
        "engagement_rate",
        "below",
    )
    assert alert.value == pytest.approx(rate(TUESDAY))
    assert alert.baseline_median == pytest.approx(usual)
    assert alert.percent_change == pytest.approx((rate(TUESDAY) / usual - 1) * 100)


def test_engagement_rate_needs_impressions_above_the_guard() -> None:
    series: Series = {
        ("linkedin", "engagement"): flat(60),
        ("linkedin", "impressions"): flat(2_000),
    }
    series = with_day(series, ("linkedin", "engagement"), TUESDAY, 10)
    platform = anomalies.platforms_of(42, series)[0]

    assert platform.values["engagement_rate"][TUESDAY] == 0.5
    assert anomalies.measure(platform, "engagement_rate", TUESDAY) is None
    assert run(series, "high") == []


def test_the_relative_change_is_judged_on_a_ratio_scale() -> None:
    """-40 % and +67 % are the same distance from the usual; +50 % is less."""
    preset = anomalies.PRESETS["medium"]
    rule = anomalies.RULES["engagement"]

    assert anomalies.large_enough(600, 1_000, rule, preset)
    assert anomalies.large_enough(1_670, 1_000, rule, preset)
    assert not anomalies.large_enough(1_500, 1_000, rule, preset)
    assert not anomalies.large_enough(650, 1_000, rule, preset)


@pytest.mark.parametrize(
    "bad",
    [
        lambda s: {**s, ("linkedin", "engagement_rate"): []},
        lambda s: {**s, ("linkedin", "engagement"): [*s[("linkedin", "engagement")],
                                                     DayValue(TUESDAY, 1)]},
    ],
)  # fmt: skip
def test_a_malformed_input_is_refused(bad: Callable[[Series], Series]) -> None:
    with pytest.raises(ValueError, match=r"engagement_rate|appears twice"):
        run(bad(quiet_accounts()))


def test_the_sensitivities_are_ordered() -> None:
    low, medium, high = (anomalies.PRESETS[s] for s in ("low", "medium", "high"))

    assert low.min_abs_z >= medium.min_abs_z >= high.min_abs_z
    assert low.min_relative_change >= medium.min_relative_change >= high.min_relative_change
    assert anomalies.DEFAULT_SENSITIVITY == "medium"
