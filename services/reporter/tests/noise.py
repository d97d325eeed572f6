"""Seeded daily activity series that look like a real business's, for alert tests and the
false-alert bench (``bench/alerts_false_rate.py``).

One account (a business on one platform) is an :class:`AccountProfile`; a day's numbers
are built as:

- activity level = typical engagement x weekday factor x slow trend (``exp(trend x t)``);
- x a lognormal day factor (``day_sigma``: larger accounts post more and add up more
  posts, so their days are smoother) shared by engagement and impressions;
- x a dip on a day without a new post (``skip_rate``; older posts still gain, so the day
  keeps ``skip_factor`` of its usual activity);
- engagement is a Poisson count around that level (so a small account has zero days);
  impressions are a Poisson count around level / the day's engagement rate, itself
  lognormal around the platform's typical rate;
- followers: the day's net change = new followers (Poisson, with the day's mood) minus
  unfollows (Poisson);
- a few days are not reported (``None``) and a few are ``estimated`` (holding gains made
  before Pulse first saw a post, so inflated).

Everything is drawn from the ``random.Random`` passed in: same seed, same series.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from pulse_reporter.anomalies import DayValue, InputMetric, SeriesByPlatformMetric

PLATFORMS = ("linkedin", "twitter", "facebook", "instagram")

# Typical engagements per weekday for the account sizes the bench and tests use.
SIZES: Mapping[str, float] = {"small": 10, "modest": 60, "medium": 400, "large": 5_000}

# Weekday shapes (Mon..Sun): LinkedIn and X are work-week platforms, Facebook and
# Instagram flatter with busier evenings and weekends.
_WEEKDAYS: Mapping[str, tuple[float, ...]] = {
    "linkedin": (1.05, 1.15, 1.12, 1.08, 0.95, 0.45, 0.40),
    "twitter": (1.05, 1.08, 1.08, 1.05, 1.0, 0.75, 0.70),
    "facebook": (0.95, 0.98, 1.0, 1.0, 1.02, 1.05, 1.0),
    "instagram": (0.95, 0.95, 1.0, 1.0, 1.05, 1.1, 1.05),
}
# Typical engagement rates (%), per platform.
_RATES: Mapping[str, float] = {"linkedin": 3.0, "twitter": 1.2, "facebook": 1.8, "instagram": 4.0}


@dataclass(frozen=True)
class AccountProfile:
    platform: str
    engagement_per_day: float
    weekday_factors: tuple[float, ...]
    trend_per_day: float  # log-slope: 0.002 is about +20 % over 90 days
    day_sigma: float
    skip_rate: float
    skip_factor: float
    rate_pct: float
    rate_sigma: float
    followers_per_day: float
    unfollows_per_day: float
    missing_rate: float = 0.01
    estimated_rate: float = 0.02


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count (Knuth's method below 30, its normal approximation above)."""
    if mean <= 0:
        return 0
    if mean >= 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def account_profile(rng: random.Random, platform: str, engagement_per_day: float) -> AccountProfile:
    """A plausible account of this size on this platform, its quirks drawn from ``rng``."""
    size = math.log10(max(engagement_per_day, 1))  # 1 for 10 a day, 3.7 for 5,000
    shape = _WEEKDAYS[platform]
    return AccountProfile(
        platform=platform,
        engagement_per_day=engagement_per_day * rng.uniform(0.8, 1.25),
        weekday_factors=tuple(f * rng.uniform(0.92, 1.08) for f in shape),
        trend_per_day=rng.uniform(-0.0015, 0.003),
        day_sigma=rng.uniform(0.8, 1.2) * max(0.10, 0.32 - 0.05 * size),
        skip_rate=max(0.01, 0.15 - 0.04 * size),
        skip_factor=min(0.8, 0.25 + 0.13 * size),
        rate_pct=_RATES[platform] * rng.uniform(0.7, 1.4),
        rate_sigma=rng.uniform(0.08, 0.15),
        followers_per_day=engagement_per_day * rng.uniform(0.03, 0.08),
        unfollows_per_day=engagement_per_day * rng.uniform(0.01, 0.03),
    )


def quiet_profile(platform: str, engagement_per_day: float) -> AccountProfile:
    """A calm, steady account (no trend, small day-to-day noise, no skipped days), for tests
    that plant one event and must see only it."""
    return AccountProfile(
        platform=platform,
        engagement_per_day=engagement_per_day,
        weekday_factors=_WEEKDAYS[platform],
        trend_per_day=0.0,
        day_sigma=0.03,
        skip_rate=0.0,
        skip_factor=1.0,
        rate_pct=_RATES[platform],
        rate_sigma=0.04,
        followers_per_day=engagement_per_day * 0.05,
        unfollows_per_day=engagement_per_day * 0.02,
        missing_rate=0.0,
        estimated_rate=0.0,
    )


def _activity_day(
    rng: random.Random, profile: AccountProfile, day: date, t: int
) -> tuple[DayValue, DayValue]:
    level = (
        profile.engagement_per_day
        * profile.weekday_factors[day.weekday()]
        * math.exp(profile.trend_per_day * t)
        * rng.lognormvariate(0, profile.day_sigma)
    )
    if rng.random() < profile.skip_rate:
        level *= profile.skip_factor
    rate = profile.rate_pct * rng.lognormvariate(0, profile.rate_sigma)
    engagement, impressions = poisson(rng, level), poisson(rng, level * 100 / rate)
    roll = rng.random()
    if roll < profile.missing_rate:
        return DayValue(day, None), DayValue(day, None)
    if roll < profile.missing_rate + profile.estimated_rate:
        boost = rng.uniform(1.5, 3.0)
        return (
            DayValue(day, round(engagement * boost), estimated=True),
            DayValue(day, round(impressions * boost), estimated=True),
        )
    return DayValue(day, engagement), DayValue(day, impressions)


def _follower_day(rng: random.Random, profile: AccountProfile, day: date) -> DayValue:
    if rng.random() < profile.missing_rate:
        return DayValue(day, None)
    mood = rng.lognormvariate(0, 0.2) * math.sqrt(profile.weekday_factors[day.weekday()])
    gains = poisson(rng, profile.followers_per_day * mood)
    return DayValue(day, gains - poisson(rng, profile.unfollows_per_day))


def simulate_account(
    rng: random.Random, profile: AccountProfile, first_day: date, days: int
) -> dict[InputMetric, list[DayValue]]:
    """``days`` consecutive local days from ``first_day`` of one account."""
    out: dict[InputMetric, list[DayValue]] = {"engagement": [], "impressions": [], "followers": []}
    for t in range(days):
        day = first_day + timedelta(days=t)
        engagement, impressions = _activity_day(rng, profile, day, t)
        out["engagement"].append(engagement)
        out["impressions"].append(impressions)
        out["followers"].append(_follower_day(rng, profile, day))
    return out


def business_series(
    rng: random.Random, profiles: Sequence[AccountProfile], first_day: date, days: int
) -> dict[tuple[str, InputMetric], list[DayValue]]:
    """A business's accounts (one profile per platform), keyed as the alerts take them."""
    return {
        (profile.platform, metric): series
        for profile in profiles
        for metric, series in simulate_account(rng, profile, first_day, days).items()
    }


def quiet_business(
    seed: int,
    first_day: date,
    days: int,
    sizes: Mapping[str, float] | None = None,
) -> dict[tuple[str, InputMetric], list[DayValue]]:
    """A business on all four platforms with realistic noise and nothing happening.
    ``sizes``: typical engagements a day per platform (default: one draw of SIZES each)."""
    rng = random.Random(seed)
    chosen = sizes or {p: SIZES[rng.choice(list(SIZES))] for p in PLATFORMS}
    profiles = [account_profile(rng, p, chosen[p]) for p in PLATFORMS if p in chosen]
    return business_series(rng, profiles, first_day, days)


def planted(
    series: SeriesByPlatformMetric,
    platform: str,
    metric: InputMetric,
    day: date,
    *,
    factor: float | None = None,
    value: float | None = None,
    estimated: bool | None = None,
) -> dict[tuple[str, InputMetric], list[DayValue]]:
    """A copy of ``series`` with one day of one metric changed: its value times ``factor``
    (rounded, as counts are), or set to ``value``, and/or its ``estimated`` flag set."""
    out = {key: list(days) for key, days in series.items()}
    days = out[(platform, metric)]
    [index] = [i for i, d in enumerate(days) if d.day == day]
    item = days[index]
    new_value = item.value
    if factor is not None and item.value is not None:
        new_value = round(item.value * factor)
    if value is not None:
        new_value = value
    days[index] = replace(
        item, value=new_value, estimated=item.estimated if estimated is None else estimated
    )
    return out
