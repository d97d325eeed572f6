"""Daily alerts: a completed local day whose value is far from its usual same weekday.

Pure: no I/O, no clock. The input is, per platform and metric, the activity-day values of
completed local days (what the posts *gained* that day, as query-api's activity-basis
trends give them), each ``(day, value or None, estimated)``:

- ``engagement`` and ``impressions``: the day's gains;
- ``followers``: the day's **net follower change** (query-api's daily ``follower_growth``:
  the accounts' count at the end of the day minus at the end of the day before). A net
  change, not a count: a count always looks like its last eight weeks;
- ``engagement_rate`` is not an input: it is derived per day from the same day's
  engagement and impressions with the shared formula, so it is never computed twice.

A day that is ``estimated`` (it holds gains made before Pulse first saw a post) or
``None`` (not reported) is left out, both as the judged day and from every baseline.

How a day is judged (:func:`measure`, then :func:`is_news`):

1. baseline: the same weekday in each of the 8 weeks before the day, the usable ones (at
   least 6, else no judgement); their median is the usual value the sentence gives;
2. robust z-score, z = 0.6745 x (x - median) / MAD, with x the day's value on the
   metric's scale: the logarithm for engagement, impressions and engagement rate (their
   noise is multiplicative: see ``MetricRule.log_offset``), the value itself for
   followers' net change. The MAD is the account's own day-to-day noise over the 8 weeks
   (every weekday against its own median, pooled), with floors (see :func:`spread`);
3. volume guard: the account is big enough for the metric (see ``RULES``);
4. news: |z| and the change reach the sensitivity's thresholds (``PRESETS``);
5. one message per event (an engagement-rate alert that engagement or impressions
   explains is dropped) and a cooldown per platform, metric and direction.

``bench/alerts_false_rate.py`` prints what the presets give on simulated noise.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, TypeAlias

from pulse_shared import formulas

Metric: TypeAlias = Literal["engagement", "impressions", "engagement_rate", "followers"]
InputMetric: TypeAlias = Literal["engagement", "impressions", "followers"]
Direction: TypeAlias = Literal["above", "below"]
Sensitivity: TypeAlias = Literal["low", "medium", "high"]

METRICS: tuple[Metric, ...] = ("engagement", "impressions", "engagement_rate", "followers")
INPUT_METRICS: tuple[InputMetric, ...] = ("engagement", "impressions", "followers")
SENSITIVITIES: tuple[Sensitivity, ...] = ("low", "medium", "high")
DEFAULT_SENSITIVITY: Sensitivity = "medium"

BASELINE_WEEKS = 8
MIN_BASELINE_WEEKS = 6
# 0.6745 is the standard normal's 75th percentile: MAD / 0.6745 estimates the standard
# deviation of normal data, so this z reads as "standard deviations" (Iglewicz-Hoaglin).
MAD_TO_Z = 0.6745
# The pooled MAD (see `spread`) takes a weekday's residuals from 3 usable values of it, and
# needs 20 residuals in all to be trusted.
MIN_WEEKDAY_SAMPLE = 3
MIN_POOLED_RESIDUALS = 20


@dataclass(frozen=True)
class DayValue:
    """One completed local day of one metric: ``None`` when it was not reported."""

    day: date
    value: float | None
    estimated: bool = False


SeriesByPlatformMetric: TypeAlias = Mapping[tuple[str, InputMetric], Sequence[DayValue]]


@dataclass(frozen=True)
class Preset:
    """A sensitivity: how far (|z|) and how large a change before an alert, and how long
    the same platform, metric and direction then stays quiet.

    ``min_relative_change`` r is measured on a ratio scale for counts and rates: a drop
    to at most (1 - r) x the median, or a rise to at least median / (1 - r) (r = 0.4: -40 %
    or +67 %), because their noise is multiplicative (a day at half the usual is as
    ordinary as a day at twice the usual). For followers' net change, |change| >= r x
    |median|.
    """

    name: Sensitivity
    min_abs_z: float
    min_relative_change: float
    cooldown_days: int


# Chosen with bench/alerts_false_rate.py, which prints each preset's false alerts per
# 1,000 business-days on simulated quiet accounts beside the share of one-day drops it
# reports. Daily activity has heavier tails than a normal law (a day without a post, a
# post that flops), so the thresholds sit far above the textbook |z| >= 3.5: `medium`
# aims at a false alert per business every few years, which leaves it reporting mostly
# drops of a half to two thirds; `high` accepts one every few months to report more and
# smaller drops; `low` keeps to the unmistakable. The relative change keeps a calm
# account (whose MAD is at the floor) from hearing about a 20 % dip.
PRESETS: Mapping[Sensitivity, Preset] = {
    "low": Preset("low", min_abs_z=10.0, min_relative_change=0.50, cooldown_days=7),
    "medium": Preset("medium", min_abs_z=8.0, min_relative_change=0.40, cooldown_days=7),
    "high": Preset("high", min_abs_z=5.5, min_relative_change=0.30, cooldown_days=3),
}


@dataclass(frozen=True)
class MetricRule:
    """What a metric needs before it is judged, its scale, and the floors of its MAD.

    ``log_offset``: the z-score is taken on ln(value + offset). Counts and rates vary by
    factors (a day at half the usual is as ordinary as one at twice the usual), so on
    their own scale a drop looks smaller than the rise it mirrors and ordinary rises look
    extreme; on a log scale both sides weigh the same and a residual is a ratio. The
    offset keeps a zero day finite. None: the value itself (followers' net change, which
    can be 0 or negative).
    """

    min_volume: float  # the volume guard (see RULES)
    min_abs_change: float  # |value - median| below this is never news, in the metric's unit
    log_offset: float | None
    mad_floor_rel: float  # a fraction of |median| (on a log scale: ln(1 + it))
    mad_floor_abs: float = 0.0  # in the metric's unit, for the value's own scale


# Volume guards. Engagement: a baseline median of 100 a day. Below it, counting noise
# alone (Poisson: 1/sqrt(100) = 10 %) and the dip of each day without a new post (most
# days, for an account that posts a few times a week) would make the account alarm on its
# own rhythm; an account of ~10 a day swings 3 -> 1 -> 12 by chance. Impressions: 3,000 a
# day (what ~100 engagements come with at typical rates). Engagement rate: the day's
# impressions AND the baseline days' median impressions at least 3,000, so each rate
# rests on ~50+ engagements. Followers: no guard on the baseline (a small account losing
# 40 followers in a day is news), but a net change at least 20 away from the usual one.
#
# MAD floors: a flat baseline (the same value every week, or a median of 0) has a MAD of
# 0, which would turn any change into an infinite z. On a log scale the floor is ln 1.03
# (a change of a few percent is never extreme on its own); followers' net change, whose
# median can be 0, has 5 % of |median| and at least 2 followers (about its granularity).
# Log offsets: one engagement or impression; 0.01 rate points.
RULES: Mapping[Metric, MetricRule] = {
    "engagement": MetricRule(100, min_abs_change=10, log_offset=1.0, mad_floor_rel=0.03),
    "impressions": MetricRule(3_000, min_abs_change=200, log_offset=1.0, mad_floor_rel=0.03),
    "engagement_rate": MetricRule(3_000, min_abs_change=0.3, log_offset=0.01, mad_floor_rel=0.03),
    "followers": MetricRule(0, min_abs_change=20, log_offset=None, mad_floor_rel=0.05,
                            mad_floor_abs=2),
}  # fmt: skip


@dataclass(frozen=True)
class Anomaly:
    """An alert on one metric of one platform's day, with every number its sentence says.

    ``change`` is ``value - baseline_median`` in the metric's unit (rate points for
    ``engagement_rate``, followers for ``followers``); ``percent_change`` is that change
    in percent of |median| (None when the median is 0).
    """

    business_id: int
    platform: str
    metric: Metric
    day: date
    value: float
    baseline_median: float
    weeks_used: int
    change: float
    percent_change: float | None
    z: float
    direction: Direction


@dataclass(frozen=True)
class Reconnection:
    """An account Pulse can no longer read (status ``needs_reconnection``) since ``since``
    (a UTC-aware timestamp: its ``last_synced_at``, or when the status changed)."""

    business_id: int
    platform: str
    account_name: str
    since: datetime


@dataclass(frozen=True)
class PlatformDays:
    """One platform's usable days per metric (estimated and unreported days left out), as
    values and on the scale their z-score is taken on (see MetricRule.log_offset)."""

    business_id: int
    platform: str
    values: Mapping[Metric, Mapping[date, float]]
    scaled: Mapping[Metric, Mapping[date, float]]
    # Memo of weekday_residuals: each week of residuals serves seven consecutive days.
    residual_memo: dict[tuple[Metric, date], list[float]] = field(
        default_factory=dict, compare=False, repr=False
    )


@dataclass(frozen=True)
class Baseline:
    """The usable same weekdays of the weeks before a day: their median (as a value, and
    on the z's scale: ``center``) and their MAD (on the z's scale)."""

    median: float
    center: float
    mad: float
    weeks_used: int
    days: tuple[date, ...]


@dataclass(frozen=True)
class Measurement:
    """A judgeable day (volume guard passed): its value beside its baseline, before any
    sensitivity is applied. The same for every preset, so a preview can be re-run."""

    days: PlatformDays
    metric: Metric
    day: date
    value: float
    baseline: Baseline
    z: float


# --- input ------------------------------------------------------------------------------


def usable_values(series: Iterable[DayValue]) -> dict[date, float]:
    """The days that can be judged or compared with: reported and not estimated."""
    out: dict[date, float] = {}
    seen: set[date] = set()
    for item in series:
        if item.day in seen:
            raise ValueError(f"day {item.day.isoformat()} appears twice in a series")
        seen.add(item.day)
        if item.value is not None and not item.estimated:
            out[item.day] = float(item.value)
    return out


def daily_rates(
    engagement: Mapping[date, float], impressions: Mapping[date, float]
) -> dict[date, float]:
    """The engagement rate of each day both are usable on, with impressions (shared formula)."""
    return {
        day: formulas.ratio_pct(value, impressions[day])
        for day, value in engagement.items()
        if impressions.get(day, 0) > 0
    }


def platform_days(
    business_id: int, platform: str, series: Mapping[InputMetric, Sequence[DayValue]]
) -> PlatformDays:
    """A platform's usable values of every input metric, and the derived engagement rate."""
    values: dict[Metric, Mapping[date, float]] = {
        metric: usable_values(series.get(metric, ())) for metric in INPUT_METRICS
    }
    values["engagement_rate"] = daily_rates(values["engagement"], values["impressions"])
    scaled = {metric: on_scale(values[metric], RULES[metric]) for metric in METRICS}
    return PlatformDays(business_id, platform, values, scaled)


def on_scale(values: Mapping[date, float], rule: MetricRule) -> Mapping[date, float]:
    """The values on the scale the z-score is taken on."""
    if rule.log_offset is None:
        return values
    offset = rule.log_offset
    return {day: math.log(max(value, 0.0) + offset) for day, value in values.items()}


def platforms_of(
    business_id: int, series_by_platform_metric: SeriesByPlatformMetric
) -> list[PlatformDays]:
    """The input, regrouped per platform (in a stable order) and made usable."""
    by_platform: dict[str, dict[InputMetric, Sequence[DayValue]]] = {}
    for (platform, metric), series in series_by_platform_metric.items():
        if metric not in INPUT_METRICS:
            raise ValueError(f"metric {metric!r} is not an input ({', '.join(INPUT_METRICS)})")
        by_platform.setdefault(platform, {})[metric] = series
    return [platform_days(business_id, p, s) for p, s in sorted(by_platform.items())]


# --- statistics ---------------------------------------------------------------------------


def same_weekdays(values: Mapping[date, float], day: date) -> tuple[date, ...]:
    """The usable same weekdays among the ``BASELINE_WEEKS`` weeks before ``day``."""
    weeks = (day - timedelta(weeks=w) for w in range(1, BASELINE_WEEKS + 1))
    return tuple(d for d in weeks if d in values)


def baseline(days: PlatformDays, metric: Metric, day: date) -> Baseline | None:
    """Median and MAD of ``day``'s usable same weekdays; None with fewer than
    ``MIN_BASELINE_WEEKS`` of them."""
    values, scaled = days.values[metric], days.scaled[metric]
    weeks = same_weekdays(values, day)
    if len(weeks) < MIN_BASELINE_WEEKS:
        return None
    sample = [scaled[d] for d in weeks]
    center = statistics.median(sample)
    mad = statistics.median(abs(v - center) for v in sample)
    median = statistics.median(values[d] for d in weeks)
    return Baseline(median, center, mad, len(weeks), weeks)


def weekday_residuals(days: PlatformDays, metric: Metric, anchor: date) -> list[float]:
    """|value - median| of ``anchor``'s usable same weekdays of the 8 weeks before it (on
    the z's scale); none with fewer than ``MIN_WEEKDAY_SAMPLE`` of them."""
    key = (metric, anchor)
    if key not in days.residual_memo:
        scaled = days.scaled[metric]
        sample = [scaled[d] for d in same_weekdays(scaled, anchor)]
        residuals: list[float] = []
        if len(sample) >= MIN_WEEKDAY_SAMPLE:
            center = statistics.median(sample)
            residuals = [abs(v - center) for v in sample]
        days.residual_memo[key] = residuals
    return days.residual_memo[key]


def pooled_mad(days: PlatformDays, metric: Metric, day: date) -> float | None:
    """The MAD of every usable day of the 8 weeks before ``day`` around its own weekday's
    median (on the z's scale); None with too few of them to trust."""
    residuals = [
        r
        for back in range(1, 8)
        for r in weekday_residuals(days, metric, day - timedelta(days=back - 7))
    ]
    if len(residuals) < MIN_POOLED_RESIDUALS:
        return None
    return statistics.median(residuals)


def mad_floor(base: Baseline, rule: MetricRule) -> float:
    """See RULES: a relative floor (a constant on a log scale) and an absolute one."""
    if rule.log_offset is not None:
        return math.log1p(rule.mad_floor_rel)
    return max(rule.mad_floor_rel * abs(base.median), rule.mad_floor_abs)


def spread(days: PlatformDays, metric: Metric, day: date, base: Baseline) -> float:
    """The MAD the z-score divides by.

    Pooled: the account's day-to-day noise over every weekday of the 8 weeks (up to 56
    residuals, each day against its own weekday's median), not the MAD of the judged
    weekday's 6-8 values alone. That one is so unstable that on plain Gaussian noise
    |z| >= 4 would happen on ~3 % of days (against ~0.1 % pooled): by chance, a weekday's
    few values agree closely and any ordinary day looks extreme. The weekday's own MAD
    stands in only when the pool is too small; :func:`mad_floor` holds both up (a flat
    series has a MAD of 0).
    """
    pooled = pooled_mad(days, metric, day)
    return max(base.mad if pooled is None else pooled, mad_floor(base, RULES[metric]))


def passes_volume_guard(days: PlatformDays, metric: Metric, day: date, base: Baseline) -> bool:
    """Big enough to judge (see RULES)."""
    rule = RULES[metric]
    if metric == "engagement_rate":
        impressions = days.values["impressions"]
        usual = statistics.median(impressions[d] for d in base.days)
        return min(impressions[day], usual) >= rule.min_volume
    return base.median >= rule.min_volume


def measure(days: PlatformDays, metric: Metric, day: date) -> Measurement | None:
    """``day``'s value beside its baseline, or None when it cannot be judged (not usable,
    fewer than 6 usable weeks, or under the volume guard)."""
    scaled = days.scaled[metric]
    if day not in scaled:
        return None
    base = baseline(days, metric, day)
    if base is None or not passes_volume_guard(days, metric, day, base):
        return None
    z = MAD_TO_Z * (scaled[day] - base.center) / spread(days, metric, day, base)
    return Measurement(days, metric, day, days.values[metric][day], base, z)


# --- judgement ----------------------------------------------------------------------------


def large_enough(value: float, median: float, rule: MetricRule, preset: Preset) -> bool:
    """The change clears the metric's absolute minimum and the preset's relative one."""
    if abs(value - median) < rule.min_abs_change:
        return False
    r = preset.min_relative_change
    if rule.log_offset is not None and median > 0:
        return value <= median * (1 - r) or value >= median / (1 - r)
    return abs(value - median) >= r * abs(median)


def is_news(m: Measurement, preset: Preset) -> bool:
    """Far enough (|z|) and large enough to tell someone, at this sensitivity."""
    return abs(m.z) >= preset.min_abs_z and large_enough(
        m.value, m.baseline.median, RULES[m.metric], preset
    )


def anomaly_of(m: Measurement) -> Anomaly:
    median = m.baseline.median
    return Anomaly(
        business_id=m.days.business_id,
        platform=m.days.platform,
        metric=m.metric,
        day=m.day,
        value=m.value,
        baseline_median=median,
        weeks_used=m.baseline.weeks_used,
        change=m.value - median,
        percent_change=formulas.growth_pct(m.value, median),
        z=m.z,
        direction="above" if m.value > median else "below",
    )


def judge_day(
    days: PlatformDays, metric: Metric, day: date, preset: Preset = PRESETS[DEFAULT_SENSITIVITY]
) -> Anomaly | None:
    """The alert ``day`` deserves on ``metric`` at this sensitivity, or None (not news, or
    not judgeable). No cooldown: see :func:`alerts_among`."""
    m = measure(days, metric, day)
    return anomaly_of(m) if m is not None and is_news(m, preset) else None


def without_redundant_rates(candidates: Sequence[Anomaly]) -> list[Anomaly]:
    """Drops an engagement-rate alert when engagement or impressions of the same platform
    is anomalous that day: the rate then only repeats that news (engagement halving at
    steady impressions halves the rate too). One event, one message."""
    explained = {a.platform for a in candidates if a.metric in ("engagement", "impressions")}
    return [a for a in candidates if a.metric != "engagement_rate" or a.platform not in explained]


def in_cooldown(candidate: Anomaly, earlier: Iterable[Anomaly], preset: Preset) -> bool:
    """An alert for the same platform, metric and direction fired on this day or in the
    ``cooldown_days`` before it (so a re-run of a day does not repeat it either)."""
    return any(
        e.business_id == candidate.business_id
        and e.platform == candidate.platform
        and e.metric == candidate.metric
        and e.direction == candidate.direction
        and 0 <= (candidate.day - e.day).days <= preset.cooldown_days
        for e in earlier
    )


def alerts_among(
    measured: Iterable[Measurement], preset: Preset, recent: Sequence[Anomaly]
) -> list[Anomaly]:
    """The alerts one day's measurements fire, given the alerts already sent."""
    candidates = [anomaly_of(m) for m in measured if is_news(m, preset)]
    return [a for a in without_redundant_rates(candidates) if not in_cooldown(a, recent, preset)]


# --- the daily job and the preview --------------------------------------------------------


def days_between(first_day: date, last_day: date) -> Iterator[date]:
    for offset in range((last_day - first_day).days + 1):
        yield first_day + timedelta(days=offset)


def measure_day(platforms: Iterable[PlatformDays], day: date) -> list[Measurement]:
    return [
        m
        for days in platforms
        for metric in METRICS
        if (m := measure(days, metric, day)) is not None
    ]


def measure_range(
    platforms: Sequence[PlatformDays], first_day: date, last_day: date
) -> list[list[Measurement]]:
    """Each day's measurements, in order: the part of a preview no preset changes."""
    return [measure_day(platforms, day) for day in days_between(first_day, last_day)]


def fire(measured_days: Iterable[Sequence[Measurement]], preset: Preset) -> list[Anomaly]:
    """Walks the days in order, each day's alerts muting the next ones by the cooldown."""
    fired: list[Anomaly] = []
    for measured in measured_days:
        fired.extend(alerts_among(measured, preset, fired))
    return fired


def daily_alerts(
    series_by_platform_metric: SeriesByPlatformMetric,
    sensitivity: Sensitivity,
    day: date,
    *,
    business_id: int,
    recent: Sequence[Anomaly] = (),
) -> list[Anomaly]:
    """The daily job's alerts for one business and one completed local day; ``recent``:
    the alerts already sent in the last ``cooldown_days`` (from the alerts table)."""
    platforms = platforms_of(business_id, series_by_platform_metric)
    return alerts_among(measure_day(platforms, day), PRESETS[sensitivity], recent)


def preview(
    series_by_platform_metric: SeriesByPlatformMetric,
    sensitivity: Sensitivity,
    first_day: date,
    last_day: date,
    *,
    business_id: int,
) -> list[Anomaly]:
    """What would have fired from ``first_day`` to ``last_day`` (included) with this
    sensitivity: "the last 90 days" needs the 8 weeks before them in the series too."""
    platforms = platforms_of(business_id, series_by_platform_metric)
    return fire(measure_range(platforms, first_day, last_day), PRESETS[sensitivity])
