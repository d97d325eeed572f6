"""The dashboard server's settings: the one place that reads the environment.

Unset means production: the session cookie is Secure, and what sign-in needs (the
identity provider, the public URL, Redis, the session keys) has no default; the server
refuses to start without it, naming what is missing.

  PULSE_OIDC_ISSUER               the OpenID provider (its /.well-known/openid-configuration)
  PULSE_OIDC_CLIENT_ID            this server's client at the provider
  PULSE_OIDC_CLIENT_SECRET        its secret
  PULSE_DASHBOARD_PUBLIC_URL      the origin browsers reach the dashboard at
                                  (e.g. http://127.0.0.1:8080): redirect URI base, Origin check
  PULSE_REDIS_URL                 Redis as the ``dashboard`` ACL user (sessions)
  PULSE_DASHBOARD_SESSION_KEYS    Fernet keys, comma-separated: the first encrypts, all decrypt
  PULSE_SESSION_COOKIE_SECURE     true (default); false only for a plain-HTTP host that is
                                  not loopback (browsers treat 127.0.0.1 as secure)
  PULSE_DASHBOARD_SESSION_IDLE_S  a session unused this long ends (8 h)
  PULSE_DASHBOARD_SESSION_MAX_AGE_S  and any session this old (7 days)
  PULSE_WORKSPACE_URL             the workspace service (default http://127.0.0.1:8400)
  PULSE_QUERY_API_URL             query-api (default http://127.0.0.1:8000)
  PULSE_REPORTER_URL              the reporter (default http://127.0.0.1:8500)
  PULSE_INGEST_<SERVICE>_URL      each ingest service (defaults 8101, 8102, 8103; "" : that
                                  service's /connect/ routes answer 404)
  PULSE_DASHBOARD_DIST            the built page (default ../dist next to this file)

Request rate limits (server/limits.py), "<requests>/<seconds>" per client address:
  PULSE_RATE_LIMITS_ENABLED       true (default); false: nothing is limited
  PULSE_RATE_LIMIT_ADDRESS        every request (2400/60, as query-api's: the page's calls)
  PULSE_RATE_LIMIT_SIGN_IN        /auth/login and /auth/callback (30/60)
  PULSE_RATE_LIMIT_AUTH_FAILURES  session cookies that name no session (30/60)
  PULSE_TRUSTED_PROXIES           peers whose X-Forwarded-For names the client: a JSON list
                                  of addresses or networks (the ingress controller's); from
                                  any other peer the header is ignored
  PULSE_TOPIC_PREFIX              scopes the limits' Redis keys (a test's own; empty in a
                                  deployment), as every service's
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, MultiFernet

from pulse_shared.http_ratelimit import Limit

from .proxy import CONNECT_SERVICES

INGEST_DEFAULTS = {
    "linkedin": "http://127.0.0.1:8101",
    "twitter": "http://127.0.0.1:8102",
    "meta": "http://127.0.0.1:8103",
}
DEFAULT_DIST = Path(__file__).resolve().parent.parent / "dist"
REQUIRED = (
    "PULSE_OIDC_ISSUER",
    "PULSE_OIDC_CLIENT_ID",
    "PULSE_OIDC_CLIENT_SECRET",
    "PULSE_DASHBOARD_PUBLIC_URL",
    "PULSE_REDIS_URL",
    "PULSE_DASHBOARD_SESSION_KEYS",
)

# The rate limits' defaults; each PULSE_RATE_LIMIT_<NAME> replaces one.
ADDRESS_LIMIT = Limit("address", 2400, 60)
SIGN_IN_LIMIT = Limit("sign-in", 30, 60)
AUTH_FAILURES_LIMIT = Limit("auth-failures", 30, 60)


class SettingsError(ValueError):
    """A setting missing or unusable; the message names it, never a secret's value."""


@dataclass(frozen=True)
class Settings:
    oidc_issuer: str
    oidc_client_id: str
    oidc_client_secret: str = field(repr=False)
    public_url: str  # an origin: scheme://host[:port], no trailing slash
    redis_url: str = field(repr=False)
    session_keys: MultiFernet = field(repr=False)
    cookie_secure: bool = True
    session_idle_s: int = 8 * 3600
    session_max_age_s: int = 7 * 24 * 3600
    workspace_url: str = "http://127.0.0.1:8400"
    query_api_url: str = "http://127.0.0.1:8000"
    reporter_url: str = "http://127.0.0.1:8500"
    ingest_urls: Mapping[str, str] = field(default_factory=lambda: dict(INGEST_DEFAULTS))
    dist: Path = DEFAULT_DIST
    rate_limits_enabled: bool = True
    rate_limit_address: Limit = ADDRESS_LIMIT
    rate_limit_sign_in: Limit = SIGN_IN_LIMIT
    rate_limit_auth_failures: Limit = AUTH_FAILURES_LIMIT
    trusted_proxies: frozenset[str] = frozenset()
    topic_prefix: str = ""

    @property
    def cookie_name(self) -> str:
        # A browser keeps a __Host- cookie only when it is Secure, for Path=/ and no Domain.
        return "__Host-pulse_session" if self.cookie_secure else "pulse_session"

    @property
    def sign_in_cookie_name(self) -> str:
        return "__Host-pulse_sign_in" if self.cookie_secure else "pulse_sign_in"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        missing = [name for name in REQUIRED if not env.get(name, "").strip()]
        if missing:
            raise SettingsError(f"the dashboard server needs {', '.join(missing)}")
        ingest = {
            service: url
            for service in CONNECT_SERVICES
            if (
                url := _url(
                    env.get(f"PULSE_INGEST_{service.upper()}_URL", INGEST_DEFAULTS[service])
                )
            )
        }
        return cls(
            oidc_issuer=_url(env["PULSE_OIDC_ISSUER"]),
            oidc_client_id=env["PULSE_OIDC_CLIENT_ID"].strip(),
            oidc_client_secret=env["PULSE_OIDC_CLIENT_SECRET"].strip(),
            public_url=_origin(env["PULSE_DASHBOARD_PUBLIC_URL"]),
            redis_url=env["PULSE_REDIS_URL"].strip(),
            session_keys=_fernet(env["PULSE_DASHBOARD_SESSION_KEYS"]),
            cookie_secure=_flag(env, "PULSE_SESSION_COOKIE_SECURE", default=True),
            session_idle_s=_seconds(env, "PULSE_DASHBOARD_SESSION_IDLE_S", 8 * 3600),
            session_max_age_s=_seconds(env, "PULSE_DASHBOARD_SESSION_MAX_AGE_S", 7 * 24 * 3600),
            workspace_url=_url(env.get("PULSE_WORKSPACE_URL", "http://127.0.0.1:8400")),
            query_api_url=_url(env.get("PULSE_QUERY_API_URL", "http://127.0.0.1:8000")),
            reporter_url=_url(env.get("PULSE_REPORTER_URL", "http://127.0.0.1:8500")),
            ingest_urls=ingest,
            dist=Path(env.get("PULSE_DASHBOARD_DIST") or DEFAULT_DIST),
            rate_limits_enabled=_flag(env, "PULSE_RATE_LIMITS_ENABLED", default=True),
            rate_limit_address=_limit(env, ADDRESS_LIMIT),
            rate_limit_sign_in=_limit(env, SIGN_IN_LIMIT),
            rate_limit_auth_failures=_limit(env, AUTH_FAILURES_LIMIT),
            trusted_proxies=_networks(env, "PULSE_TRUSTED_PROXIES"),
            topic_prefix=env.get("PULSE_TOPIC_PREFIX", "").strip(),
        )


def _url(text: str) -> str:
    return text.strip().rstrip("/")


def _origin(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise SettingsError(
            "PULSE_DASHBOARD_PUBLIC_URL must be an origin such as https://pulse.example.com"
        )
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise SettingsError("PULSE_DASHBOARD_PUBLIC_URL must be an origin, nothing more")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _fernet(text: str) -> MultiFernet:
    keys = [key.strip() for key in text.split(",") if key.strip()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise SettingsError(
            "PULSE_DASHBOARD_SESSION_KEYS must be Fernet keys (base64url of 32 bytes), "
            "comma-separated"
        ) from None


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value not in ("true", "false", "1", "0"):
        raise SettingsError(f"{name} must be true or false")
    return value in ("true", "1")


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise SettingsError(f"{name} must be a whole number of seconds")
    return int(value)


def _limit(env: Mapping[str, str], default: Limit) -> Limit:
    """PULSE_RATE_LIMIT_<NAME> ("600/60"), or ``default`` when unset."""
    name = f"PULSE_RATE_LIMIT_{default.name.upper().replace('-', '_')}"
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return Limit.parse(default.name, value)
    except ValueError:
        raise SettingsError(f"{name} must be '<requests>/<seconds>', both at least 1") from None


def _networks(env: Mapping[str, str], name: str) -> frozenset[str]:
    """A JSON list of addresses or networks (``["10.0.0.0/8"]``), as the other services
    read it."""
    value = env.get(name, "").strip()
    if not value:
        return frozenset()
    try:
        entries = json.loads(value)
        if not isinstance(entries, list):
            raise ValueError(value)
        for entry in entries:
            if not isinstance(entry, str):
                raise TypeError(entry)
            ipaddress.ip_network(entry, strict=False)
    except (ValueError, TypeError):
        raise SettingsError(
            f'{name} must be a JSON list of addresses or networks, such as ["10.0.0.0/8"]'
        ) from None
    return frozenset(entries)
