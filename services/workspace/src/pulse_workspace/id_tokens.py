"""ID tokens of the identity provider, as /v1/sessions takes them: signed by a key of the
issuer's ``jwks_uri`` (from its discovery document), for our client, not expired. The
email is kept only when the provider says it verified it."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHMS = ["RS256", "ES256", "EdDSA", "PS256"]
LEEWAY_S = 30
FETCH_TIMEOUT_S = 5.0


class InvalidIdToken(Exception):
    """The token is not one this service takes: the reason, for a 401."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    email: str | None  # verified by the provider, else None
    name: str | None


def identity_of(claims: dict[str, Any]) -> Identity:
    """Who the verified claims name."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise InvalidIdToken("the ID token names no subject")
    email = claims.get("email")
    verified = claims.get("email_verified") is True and isinstance(email, str) and email
    name = claims.get("name") or claims.get("preferred_username")
    return Identity(
        subject,
        email[:320] if verified and isinstance(email, str) else None,
        name[:200] if isinstance(name, str) and name else None,
    )


def _fetch_json(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise InvalidIdToken("the issuer's discovery names no HTTP URL")
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310 - http(s) only
        document: dict[str, Any] = json.loads(answer.read(1_000_000))
        return document


class IdTokenVerifier:
    def __init__(self, issuer: str, client_id: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._keys: jwt.PyJWKClient | None = None

    def _key_client(self) -> jwt.PyJWKClient:
        # Discovery is asked once per process; the key set is cached (and fetched again
        # by PyJWT for a key id it does not know: the provider rotated).
        if self._keys is None:
            document = _fetch_json(f"{self.issuer}/.well-known/openid-configuration")
            self._keys = jwt.PyJWKClient(str(document["jwks_uri"]), timeout=int(FETCH_TIMEOUT_S))
        return self._keys

    def _verify(self, id_token: str) -> Identity:
        try:
            key = self._key_client().get_signing_key_from_jwt(id_token)
            claims = jwt.decode(
                id_token, key, algorithms=ALGORITHMS, audience=self.client_id,
                issuer=self.issuer, leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )  # fmt: skip
        except jwt.PyJWKClientConnectionError as exc:
            raise ConnectionError(f"the identity provider's keys are unreachable: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise InvalidIdToken(f"invalid ID token: {exc}") from exc
        return identity_of(claims)

    async def verify(self, id_token: str) -> Identity:
        """The token's identity; InvalidIdToken when refused, ConnectionError (OSError)
        when the provider cannot be asked for its keys."""
        return await asyncio.to_thread(self._verify, id_token)
