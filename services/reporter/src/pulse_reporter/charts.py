"""The report's charts as SVG strings, drawn on the server.

Hand-written rather than from a chart library: the few shapes needed (lines, bars, a grid
of cells) take a page of code, and writing them here gives exact control over what
WeasyPrint's SVG renderer draws — no script, no web font or stylesheet fetched, text in
the fonts the PDF already uses. Each chart carries a <title> and a <desc> with its numbers
(read by assistive technology and by text extraction), and every piece of text in it is
escaped. Platform colours are the dashboard's (services/dashboard/web/platforms.ts), so a
platform looks the same in the PDF as on the page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from .report_data import (
    EN_DASH,
    BestTimes,
    FollowerGrowth,
    PlatformRow,
    Trend,
    TrendPoint,
    format_count,
    format_pct,
    format_signed,
    format_signed_pct,
    platform_name,
)

PLATFORM_COLOURS = {
    "linkedin": "#0a66c2",
    "twitter": "#111827",
    "facebook": "#1877f2",
    "instagram": "#c13584",
}
OTHER_PLATFORM = "#4b5563"
ACCENT = "#4f46e5"  # the dashboard's accent: the trend line when the brand colour is too pale
PREVIOUS = "#9ca3af"
GRID = "#e5e7eb"
INK = "#111827"
MUTED = "#4b5563"
FONT = "Helvetica, Arial, 'DejaVu Sans', sans-serif"
SHORT_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def platform_colour(platform: str) -> str:
    return PLATFORM_COLOURS.get(platform, OTHER_PLATFORM)


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: float = 11,
    anchor: str = "start",
    fill: str = MUTED,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}">{escape(content)}</text>'
    )


def _svg(width: int, height: int, title: str, desc: str, body: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="{FONT}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{''.join(body)}</svg>"
    )


def nice_axis(value: float, ticks: int = 4) -> tuple[float, float]:
    """The axis top and its step: a step of 1, 2, 2.5 or 5 times a power of ten, about
    ``ticks`` of them up to at least ``value``."""
    if value <= 0:
        return 1.0, 0.25
    rough = value / ticks
    power = 10 ** math.floor(math.log10(rough))
    step = next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= rough)
    return step * math.ceil(value / step - 1e-9), step


def compact(value: float) -> str:
    """An axis label: 950, 12k, 2.5k, 1.25M."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.2f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.2f}".rstrip("0").rstrip(".")


# --- The trend line --------------------------------------------------------------------


def _bucket_label(point: TrendPoint, granularity: str) -> str:
    """Mon 23 for a day; 2-8 Nov, 30 Nov-6 Dec or 1 Nov for a week or month."""
    start, end = point.start, point.end
    if granularity == "daily" or start == end:
        day = f"{start.day} {MONTHS[start.month - 1]}"
        return f"{SHORT_DAYS[start.weekday()]} {start.day}" if granularity == "daily" else day
    if start.month == end.month:
        return f"{start.day}{EN_DASH}{end.day} {MONTHS[end.month - 1]}"
    return f"{start.day} {MONTHS[start.month - 1]}{EN_DASH}{end.day} {MONTHS[end.month - 1]}"


def trend_chart(
    trend: Trend,
    *,
    current_label: str,
    previous_label: str,
    colour: str = ACCENT,
    width: int = 640,
    height: int = 190,
) -> str:
    """The period's series as a line, the compared period's dashed behind it; a bucket the
    range cuts short (partial) is drawn hollow."""
    left, right, top, bottom = 46, 24, 28, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [p.value for p in (*trend.current, *trend.previous) if p.value is not None]
    top_value, step = nice_axis(max(values, default=0))
    n = len(trend.current)
    # Each bucket at its middle day, so a week the month cuts to a day or two sits close
    # to its neighbour instead of looking like a whole week.
    middles = [
        ((p.start - trend.current[0].start).days + (p.end - p.start).days / 2)
        for p in trend.current
    ]
    first, last = (middles[0], middles[-1]) if middles else (0.0, 0.0)

    def x(i: float) -> float:
        if last == first:
            return left + plot_w / 2
        return left + plot_w * (middles[int(i)] - first) / (last - first)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    body = []
    for k in range(round(top_value / step) + 1):
        v = step * k
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(_text(left - 6, y(v) + 4, compact(v), size=10, anchor="end"))
    for i, p in enumerate(trend.current):
        body.append(
            _text(x(i), height - 8, _bucket_label(p, trend.granularity), size=10, anchor="middle")
        )
    if trend.previous:
        body += _line(trend.previous[:n], x, y, PREVIOUS, dashed=True)
    body += _line(trend.current, x, y, colour, dashed=False)
    body += _legend(trend, current_label, previous_label, colour, left)
    desc = "; ".join(
        f"{_bucket_label(p, trend.granularity)}: {format_count(p.value)}"
        + (f" (before: {format_count(q.value)})" if q is not None else "")
        + (" (partial)" if p.partial else "")
        for p, q in zip(trend.current, _aligned(trend), strict=True)
    )
    title = f"{trend.label}, {current_label} against {previous_label}"
    return _svg(
        width, height, title if trend.previous else f"{trend.label}, {current_label}", desc, body
    )


def _aligned(trend: Trend) -> list[TrendPoint | None]:
    previous = list(trend.previous)
    return [previous[i] if i < len(previous) else None for i in range(len(trend.current))]


Scale = Callable[[float], float]


def _line(points: Sequence[TrendPoint], x: Scale, y: Scale, colour: str, dashed: bool) -> list[str]:
    """A polyline per run of known values (a missing value breaks the line), with dots."""
    out: list[str] = []
    run: list[str] = []
    for i, p in enumerate([*points, None]):
        if p is not None and p.value is not None:
            run.append(f"{x(i):.1f},{y(p.value):.1f}")
            continue
        if len(run) > 1:
            dash = ' stroke-dasharray="6 4"' if dashed else ""
            out.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                f'stroke-width="{1.5 if dashed else 2.5}"{dash} '
                f'stroke-linejoin="round" stroke-linecap="round"/>'
            )
        run = []
    if not dashed:
        for i, p in enumerate(points):
            if p.value is not None:
                fill = "#ffffff" if p.partial else colour
                out.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="3.5" '
                    f'fill="{fill}" stroke="{colour}" stroke-width="1.5"/>'
                )
    return out


def _legend(trend: Trend, current: str, previous: str, colour: str, left: int) -> list[str]:
    out = [
        f'<line x1="{left}" x2="{left + 22}" y1="12" y2="12" stroke="{colour}" '
        f'stroke-width="2.5"/>',
        _text(left + 28, 16, current, size=10.5, fill=INK),
    ]
    offset = left + 40 + 6.2 * len(current)
    if trend.previous:
        out.append(
            f'<line x1="{offset:.1f}" x2="{offset + 22:.1f}" y1="12" y2="12" '
            f'stroke="{PREVIOUS}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        out.append(_text(offset + 28, 16, previous, size=10.5, fill=INK))
        offset += 40 + 6.2 * len(previous)
    if any(p.partial for p in trend.current):
        out.append(
            f'<circle cx="{offset + 4:.1f}" cy="12" r="3.5" fill="#ffffff" '
            f'stroke="{colour}" stroke-width="1.5"/>'
        )
        out.append(_text(offset + 12, 16, "part of a week", size=10.5, fill=INK))
    return out


# --- Bars: platforms and follower growth ---------------------------------------------


def _bars(
    rows: Sequence[tuple[str, float | None, str]],
    *,
    title: str,
    desc: str,
    missing: str,
    width: int,
) -> str:
    """One horizontal bar per (platform, value, label); negative values to the left of a
    zero line; a row without a value says ``missing``."""
    label_w, value_w, row_h = 92, 120, 30
    height = row_h * len(rows) + 8
    known = [v for _, v, _ in rows if v is not None]
    low = min(0.0, *known) if known else 0.0
    high = max(0.0, *known) if known else 0.0
    span = (high - low) or 1.0
    plot_w = width - label_w - value_w

    def x(v: float) -> float:
        return label_w + plot_w * (v - low) / span

    body = []
    for i, (platform, value, label) in enumerate(rows):
        mid = 4 + row_h * i + row_h / 2
        body.append(
            _text(
                label_w - 10,
                mid + 4,
                platform_name(platform),
                size=11.5,
                anchor="end",
                fill=INK,
                weight="bold",
            )
        )
        if value is None:
            body.append(_text(x(0) + 4, mid + 4, missing, size=10.5))
            continue
        x0, x1 = sorted((x(0), x(value)))
        body.append(
            f'<rect x="{x0:.1f}" y="{mid - 9:.1f}" width="{max(x1 - x0, 1.5):.1f}" '
            f'height="18" rx="3" fill="{platform_colour(platform)}"/>'
        )
        body.append(_text(x1 + 6, mid + 4, label, size=11, fill=INK))
    body.append(
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="2" y2="{height - 2}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    return _svg(width, height, title, desc, body)


def platform_bars(rows: Sequence[PlatformRow], *, period_label: str, width: int = 640) -> str:
    """Each platform's engagement rate, in query-api's ranking."""
    bars = [(r.platform, r.engagement_rate, format_pct(r.engagement_rate)) for r in rows]
    desc = "; ".join(
        f"{platform_name(r.platform)}: {format_pct(r.engagement_rate)} engagement rate, "
        f"{format_count(r.posts)} posts, {format_count(r.impressions)} impressions"
        for r in rows
    )
    return _bars(
        bars,
        title=f"Engagement rate by platform, {period_label}",
        desc=desc,
        missing="no impressions reported",
        width=width,
    )


def follower_chart(rows: Sequence[FollowerGrowth], *, period_label: str, width: int = 640) -> str:
    """Followers gained (or lost) on each platform over the period."""

    def label(f: FollowerGrowth) -> str:
        pct = "" if f.growth_pct is None else f" ({format_signed_pct(f.growth_pct)})"
        return f"{format_signed(f.growth)}{pct}"

    bars = [(f.platform, None if f.growth is None else float(f.growth), label(f)) for f in rows]
    desc = "; ".join(
        f"{platform_name(f.platform)}: {label(f)}, {format_count(f.followers)} followers"
        if f.growth is not None
        else f"{platform_name(f.platform)}: no follower counts"
        for f in rows
    )
    return _bars(
        bars,
        title=f"Followers gained by platform, {period_label}",
        desc=desc,
        missing="no follower counts in this period",
        width=width,
    )


# --- Best times heatmap --------------------------------------------------------------

LOW, MID, HIGH = (245, 247, 255), (165, 180, 252), (49, 46, 129)  # the dashboard's indigo ramp
WINDOW = "#b45309"  # the recommended windows: amber 700, white text on it 5.0:1


def heat_span(best: BestTimes) -> float:
    """The scale's half-width: centred on the baseline, spanning the largest gap from it
    (at least a quarter of the baseline, so scores barely apart look barely apart)."""
    gaps = [abs(s.score - best.baseline_score) for s in best.slots]
    return max([0.01, 0.25 * abs(best.baseline_score), *gaps])


def heat_shade(score: float, baseline: float, span: float) -> str:
    """Pale below the average, a mid-tone at it, dark above (heatScale.ts's scale)."""
    t = min(1.0, max(0.0, 0.5 + 0.5 * (score - baseline) / span))
    a, b, f = (LOW, MID, t * 2) if t <= 0.5 else (MID, HIGH, (t - 0.5) * 2)
    return "#" + "".join(f"{round(a[i] + (b[i] - a[i]) * f):02x}" for i in range(3))


def best_times_heatmap(best: BestTimes, *, timezone: str, width: int = 640) -> str:
    """Each day and hour shaded by its score (the estimate the recommendations rank by);
    the recommended windows outlined and numbered."""
    left, top, cell_h = 38, 18, 24
    cell_w = (width - left - 12) / 24
    height = top + 7 * cell_h + 6
    span = heat_span(best)
    body = [
        _text(left + cell_w * h, 12, f"{h:02d}:00", size=8.5, anchor="middle")
        for h in range(0, 24, 3)
    ]
    for d in range(7):
        body.append(_text(left - 6, top + cell_h * d + 16, SHORT_DAYS[d], size=10, anchor="end"))
    for s in best.slots:
        body.append(
            f'<rect x="{left + cell_w * s.hour + 0.5:.1f}" y="{top + cell_h * s.day + 0.5:.1f}" '
            f'width="{cell_w - 1:.1f}" height="{cell_h - 1}" '
            f'fill="{heat_shade(s.score, best.baseline_score, span)}"/>'
        )
    for rank, r in enumerate(best.recommendations, start=1):
        hours = (r.end_hour - r.start_hour) % 24 + 1
        x, y = left + cell_w * r.start_hour, top + cell_h * r.day
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_w * hours:.1f}" '
            f'height="{cell_h}" fill="none" stroke="{WINDOW}" stroke-width="2.5"/>'
        )
        # The window's number in a badge inside its first hour (adjacent windows touch).
        cx, cy = x + min(cell_w / 2, 9), y + cell_h / 2
        body.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6.5" fill="{WINDOW}"/>')
        body.append(
            _text(cx, cy + 3.3, str(rank), size=9, anchor="middle", fill="#ffffff", weight="bold")
        )
    desc = (
        "; ".join(
            f"{i}. {r.label} ({r.posts} posts, score {format_pct(r.score)})"
            for i, r in enumerate(best.recommendations, start=1)
        )
        or best.message
    )
    title = f"Best times to post by day and hour ({timezone} time)"
    return _svg(width, height, title, desc, body)


def heat_legend(best: BestTimes) -> list[tuple[str, str]]:
    """Five (shade, score) steps from the lowest score to the highest, the average between."""
    scores = [s.score for s in best.slots] or [best.baseline_score]
    low, mid, high = min(scores), best.baseline_score, max(scores)
    span = heat_span(best)
    steps = (low, (low + mid) / 2, mid, (mid + high) / 2, high)
    return [(heat_shade(v, mid, span), format_pct(v)) for v in steps]
