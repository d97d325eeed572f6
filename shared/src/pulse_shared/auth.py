"""Access tokens: the claims query-api checks, and minting of local development tokens.

Production tokens are RS256, signed by the identity provider and checked against its JWKS
URL; local ones are HS256 with a development secret, minted by ``pulse token``. Either
way a token names a user (``sub``); which businesses that user may read is decided by
``business_members`` at every request, never by the token.
"""

from __future__ import annotations

import time

import jwt

ISSUER = "pulse"
AUDIENCE = "pulse-api"
# query-api and `pulse token` refuse this secret outside the dev environment.
DEFAULT_DEV_SECRET = "pulse-dev-secret-not-for-production"  # noqa: S105 - a known default


# Secrets that this repository or its examples publish, or that anyone would guess.
KNOWN_WEAK_SECRETS = frozenset({
    DEFAULT_DEV_SECRET, "secret", "changeme", "change-me", "change_me", "password", "pulse",
    "dev", "test", "example", "jwt-secret", "your-secret-here",
})  # fmt: skip
MIN_SECRET_CHARS = 32


def weak_secret_reason(secret: str) -> str | None:
    """Why ``secret`` may not sign tokens outside dev, or None when it may."""
    if secret.strip().lower() in KNOWN_WEAK_SECRETS or "not-for-production" in secret:
        return "it is a published or well-known value"
    if len(secret) < MIN_SECRET_CHARS:
        return f"it is shorter than {MIN_SECRET_CHARS} characters"
    return None


def mint_dev_token(
    secret: str, user_id: str, ttl_s: int = 8 * 3600, extra: dict[str, object] | None = None
) -> str:
    """A development token for ``user_id``; ``extra`` claims beside the standard ones (a
    personal API token's ``pulse_business`` and ``pulse_token``, in tests)."""
    now = int(time.time())
    claims = {"sub": user_id, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + ttl_s}
    return jwt.encode({**claims, **(extra or {})}, secret, algorithm="HS256")
