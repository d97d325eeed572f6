"""Connecting a platform account: what the shared connect runtime and each platform's
OAuth client agree on (DESIGN.md, "Accounts, teams, reports").

The runtime (``pulse_shared.ingest.connect``) owns the parts no platform differs in: the
single-use ``state`` bound to the member and the business, PKCE, the redirect allow-list,
the vault, refreshing tokens before they expire, discovering and backfilling posts. Each
ingest service supplies an :class:`OAuthClient` built to its platform's documented
endpoints (listed with their sources in the service's README), and a :class:`PostLister`.

Tokens live in a :class:`Grant`, whose ``repr`` never shows them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import httpx

from pulse_shared.events import ContentType, Platform
from pulse_shared.ingest.contracts import Account, ApiCaller


@dataclass(frozen=True, repr=False)
class Grant:
    """What a token endpoint answered: the access token, when it expires (None: never, as
    Meta's Page tokens), and the refresh token where the platform gives one."""

    access_token: str
    expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"Grant(expires_at={self.expires_at!r}, refreshable={self.refresh_token is not None})"
        )


@dataclass(frozen=True)
class ConnectableAccount:
    """An account the consenting member may connect, with the token to poll it with (the
    member's own for LinkedIn and X, the Page's for Facebook and Instagram)."""

    platform: Platform
    account_id: str
    name: str
    grant: Grant = field(repr=False)
    token_kind: str = "user"  # noqa: S105 - a kind of token, not a token


class OAuthRefused(Exception):
    """The platform refused for good: a denied consent, a code or refresh token that is
    invalid, expired or revoked (``invalid_grant``, ``invalid_request``). Not retried; a
    refresh refused so marks the account ``needs_reconnection``."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


class OAuthClient(Protocol):
    """One platform's OAuth 2.0 authorization-code flow and its account discovery.

    Every call takes the runtime's ``http`` client (its base URLs are the client's own:
    the platform's authorize and token hosts differ from its API's). Transport failures
    raise ``httpx`` errors (the runtime answers them as "try again"); refusals raise
    :class:`OAuthRefused`."""

    #: The platforms the flow connects accounts of (Meta's: facebook and instagram).
    platforms: tuple[Platform, ...]
    #: PKCE (RFC 7636, S256) where the platform supports it on a web flow.
    uses_pkce: bool

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None
    ) -> str:
        """Where the browser goes to consent."""
        ...

    async def exchange(
        self, http: httpx.AsyncClient, *, code: str, redirect_uri: str, code_verifier: str | None
    ) -> Grant:
        """The authorization code for the member's grant."""
        ...

    async def accounts(self, http: httpx.AsyncClient, grant: Grant) -> list[ConnectableAccount]:
        """The accounts the member may connect with this grant (LinkedIn: the organisations
        they administer; X: themselves; Meta: their Pages and each Page's Instagram)."""
        ...

    async def refresh(self, http: httpx.AsyncClient, grant: Grant) -> Grant:
        """A new grant from ``grant``'s refresh token (X rotates it: the new one replaces
        the old, which no longer works); :class:`OAuthRefused` when it is dead. A platform
        without refresh tokens re-exchanges a still-valid token where it can (Meta)."""
        ...

    async def revoke(self, http: httpx.AsyncClient, grant: Grant) -> None:
        """Revoke at the platform where it can (best effort: the tokens are deleted here
        whatever it answers)."""
        ...


@dataclass(frozen=True)
class DiscoveredPost:
    """A post found on the platform by listing an account's posts: what
    ``posts.published.v1`` announces about it."""

    platform_post_id: str
    published_at: datetime
    content_type: ContentType
    content_preview: str = ""
    platform_post_url: str | None = None
    thumbnail_url: str | None = None
    video_duration_s: float | None = None


@dataclass(frozen=True)
class FollowerCount:
    """An account's follower count at the end of a past day (back-computed from today's
    total and the platform's daily gains)."""

    observed_at: datetime
    followers: int


class PostLister(Protocol):
    """Listing an account's posts (backfill and discovery) and its follower history,
    through the shared caller (rate limits, retries)."""

    def list_posts(
        self, caller: ApiCaller, account: Account, since: datetime
    ) -> AsyncIterator[DiscoveredPost]:
        """Every post of the account published at or after ``since``, page by page."""
        ...

    async def follower_history(
        self, caller: ApiCaller, account: Account, since: datetime, current: int
    ) -> list[FollowerCount]:
        """Daily follower counts since ``since`` where the platform gives daily gains
        (back-computed from ``current``, today's total); [] where it does not."""
        ...


# --- PKCE (RFC 7636) -------------------------------------------------------------------


def code_verifier() -> str:
    """43 to 128 characters of [A-Za-z0-9-._~]: 64 URL-safe ones from 48 random bytes."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
