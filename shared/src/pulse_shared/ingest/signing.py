"""What the three platforms' webhooks and APIs have in common at the byte level: HMAC-SHA256
signatures compared in constant time, headers looked up whatever their case, and the
``Retry-After`` header read in either of its forms."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (a plain dict is case-sensitive)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac_sha256(secret, message).hex()


def hmac_sha256_base64(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac_sha256(secret, message)).decode("ascii")


def same_text(expected: str, given: str) -> bool:
    """Constant-time comparison (a signature, a verify token)."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def body_id(raw_body: bytes) -> str:
    """A delivery id for a platform that sends none: the hash of its exact bytes."""
    return "sha256:" + hashlib.sha256(raw_body).hexdigest()


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (None: absent or
    unreadable)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
