"""Issue 16: the dashboard's server is the OpenID Connect client of the browser's sign-in
(backend for frontend). A real sign-in through the local Keycloak's login form, driven
over HTTP as a browser would; the server runs as a real process as the ``dashboard``
Redis ACL user; upstreams are real HTTP servers that record what reaches them: query-api's
stand-in, and a stand-in of the workspace service's ``POST /v1/sessions`` that verifies
the ID token against Keycloak's keys and mints EdDSA Pulse tokens, as the workspace will
(the workspace service has no app to start yet).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from redis import Redis

from pulse_testing.http import LOOSE_HEADERS, RecordingServer, Seen
from pulse_testing.infra import Infra, local_credentials
from pulse_testing.processes import ServiceProcess, start_dashboard_server, start_service
from services.dashboard.server.headers import PDF_CONTENT_SECURITY_POLICY
from services.dashboard.tests.support import dashboard_server
from tests.test_local_identity_and_mail import BrowserCookies, KeycloakPage

pytestmark = pytest.mark.integration

ISSUER = "http://127.0.0.1:{}/realms/pulse"
CLIENT_ID = "pulse-dashboard"
COOKIE = "__Host-pulse_session"
SIGN_IN_COOKIE = "__Host-pulse_sign_in"
DEMO = "demo@pulse.local"
PASSWORDS = {DEMO: "PULSE_KEYCLOAK_DEMO_PASSWORD"}
ANSWER = tuple[int, dict[str, str], bytes]


def issuer() -> str:
    return ISSUER.format(os.environ.get("PULSE_KEYCLOAK_PORT", "8300"))


# --- the stand-ins ------------------------------------------------------------------------


@dataclass
class Workspace:
    """The workspace's ``POST /v1/sessions``: an ID token of the realm's, for this client,
    unexpired, is answered with a Pulse token of ``ttl_s`` (EdDSA, signed with a key of its
    own); anything else is a 401. Other routes echo their path."""

    ttl_s: int = 300
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    id_tokens: list[dict[str, Any]] = field(default_factory=list)  # the claims it accepted
    issued: list[str] = field(default_factory=list)
    jwks: jwt.PyJWKClient = field(
        default_factory=lambda: jwt.PyJWKClient(f"{issuer()}/protocol/openid-connect/certs")
    )

    def respond(self, seen: Seen) -> ANSWER:
        if (seen.method, seen.path) != ("POST", "/v1/sessions"):
            return 200, LOOSE_HEADERS, json.dumps({"path": seen.path}).encode()
        try:
            id_token = json.loads(seen.body)["id_token"]
            signing = self.jwks.get_signing_key_from_jwt(id_token)
            claims = jwt.decode(
                id_token, signing.key, algorithms=["RS256"], audience=CLIENT_ID, issuer=issuer()
            )
        except (jwt.PyJWTError, KeyError, ValueError):
            return 401, LOOSE_HEADERS, b'{"detail": "invalid ID token"}'
        self.id_tokens.append(claims)
        now = int(time.time())
        token = jwt.encode(
            {
                "sub": claims["sub"],
                "iat": now,
                "exp": now + self.ttl_s,
                "jti": secrets.token_hex(8),
                "aud": "pulse-api",
                "iss": "pulse-workspace",
            },
            self.key,
            algorithm="EdDSA",
        )
        self.issued.append(token)
        user = {"user_id": claims["sub"], "email": claims["email"], "name": claims.get("name")}
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.ttl_s}
        return 200, LOOSE_HEADERS, json.dumps({**body, "user": user}).encode()

    def verify(self, token: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token, self.key.public_key(), algorithms=["EdDSA"], audience="pulse-api"
        )
        return claims


def echo(seen: Seen) -> ANSWER:
    return 200, LOOSE_HEADERS, json.dumps({"path": seen.path}).encode()


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def reporter_answer(seen: Seen) -> ANSWER:
    """The reporter's stand-in: a PDF for a preview, else the path echoed."""
    if seen.path.endswith("/preview.pdf"):
        return 200, {**LOOSE_HEADERS, "Content-Type": "application/pdf"}, PDF
    return echo(seen)


@dataclass
class Stack:
    dashboard: ServiceProcess
    query_api: RecordingServer
    workspace: Workspace
    workspace_server: RecordingServer
    reporter: RecordingServer
    session_keys: str = field(repr=False)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from cryptography.fernet import Fernet

    workspace = Workspace()
    workspace_server = RecordingServer(workspace.respond)
    query_api = RecordingServer(echo)
    reporter = RecordingServer(reporter_answer)
    keys = Fernet.generate_key().decode()
    env = {
        "PULSE_QUERY_API_URL": query_api.url,
        "PULSE_WORKSPACE_URL": workspace_server.url,
        "PULSE_REPORTER_URL": reporter.url,
        "PULSE_DASHBOARD_SESSION_KEYS": keys,
    }
    dashboard = dashboard_server(tmp_path_factory, env)
    try:
        yield Stack(dashboard, query_api, workspace, workspace_server, reporter, keys)
    finally:
        dashboard.stop()
        query_api.close()
        workspace_server.close()
        reporter.close()
    assert "NOPERM" not in dashboard.log()


@pytest.fixture
def fresh(stack: Stack) -> Stack:
    stack.query_api.seen.clear()
    stack.workspace_server.seen.clear()
    stack.reporter.seen.clear()
    stack.workspace.ttl_s = 300
    return stack


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(cookies=BrowserCookies(), timeout=20, follow_redirects=False) as client:
        yield client


# --- a browser signing in -----------------------------------------------------------------


def start_sign_in(browser: httpx.Client, dashboard: ServiceProcess, return_to: str) -> str:
    """``/auth/login``: the redirect to Keycloak (a sign-in cookie of this browser's set)."""
    answer = browser.get(f"{dashboard.url}/auth/login", params={"return_to": return_to})
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(f"{issuer()}/protocol/openid-connect/auth?"), location
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [f"{dashboard.url}/auth/callback"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}
    assert "nonce" in query
    assert "state" in query
    return location


def at_keycloak(browser: httpx.Client, location: str, user: str = DEMO) -> str:
    """The user at Keycloak: the login form filled in (when Keycloak shows it); the
    callback URL Keycloak sends the browser back to."""
    page = browser.get(location)
    if page.status_code == 200:
        action = KeycloakPage(page.text).forms["kc-form-login"]
        password = local_credentials()[PASSWORDS[user]]
        page = browser.post(action, data={"username": user, "password": password})
    assert page.status_code == 302, KeycloakPage(page.text).messages or page.text[:300]
    return page.headers["location"]


def sign_in(
    browser: httpx.Client, dashboard: ServiceProcess, return_to: str = "/"
) -> httpx.Response:
    callback = at_keycloak(browser, start_sign_in(browser, dashboard, return_to))
    assert callback.startswith(f"{dashboard.url}/auth/callback?"), callback
    answer = browser.get(callback)
    assert answer.status_code == 302, answer.text
    return answer


def session_cookie(answer: httpx.Response) -> dict[str, str]:
    """The session cookie's value and attributes (lower-case names) as set by ``answer``."""
    for header in answer.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == COOKIE:
            value, *attributes = (part.strip() for part in rest.split(";"))
            found = {"value": value}
            for attribute in attributes:
                key, _, setting = attribute.partition("=")
                found[key.lower()] = setting
            return found
    raise AssertionError(f"no {COOKIE} in {answer.headers.get_list('set-cookie')}")


def cookie_of(browser: httpx.Client) -> str | None:
    found = [c.value for c in browser.cookies.jar if c.name == COOKIE]
    return found[0] if found else None


def csrf(browser: httpx.Client, dashboard: ServiceProcess) -> str:
    answer = browser.get(f"{dashboard.url}/auth/session")
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["csrf_token"]
    return token


def redis_key(session_id: str) -> str:
    return "pulse:session:" + hashlib.sha256(session_id.encode()).hexdigest()


# --- signing in ---------------------------------------------------------------------------


def test_a_user_signs_in_through_keycloak_and_the_relays_carry_their_pulse_token(
    fresh: Stack, browser: httpx.Client, infra: Infra
) -> None:
    dashboard = fresh.dashboard
    answer = sign_in(browser, dashboard, return_to="/overview?range=30d#posts")
    assert answer.headers["location"] == f"{dashboard.url}/overview?range=30d#posts"
    cookie = session_cookie(answer)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie["value"])
    assert {"httponly", "secure", "path", "samesite"} <= set(cookie)
    assert cookie["path"] == "/"
    assert cookie["samesite"].lower() == "lax"
    assert "domain" not in cookie
    assert answer.headers["cache-control"] == "no-store"

    # Keycloak's ID token reached the workspace, verified; its Pulse token is the session's.
    [claims] = fresh.workspace.id_tokens[-1:]
    assert claims["email"] == DEMO
    assert claims["email_verified"] is True
    me = browser.get(f"{dashboard.url}/auth/session")
    assert me.status_code == 200, me.text
    assert me.headers["cache-control"] == "no-store"
    assert me.json()["user"] == {"user_id": claims["sub"], "email": DEMO, "name": "Demo User"}
    assert len(me.json()["csrf_token"]) >= 32
    assert "access_token" not in me.text
    assert "eyJ" not in me.text

    relayed = browser.get(f"{dashboard.url}/api/v1/analytics/overview?business_id=1")
    assert relayed.status_code == 200, relayed.text
    [seen] = fresh.query_api.seen
    assert seen.path == "/api/v1/analytics/overview?business_id=1"
    assert "cookie" not in seen.headers
    bearer = seen.headers["authorization"].removeprefix("Bearer ")
    assert bearer == fresh.workspace.issued[-1]
    assert fresh.workspace.verify(bearer)["sub"] == claims["sub"]

    workspace = browser.get(f"{dashboard.url}/workspace/me")
    assert workspace.json() == {"path": "/v1/me"}
    assert fresh.workspace_server.seen[-1].headers["authorization"] == f"Bearer {bearer}"

    # Redis holds the session under the hash of its id, encrypted: no token in clear.
    redis = Redis.from_url(infra.redis_url)
    try:
        stored = redis.get(redis_key(cookie["value"]))
        ttl = redis.ttl(redis_key(cookie["value"]))
        assert redis.get("pulse:session:" + cookie["value"]) is None
    finally:
        redis.close()
    assert stored is not None
    assert bearer.encode() not in stored
    assert b"refresh" not in stored
    assert DEMO.encode() not in stored
    assert 8 * 3600 - 60 < ttl <= 8 * 3600  # the idle timeout


def test_the_workspace_relay_reaches_only_the_member_routes(
    fresh: Stack, browser: httpx.Client
) -> None:
    sign_in(browser, fresh.dashboard)
    headers = {"X-CSRF-Token": csrf(browser, fresh.dashboard)}
    fresh.workspace_server.seen.clear()
    url = fresh.dashboard.url
    for path in (
        "/workspace/sessions",
        "/workspace/operator/members",
        "/workspace/operator/tokens",
        "/workspace/me/..%2fsessions",
        "/workspace/%2e%2e/sessions",
        "/workspace/me/x",
        "/workspace/businesses/1/members/a%2fb",
        "/workspace/.well-known/jwks.json",
    ):
        assert browser.post(url + path, headers=headers).status_code == 404, path
    assert browser.get(f"{url}/workspace/businesses/1/audit").status_code == 200
    assert browser.delete(f"{url}/workspace/businesses/1/audit", headers=headers).status_code == 405
    patched = browser.patch(
        f"{url}/workspace/businesses/7/members/auth0%7C42", headers=headers, json={"role": "viewer"}
    )
    assert patched.status_code == 200, patched.text
    assert [(s.method, s.path) for s in fresh.workspace_server.seen] == [
        ("GET", "/v1/businesses/1/audit"),
        ("PATCH", "/v1/businesses/7/members/auth0%7C42"),
    ]


def test_the_reporter_relay_reaches_only_its_member_routes_with_the_session_token(
    fresh: Stack, browser: httpx.Client
) -> None:
    sign_in(browser, fresh.dashboard)
    headers = {"X-CSRF-Token": csrf(browser, fresh.dashboard)}
    url = fresh.dashboard.url
    for path in (
        "/reporter/metrics",
        "/reporter/readyz",
        "/reporter/openapi.json",
        "/reporter/v1/businesses/1/reports",
        "/reporter/v1/businesses/1/reports/schedules/2/x",
        "/reporter/v1/businesses/1/alerts/..%2f..%2f..%2fmetrics",
        "/reporter/v1/businesses/1%2f2/alerts",
        "/reporter/v1/businesses/1/alerts/%2e%2e/%2e%2e/%2e%2e/%2e%2e/metrics",
    ):
        assert browser.get(url + path).status_code == 404, path
    alerts = f"{url}/reporter/v1/businesses/1/alerts"
    assert browser.delete(alerts, headers=headers).status_code == 405
    sent = browser.post(
        f"{url}/reporter/v1/businesses/1/reports/schedules",
        headers=headers, json={"kind": "weekly", "recipients": ["boss@example.com"]},
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    pdf = browser.get(f"{url}/reporter/v1/businesses/1/reports/schedules/2/preview.pdf")
    assert (pdf.status_code, pdf.content) == (200, PDF)
    assert pdf.headers["content-type"] == "application/pdf"
    # Chrome's PDF viewer is refused by object-src/default-src 'none' (crbug.com/271452):
    # a PDF's policy keeps only what still applies; every other answer keeps the page's.
    assert pdf.headers["content-security-policy"] == PDF_CONTENT_SECURITY_POLICY
    assert pdf.headers["x-content-type-options"] == "nosniff"
    assert pdf.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in sent.headers["content-security-policy"]
    # A state-changing request without the session's CSRF token never leaves.
    assert browser.post(f"{url}/reporter/v1/businesses/1/alerts/read-all").status_code == 403
    assert [(s.method, s.path) for s in fresh.reporter.seen] == [
        ("POST", "/v1/businesses/1/reports/schedules"),
        ("GET", "/v1/businesses/1/reports/schedules/2/preview.pdf"),
    ]
    bearers = {s.headers["authorization"] for s in fresh.reporter.seen}
    assert len(bearers) == 1
    fresh.workspace.verify(bearers.pop().removeprefix("Bearer "))


def test_the_reporter_relay_takes_a_logo_of_512_kib_and_other_bodies_of_64(
    fresh: Stack, browser: httpx.Client
) -> None:
    sign_in(browser, fresh.dashboard)
    headers = {"X-CSRF-Token": csrf(browser, fresh.dashboard), "Content-Type": "image/png"}
    logo = f"{fresh.dashboard.url}/reporter/v1/businesses/1/reports/branding/logo"
    colour = f"{fresh.dashboard.url}/reporter/v1/businesses/1/reports/branding"
    assert browser.put(logo, headers=headers, content=b"\x89PNG" * 100_000).status_code == 200
    assert browser.put(logo, headers=headers, content=b"x" * (512 * 1024 + 1)).status_code == 413
    assert browser.put(colour, headers=headers, content=b"x" * (64 * 1024 + 1)).status_code == 413
    assert [len(s.body) for s in fresh.reporter.seen] == [400_000]


def test_the_unsubscribe_link_needs_no_session_and_carries_no_credential(
    fresh: Stack, browser: httpx.Client
) -> None:
    """Opened from a mail by anyone, posted to by mail clients (RFC 8058): no session, no
    CSRF token, and nothing of a session or a client's header goes to the reporter."""
    url = f"{fresh.dashboard.url}/reporter/v1/unsubscribe?token=t0k3n"
    with httpx.Client() as stranger:
        assert stranger.get(url).status_code == 200
        one_click = stranger.post(
            url, data={"List-Unsubscribe": "One-Click"}, headers={"Authorization": "Bearer x"}
        )
        assert one_click.status_code == 200, one_click.text
    sign_in(browser, fresh.dashboard)
    assert browser.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert [(s.method, s.path) for s in fresh.reporter.seen] == [
        ("GET", "/v1/unsubscribe?token=t0k3n"),
        *[("POST", "/v1/unsubscribe?token=t0k3n")] * 2,
    ]
    for seen in fresh.reporter.seen:
        assert "authorization" not in seen.headers
        assert "cookie" not in seen.headers


def test_a_programmatic_client_with_its_own_token_is_relayed_without_a_session(
    fresh: Stack,
) -> None:
    own = {"Authorization": "Bearer its.own.token"}
    with httpx.Client(base_url=fresh.dashboard.url, headers=own) as client:
        assert client.get("/api/v1/analytics/overview").status_code == 200
        assert client.post("/workspace/token", json={"api_token": "pulse_pat_x"}).status_code == 200
        # A stale cookie beside its own header: still its own header, no session involved.
        stale = {COOKIE: secrets.token_urlsafe(32)}
        assert client.post("/api/v1/analytics/refresh", cookies=stale).status_code == 200
    assert [s.headers["authorization"] for s in fresh.query_api.seen] == [own["Authorization"]] * 2
    assert fresh.workspace_server.seen[-1].headers["authorization"] == own["Authorization"]


# --- the session's Pulse token is renewed --------------------------------------------------


def test_a_pulse_token_near_its_end_is_renewed_with_a_new_id_token(
    fresh: Stack, browser: httpx.Client
) -> None:
    """A token with less than 60 s left is renewed before the relay: Keycloak's
    refresh_token grant, the new ID token to the workspace, its new Pulse token upstream.
    The workspace's token lifetime is the clock here: 30 s is always near its end."""
    fresh.workspace.ttl_s = 30
    sign_in(browser, fresh.dashboard)
    first = fresh.workspace.issued[-1]
    signed_in_at = fresh.workspace.id_tokens[-1]
    url = f"{fresh.dashboard.url}/api/v1/analytics/overview"

    assert browser.get(url).status_code == 200
    second = fresh.workspace.issued[-1]
    assert second != first
    assert fresh.query_api.seen[-1].headers["authorization"] == f"Bearer {second}"
    renewed_with = fresh.workspace.id_tokens[-1]
    assert renewed_with["sub"] == signed_in_at["sub"]
    assert renewed_with["iat"] >= signed_in_at["iat"]
    assert renewed_with != signed_in_at

    fresh.workspace.ttl_s = 300  # the next renewal's token lasts: no renewal after it
    assert browser.get(url).status_code == 200
    third = fresh.workspace.issued[-1]
    assert third not in (first, second)
    for _ in range(3):
        assert browser.get(url).status_code == 200
    assert fresh.workspace.issued[-1] == third
    assert [s.headers["authorization"] for s in fresh.query_api.seen[-4:]] == [
        f"Bearer {third}"
    ] * 4
    assert browser.get(f"{fresh.dashboard.url}/auth/session").status_code == 200


def test_a_refresh_the_provider_refuses_ends_the_session(
    fresh: Stack, browser: httpx.Client
) -> None:
    """Two sessions of one Keycloak sign-in; signing out of one ends Keycloak's session,
    so the other's next renewal is refused: it ends with a 401, never reaching upstream."""
    fresh.workspace.ttl_s = 30
    sign_in(browser, fresh.dashboard)
    first = cookie_of(browser)
    assert first is not None
    browser.cookies.delete(COOKIE)
    sign_in(browser, fresh.dashboard)  # Keycloak's session: no password asked
    ended = browser.post(
        f"{fresh.dashboard.url}/auth/logout",
        headers={"X-CSRF-Token": csrf(browser, fresh.dashboard)},
    )
    assert ended.status_code == 200, ended.text
    assert browser.get(ended.json()["logout_url"]).status_code == 302

    fresh.query_api.seen.clear()
    with httpx.Client(base_url=fresh.dashboard.url, cookies={COOKIE: first}) as other:
        refused = other.get("/api/v1/analytics/overview")
        assert refused.status_code == 401, refused.text
        assert "sign in again" in refused.json()["detail"]
        assert other.get("/auth/session").status_code == 401
    assert fresh.query_api.seen == []


# --- signing out ---------------------------------------------------------------------------


def test_signing_out_ends_the_keycloak_session_too(fresh: Stack, browser: httpx.Client) -> None:
    dashboard = fresh.dashboard
    sign_in(browser, dashboard)
    token = csrf(browser, dashboard)
    answer = browser.post(
        f"{dashboard.url}/auth/logout", headers={"X-CSRF-Token": token, "Origin": dashboard.url}
    )
    assert answer.status_code == 200, answer.text
    assert session_cookie(answer)["max-age"] == "0"
    logout_url = answer.json()["logout_url"]
    assert logout_url.startswith(f"{issuer()}/protocol/openid-connect/logout?")
    query = parse_qs(urlsplit(logout_url).query)
    assert query["post_logout_redirect_uri"] == [f"{dashboard.url}/"]
    assert (
        jwt.decode(query["id_token_hint"][0], options={"verify_signature": False})["aud"]
        == CLIENT_ID
    )
    assert browser.get(f"{dashboard.url}/auth/session").status_code == 401

    back = browser.get(logout_url)  # the page navigates there
    assert back.status_code == 302, back.text[:300]
    assert back.headers["location"].startswith(f"{dashboard.url}/")
    # Keycloak's session is over: signing in again asks for the password.
    page = browser.get(start_sign_in(browser, dashboard, "/"))
    assert page.status_code == 200
    assert "kc-form-login" in KeycloakPage(page.text).forms


# --- CSRF ----------------------------------------------------------------------------------


def test_a_state_changing_request_needs_the_csrf_token_and_our_origin(
    fresh: Stack, browser: httpx.Client
) -> None:
    dashboard = fresh.dashboard
    sign_in(browser, dashboard)
    token = csrf(browser, dashboard)
    fresh.workspace_server.seen.clear()
    refresh = f"{dashboard.url}/api/v1/analytics/refresh"
    refused = {
        "no token": {},
        "a wrong token": {"X-CSRF-Token": secrets.token_urlsafe(32)},
        "an empty token": {"X-CSRF-Token": ""},
        "a foreign origin": {"X-CSRF-Token": token, "Origin": "https://evil.example"},
        "a null origin": {"X-CSRF-Token": token, "Origin": "null"},
        "our host on another port": {"X-CSRF-Token": token, "Origin": "http://127.0.0.1:1"},
    }
    for what, headers in refused.items():
        for url in (
            refresh,
            f"{dashboard.url}/workspace/businesses",
            f"{dashboard.url}/connect/twitter/authorize",
            f"{dashboard.url}/auth/logout",
        ):
            answer = browser.post(url, headers=headers, json={})
            assert answer.status_code == 403, (what, url, answer.status_code, answer.text)
    assert fresh.query_api.seen == []
    assert fresh.workspace_server.seen == []
    assert browser.get(f"{dashboard.url}/auth/session").status_code == 200  # still signed in

    for headers in ({"X-CSRF-Token": token}, {"X-CSRF-Token": token, "Origin": dashboard.url}):
        assert browser.post(refresh, headers=headers, json={}).status_code == 200
    assert browser.get(f"{dashboard.url}/api/v1/analytics/overview").status_code == 200
    assert len(fresh.query_api.seen) == 3


# --- fixation, return_to, forged and replayed sign-ins, tampered cookies --------------------


def test_signing_in_always_makes_a_new_session_id(fresh: Stack, browser: httpx.Client) -> None:
    planted = secrets.token_urlsafe(32)
    browser.cookies.set(COOKIE, planted, domain="127.0.0.1", path="/")
    first = session_cookie(sign_in(browser, fresh.dashboard))["value"]
    assert first != planted
    second = session_cookie(sign_in(browser, fresh.dashboard))["value"]
    assert second not in (first, planted)
    with httpx.Client(base_url=fresh.dashboard.url) as other:
        for old in (planted, first):
            assert other.get("/auth/session", cookies={COOKIE: old}).status_code == 401
        assert other.get("/auth/session", cookies={COOKIE: second}).status_code == 200


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "evil.example",
        "/\t/evil.example",
        "/\r\nLocation: x",
        "javascript:alert(1)",
        "/" + "x" * 3000,
        "",
    ],
)
def test_return_to_must_be_a_path_of_this_site(fresh: Stack, return_to: str) -> None:
    answer = httpx.get(f"{fresh.dashboard.url}/auth/login", params={"return_to": return_to})
    assert answer.status_code == 400, (return_to, answer.status_code, answer.headers)
    assert "location" not in answer.headers
    assert answer.headers.get_list("set-cookie") == []


def test_a_forged_or_replayed_state_and_a_foreign_browser_are_refused(
    fresh: Stack, browser: httpx.Client
) -> None:
    dashboard = fresh.dashboard
    before = len(fresh.workspace.id_tokens)
    callback = at_keycloak(browser, start_sign_in(browser, dashboard, "/"))
    # Another browser (no sign-in cookie of this one) brings the code: refused.
    with httpx.Client() as other:
        assert other.get(callback).status_code == 400
    assert browser.get(callback).status_code == 302  # the browser that started it
    replayed = browser.get(callback)
    assert replayed.status_code == 400, replayed.text
    assert len(fresh.workspace.id_tokens) == before + 1

    # A forged state: the sign-in in progress is refused, and used up.
    callback = at_keycloak(browser, start_sign_in(browser, dashboard, "/"))
    query = parse_qs(urlsplit(callback).query)
    forged = {"code": query["code"][0], "state": secrets.token_urlsafe(20), "iss": issuer()}
    answer = browser.get(f"{dashboard.url}/auth/callback", params=forged)
    assert answer.status_code == 400, answer.text
    assert "mismatching_state" in answer.text
    assert browser.get(callback).status_code == 400
    assert len(fresh.workspace.id_tokens) == before + 1


def test_a_tampered_unknown_or_altered_session_is_a_401(
    fresh: Stack, browser: httpx.Client, infra: Infra
) -> None:
    sign_in(browser, fresh.dashboard)
    real = cookie_of(browser)
    assert real is not None
    flipped = real[:-1] + ("A" if real[-1] != "A" else "B")
    fresh.query_api.seen.clear()
    with httpx.Client(base_url=fresh.dashboard.url) as other:
        for value in (flipped, secrets.token_urlsafe(32), "x", real + "x", "", "../" * 20):
            for path in ("/auth/session", "/api/v1/analytics/overview", "/workspace/me"):
                answer = other.get(path, cookies={COOKIE: value})
                assert answer.status_code == 401, (value, path, answer.text)
        # The record itself altered in Redis: it no longer decrypts.
        redis = Redis.from_url(infra.redis_url)
        try:
            stored = redis.get(redis_key(real))
            assert isinstance(stored, bytes)
            redis.set(redis_key(real), stored[:-4] + b"AAAA", keepttl=True)
        finally:
            redis.close()
        answer = other.get("/auth/session", cookies={COOKIE: real})
        assert answer.status_code == 401
        assert session_cookie(answer)["max-age"] == "0"  # the page's cookie is forgotten
    assert fresh.query_api.seen == []


def test_a_session_past_its_maximum_age_has_ended(
    fresh: Stack, browser: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A second server on the same Redis and keys, whose sessions may be 0 s old: the
    session the first made has ended there, and so everywhere (no sleep)."""
    sign_in(browser, fresh.dashboard)
    assert browser.get(f"{fresh.dashboard.url}/auth/session").status_code == 200
    strict = dashboard_server(
        tmp_path_factory,
        {
            "PULSE_QUERY_API_URL": fresh.query_api.url,
            "PULSE_WORKSPACE_URL": fresh.workspace_server.url,
            "PULSE_DASHBOARD_SESSION_KEYS": fresh.session_keys,
            "PULSE_DASHBOARD_SESSION_MAX_AGE_S": "0",
        },
    )
    try:
        assert browser.get(f"{strict.url}/auth/session").status_code == 401
    finally:
        strict.stop()
    assert browser.get(f"{fresh.dashboard.url}/auth/session").status_code == 401


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PULSE_OIDC_CLIENT_SECRET", "", "PULSE_OIDC_CLIENT_SECRET"),
        ("PULSE_DASHBOARD_SESSION_KEYS", "not-a-key", "Fernet"),
        ("PULSE_DASHBOARD_PUBLIC_URL", "http://127.0.0.1:8080/app", "origin"),
        ("PULSE_SESSION_COOKIE_SECURE", "maybe", "true or false"),
        ("PULSE_RATE_LIMIT_SIGN_IN", "30", "PULSE_RATE_LIMIT_SIGN_IN"),
        ("PULSE_TRUSTED_PROXIES", "10.0.0.0/8", "JSON list"),
    ],
)
def test_the_server_refuses_to_start_without_what_sign_in_needs(
    tmp_path_factory: pytest.TempPathFactory, name: str, value: str, says: str
) -> None:
    with pytest.raises(RuntimeError) as failed:
        start_dashboard_server(tmp_path_factory, {name: value})
    assert says in str(failed.value)
    assert local_credentials()["PULSE_KEYCLOAK_DASHBOARD_CLIENT_SECRET"] not in str(failed.value)


# --- against the real workspace service -----------------------------------------------------


def test_a_sign_in_with_the_real_workspace_service_renews_and_relays_its_token(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, browser: httpx.Client
) -> None:
    """The same path with the workspace service itself (its tokens living 30 s, so every
    relayed call renews): its /v1/sessions takes Keycloak's ID token, the /api/ relay
    carries a token that verifies against its JWKS, and /workspace/me answers the user."""
    from services.workspace.tests.support import APP, workspace_env

    env = workspace_env(infra, secrets.token_hex(32), PULSE_WORKSPACE_TOKEN_TTL_S="30")
    logs = str(tmp_path_factory.mktemp("logs"))
    workspace = start_service("workspace", APP, env, logs, ready_path="/readyz")
    query_api = RecordingServer(echo)
    dashboard = dashboard_server(
        tmp_path_factory,
        {"PULSE_QUERY_API_URL": query_api.url, "PULSE_WORKSPACE_URL": workspace.url},
    )
    try:
        sign_in(browser, dashboard)
        me = browser.get(f"{dashboard.url}/workspace/me")
        assert me.status_code == 200, me.text
        assert me.json()["user"]["email"] == DEMO
        keys = jwt.PyJWKClient(f"{workspace.url}/.well-known/jwks.json")
        bearers = []
        for _ in range(2):
            assert browser.get(f"{dashboard.url}/api/v1/analytics/overview").status_code == 200
            bearer = query_api.seen[-1].headers["authorization"].removeprefix("Bearer ")
            key = keys.get_signing_key_from_jwt(bearer).key
            claims = jwt.decode(bearer, key, algorithms=["EdDSA"], audience="pulse-api")
            assert claims["sub"] == me.json()["user"]["user_id"]
            bearers.append(bearer)
        assert bearers[0] != bearers[1]  # renewed: 30 s is always within the last minute
    finally:
        dashboard.stop()
        workspace.stop()
        query_api.close()
    assert "NOPERM" not in dashboard.log()
