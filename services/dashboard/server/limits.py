"""Request rate limits, per client address, with the services' shared limiter
(pulse_shared.http_ratelimit): counted in Redis under ``pulse:http-rl:`` with INCRBY and
EXPIRE (the ``dashboard`` user's), so every replica sees every other's requests.

- every request: the shared ``RateLimits`` middleware (PULSE_RATE_LIMIT_ADDRESS);
- ``/auth/login`` and ``/auth/callback``, tighter (PULSE_RATE_LIMIT_SIGN_IN): each sign-in
  started is kept in Redis for 10 minutes, so what one address can make it keep is bounded;
- session cookies that name no session (PULSE_RATE_LIMIT_AUTH_FAILURES), as the other
  services count refused sign-ins: past the quota, that address's requests carrying a
  session cookie are refused until the window ends. Only such cookies count, not every
  401: a visitor who is not signed in gets one at each page load (``/auth/session``).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from pulse_shared.http_ratelimit import (
    HttpLimits,
    Limit,
    RateLimiter,
    Verdict,
    client_address,
    key_prefix,
    refuse,
)

from .settings import Settings

SIGN_IN_PATHS = frozenset({"/auth/login", "/auth/callback"})


def client_of(scope: Scope, trusted_proxies: frozenset[str]) -> str:
    """The client's address: the peer's, or what a trusted proxy says it is."""
    peer = scope["client"][0] if scope.get("client") else None
    return client_address(peer, scope["headers"], trusted_proxies)


@dataclass(frozen=True)
class Limits:
    limiter: RateLimiter
    http: HttpLimits  # every request's limit, for the shared middleware
    sign_in: Limit
    refused_cookies: Limit
    cookie_name: str

    @classmethod
    def of(cls, settings: Settings, redis: Redis) -> Limits | None:
        """The server's limits; None when they are switched off."""
        if not settings.rate_limits_enabled:
            return None
        return cls(
            RateLimiter(redis, key_prefix(settings.topic_prefix)),
            HttpLimits(
                address=settings.rate_limit_address, trusted_proxies=settings.trusted_proxies
            ),
            sign_in=settings.rate_limit_sign_in,
            refused_cookies=settings.rate_limit_auth_failures,
            cookie_name=settings.cookie_name,
        )

    async def verdict(self, scope: Scope) -> Verdict | None:
        """A sign-in's verdict (counted), or that of a request with a session cookie (not
        counted: only refused cookies are, by guard.py); None for any other request."""
        address = client_of(scope, self.http.trusted_proxies)
        if scope["path"] in SIGN_IN_PATHS:
            return await self.limiter.hit(self.sign_in, address)
        if self.cookie_name in _cookies(scope):
            return await self.limiter.check(self.refused_cookies, address)
        return None

    async def refused_cookie(self, scope: Scope) -> None:
        await self.limiter.hit(self.refused_cookies, client_of(scope, self.http.trusted_proxies))


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope["headers"]:
        if name == b"cookie":
            return cookie_parser(value.decode("latin-1"))
    return {}


class AuthLimits:
    """The ASGI middleware applying ``Limits.verdict``, with the shared limiter's 429 (and
    its Retry-After). The limits are the Services' (app.py's lifespan); without them
    (limits switched off, or no lifespan) requests pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = getattr(scope["app"].state, "services", None) if "app" in scope else None
        limits: Limits | None = getattr(services, "limits", None)
        if scope["type"] == "http" and limits is not None:
            verdict = await limits.verdict(scope)
            if verdict is not None and not verdict.allowed:
                await refuse(send, verdict)
                return
        await self.app(scope, receive, send)
