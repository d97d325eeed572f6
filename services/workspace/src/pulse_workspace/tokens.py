"""Personal API tokens: ``pulse_pat_`` and 32 random bytes (base64url), shown once; only a
SHA-256 digest is stored, and the first characters (``prefix``) to tell them apart."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_PREFIX = "pulse_pat_"  # noqa: S105 - the public start of every token
PREFIX_CHARS = 14
TOKEN_PATTERN = r"^pulse_pat_[A-Za-z0-9_-]{43}$"  # noqa: S105 - a pattern
_TOKEN = re.compile(TOKEN_PATTERN)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    """What is stored of a token or an invite's secret."""
    return hashlib.sha256(secret.encode()).digest()


def listing_prefix(token: str) -> str:
    return token[:PREFIX_CHARS]


def well_formed(token: str) -> bool:
    return _TOKEN.fullmatch(token) is not None
