"""The dashboard server's rate limits and readiness ("every endpoint is rate limited",
"every service has /readyz").

Per client address: every request; /auth/login and /auth/callback more tightly (each
sign-in started is a 10-minute record in Redis); session cookies that name no session,
like the other services' refused sign-ins. The counts are the shared limiter's, in Redis
under ``pulse:http-rl:``, written as the ``dashboard`` ACL user (no NOPERM in its log).
The server runs as a real process with small limits of its own and trusts 127.0.0.1 as
a proxy, so each test is a client address of its own (X-Forwarded-For).
"""

from __future__ import annotations

import importlib
import itertools
import json
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.fernet import Fernet
from redis import Redis

from pulse_testing.http import LOOSE_HEADERS, Answer, RecordingServer, Seen, call
from pulse_testing.infra import ROOT, Infra
from pulse_testing.processes import ServiceProcess, free_port
from services.dashboard.tests.support import dashboard_server

integration = pytest.mark.integration

DASHBOARD_DIR = Path(ROOT) / "services" / "dashboard"
COOKIE = "__Host-pulse_session"
WINDOW_S = 3600
PREFIX = f"test-{secrets.token_hex(6)}"


def echo(seen: Seen) -> tuple[int, dict[str, str], bytes]:
    return 200, LOOSE_HEADERS, json.dumps({"path": seen.path}).encode()


@pytest.fixture(scope="module")
def query_api() -> Iterator[RecordingServer]:
    server = RecordingServer(echo)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def dashboard(
    query_api: RecordingServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    env = {
        "PULSE_QUERY_API_URL": query_api.url,
        "PULSE_TRUSTED_PROXIES": '["127.0.0.1"]',
        "PULSE_TOPIC_PREFIX": f"{PREFIX}.",
    }
    service = dashboard_server(
        tmp_path_factory,
        env,
        address=f"20/{WINDOW_S}",
        sign_in=f"3/{WINDOW_S}",
        auth_failures=f"3/{WINDOW_S}",
    )
    try:
        yield service
    finally:
        service.stop()
    assert "NOPERM" not in service.log()
    assert "counted locally" not in service.log()  # every count reached Redis


ADDRESSES = (f"203.0.113.{n}" for n in itertools.count(1))


@pytest.fixture
def client() -> dict[str, str]:
    """A client address of the test's own (documentation range), as the proxy says it
    (the last address of X-Forwarded-For), in a window the test will not outlast (a
    fixed window's counts start over at its end)."""
    if WINDOW_S - time.time() % WINDOW_S < 10:
        time.sleep(WINDOW_S - time.time() % WINDOW_S)
    return {"X-Forwarded-For": f"192.0.2.9, {next(ADDRESSES)}"}


def address_of(client: dict[str, str]) -> str:
    return client["X-Forwarded-For"].split(", ")[-1]


def assert_refused(answer: Answer, limit: str, quota: int) -> None:
    assert answer.status == 429, (answer.status, answer.body[:200])
    [retry_after] = answer.values("retry-after")
    assert 1 <= int(retry_after) <= WINDOW_S
    assert answer.values("ratelimit-policy") == [f'"{limit}";q={quota};w={WINDOW_S}']
    assert answer.values("set-cookie") == []
    assert limit in json.loads(answer.body)["detail"]
    assert answer.values("x-frame-options") == ["DENY"]  # the security headers too


@integration
def test_sign_ins_past_the_limit_are_refused_with_retry_after(
    dashboard: ServiceProcess, client: dict[str, str]
) -> None:
    for _ in range(3):
        started = call(dashboard, "GET", "/auth/login?return_to=/", client)
        assert started.status == 302, started.body[:200]
    assert_refused(call(dashboard, "GET", "/auth/login?return_to=/", client), "sign-in", 3)
    # The callback is the same limit; the page and another address are not limited.
    assert_refused(call(dashboard, "GET", "/auth/callback?code=x&state=y", client), "sign-in", 3)
    assert call(dashboard, "GET", "/", client).status == 200
    other = {"X-Forwarded-For": "198.51.100.200"}
    assert call(dashboard, "GET", "/auth/login?return_to=/", other).status == 302


@integration
def test_the_counts_are_kept_under_pulse_http_rl(
    dashboard: ServiceProcess, client: dict[str, str], infra: Infra
) -> None:
    assert call(dashboard, "GET", "/auth/login?return_to=/", client).status == 302
    address = address_of(client)
    window = int(time.time() // WINDOW_S)
    redis = Redis.from_url(infra.redis_url)
    try:
        keys = {k.decode() for k in redis.scan_iter(match=f"*{PREFIX}*", count=1000)}
        counts = {k: int(redis.get(k) or 0) for k in keys if k.endswith(f":{address}")}
        ttl = redis.ttl(f"pulse:http-rl:{PREFIX}:sign-in:{window}:{address}")
    finally:
        redis.close()
    assert keys
    assert all(k.startswith(f"pulse:http-rl:{PREFIX}:") for k in keys), keys
    assert counts == {
        f"pulse:http-rl:{PREFIX}:address:{window}:{address}": 1,
        f"pulse:http-rl:{PREFIX}:sign-in:{window}:{address}": 1,
    }
    assert 0 < ttl <= 2 * WINDOW_S


@integration
def test_refused_session_cookies_are_counted_and_then_refused(
    dashboard: ServiceProcess, client: dict[str, str]
) -> None:
    forged = {**client, "Cookie": f"{COOKIE}={secrets.token_urlsafe(32)}"}
    for path in ("/auth/session", "/api/v1/analytics/overview", "/workspace/me"):
        assert call(dashboard, "GET", path, forged).status == 401, path
    assert_refused(call(dashboard, "GET", "/auth/session", forged), "auth-failures", 3)
    # Without a session cookie the address is served: not being signed in is no failure.
    for _ in range(4):
        assert call(dashboard, "GET", "/auth/session", client).status == 401
    assert call(dashboard, "GET", "/", client).status == 200


@integration
def test_every_request_counts_towards_the_address_limit(
    dashboard: ServiceProcess, client: dict[str, str]
) -> None:
    for path in ("/", "/assets/app.js", "/healthz", "/auth/session") * 5:
        assert call(dashboard, "GET", path, client).status in (200, 401), path
    assert_refused(call(dashboard, "GET", "/", client), "address", 20)


@integration
def test_the_relays_pass_on_the_address_a_trusted_proxy_names(
    dashboard: ServiceProcess, client: dict[str, str], query_api: RecordingServer
) -> None:
    query_api.seen.clear()
    headers = {**client, "Authorization": "Bearer its.own.token"}
    assert call(dashboard, "GET", "/api/v1/analytics/overview", headers).status == 200
    [seen] = query_api.seen
    assert seen.headers["x-forwarded-for"] == address_of(client)


# --- readiness ---------------------------------------------------------------------------


@integration
def test_ready_when_redis_and_the_identity_provider_answer(dashboard: ServiceProcess) -> None:
    answer = call(dashboard, "GET", "/readyz")
    assert answer.status == 200, answer.body
    assert json.loads(answer.body) == {
        "status": "ready",
        "checks": {"redis": "ok", "identity-provider": "ok"},
    }


@integration
def test_not_ready_while_the_identity_provider_cannot_be_reached(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/realms/pulse"
    service = dashboard_server(tmp_path_factory, {"PULSE_OIDC_ISSUER": nowhere})
    try:
        answer = call(service, "GET", "/readyz")
        assert call(service, "GET", "/healthz").status == 200
    finally:
        service.stop()
    assert answer.status == 503, answer.body
    assert json.loads(answer.body)["checks"] == {"redis": "ok", "identity-provider": "failing"}


# --- the settings, without a server -------------------------------------------------------


def load_settings(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """server/settings.py, imported here (the server is a folder, not a package)."""
    monkeypatch.syspath_prepend(str(DASHBOARD_DIR))
    for name in [n for n in sys.modules if n == "server" or n.startswith("server.")]:
        monkeypatch.delitem(sys.modules, name)
    return importlib.import_module("server.settings")


def sign_in_env() -> dict[str, str]:
    return {
        "PULSE_OIDC_ISSUER": "https://login.example.com/realms/pulse",
        "PULSE_OIDC_CLIENT_ID": "pulse-dashboard",
        "PULSE_OIDC_CLIENT_SECRET": "secret",
        "PULSE_DASHBOARD_PUBLIC_URL": "https://pulse.example.com",
        "PULSE_REDIS_URL": "redis://dashboard:x@127.0.0.1:6379/0",
        "PULSE_DASHBOARD_SESSION_KEYS": Fernet.generate_key().decode(),
    }


def test_the_limits_default_to_the_documented_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(monkeypatch).Settings.from_env(sign_in_env())
    assert settings.rate_limits_enabled
    rates = [
        (limit.name, limit.quota, limit.window_s)
        for limit in (
            settings.rate_limit_address,
            settings.rate_limit_sign_in,
            settings.rate_limit_auth_failures,
        )
    ]
    assert rates == [("address", 2400, 60), ("sign-in", 30, 60), ("auth-failures", 30, 60)]
    assert settings.trusted_proxies == frozenset()
    assert settings.topic_prefix == ""


def test_the_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        **sign_in_env(),
        "PULSE_RATE_LIMIT_SIGN_IN": "5/300",
        "PULSE_RATE_LIMITS_ENABLED": "false",
        "PULSE_TRUSTED_PROXIES": '["10.0.0.0/8", "192.0.2.1"]',
    }
    settings = load_settings(monkeypatch).Settings.from_env(env)
    assert (settings.rate_limit_sign_in.quota, settings.rate_limit_sign_in.window_s) == (5, 300)
    assert not settings.rate_limits_enabled
    assert settings.trusted_proxies == {"10.0.0.0/8", "192.0.2.1"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PULSE_RATE_LIMIT_ADDRESS", "600"),
        ("PULSE_RATE_LIMIT_SIGN_IN", "0/60"),
        ("PULSE_RATE_LIMIT_AUTH_FAILURES", "many/60"),
        ("PULSE_RATE_LIMITS_ENABLED", "perhaps"),
        ("PULSE_TRUSTED_PROXIES", "10.0.0.0/8"),
        ("PULSE_TRUSTED_PROXIES", '["ingress"]'),
        ("PULSE_TRUSTED_PROXIES", '{"a": 1}'),
        ("PULSE_TRUSTED_PROXIES", "[1]"),
    ],
)
def test_an_unusable_limit_setting_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    module = load_settings(monkeypatch)
    with pytest.raises(module.SettingsError, match=name):
        module.Settings.from_env({**sign_in_env(), name: value})
