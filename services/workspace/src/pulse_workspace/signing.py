"""Pulse's access tokens: EdDSA (Ed25519) JWTs signed with the first of the configured keys,
every key published (``/.well-known/jwks.json``) so tokens signed before a rotation still
verify. A key's id is its RFC 7638 thumbprint."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pulse_shared.http_auth import (
    TOKEN_BUSINESS_CLAIM,
    TOKEN_ID_CLAIM,
    TOKEN_SERVICE_CLAIM,
    service_subject,
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def public_jwk(key: Ed25519PrivateKey) -> dict[str, str]:
    """The key's public half as a JWK, ``kid`` its RFC 7638 thumbprint."""
    x = b64url(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    # RFC 7638: the required members only, in lexicographic order, no whitespace.
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = b64url(hashlib.sha256(members.encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int

    def answer(self) -> dict[str, Any]:
        return {"access_token": self.token, "token_type": "Bearer", "expires_in": self.expires_in}


class Signer:
    def __init__(self, seeds: list[bytes], issuer: str, audience: str) -> None:
        if not seeds:
            raise ValueError("at least one signing key")
        self._keys = [Ed25519PrivateKey.from_private_bytes(seed) for seed in seeds]
        self._jwks = [public_jwk(key) for key in self._keys]
        self.issuer = issuer
        self.audience = audience

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [dict(jwk) for jwk in self._jwks]}

    def key_set(self) -> jwt.PyJWKSet:
        """The published keys, as pulse_shared.http_auth.Authenticator takes them."""
        return jwt.PyJWKSet.from_dict(self.jwks())

    def mint(
        self,
        user: str,
        ttl_s: int,
        now: datetime,
        *,
        business_id: int | None = None,
        token_id: int | None = None,
        service: str | None = None,
    ) -> AccessToken:
        """A token naming ``user``; with ``business_id`` and ``token_id``, one exchanged for
        a personal API token (read-only, that business only); with ``business_id`` and
        ``service``, a Pulse service's (its subject ``service:<name>``: no member, it reads
        and exports that business only)."""
        if service is not None and (business_id is None or user != service_subject(service)):
            raise ValueError("a service's token names service:<name> and one business")
        issued = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.audience, "sub": user, "iat": issued,
            "exp": issued + ttl_s, "jti": secrets.token_urlsafe(16),
        }  # fmt: skip
        if service is not None:
            claims[TOKEN_BUSINESS_CLAIM] = business_id
            claims[TOKEN_SERVICE_CLAIM] = service
        elif business_id is not None:
            claims[TOKEN_BUSINESS_CLAIM] = business_id
            claims[TOKEN_ID_CLAIM] = token_id
        headers = {"kid": self._jwks[0]["kid"]}
        token = jwt.encode(claims, self._keys[0], algorithm="EdDSA", headers=headers)
        return AccessToken(token, ttl_s)
