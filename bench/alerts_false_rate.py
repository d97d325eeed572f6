"""False alerts and detection of the reporter's alert presets, on simulated noise.

``--businesses`` businesses x 4 platforms x 90 judged days (after the 8 weeks of history
the first one needs), from ``services/reporter/tests/noise.py`` with fixed seeds and a mix
of account sizes (~10, 60, 400, 5,000 engagements a day). Nothing happens in them, so
every alert is a false one: printed per 1,000 business-days (one business, one day, all
its platforms and metrics) for each sensitivity preset.

Then the same accounts with one drop planted on a judged day (engagement alone, or
impressions alone, times 0.7 or 0.5): the share of drops the preset reports on that day,
among the accounts above the metric's volume guard (small accounts are never judged, by
design). Pure Python, a few seconds. Run:
``uv run --frozen python bench/alerts_false_rate.py [--businesses N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from pulse_reporter import anomalies
from pulse_reporter.anomalies import InputMetric, Sensitivity

# The generator lives with the tests (services/reporter/tests/noise.py); the repository
# root makes it importable as the tests import it.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from services.reporter.tests import noise  # noqa: E402

HISTORY_DAYS = anomalies.BASELINE_WEEKS * 7
JUDGED_DAYS = 90
FIRST_DAY = date(2026, 3, 2)
FIRST_JUDGED = FIRST_DAY + timedelta(days=HISTORY_DAYS)
LAST_JUDGED = FIRST_JUDGED + timedelta(days=JUDGED_DAYS - 1)
DROPS = (0.7, 0.5)
DROP_METRICS: tuple[InputMetric, ...] = ("engagement", "impressions")


@dataclass(frozen=True)
class Business:
    business_id: int
    sizes: dict[str, float]
    series: dict[tuple[str, InputMetric], list[anomalies.DayValue]]


def businesses(count: int, seed: int) -> list[Business]:
    """``count`` quiet businesses, each platform's size drawn from noise.SIZES."""
    rng = random.Random(seed)
    out = []
    for business_id in range(1, count + 1):
        sizes = {p: noise.SIZES[rng.choice(list(noise.SIZES))] for p in noise.PLATFORMS}
        series = noise.quiet_business(
            rng.randrange(2**32), FIRST_DAY, HISTORY_DAYS + JUDGED_DAYS, sizes
        )
        out.append(Business(business_id, sizes, series))
    return out


def false_alerts(
    measured: list[list[list[anomalies.Measurement]]], sensitivity: Sensitivity
) -> list[list[anomalies.Anomaly]]:
    """Every alert the preset fires on quiet data, per business (its days measured once:
    the presets differ only in what they make of the same measurements)."""
    return [anomalies.fire(days, anomalies.PRESETS[sensitivity]) for days in measured]


def planted_drops(
    population: list[Business], metric: InputMetric, factor: float, seed: int
) -> list[anomalies.Measurement]:
    """One drop per account on a random judged day, measured (accounts under the volume
    guard, or whose day is not usable, cannot be judged and are left out)."""
    rng = random.Random(seed)
    out = []
    for b in population:
        for platform in noise.PLATFORMS:
            day = FIRST_JUDGED + timedelta(days=rng.randrange(JUDGED_DAYS))
            series = noise.planted(b.series, platform, metric, day, factor=factor, estimated=False)
            [account] = [
                d for d in anomalies.platforms_of(b.business_id, series) if d.platform == platform
            ]
            m = anomalies.measure(account, metric, day)
            if m is not None:
                out.append(m)
    return out


def detected(drops: list[anomalies.Measurement], sensitivity: Sensitivity) -> str:
    """The share of planted drops that the preset reports (as a drop) on their day."""
    if not drops:
        return "n/a"
    preset = anomalies.PRESETS[sensitivity]
    found = sum(anomalies.is_news(m, preset) and m.z < 0 for m in drops)
    return f"{found / len(drops):.0%}"


def size_of(population: list[Business], m: anomalies.Measurement) -> float:
    return population[m.days.business_id - 1].sizes[m.days.platform]


def print_presets(
    population: list[Business],
    measured: list[list[list[anomalies.Measurement]]],
    drops: dict[tuple[InputMetric, float], list[anomalies.Measurement]],
) -> None:
    business_days = len(population) * JUDGED_DAYS
    columns = [f"{m[:6]} {round((f - 1) * 100)}%" for m, f in drops]
    print(
        f"{'preset':<7} {'|z|>=':>5} {'change':>6} {'cooldown':>8} {'false/1k bd':>11} "
        f"{'businesses alerted':>18}  " + "  ".join(f"{c:>11}" for c in columns)
    )
    by_metric = {}
    for sensitivity in anomalies.SENSITIVITIES:
        p = anomalies.PRESETS[sensitivity]
        fired = false_alerts(measured, sensitivity)
        count = sum(len(f) for f in fired)
        alerted = sum(bool(f) for f in fired) / len(fired)
        by_metric[sensitivity] = Counter(a.metric for f in fired for a in f)
        print(
            f"{sensitivity:<7} {p.min_abs_z:>5} {p.min_relative_change:>6.0%} "
            f"{p.cooldown_days:>6} d {count * 1000 / business_days:>11.2f} {alerted:>18.1%}  "
            + "  ".join(f"{detected(d, sensitivity):>11}" for d in drops.values())
        )
    print("false alerts by metric: " + "; ".join(
        f"{s} " + ", ".join(f"{m} {c[m]}" for m in anomalies.METRICS) for s, c in by_metric.items()
    ))  # fmt: skip


def print_detection_by_size(
    population: list[Business], drops: list[anomalies.Measurement], label: str
) -> None:
    sizes = sorted({size_of(population, m) for m in drops})
    print(f"{label}, reported by account size (engagements a day; drops judged):")
    print(f"{'preset':<7} " + " ".join(
        f"{f'~{int(z):,} ({sum(size_of(population, m) == z for m in drops)})':>14}" for z in sizes
    ))  # fmt: skip
    for sensitivity in anomalies.SENSITIVITIES:
        cells = [
            detected([m for m in drops if size_of(population, m) == z], sensitivity) for z in sizes
        ]
        print(f"{sensitivity:<7} " + " ".join(f"{c:>14}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--businesses", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    started = time.perf_counter()
    population = businesses(args.businesses, args.seed)
    business_days = args.businesses * JUDGED_DAYS
    sizes = Counter(s for b in population for s in b.sizes.values())
    print(
        f"{args.businesses} businesses x 4 platforms x {JUDGED_DAYS} days = "
        f"{business_days:,} business-days; accounts by engagements a day: "
        + ", ".join(f"~{int(k):,}: {v}" for k, v in sorted(sizes.items()))
    )
    measured = [
        anomalies.measure_range(
            anomalies.platforms_of(b.business_id, b.series), FIRST_JUDGED, LAST_JUDGED
        )
        for b in population
    ]
    drops = {
        (metric, factor): planted_drops(population, metric, factor, args.seed + 1)
        for metric in DROP_METRICS
        for factor in DROPS
    }
    print_presets(population, measured, drops)
    print(
        "false/1k bd: alerts per 1,000 business-days on quiet data; businesses alerted: "
        "quiet businesses with at least one false alert in the 90 days; engage/impres "
        "-30%/-50%: one-day drops of that metric alone reported on their day, among the "
        "accounts the volume guard lets be judged "
        f"({', '.join(str(len(d)) for d in drops.values())} drops)."
    )
    print()
    print_detection_by_size(population, drops[("engagement", 0.5)], "Engagement -50%")
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
