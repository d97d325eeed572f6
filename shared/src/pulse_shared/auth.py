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
# query-api refuses to start with this secret outside the dev environment.
DEFAULT_DEV_SECRET = "pulse-dev-secret-not-for-production"  # noqa: S105 - a known default


def mint_dev_token(secret: str, user_id: str, ttl_s: int = 30 * 24 * 3600) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, secret, algorithm="HS256")
