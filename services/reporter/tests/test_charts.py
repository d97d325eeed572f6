"""The SVG charts: well-formed, titled, escaped, in the dashboard's platform colours."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from pathlib import Path

from pulse_reporter import charts
from pulse_reporter.report_data import FollowerGrowth, PlatformRow, Trend, TrendPoint
from services.reporter.tests.support import saved_report

SVG = "{http://www.w3.org/2000/svg}"
PLATFORMS_TS = Path(__file__).parents[2] / "dashboard" / "web" / "platforms.ts"


def parse(svg: str) -> ET.Element:
    """The chart as XML: it must be well-formed (our own output, not untrusted input)."""
    return ET.fromstring(svg)  # noqa: S314


def texts(svg: str) -> list[str]:
    return [t.text or "" for t in parse(svg).iter(f"{SVG}text")]


def test_platform_colours_are_the_dashboards() -> None:
    source = PLATFORMS_TS.read_text()
    dashboard = dict(
        re.findall(r'\n  (\w+): \{\n    name: "[^"]+",\n    color: "(#[0-9a-f]{6})"', source)
    )
    assert dashboard == charts.PLATFORM_COLOURS


def test_every_chart_is_well_formed_and_titled_first() -> None:
    report = saved_report("weekly")
    made = [
        charts.trend_chart(report.trends[0], current_label="this week", previous_label="before"),
        charts.platform_bars(report.platforms, period_label="this week"),
        charts.follower_chart(report.followers, period_label="this week"),
        charts.best_times_heatmap(report.best_times, timezone=report.timezone),
    ]
    for svg in made:
        root = parse(svg)
        assert root.get("role") == "img"
        assert root[0].tag == f"{SVG}title"
        assert root[0].text
        assert root[1].tag == f"{SVG}desc"
        assert root[1].text
        assert root.find(f".//{SVG}script") is None


def test_text_in_a_chart_is_escaped() -> None:
    report = saved_report("weekly")
    hostile = "<script>alert('x')</script> & co"
    svg = charts.trend_chart(report.trends[0], current_label=hostile, previous_label="before")
    assert "<script>" not in svg
    assert hostile in texts(svg)
    rows = [replace(report.platforms[0], platform="<b>new</b>")]
    bars = charts.platform_bars(rows, period_label=hostile)
    assert "<b>" not in bars
    assert "<b>new</b>" in texts(bars)
    assert hostile in (parse(bars)[0].text or "")


def test_the_trend_draws_the_previous_period_dashed_behind_the_current() -> None:
    trend = saved_report("weekly").trends[0]
    root = parse(charts.trend_chart(trend, current_label="now", previous_label="before"))
    lines = root.findall(f"{SVG}polyline")
    assert [line.get("stroke-dasharray") for line in lines] == ["6 4", None]
    assert len(root.findall(f"{SVG}circle")) == 7  # a dot per day of the period
    assert "Mon 23" in texts(charts.trend_chart(trend, current_label="a", previous_label="b"))
    alone = charts.trend_chart(replace(trend, previous=()), current_label="now", previous_label="x")
    assert [line.get("stroke-dasharray") for line in parse(alone).findall(f"{SVG}polyline")] == [
        None
    ]


def test_a_missing_value_breaks_the_line_and_a_partial_week_is_hollow() -> None:
    days = [date(2026, 11, d) for d in (1, 2, 9, 16)]
    trend = Trend(
        metric="engagement",
        label="Engagements",
        granularity="weekly",
        current=(
            TrendPoint(days[0], days[0], 10, partial=True),
            TrendPoint(days[1], date(2026, 11, 8), 50),
            TrendPoint(days[2], date(2026, 11, 15), None),
            TrendPoint(days[3], date(2026, 11, 22), 70),
        ),
        previous=(),
    )
    svg = charts.trend_chart(trend, current_label="November", previous_label="October")
    root = parse(svg)
    assert len(root.findall(f"{SVG}polyline")) == 1  # 1-2 Nov joined; 16 Nov stands alone
    fills = [c.get("fill") for c in root.findall(f"{SVG}circle")]
    assert fills.count("#ffffff") == 2  # the partial week's dot and the legend's
    assert {"1 Nov", "2\u20138 Nov", "part of a week"} <= set(texts(svg))


def test_bars_grow_left_for_a_loss_and_say_when_counts_are_missing() -> None:
    rows = [
        FollowerGrowth("linkedin", 2754, 47, 1.74),
        FollowerGrowth("instagram", 18695, -20, -0.11),
        FollowerGrowth("twitter", None, None, None),
    ]
    svg = charts.follower_chart(rows, period_label="this week")
    root = parse(svg)
    bars = root.findall(f"{SVG}rect")
    zero = float(root.findall(f"{SVG}line")[-1].get("x1") or 0)
    assert float(bars[0].get("x") or 0) == zero  # a gain starts at zero
    loss = bars[1]
    assert float(loss.get("x") or 0) + float(loss.get("width") or 0) == zero
    assert bars[1].get("fill") == "#c13584"
    assert {"+47 (+1.7%)", "\u221220 (\u22120.1%)", "no follower counts in this period"} <= set(
        texts(svg)
    )


def test_platform_bars_are_in_platform_colours_and_say_the_rate() -> None:
    rows = [PlatformRow("linkedin", 3, 1000, 40, 4.0, 5, 50.0, 60.0)]
    svg = charts.platform_bars(rows, period_label="this week")
    assert parse(svg).findall(f"{SVG}rect")[0].get("fill") == "#0a66c2"
    assert "4.0%" in texts(svg)


def test_the_heatmap_shades_every_hour_and_outlines_the_recommendations() -> None:
    best = saved_report("weekly").best_times
    root = parse(charts.best_times_heatmap(best, timezone="America/New_York"))
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == 168 + len(best.recommendations)
    outlines = [r for r in rects if r.get("fill") == "none"]
    assert [o.get("stroke") for o in outlines] == [charts.WINDOW] * 3
    assert "America/New_York" in (root[0].text or "")
    assert "1. Wednesday 10:00\u201312:00 (9 posts" in (root[1].text or "")


def test_the_heat_scale_is_the_dashboards() -> None:
    assert charts.heat_shade(2.0, 2.0, 1.0) == "#a5b4fc"  # the average: indigo 300
    assert charts.heat_shade(9.0, 2.0, 1.0) == "#312e81"  # far above: indigo 900
    assert charts.heat_shade(-9.0, 2.0, 1.0) == "#f5f7ff"
    legend = charts.heat_legend(saved_report("weekly").best_times)
    assert len(legend) == 5
    assert legend[2] == ("#a5b4fc", "1.6%")


def test_axis_steps_are_round_numbers() -> None:
    assert charts.nice_axis(2637) == (3000, 1000)
    assert charts.nice_axis(166375) == (200000, 50000)
    assert charts.nice_axis(7522) == (8000, 2000)
    assert charts.nice_axis(0) == (1.0, 0.25)
    assert [charts.compact(v) for v in (0, 950, 2500, 12000, 1250000)] == [
        "0",
        "950",
        "2.5k",
        "12k",
        "1.25M",
    ]
