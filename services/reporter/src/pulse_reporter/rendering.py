"""A report as a PDF (WeasyPrint: HTML and CSS to PDF, no browser) and as an email.

Nothing here reaches the network. The templates name no external resource; the logo and
the post thumbnails arrive as bytes and are embedded as data: URIs; and WeasyPrint gets a
fetcher that refuses every URL but a data: URI, so even an SVG logo that points elsewhere
makes it fetch nothing. All text goes through Jinja2 with autoescape on (the HTML
templates); the plain-text email is written unescaped, as plain text must be.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from . import charts
from .report_data import (
    Report,
    change_direction,
    format_change,
    format_count,
    format_local_time,
    format_pct,
    format_period,
    format_signed,
    format_signed_pct,
    format_value,
    period_title,
    platform_name,
)

HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
DEFAULT_COLOUR = "#4f46e5"  # the dashboard's accent
# The image types a logo or thumbnail may have, each with how its bytes begin.
IMAGE_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "image/svg+xml": (b"<svg", b"<?xml"),
}
MAX_IMAGE_BYTES = 2_000_000  # a logo or thumbnail larger than this is refused, not embedded
INK, WHITE = "#111827", "#ffffff"


# --- What the caller passes ----------------------------------------------------------


@dataclass(frozen=True)
class EmbeddedImage:
    """An image's bytes, embedded in the document as a data: URI (never fetched)."""

    data: bytes = field(repr=False)
    media_type: str

    def __post_init__(self) -> None:
        starts = IMAGE_TYPES.get(self.media_type)
        if starts is None:
            raise ValueError(f"media_type must be one of {sorted(IMAGE_TYPES)}")
        if not 0 < len(self.data) <= MAX_IMAGE_BYTES:
            raise ValueError(f"an image must be 1 to {MAX_IMAGE_BYTES:,} bytes")
        if not self.data.lstrip().startswith(starts):
            raise ValueError(f"the bytes are not a {self.media_type} image")

    @property
    def data_uri(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class Branding:
    """How the business's reports look: the name shown, its colour, optionally its logo."""

    display_name: str
    colour: str = DEFAULT_COLOUR
    logo: EmbeddedImage | None = None

    def __post_init__(self) -> None:
        name = self.display_name.strip()
        if not name or len(name) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValueError("display_name must be 1-200 characters without control characters")
        if not HEX_COLOUR.fullmatch(self.colour):
            raise ValueError("colour must be a hex colour such as #0a66c2")
        short = self.colour[1:]
        full = "".join(c * 2 for c in short) if len(short) == 3 else short
        object.__setattr__(self, "display_name", name)
        object.__setattr__(self, "colour", f"#{full.lower()}")


@dataclass(frozen=True)
class EmailLinks:
    view_url: str  # the report's period in Pulse
    unsubscribe_url: str

    def __post_init__(self) -> None:
        for name in ("view_url", "unsubscribe_url"):
            parts = urlsplit(getattr(self, name))
            if parts.scheme not in ("https", "http") or not parts.netloc:
                raise ValueError(f"{name} must be an absolute http(s) URL")


class RenderedEmail(NamedTuple):
    subject: str
    html: str
    text: str


# --- Colours -------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    def linear(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(colour: str) -> str:
    """White or ink, whichever reads better on ``colour``."""
    return WHITE if contrast(colour, WHITE) >= contrast(colour, INK) else INK


def line_colour(brand: str) -> str:
    """The brand colour for chart lines and rules when it stands out on white (3:1), else
    the dashboard's accent: a pale brand colour would leave the trend line unseen."""
    return brand if contrast(brand, WHITE) >= 3 else DEFAULT_COLOUR


# --- Templates -----------------------------------------------------------------------


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pulse_reporter", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        count=format_count,
        pct=format_pct,
        signed=format_signed,
        signed_pct=format_signed_pct,
        change=format_change,
        direction=change_direction,
        value=format_value,
        period=format_period,
        platform=platform_name,
    )
    return env


ENV = _environment()


def _safe_link(url: str | None) -> str | None:
    """A post's permalink, linked only when it is an http(s) address."""
    if url is None:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("https", "http") and parts.netloc else None


def _common(report: Report, branding: Branding) -> dict[str, Any]:
    return {
        "report": report,
        "brand": branding,
        "on_brand": text_on(branding.colour),
        "accent": line_colour(branding.colour),
        "title": period_title(report.kind, report.period),
        "kind_word": "Weekly" if report.kind == "weekly" else "Monthly",
        "unit_word": "week" if report.kind == "weekly" else "month",
        "data_as_of": format_local_time(report.freshness.data_as_of, report.timezone),
    }


def _chart(svg: str) -> Markup:
    """A chart from :mod:`charts`, which escapes every text it draws: safe as it is."""
    return Markup(svg)  # noqa: S704


def _charts(report: Report, accent: str) -> dict[str, Any]:
    now, before = format_period(report.period), format_period(report.previous_period)
    trends = [
        (t.label, charts.trend_chart(t, current_label=now, previous_label=before, colour=accent))
        for t in report.trends
    ]
    return {
        "trends": [(label, _chart(svg)) for label, svg in trends],
        "platforms": _chart(charts.platform_bars(report.platforms, period_label=now)),
        "followers": _chart(charts.follower_chart(report.followers, period_label=now)),
        "best_times": _chart(
            charts.best_times_heatmap(report.best_times, timezone=report.timezone)
        ),
    }


def highlights(report: Report) -> list[str]:
    """The cover's few sentences for a reader who reads nothing else: the first platform
    insight, the best post, when to post, the followers gained (query-api's numbers)."""
    out = list(report.insights[:1])
    if report.top_posts:
        best = report.top_posts[0]
        text = best.text if len(best.text) <= 70 else best.text[:69].rstrip() + "…"
        out.append(
            f"Best post: “{text}” on {platform_name(best.platform)}, "
            f"{format_pct(best.engagement_rate)} engagement rate"
        )
    times = report.best_times
    if times.recommendations:
        out.append(f"Best time to post: {times.recommendations[0].label} ({report.timezone} time)")
    gained = report.card("follower_growth")
    if gained is not None and gained.value is not None:
        out.append(
            f"{format_signed(gained.value)} followers, "
            f"{format_count(report.total_followers)} in all"
        )
    return out


def report_html(
    report: Report, branding: Branding, thumbnails: Mapping[int, EmbeddedImage] | None = None
) -> str:
    """The PDF's HTML (also what a "preview" could show)."""
    thumbnails = thumbnails or {}
    posts = [
        {
            "post": p,
            "thumbnail": thumbnails[p.post_id].data_uri if p.post_id in thumbnails else None,
            "link": _safe_link(p.permalink),
            "published": format_local_time(p.published_at, report.timezone),
            "colour": charts.platform_colour(p.platform),
        }
        for p in report.top_posts
    ]
    context = _common(report, branding)
    return ENV.get_template("report.html").render(
        **context,
        charts=_charts(report, context["accent"]),
        highlights=highlights(report),
        posts=posts,
        heat_legend=charts.heat_legend(report.best_times),
        colour_of=charts.platform_colour,
    )


class DataOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """WeasyPrint's fetcher, allowed data: URIs only: any other URL (http, file, ...) is
    refused and remembered in ``refused``; WeasyPrint then leaves that resource out."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=1)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        if not url.lower().startswith("data:"):
            self.refused.append(url)
            raise ValueError(f"the report fetches nothing: {url[:80]} refused")
        return super().fetch(url, headers)


def render_pdf(
    report: Report,
    branding: Branding,
    thumbnails: Mapping[int, EmbeddedImage] | None = None,
    *,
    fetcher: DataOnlyFetcher | None = None,
) -> bytes:
    """The report as a PDF. ``thumbnails``: images of top posts by post id, fetched by the
    caller (a post without one shows a neutral placeholder)."""
    html = HTML(
        string=report_html(report, branding, thumbnails),
        base_url=None,
        url_fetcher=fetcher or DataOnlyFetcher(),
    )
    pdf: bytes = html.write_pdf()
    return pdf


def render_email(report: Report, branding: Branding, links: EmailLinks) -> RenderedEmail:
    """The email: subject, HTML (tables and inline CSS, as mail clients need) and the plain
    text alternative. The PDF travels as its attachment."""
    context = _common(report, branding)
    context["links"] = links
    context["platform_line"] = " · ".join(
        f"{platform_name(p.platform)} {format_pct(p.engagement_rate)}" for p in report.platforms
    )
    subject = f"{branding.display_name}: {context['kind_word'].lower()} report, " + (
        format_period(report.period)
    )
    return RenderedEmail(
        subject=subject,
        html=ENV.get_template("email.html").render(**context),
        text=ENV.get_template("email.txt").render(**context),
    )
