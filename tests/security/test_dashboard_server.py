"""Issue 13, item 6: the dashboard's server. Every response carries a strict
Content-Security-Policy and the other security headers, and its /api/ proxy forwards only
query-api's /api/v1/, however the path is encoded: `/api/..%2fmetrics` once reached
query-api's /metrics, `/api/%2e%2e/docs` its docs.

The server runs as a real process in front of a stand-in for query-api that records every
request reaching it, so "refused" means the request never left the dashboard's server.
Requests go out through http.client, which sends a path byte for byte (httpx would resolve
its dot segments first).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pulse_testing.http import LOOSE_HEADERS, Answer, RecordingServer, Seen, call
from pulse_testing.infra import ROOT
from pulse_testing.processes import ServiceProcess, start_dashboard_server

DASHBOARD_DIR = Path(ROOT) / "services" / "dashboard"
MAX_BODY = 64 * 1024
TOKEN = "Bearer header.payload.signature"

# Paths that leave /api/v1/ once decoded and normalised: encoded slashes and dots, dot
# segments, double and triple encoding, backslashes, empty segments, and characters no
# query-api path has (a NUL, `;` path parameters, an overlong UTF-8 slash).
ESCAPES = [
    "/api/..%2fmetrics",
    "/api/..%2Fmetrics",
    "/api/%2e%2e/docs",
    "/api/%2E%2E%2Fdocs",
    "/api/%2e%2e%2fopenapi.json",
    "/api/v1/..%2f..%2fopenapi.json",
    "/api/v1/analytics/..%2f..%2f..%2fmetrics",
    "/api/v1/analytics/%2e%2e%2f%2e%2e%2f%2e%2e%2fdocs",
    "/api/v1%2f..%2f..%2fmetrics",
    "/api/..%252fmetrics",
    "/api/%252e%252e%252fmetrics",
    "/api/v1/..%252f..%252fopenapi.json",
    "/api/..%25252fmetrics",
    "/api/..%2525252fmetrics",
    "/api/../metrics",
    "/api/v1/../../docs",
    "/api/v1/analytics/../../../openapi.json",
    "/api/..%5cmetrics",
    "/api/v1/..%5c..%5cmetrics",
    "/api/..\\metrics",
    "/api//metrics",
    "/api/%2fmetrics",
    "/api/v1//..//..//metrics",
    "/api/metrics",
    "/api/docs",
    "/api/openapi.json",
    "/api/healthz",
    "/api/v1",
    "/api/v1/",
    "/api/v1/..;/..;/metrics",
    "/api/v1/analytics/overview%00",
    "/api/..%c0%afmetrics",
    "/api/v1/analytics/..%2f..%2f..%2fapi/v2/x",
]


def upstream_answer(seen: Seen) -> tuple[int, dict[str, str], bytes] | None:
    """query-api's stand-in: `/api/v1/fail` a 500, `/api/v1/drop` hung up, the rest 200."""
    if seen.path.startswith("/api/v1/drop"):
        return None
    status = 500 if seen.path.startswith("/api/v1/fail") else 200
    return status, LOOSE_HEADERS, json.dumps({"path": seen.path}).encode()


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordingServer]:
    server = RecordingServer(upstream_answer)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def dashboard(
    upstream: RecordingServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """The dashboard's server in front of the stand-in for query-api."""
    service = start_dashboard_server(tmp_path_factory, {"PULSE_QUERY_API_URL": upstream.url})
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def seen(upstream: RecordingServer) -> list[Seen]:
    """What reaches the stand-in during the test."""
    upstream.seen.clear()
    return upstream.seen


def policy(answer: Answer) -> dict[str, list[str]]:
    """The Content-Security-Policy's directives, each with its sources."""
    [csp] = answer.values("content-security-policy")
    return {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}


def assert_secure_headers(answer: Answer, what: str) -> None:
    assert answer.values("x-content-type-options") == ["nosniff"], what
    assert answer.values("referrer-policy") == ["no-referrer"], what
    assert answer.values("x-frame-options") == ["DENY"], what
    assert len(answer.values("content-security-policy")) == 1, what
    directives = policy(answer)
    assert directives["default-src"] == ["'none'"], what
    assert directives["script-src"] == ["'self'"], what
    assert directives["style-src"] == ["'self'"], what
    assert directives["connect-src"] == ["'self'"], what
    # Only the platforms' image CDNs, by name, for posts' thumbnails (never * or https:).
    assert directives["img-src"] == [
        "'self'",
        "https://*.fbcdn.net",
        "https://*.cdninstagram.com",
        "https://pbs.twimg.com",
        "https://media.licdn.com",
    ], what
    assert directives["object-src"] == ["'none'"], what
    assert directives["base-uri"] == ["'none'"], what
    assert directives["form-action"] == ["'self'"], what
    assert directives["frame-ancestors"] == ["'none'"], what
    sources = {s for values in directives.values() for s in values}
    assert not sources & {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"}, what


# --- every response carries the headers -------------------------------------------------


def test_every_kind_of_response_carries_the_security_headers(
    dashboard: ServiceProcess, seen: list[Seen]
) -> None:
    answers = {
        "the page": (call(dashboard, "GET", "/"), 200),
        "a route of the page": (call(dashboard, "GET", "/overview/anything"), 200),
        "an asset": (call(dashboard, "GET", "/assets/app.js"), 200),
        "a missing asset": (call(dashboard, "GET", "/assets/missing.js"), 404),
        "a method the page has not": (call(dashboard, "DELETE", "/"), 405),
        "the health check": (call(dashboard, "GET", "/healthz"), 200),
        "the metrics": (call(dashboard, "GET", "/metrics"), 200),
        "a proxied answer": (call(dashboard, "GET", "/api/v1/analytics/overview"), 200),
        "a proxied error": (call(dashboard, "GET", "/api/v1/fail"), 500),
        "query-api hanging up": (call(dashboard, "GET", "/api/v1/drop"), 502),
        "a refused path": (call(dashboard, "GET", "/api/..%2fmetrics"), 404),
        "a body too large": (call(dashboard, "POST", "/api/v1/x", body=b"x" * (MAX_BODY + 1)), 413),
    }
    for what, (answer, status) in answers.items():
        assert answer.status == status, (what, answer.status, answer.body[:200])
        assert_secure_headers(answer, what)
    assert [s.path for s in seen] == ["/api/v1/analytics/overview", "/api/v1/fail", "/api/v1/drop"]
    assert answers["an asset"][0].values("content-type")[0].startswith("text/javascript")


async def test_the_headers_are_on_a_500_from_an_unexpected_error_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Starlette answers an unhandled exception outside every middleware added to the app:
    the headers must be added outside that."""
    server = load_server(monkeypatch)

    async def boom(request: Request) -> Response:
        raise RuntimeError("a bug")

    server.app.router.routes.insert(0, Route("/boom", boom))
    transport = httpx.ASGITransport(app=server.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert_secure_headers(
        Answer(response.status_code, list(response.headers.multi_items()), response.content),
        "an unhandled exception",
    )


# --- the proxy forwards only /api/v1/ ----------------------------------------------------


@pytest.mark.parametrize("path", ESCAPES)
def test_a_path_leaving_api_v1_never_reaches_query_api(
    dashboard: ServiceProcess, seen: list[Seen], path: str
) -> None:
    for method in ("GET", "POST"):
        answer = call(dashboard, method, path, headers={"Authorization": TOKEN}, body=b"{}")
        assert answer.status == 404, (method, path, answer.status, answer.body[:200])
        assert_secure_headers(answer, path)
    assert seen == [], f"{path} reached query-api as {[s.path for s in seen]}"


def test_a_call_under_api_v1_is_forwarded_with_only_the_headers_query_api_needs(
    dashboard: ServiceProcess, upstream: RecordingServer, seen: list[Seen]
) -> None:
    answer = call(
        dashboard,
        "GET",
        "/api/v1/analytics/overview?business_id=1&start_date=2026-11-01&platform=all",
        headers={
            "Authorization": TOKEN,
            "Accept": "application/json",
            "Cookie": "session=secret",
            "X-Api-Key": "secret",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "Forwarded": "for=203.0.113.9",
            "X-Real-IP": "203.0.113.9",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "hop-by-hop, named in Connection",
            "Upgrade": "websocket",
            "TE": "trailers",
        },
    )
    assert answer.status == 200, answer.body
    assert json.loads(answer.body)["path"].startswith("/api/v1/analytics/overview?")
    [request] = seen
    assert request.method == "GET"
    assert request.path == (
        "/api/v1/analytics/overview?business_id=1&start_date=2026-11-01&platform=all"
    )
    assert request.headers["authorization"] == TOKEN
    assert request.headers["accept"] == "application/json"
    assert request.headers["x-forwarded-for"] == "127.0.0.1"
    allowed = {
        "host", "authorization", "content-type", "content-length", "accept", "accept-encoding",
        "x-forwarded-for", "user-agent", "connection",
    }  # fmt: skip
    assert set(request.headers) <= allowed, sorted(set(request.headers) - allowed)
    assert "x-hop" not in request.headers.get("connection", "").lower()
    assert request.headers["host"] == upstream.url.removeprefix("http://")


def test_a_post_is_forwarded_with_its_body_and_content_type(
    dashboard: ServiceProcess, seen: list[Seen]
) -> None:
    body = b'{"business_id": 1}'
    headers = {"Authorization": TOKEN, "Content-Type": "application/json"}
    answer = call(dashboard, "POST", "/api/v1/analytics/refresh", headers=headers, body=body)
    assert answer.status == 200, answer.body
    [request] = seen
    assert (request.method, request.path) == ("POST", "/api/v1/analytics/refresh")
    assert request.body == body
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == TOKEN


def test_a_path_is_forwarded_in_its_normalised_form_only(
    dashboard: ServiceProcess, seen: list[Seen]
) -> None:
    paths = [
        "/api/v1//analytics//overview",
        "/api/v1/analytics/%6fverview",
        "/api/v1/analytics/posts/..%2foverview",
        "/api/v1/analytics/./overview/",
    ]
    for path in paths:
        answer = call(dashboard, "GET", path + "?business_id=1", headers={"Authorization": TOKEN})
        assert answer.status == 200, (path, answer.body)
    assert [s.path for s in seen] == ["/api/v1/analytics/overview?business_id=1"] * len(paths)


def test_a_body_over_64_kib_is_refused_with_413_before_query_api(
    dashboard: ServiceProcess, seen: list[Seen]
) -> None:
    headers = {"Authorization": TOKEN, "Content-Type": "application/json"}
    path = "/api/v1/analytics/refresh"
    declared = call(dashboard, "POST", path, headers=headers, body=b" " * (MAX_BODY + 1))
    assert declared.status == 413, declared.body
    chunks = [b" " * 16 * 1024] * 5  # 80 KiB, its length not declared
    chunked = call(dashboard, "POST", path, headers=headers, body=iter(chunks))
    assert chunked.status == 413, chunked.body
    assert seen == []
    at_the_cap = call(dashboard, "POST", path, headers=headers, body=b" " * MAX_BODY)
    assert at_the_cap.status == 200, at_the_cap.body
    assert [len(s.body) for s in seen] == [MAX_BODY]


# --- the rule itself, without a server ---------------------------------------------------


def load_server(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The dashboard's server module, imported here (it is a folder, not a package)."""
    monkeypatch.syspath_prepend(str(DASHBOARD_DIR))
    for name in [n for n in sys.modules if n == "server" or n.startswith("server.")]:
        monkeypatch.delitem(sys.modules, name)
    return importlib.import_module("server.app")


@pytest.mark.parametrize(
    ("raw", "forwarded"),
    [
        (b"/api/v1/analytics/overview", "/api/v1/analytics/overview"),
        (b"/api/v1/analytics/posts/42", "/api/v1/analytics/posts/42"),
        (b"/api/v1/analytics/best-times", "/api/v1/analytics/best-times"),
        (b"/api//v1/analytics/%2e/overview/", "/api/v1/analytics/overview"),
        (b"/api/v1/analytics/x/%252e%252e/overview", "/api/v1/analytics/overview"),
        (b"/api/v1/analytics/x/%25252e%25252e/overview", "/api/v1/analytics/overview"),
        (b"/api/v1/analytics/%2525252e%2525252e/overview", None),  # four layers
        *((path.encode("latin-1"), None) for path in ESCAPES),
        (b"/api/v1/\xff", None),
        (b"/api/v1/..%252525252fmetrics", None),  # encoded more times than anyone means
    ],
)
def test_the_forwarding_rule(
    monkeypatch: pytest.MonkeyPatch, raw: bytes, forwarded: str | None
) -> None:
    load_server(monkeypatch)
    assert sys.modules["server.proxy"].upstream_path(raw) == forwarded
