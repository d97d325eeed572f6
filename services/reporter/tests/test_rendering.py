"""The PDF (real WeasyPrint, read back with poppler's tools) and the email.

The PDFs and their pages as PNGs are kept in tests/output/ (ignored by git) to be looked
at: weekly-report.pdf and weekly-report-1.png ... are the demo business's report.
"""

from __future__ import annotations

import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pulse_reporter.rendering import (
    Branding,
    DataOnlyFetcher,
    EmailLinks,
    EmbeddedImage,
    contrast,
    highlights,
    line_colour,
    render_email,
    render_pdf,
    report_html,
    text_on,
)
from pulse_reporter.report_data import AccountIssue, Report
from services.reporter.tests.support import saved_report

OUTPUT = Path(__file__).parent / "output"
LINKS = EmailLinks(
    view_url="https://pulse.example.com/businesses/1/overview?start_date=2026-11-23",
    unsubscribe_url="https://pulse.example.com/unsubscribe/abc123",
)


def png(width: int, height: int, paint: tuple[int, int, int]) -> bytes:
    """A small RGBA PNG: a disc of ``paint`` on a transparent square (written here, so the
    test needs no image library and its bytes never change)."""

    def pixel(x: int, y: int) -> bytes:
        inside = (x - width / 2 + 0.5) ** 2 + (y - height / 2 + 0.5) ** 2 <= (width / 2) ** 2
        return bytes((*paint, 255)) if inside else b"\x00\x00\x00\x00"

    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


LOGO = EmbeddedImage(png(96, 96, (15, 118, 110)), "image/png")
BRAND = Branding("Acme 1", "#0f766e", LOGO)


def keep(name: str, pdf: bytes, *, as_pngs: bool = True) -> Path:
    """Write the PDF into tests/output/ and (``as_pngs``) its pages as PNGs beside it."""
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / ".gitignore").write_text("*\n")
    for old in OUTPUT.glob(f"{name}-*.png"):
        old.unlink()
    path = OUTPUT / f"{name}.pdf"
    path.write_bytes(pdf)
    if as_pngs:
        command = ["pdftoppm", "-png", "-r", "110", str(path), str(OUTPUT / name)]
        subprocess.run(command, check=True)
    return path


def pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    return int(
        next(line.split()[1] for line in info.stdout.splitlines() if line.startswith("Pages:"))
    )


def text(path: Path, page: int | None = None) -> str:
    """The PDF's text (one page's, or all), its whitespace runs made single spaces."""
    span = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(
        ["pdftotext", *span, str(path), "-"], check=True, capture_output=True, text=True
    )
    return " ".join(out.stdout.split())


def images(path: Path) -> int:
    """How many raster images the PDF embeds."""
    listing = subprocess.run(
        ["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True
    )
    return sum(1 for line in listing.stdout.splitlines()[2:] if line.split()[2] == "image")


# --- The PDF -----------------------------------------------------------------------------


def test_the_weekly_report_is_four_pages_with_the_headline_numbers() -> None:
    path = keep("weekly-report", render_pdf(saved_report("weekly"), BRAND))
    assert pages(path) == 4
    assert sorted(p.name for p in OUTPUT.glob("weekly-report-*.png")) == [
        f"weekly-report-{n}.png" for n in range(1, 5)
    ]
    cover = text(path, 1)
    for shown in (
        "Acme 1",
        "Week of 23\u201329 Nov 2026",
        "Compared with 16\u201322 Nov 2026",
        "421,614",
        "7,522",
        "173",
        "1.8%",
        "▲ +16.5%",
        "▼ \u22121.1%",
        "+178 followers, 21,449 in all",
    ):
        assert shown in cover, shown
    whole = text(path)
    for shown in (
        "Instagram posts earn 3.3× the engagement rate of X posts",  # noqa: RUF001
        "Top five posts",
        "Our take on the state of social media (video #12)",
        "26 Nov 2026, 08:41 EST",
        "Best times to post",
        "Wednesday 10:00\u201312:00",
        "Followers",
        "18,695",
    ):
        assert shown in whole, shown
    assert images(path) == 1  # the logo


def test_the_monthly_report_names_its_month() -> None:
    path = keep("monthly-report", render_pdf(saved_report("monthly"), BRAND))
    assert pages(path) == 4
    cover = text(path, 1)
    assert "November 2026" in cover
    assert "1,363,164" in cover
    assert "Compared with 2\u201331 Oct 2026" in cover


def test_stale_data_is_said_on_the_first_page() -> None:
    report = saved_report("weekly")
    stale = keep("stale-report", render_pdf(report, BRAND), as_pngs=False)
    assert "Some numbers in this report may be out of date" in text(stale, 1)
    assert "33 of the 173 posts in this report have numbers older" in text(stale, 1)


def test_an_account_to_reconnect_is_said_on_the_first_page() -> None:
    report = saved_report("weekly")
    issue = AccountIssue("linkedin", "Acme Corp page", "the token was revoked")
    fresh = replace(report.freshness, stale_posts=0)
    path = keep(
        "reconnect-report",
        render_pdf(replace(report, freshness=replace(fresh, needs_reconnection=(issue,))), BRAND),
    )
    cover = text(path, 1)
    assert "The LinkedIn account Acme Corp page needs to be reconnected" in cover
    assert "numbers older" not in cover


def test_fresh_data_shows_no_notice() -> None:
    report = saved_report("weekly")
    fresh = replace(report, freshness=replace(report.freshness, stale_posts=0))
    path = keep("fresh-report", render_pdf(fresh, Branding("Acme 1")), as_pngs=False)
    assert "out of date" not in text(path)
    assert images(path) == 0  # no logo given


# --- Nothing is fetched --------------------------------------------------------------------


@pytest.fixture
def listening() -> Iterator[tuple[str, list[str]]]:
    """A local web server that records every request it gets."""
    requests: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = png(4, 4, (255, 0, 0))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def test_the_pdf_fetches_no_url_and_embeds_only_given_thumbnails(
    listening: tuple[str, list[str]],
) -> None:
    base, requests = listening
    report = saved_report("weekly")
    first, second, *rest = report.top_posts
    planted = (
        replace(first, thumbnail_url=f"{base}/thumbnail.png", text=f'<img src="{base}/text.png">'),
        second,
        *rest,
    )
    svg_logo = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
        f'<image href="{base}/logo.png" width="40" height="40"/>'
        '<circle cx="20" cy="20" r="18" fill="#0f766e"/></svg>'
    )
    branding = Branding("Acme 1", "#0f766e", EmbeddedImage(svg_logo.encode(), "image/svg+xml"))
    fetcher = DataOnlyFetcher()
    pdf = render_pdf(
        replace(report, top_posts=planted),
        branding,
        {second.post_id: EmbeddedImage(png(64, 64, (200, 120, 30)), "image/png")},
        fetcher=fetcher,
    )
    path = keep("no-fetch-report", pdf)
    assert requests == []
    assert fetcher.refused == [f"{base}/logo.png"]  # the fetcher was asked, and said no
    assert images(path) == 1  # the thumbnail given as bytes; the first post a placeholder
    assert f'<img src="{base}/text.png">' in text(path)  # the post's text, as text


def test_the_fetcher_serves_data_uris_and_refuses_everything_else() -> None:
    fetcher = DataOnlyFetcher()
    assert fetcher.fetch("data:text/plain;base64,aGVsbG8=").read() == b"hello"
    refused = ["http://127.0.0.1:1/x.png", "https://example.com/a.css", "file:///etc/passwd"]
    for url in refused:
        with pytest.raises(ValueError, match="fetches nothing"):
            fetcher.fetch(url)
    assert fetcher.refused == refused


# --- Branding and what else the caller passes ---------------------------------------------


def test_the_brand_colour_is_a_hex_colour() -> None:
    assert Branding("Acme", "#0F766E").colour == "#0f766e"
    assert Branding("Acme", "#abc").colour == "#aabbcc"
    for bad in ("teal", "#12345", "#ggg", "#0f766e; background: url(x)", ""):
        with pytest.raises(ValueError, match="colour"):
            Branding("Acme", bad)


def test_the_display_name_is_one_line() -> None:
    assert Branding("  Acme  ").display_name == "Acme"
    for bad in ("", "   ", "Acme\r\nBcc: someone@example.com", "x" * 201):
        with pytest.raises(ValueError, match="display_name"):
            Branding(bad)


def test_an_image_must_be_what_it_says() -> None:
    with pytest.raises(ValueError, match="media_type"):
        EmbeddedImage(b"<html></html>", "text/html")
    with pytest.raises(ValueError, match="not a image/png"):
        EmbeddedImage(b"\xff\xd8\xff\xe0 a jpeg", "image/png")
    with pytest.raises(ValueError, match="bytes"):
        EmbeddedImage(b"\x89PNG\r\n\x1a\n" + bytes(2_000_001), "image/png")
    assert LOGO.data_uri.startswith("data:image/png;base64,iVBORw0KGgo")


def test_links_must_be_web_addresses() -> None:
    for bad in ("javascript:alert(1)", "/relative", "mailto:a@example.com"):
        with pytest.raises(ValueError, match="http"):
            EmailLinks(view_url=bad, unsubscribe_url="https://pulse.example.com/u")


def test_text_on_the_brand_colour_stays_readable() -> None:
    assert text_on("#0f766e") == "#ffffff"
    assert text_on("#fde047") == "#111827"  # ink on a yellow brand
    assert line_colour("#fde047") == "#4f46e5"  # a pale brand colour leaves lines unseen
    assert line_colour("#0f766e") == "#0f766e"
    assert round(contrast("#ffffff", "#000000"), 1) == 21.0


def test_every_text_in_the_html_is_escaped() -> None:
    report = saved_report("weekly")
    hostile = replace(
        report,
        top_posts=(replace(report.top_posts[0], text="<script>alert(1)</script> & more"),),
        insights=('<a href="javascript:x">click</a>',),
    )
    html = report_html(hostile, Branding('Acme "<b>"'))
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert '<a href="javascript:x">' not in html
    assert "Acme &#34;&lt;b&gt;&#34;" in html


def test_a_permalink_that_is_not_a_web_address_is_not_linked() -> None:
    report = saved_report("weekly")
    post = replace(report.top_posts[0], permalink="javascript:alert(1)")
    html = report_html(replace(report, top_posts=(post,)), BRAND)
    assert "javascript:" not in html
    assert 'href="https://www.instagram.com/p/' not in html


def test_highlights_restate_query_api_numbers() -> None:
    assert highlights(saved_report("weekly")) == [
        "Instagram posts earn 3.3× the engagement rate of X posts",  # noqa: RUF001
        "Best post: “Our take on the state of social media (video #12)” on Instagram, "
        "6.9% engagement rate",
        "Best time to post: Wednesday 10:00\u201312:00 (America/New_York time)",
        "+178 followers, 21,449 in all",
    ]


# --- The email ---------------------------------------------------------------------------


def weekly_email(report: Report | None = None, keep_as: str | None = None) -> tuple[str, str, str]:
    subject, html, plain = render_email(report or saved_report("weekly"), BRAND, LINKS)
    if keep_as:
        OUTPUT.mkdir(exist_ok=True)
        (OUTPUT / f"{keep_as}.html").write_text(html)
        (OUTPUT / f"{keep_as}.txt").write_text(plain)
    return subject, html, plain


def test_the_email_has_the_headline_numbers_and_both_links() -> None:
    subject, html, plain = weekly_email(keep_as="weekly-email")
    assert subject == "Acme 1: weekly report, 23\u201329 Nov 2026"
    for part in (html, plain):
        for shown in ("421,614", "7,522", "▲ +17.4%", "▼ \u22121.1%", "week before: 6,455"):
            assert shown in part, shown
        assert "Instagram 4.3% · LinkedIn 1.8% · Facebook 1.7% · X 1.3%" in part
        assert "Some numbers may be out of date" in part or "SOME NUMBERS MAY BE" in part
    assert 'href="https://pulse.example.com/businesses/1/overview?start_date=2026-11-23"' in html
    assert 'href="https://pulse.example.com/unsubscribe/abc123"' in html
    assert "View in Pulse: https://pulse.example.com/businesses/1/overview" in plain
    assert "Unsubscribe: https://pulse.example.com/unsubscribe/abc123" in plain


def test_the_email_lays_out_with_tables_and_inline_styles() -> None:
    _, html, _ = weekly_email()
    assert 'role="presentation"' in html
    for absent in ("<style", "<script", "<svg", "<link"):
        assert absent not in html
    assert 'style="background:#0f766e;' in html


def test_the_plain_text_is_not_html_escaped_and_the_html_is() -> None:
    report = saved_report("weekly")
    renamed = replace(report, insights=("Posts & stories <do> well",))
    branding = Branding("Smith & Daughters")
    subject, html, plain = render_email(renamed, branding, LINKS)
    assert subject.startswith("Smith & Daughters:")
    assert "Smith & Daughters" in plain
    assert "Posts & stories <do> well." in plain
    assert "Smith &amp; Daughters" in html
    assert "Posts &amp; stories &lt;do&gt; well." in html


def test_a_fresh_report_email_has_no_notice() -> None:
    report = saved_report("weekly")
    _, html, plain = weekly_email(
        replace(report, freshness=replace(report.freshness, stale_posts=0))
    )
    assert "out of date" not in html
    assert "OUT OF DATE" not in plain
