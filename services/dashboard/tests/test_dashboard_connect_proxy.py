"""Issue 14: the dashboard server's proxy of the ingest services' connect routes.

The page calls only its own origin, so ``POST /connect/<linkedin|twitter|meta>/authorize``
and ``.../disconnect`` are relayed to that ingest service's ``/connect/authorize`` and
``/connect/disconnect``, and nothing else is: no other route of an ingest service (its
callback, webhooks, metrics), no other method, no path that leaves ``/connect/<service>/``
once decoded and normalised, no body over 8 KiB, no header but Authorization,
Content-Type and Accept. ``/connections`` is the page.

The server runs as a real process, as `make up` runs it, in front of three stand-ins for
the ingest services, real HTTP servers that record every request reaching them, so
"refused" means the request never left the dashboard's server. Requests go out through
http.client, which sends a path byte for byte (httpx would resolve its dot segments first).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulse_testing.http import LOOSE_HEADERS, Answer, RecordingServer, Respond, Seen, call
from pulse_testing.infra import ROOT
from pulse_testing.processes import ServiceProcess, dashboard_sign_in_env, free_port
from services.dashboard.tests.support import dashboard_server

DASHBOARD_DIR = Path(ROOT) / "services" / "dashboard"
CONNECT_MAX_BODY = 8 * 1024
TOKEN = "Bearer header.payload.signature"
SERVICES = ("linkedin", "twitter", "meta")
JSON = {"Authorization": TOKEN, "Content-Type": "application/json"}

# Paths under /connect/ that are not one of the six routes once decoded and normalised:
# other routes of an ingest service, unknown services and actions, platforms instead of
# services, encoded slashes and dots, double encoding, backslashes, and characters no
# route has.
REFUSED = [
    "/connect/",
    "/connect/twitter",
    "/connect/twitter/",
    "/connect/twitter/callback",
    "/connect/twitter/choose",
    "/connect/twitter/webhooks",
    "/connect/twitter/healthz",
    "/connect/twitter/authorize/more",
    "/connect/twitter/authorize/..",
    "/connect/facebook/authorize",
    "/connect/instagram/disconnect",
    "/connect/x/authorize",
    "/connect/TWITTER/authorize",
    "/connect/twitter/Authorize",
    "/connect/authorize",
    "/connect/twitter/..%2fauthorize",
    "/connect/twitter/%2e%2e/%2e%2e/metrics",
    "/connect/twitter/..%2f..%2fwebhooks",
    "/connect/twitter/..%252f..%252fmetrics",
    "/connect/twitter/..%5c..%5cmetrics",
    "/connect/twitter/..\\..\\metrics",
    "/connect/..%2fapi/v1/analytics/overview",
    "/connect/twitter/authorize%00",
    "/connect/twitter/authorize;x",
    "/connect/twitter/authorize%3bx",
    "/connect/twitter/%c0%afauthorize",
    "/connect/%2e%2e/%2e%2e/connect/twitter/callback",
    "/connect/twitter/authorize%25252525",
]


def ingest_answer(name: str) -> Respond:
    """An ingest service's stand-in: JSON naming itself and the path; a body holding
    ``"answer": N`` is answered with status N; a cookie of its own, never passed on."""

    def respond(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        try:
            status = int(json.loads(seen.body).get("answer", 200))
        except (ValueError, AttributeError):
            status = 200
        content = json.dumps({"service": name, "path": seen.path}).encode()
        return status, {**LOOSE_HEADERS, "Set-Cookie": "ingest=1"}, content

    return respond


@pytest.fixture(scope="module")
def ingest() -> Iterator[dict[str, RecordingServer]]:
    stand_ins = {name: RecordingServer(ingest_answer(name)) for name in SERVICES}
    try:
        yield stand_ins
    finally:
        for stand_in in stand_ins.values():
            stand_in.close()


def start_dashboard(
    tmp_path_factory: pytest.TempPathFactory, urls: dict[str, str], query_api: str | None = None
) -> ServiceProcess:
    """The dashboard's server with ``urls`` as its PULSE_INGEST_<SERVICE>_URL settings
    (and ``query_api`` as query-api's: by default nothing answers there)."""
    env = {f"PULSE_INGEST_{name.upper()}_URL": url for name, url in urls.items()}
    if query_api is not None:
        env["PULSE_QUERY_API_URL"] = query_api
    return dashboard_server(tmp_path_factory, env)


@pytest.fixture(scope="module")
def dashboard(
    ingest: dict[str, RecordingServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    service = start_dashboard(tmp_path_factory, {name: s.url for name, s in ingest.items()})
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def seen(ingest: dict[str, RecordingServer]) -> dict[str, list[Seen]]:
    """What reaches each stand-in during the test."""
    for stand_in in ingest.values():
        stand_in.seen.clear()
    return {name: stand_in.seen for name, stand_in in ingest.items()}


def reached(seen: dict[str, list[Seen]]) -> list[tuple[str, str, str]]:
    return [(name, s.method, s.path) for name, requests in seen.items() for s in requests]


def assert_secure_headers(answer: Answer, what: str) -> None:
    """The dashboard's own headers, a single policy: none of a stand-in's got through."""
    assert answer.values("x-content-type-options") == ["nosniff"], what
    assert answer.values("x-frame-options") == ["DENY"], what
    assert answer.values("referrer-policy") == ["no-referrer"], what
    [csp] = answer.values("content-security-policy")
    assert "default-src 'none'" in csp, what
    assert "connect-src 'self'" in csp, what
    assert "default-src *" not in csp, what


# --- the six routes reach their service -------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("action", ["authorize", "disconnect"])
def test_a_connect_route_reaches_its_own_service_with_its_body(
    dashboard: ServiceProcess, seen: dict[str, list[Seen]], service: str, action: str
) -> None:
    body = json.dumps({"business_id": 1, "return_to": "http://127.0.0.1:8080/connections"})
    answer = call(dashboard, "POST", f"/connect/{service}/{action}", JSON, body.encode())
    assert answer.status == 200, answer.body
    assert answer.json() == {"service": service, "path": f"/connect/{action}"}
    assert answer.values("content-type") == ["application/json"]
    assert_secure_headers(answer, f"{service} {action}")
    assert reached(seen) == [(service, "POST", f"/connect/{action}")]
    [request] = seen[service]
    assert request.body == body.encode()
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == TOKEN


def test_only_the_headers_the_routes_read_go_along(
    dashboard: ServiceProcess, ingest: dict[str, RecordingServer], seen: dict[str, list[Seen]]
) -> None:
    answer = call(
        dashboard,
        "POST",
        "/connect/meta/authorize?business_id=2",
        headers={
            **JSON,
            "Accept": "application/json",
            "Accept-Encoding": "gzip, br",
            "Cookie": "session=secret",
            "X-Api-Key": "secret",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "Forwarded": "for=203.0.113.9",
            "X-Forwarded-For": "203.0.113.9",
            "X-Real-IP": "203.0.113.9",
            "Origin": "https://evil.example",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "hop-by-hop, named in Connection",
        },
        body=b'{"business_id": 1}',
    )
    assert answer.status == 200, answer.body
    # Neither the stand-in's cookie nor its policy comes back.
    assert answer.values("set-cookie") == []
    assert_secure_headers(answer, "a relayed answer")
    [request] = seen["meta"]
    # The query is not the route's: the upstream URL is the normalised path alone.
    assert request.path == "/connect/authorize"
    assert request.headers["authorization"] == TOKEN
    assert request.headers["accept"] == "application/json"
    assert request.headers["accept-encoding"] == "identity"
    assert request.headers["x-forwarded-for"] == "127.0.0.1"
    assert request.headers["host"] == ingest["meta"].url.removeprefix("http://")
    allowed = {
        "host", "authorization", "content-type", "content-length", "accept", "accept-encoding",
        "x-forwarded-for", "user-agent", "connection",
    }  # fmt: skip
    assert set(request.headers) <= allowed, sorted(set(request.headers) - allowed)
    assert "x-hop" not in request.headers.get("connection", "").lower()


def test_a_path_is_forwarded_in_its_normalised_form_only(
    dashboard: ServiceProcess, seen: dict[str, list[Seen]]
) -> None:
    paths = [
        "/connect//twitter//authorize",
        "/connect/%74witter/authorize",
        "/connect/twitter/./authorize/",
        "/connect/linkedin/..%2ftwitter/authorize",
        "/connect/twitter/%2561uthorize",
        "/%63onnect/twitter/authorize",
    ]
    for path in paths:
        answer = call(dashboard, "POST", path, JSON, b"{}")
        assert answer.status == 200, (path, answer.body)
        assert answer.json()["service"] == "twitter", path
    assert reached(seen) == [("twitter", "POST", "/connect/authorize")] * len(paths)


def test_the_services_answers_are_relayed_with_their_status(
    dashboard: ServiceProcess, seen: dict[str, list[Seen]]
) -> None:
    for status in (401, 404, 422, 429, 500):
        body = json.dumps({"answer": status}).encode()
        answer = call(dashboard, "POST", "/connect/linkedin/disconnect", JSON, body)
        assert answer.status == status, answer.body
        assert answer.json()["service"] == "linkedin"
        assert_secure_headers(answer, f"a relayed {status}")
    assert len(seen["linkedin"]) == 5


# --- everything else stays here -----------------------------------------------------------


@pytest.mark.parametrize("path", REFUSED)
def test_a_path_that_is_not_a_connect_route_never_reaches_a_service(
    dashboard: ServiceProcess, seen: dict[str, list[Seen]], path: str
) -> None:
    for method in ("POST", "GET"):
        answer = call(dashboard, method, path, JSON, b"{}")
        assert answer.status == 404, (method, path, answer.status, answer.body[:200])
        assert_secure_headers(answer, path)
    assert reached(seen) == []


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_only_post_is_relayed(
    dashboard: ServiceProcess, seen: dict[str, list[Seen]], method: str
) -> None:
    for path in ("/connect/twitter/authorize", "/connect/meta/disconnect"):
        answer = call(dashboard, method, path, JSON, b"{}")
        assert answer.status == 405, (method, path, answer.status, answer.body[:200])
        assert answer.values("allow") == ["POST"]
        assert_secure_headers(answer, f"{method} {path}")
    assert reached(seen) == []


def test_the_api_proxy_does_not_reach_the_connect_routes(
    dashboard: ServiceProcess, seen: dict[str, list[Seen]]
) -> None:
    for path in ("/api/..%2fconnect/twitter/authorize", "/api/v1/..%2f..%2fconnect/meta/authorize"):
        answer = call(dashboard, "POST", path, JSON, b"{}")
        assert answer.status == 404, (path, answer.body)
    assert reached(seen) == []


def test_a_body_over_8_kib_is_refused_with_413_before_the_service(
    dashboard: ServiceProcess, seen: dict[str, list[Seen]]
) -> None:
    path = "/connect/twitter/authorize"
    declared = call(dashboard, "POST", path, JSON, b" " * (CONNECT_MAX_BODY + 1))
    assert declared.status == 413, declared.body
    assert_secure_headers(declared, "a 413")
    chunks = [b" " * 4 * 1024] * 3  # 12 KiB, its length not declared
    chunked = call(dashboard, "POST", path, JSON, iter(chunks))
    assert chunked.status == 413, chunked.body
    assert reached(seen) == []
    at_the_cap = call(dashboard, "POST", path, JSON, b" " * CONNECT_MAX_BODY)
    assert at_the_cap.status == 200, at_the_cap.body
    assert [len(s.body) for s in seen["twitter"]] == [CONNECT_MAX_BODY]


# --- settings ----------------------------------------------------------------------------


def test_a_service_without_a_url_answers_404_and_one_down_502(
    ingest: dict[str, RecordingServer],
    seen: dict[str, list[Seen]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    urls = {"linkedin": ingest["linkedin"].url, "twitter": down, "meta": ""}
    service = start_dashboard(tmp_path_factory, urls)
    try:
        unset = call(service, "POST", "/connect/meta/authorize", JSON, b"{}")
        assert unset.status == 404, unset.body
        assert call(service, "GET", "/connect/meta/authorize").status == 404
        unreachable = call(service, "POST", "/connect/twitter/disconnect", JSON, b"{}")
        assert unreachable.status == 502, unreachable.body
        assert "twitter" in str(unreachable.json()["detail"])
        assert_secure_headers(unreachable, "a 502")
        forwarded = call(service, "POST", "/connect/linkedin/authorize", JSON, b"{}")
        assert forwarded.status == 200, forwarded.body
    finally:
        service.stop()
    assert reached(seen) == [("linkedin", "POST", "/connect/authorize")]


def test_no_cookie_an_upstream_sets_goes_along_with_a_later_request(
    ingest: dict[str, RecordingServer],
    seen: dict[str, list[Seen]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Every stand-in's answer sets a cookie; the server's clients keep none (one browser's
    would go along with the next browser's request). The /api/ proxy's client too: here the
    linkedin stand-in plays query-api."""
    urls = {name: s.url for name, s in ingest.items()}
    service = start_dashboard(tmp_path_factory, urls, query_api=ingest["linkedin"].url)
    try:
        for _ in range(2):
            assert call(service, "POST", "/connect/twitter/authorize", JSON, b"{}").status == 200
            assert call(service, "GET", "/api/v1/analytics/overview").status == 200
    finally:
        service.stop()
    requests = seen["twitter"] + seen["linkedin"]
    assert len(requests) == 4
    assert [r.headers.get("cookie") for r in requests] == [None] * 4


def test_the_defaults_are_the_local_ingest_ports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PULSE_INGEST_<SERVICE>_URL unset: the ports `make up` runs the services on."""
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(DASHBOARD_DIR))
    for module in [n for n in sys.modules if n == "server" or n.startswith("server.")]:
        monkeypatch.delitem(sys.modules, module)
    settings = importlib.import_module("server.settings").Settings.from_env(
        dashboard_sign_in_env(free_port())
    )
    assert settings.ingest_urls == {
        "linkedin": "http://127.0.0.1:8101",
        "twitter": "http://127.0.0.1:8102",
        "meta": "http://127.0.0.1:8103",
    }


# --- the page -------------------------------------------------------------------------------


def test_connections_is_the_page(dashboard: ServiceProcess, seen: dict[str, list[Seen]]) -> None:
    for path in ("/connections", "/connections?connected=twitter&accounts=1", "/connections/"):
        answer = call(dashboard, "GET", path)
        assert answer.status == 200, (path, answer.body)
        assert b'<div id="root">' in answer.body, path
        assert_secure_headers(answer, path)
    assert reached(seen) == []
