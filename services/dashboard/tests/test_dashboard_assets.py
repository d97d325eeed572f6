"""The built page's assets: sent compressed as the browser accepts, cached for a year under
their content-addressed names, while the page itself is revalidated on every load."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulse_testing.http import call
from pulse_testing.processes import ServiceProcess
from services.dashboard.server.assets import Asset, accepted_codings, choose_coding

from .support import dashboard_server

SCRIPT = b"export const answer = 42;\n" * 200
BROTLI = b"brotli bytes stand here: the server sends the file, it never decodes it"
ASSETS = {
    "page-C7ZkQ5M.js": SCRIPT,
    "page-C7ZkQ5M.js.br": BROTLI,
    "page-C7ZkQ5M.js.gz": gzip.compress(SCRIPT, mtime=0),
    "style-Ba8Ri3vv.css": b"body { margin: 0 }\n",  # under 1 KiB: the build compresses none
}


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip, deflate, br, zstd", {"gzip", "deflate", "br", "zstd"}),
        ("br;q=0, gzip", {"gzip"}),
        ("GZIP ; q=0.5", {"gzip"}),
        ("gzip;q=0.000", set()),
        ("gzip;q=nonsense", set()),
        ("identity", {"identity"}),
        ("", set()),
    ],
)
def test_accepted_codings_follow_the_weights(header: str, accepted: set[str]) -> None:
    assert accepted_codings(header) == accepted


def test_brotli_is_preferred_then_gzip_then_the_plain_file() -> None:
    both = Asset(Path("a.js"), {"br": Path("a.js.br"), "gzip": Path("a.js.gz")})
    assert choose_coding(both, "gzip, br") == "br"
    assert choose_coding(both, "gzip, br;q=0") == "gzip"
    assert choose_coding(both, "*") is None  # a wildcard client reads the plain file
    assert choose_coding(Asset(Path("a.css")), "gzip, br") is None
    assert Asset(Path("a.js")).media_type in ("text/javascript", "application/javascript")


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    server = dashboard_server(tmp_path_factory, {}, assets=ASSETS)
    try:
        yield server
    finally:
        server.stop()


def test_an_asset_is_sent_in_the_coding_the_browser_prefers(dashboard: ServiceProcess) -> None:
    path = "/assets/page-C7ZkQ5M.js"
    brotli = call(dashboard, "GET", path, {"Accept-Encoding": "gzip, deflate, br"})
    assert brotli.status == 200
    assert brotli.values("content-encoding") == ["br"]
    assert brotli.body == BROTLI
    gzipped = call(dashboard, "GET", path, {"Accept-Encoding": "gzip, br;q=0"})
    assert gzipped.values("content-encoding") == ["gzip"]
    assert gzip.decompress(gzipped.body) == SCRIPT
    plain = call(dashboard, "GET", path, {"Accept-Encoding": "identity"})
    assert plain.values("content-encoding") == []
    assert plain.body == SCRIPT
    for answer in (brotli, gzipped, plain):
        assert answer.values("content-type")[0].split(";")[0] in (
            "text/javascript",
            "application/javascript",
        )
        assert answer.values("vary") == ["Accept-Encoding"]
        assert answer.values("cache-control") == ["public, max-age=31536000, immutable"]
    # Each coding has its own validator, so a cache never answers one with another.
    assert len({a.values("etag")[0] for a in (brotli, gzipped, plain)}) == 3


def test_an_asset_without_compressed_files_is_sent_plain(dashboard: ServiceProcess) -> None:
    css = call(dashboard, "GET", "/assets/style-Ba8Ri3vv.css", {"Accept-Encoding": "br, gzip"})
    assert css.status == 200
    assert css.values("content-encoding") == []
    assert css.body == ASSETS["style-Ba8Ri3vv.css"]
    assert css.values("content-type")[0].startswith("text/css")


def test_compressed_files_are_not_served_under_their_own_names(
    dashboard: ServiceProcess,
) -> None:
    for name in ("page-C7ZkQ5M.js.br", "page-C7ZkQ5M.js.gz", "missing-0000.js"):
        assert call(dashboard, "GET", f"/assets/{name}").status == 404, name


def test_the_page_itself_is_revalidated_on_every_load(dashboard: ServiceProcess) -> None:
    for path in ("/", "/connections", "/index.html"):
        page = call(dashboard, "GET", path)
        assert page.status == 200, path
        assert page.values("cache-control") == ["no-cache"], path
