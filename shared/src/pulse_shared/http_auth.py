"""Who is calling a service's HTTP API: bearer JWTs, RS256 through the identity provider's
JWKS URL in production, HS256 with a development secret locally (see pulse_shared.auth).
The one token check of every service that takes a member's token (query-api, the ingest
services' connect routes): the teams issue swaps its session in here.

A token only names the user; whether the user may read a business is looked up in
business_members on every request, so revoking a membership takes effect at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt.types import Options

from pulse_shared.auth import weak_secret_reason
from pulse_shared.settings import PulseSettings

UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


# Verified tokens are remembered until they expire: checking a signature and its claims
# on every request of a dashboard session costs more than answering from the cache. A
# token only names the user; what the user may read is still looked up per request.
VERIFIED_TOKENS_KEPT = 10_000
LEEWAY_S = 30
# PyJWT checks these are present (and exp and iat are numbers) before anything else.
REQUIRED_CLAIMS: Options = {"require": ["exp", "iat", "sub", "iss", "aud"]}


class Authenticator:
    def __init__(self, settings: PulseSettings) -> None:
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        self._secret = settings.jwt_secret
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        # Outside dev, a token issued for longer than this is refused.
        self._max_lifetime_s = None if settings.is_dev else settings.jwt_max_lifetime_s
        self._verified: dict[str, tuple[str, float]] = {}  # token -> (subject, expires at)

    @staticmethod
    def check_configuration(settings: PulseSettings) -> None:
        """Refuse to serve outside dev with a published, guessable or short secret."""
        if settings.is_dev or settings.jwt_jwks_url is not None:
            return
        reason = weak_secret_reason(settings.jwt_secret)
        if reason is not None:
            raise RuntimeError(
                f"refusing to start: PULSE_JWT_SECRET may not sign tokens ({reason}) and "
                f"PULSE_ENVIRONMENT is {settings.environment!r}; set PULSE_JWT_JWKS_URL "
                "(an identity provider) or a secret of your own of 32 characters or more"
            )

    async def user_of(self, token: str) -> str:
        known = self._verified.get(token)
        if known is not None and known[1] + LEEWAY_S > time.time():
            return known[0]
        subject, expires = await self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()  # simple and bounded; refills from live sessions
        self._verified[token] = (subject, expires)
        return subject

    async def _verify(self, token: str) -> tuple[str, float]:
        try:
            if self._jwks is not None:
                # The key set is fetched (and cached) by PyJWT with blocking I/O.
                key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                claims = jwt.decode(
                    token, key.key, algorithms=["RS256"], audience=self._audience,
                    issuer=self._issuer, leeway=LEEWAY_S, options=REQUIRED_CLAIMS,
                )  # fmt: skip
            else:
                claims = jwt.decode(
                    token, self._secret, algorithms=["HS256"], audience=self._audience,
                    issuer=self._issuer, leeway=LEEWAY_S, options=REQUIRED_CLAIMS,
                )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise HTTPException(401, f"invalid token: {exc}", headers=UNAUTHORIZED) from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise HTTPException(401, "invalid token: no subject", headers=UNAUTHORIZED)
        expires, issued = claims["exp"], claims["iat"]
        if self._max_lifetime_s is not None and expires - issued > self._max_lifetime_s:
            raise HTTPException(
                401,
                f"invalid token: issued for longer than {self._max_lifetime_s} s",
                headers=UNAUTHORIZED,
            )
        return subject, float(expires)


class BearerUser(HTTPBearer):
    """The caller's user id from the bearer token, or 401: a dependency that every other
    part of a request depends on, so that nothing of it (its parameters, its body) is
    validated for a caller without a valid token. Declared as the bearer security scheme."""

    async def __call__(self, request: Request) -> str:  # type: ignore[override]
        credentials = await super().__call__(request)
        return await authenticate(request, credentials)


UserDep = Annotated[str, Depends(BearerUser(auto_error=False, description="An access token (JWT)"))]


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    """The caller's user id, or 401."""
    if credentials is None:
        raise HTTPException(401, "missing bearer token", headers=UNAUTHORIZED)
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.user_of(credentials.credentials)
