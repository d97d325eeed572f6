"""Who is calling a service's HTTP API: bearer JWTs checked against a JWKS (the workspace
service's, whose tokens are EdDSA, or any identity provider's RS256/ES256), or HS256 with a
development secret locally (see pulse_shared.auth). The one token check of every service
that takes a member's token (query-api, the ingest services' connect routes, the workspace).

A token only names the user, and for a personal API token the one business it may read
(``pulse_business``); whether the user may read a business, and with which role, is looked
up in business_members on every request, so removing a member takes effect at once.

A token the workspace mints for one of Pulse's own services (the reporter, which reads
analytics through query-api like any client) names the service (``pulse_service``, its
subject ``service:<name>``) and one business; a service is no member of anything, so no
membership is looked up for it: it may read and export that business
(:data:`SERVICE_PERMISSIONS`) and nothing else.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt.types import Options

from pulse_shared.auth import weak_secret_reason
from pulse_shared.roles import TOKEN_PERMISSIONS, Permission
from pulse_shared.settings import PulseSettings

UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


# Verified tokens are remembered until they expire: checking a signature and its claims
# on every request of a dashboard session costs more than answering from the cache. A
# token only names the user; what the user may read is still looked up per request.
VERIFIED_TOKENS_KEPT = 10_000
LEEWAY_S = 30
# PyJWT checks these are present (and exp and iat are numbers) before anything else.
REQUIRED_CLAIMS: Options = {"require": ["exp", "iat", "sub", "iss", "aud"]}
# What a key set may sign with; each key is only ever used with its own type's algorithm.
ASYMMETRIC = ["EdDSA", "ES256", "RS256"]
# The claims of a token exchanged for a personal API token (the workspace service mints them).
TOKEN_BUSINESS_CLAIM = "pulse_business"  # noqa: S105 - a claim's name
TOKEN_ID_CLAIM = "pulse_token"  # noqa: S105 - a claim's name
# The claim of a token the workspace mints for a Pulse service (POST /v1/service/tokens):
# the service's name; the token also carries TOKEN_BUSINESS_CLAIM and no TOKEN_ID_CLAIM.
TOKEN_SERVICE_CLAIM = "pulse_service"  # noqa: S105 - a claim's name
SERVICE_SUBJECT_PREFIX = "service:"
SERVICE_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
# What a service's token may do in its business: what a personal API token may.
SERVICE_PERMISSIONS = TOKEN_PERMISSIONS


def service_subject(service: str) -> str:
    """The subject of a service's tokens: ``service:reporter``."""
    return SERVICE_SUBJECT_PREFIX + service


@dataclass(frozen=True)
class Caller:
    """Who is calling: ``user`` (the token's subject); for a personal API token, the one
    business it may read (``api_token_business``) and the token's id. Such a caller is
    read-only (pulse_shared.roles.TOKEN_PERMISSIONS).

    For a Pulse service's token, ``service`` names the service and ``api_token_business``
    is its one business too (so every check of a token's business and read-only-ness
    holds for it as well); it is no member: see :meth:`service_may`."""

    user: str
    api_token_business: int | None = None
    api_token_id: int | None = None
    service: str | None = None

    @property
    def api_token(self) -> bool:
        return self.api_token_business is not None

    def may_see(self, business_id: int) -> bool:
        """False for a business an API token is not for (answered as if it did not exist)."""
        return self.api_token_business is None or self.api_token_business == business_id

    def service_may(self, permission: Permission) -> bool:
        """What a service's token may do in its business (no role: it is no member)."""
        return self.service is not None and permission in SERVICE_PERMISSIONS


def _malformed(what: str) -> HTTPException:
    return HTTPException(401, f"invalid token: malformed {what} claims", headers=UNAUTHORIZED)


def caller_of_claims(subject: str, claims: Mapping[str, Any]) -> Caller:
    """The caller a verified token's claims name (401 for claims that do not fit)."""
    business, token_id = claims.get(TOKEN_BUSINESS_CLAIM), claims.get(TOKEN_ID_CLAIM)
    service = claims.get(TOKEN_SERVICE_CLAIM)
    if service is not None:
        if not (
            isinstance(service, str)
            and SERVICE_NAME.fullmatch(service)
            and subject == service_subject(service)
            and type(business) is int
            and token_id is None
        ):
            raise _malformed("service token")
        return Caller(subject, business, None, service)
    if business is not None and (type(business) is not int or type(token_id) is not int):
        raise _malformed("API token")
    return Caller(subject, business, token_id if business is not None else None)


class Authenticator:
    """Checks tokens against ``keys`` when given (the workspace checks its own), otherwise
    the JWKS URL of the settings, otherwise their development secret."""

    def __init__(self, settings: PulseSettings, keys: jwt.PyJWKSet | None = None) -> None:
        self._keys = keys
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        self._secret = settings.jwt_secret
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        # Outside dev, a token issued for longer than this is refused.
        self._max_lifetime_s = None if settings.is_dev else settings.jwt_max_lifetime_s
        self._verified: dict[str, tuple[Caller, float]] = {}  # token -> (caller, expires at)

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

    async def caller_of(self, token: str) -> Caller:
        known = self._verified.get(token)
        if known is not None and known[1] + LEEWAY_S > time.time():
            return known[0]
        caller, expires = await self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()  # simple and bounded; refills from live sessions
        self._verified[token] = (caller, expires)
        return caller

    async def user_of(self, token: str) -> str:
        return (await self.caller_of(token)).user

    def _decode(self, token: str, key: Any, algorithms: list[str]) -> dict[str, Any]:
        return jwt.decode(
            token, key, algorithms=algorithms, audience=self._audience, issuer=self._issuer,
            leeway=LEEWAY_S, options=REQUIRED_CLAIMS,
        )  # fmt: skip

    async def _verify(self, token: str) -> tuple[Caller, float]:
        try:
            if self._keys is not None:
                kid = jwt.get_unverified_header(token).get("kid")
                matching = [k for k in self._keys.keys if k.key_id == kid]
                if not matching:
                    raise jwt.InvalidTokenError("signed by no key of this service")
                claims = self._decode(token, matching[0], ASYMMETRIC)
            elif self._jwks is not None:
                # The key set is fetched (and cached) by PyJWT with blocking I/O.
                key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                claims = self._decode(token, key, ASYMMETRIC)
            else:
                claims = self._decode(token, self._secret, ["HS256"])
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
        return caller_of_claims(subject, claims), float(expires)


class BearerUser(HTTPBearer):
    """The caller's user id from the bearer token, or 401: a dependency that every other
    part of a request depends on, so that nothing of it (its parameters, its body) is
    validated for a caller without a valid token. Declared as the bearer security scheme."""

    async def __call__(self, request: Request) -> str:  # type: ignore[override]
        credentials = await super().__call__(request)
        return await authenticate(request, credentials)


class BearerCaller(HTTPBearer):
    """:class:`BearerUser`, with what the token allows beyond naming its user."""

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        credentials = await super().__call__(request)
        return await authenticate_caller(request, credentials)


_DESCRIPTION = "An access token (JWT)"
UserDep = Annotated[str, Depends(BearerUser(auto_error=False, description=_DESCRIPTION))]
CallerDep = Annotated[Caller, Depends(BearerCaller(auto_error=False, description=_DESCRIPTION))]


async def authenticate_caller(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Caller:
    """The caller, or 401."""
    if credentials is None:
        raise HTTPException(401, "missing bearer token", headers=UNAUTHORIZED)
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.caller_of(credentials.credentials)


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    """The caller's user id, or 401."""
    return (await authenticate_caller(request, credentials)).user
