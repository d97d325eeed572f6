"""Invites by email: a single-use secret of 32 random bytes (base64url) in the link's
fragment (never sent to a server by the browser, never in a log), only its SHA-256 kept."""

from __future__ import annotations

import secrets

SECRET_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # noqa: S105 - a pattern


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def invite_link(dashboard_url: str, secret: str) -> str:
    return f"{dashboard_url}/invite#{secret}"
