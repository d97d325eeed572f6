"""Connecting Facebook Pages and Instagram business accounts: Facebook Login's OAuth 2.0
authorization code flow, as a confidential client without PKCE (Facebook Login's PKCE
belongs to its OIDC flow, which Meta marks "still in testing").

Built to Meta's documentation (../shared/notes/platform-oauth.md, section 3; sources in
this service's README):

- consent: ``GET https://www.facebook.com/{version}/dialog/oauth`` with ``client_id``,
  ``redirect_uri``, ``state``, ``response_type=code`` and ``scope`` (comma-separated);
- token: ``GET https://graph.facebook.com/{version}/oauth/access_token`` with
  ``client_id``, ``redirect_uri``, ``client_secret`` and ``code``: a short-lived user token
  (an hour), exchanged at once with ``grant_type=fb_exchange_token`` for a long-lived one
  (about 60 days). Meta gives no refresh token;
- the accounts: ``GET /{version}/me/accounts?fields=name,access_token,
  instagram_business_account``: each Page the person manages, with its Page token (no
  expiry when it comes from a long-lived user token) and its Instagram business account,
  which is read with the same Page token;
- revoking: ``DELETE /{version}/{user-id}/permissions`` needs the person's token, which is
  not kept (see :meth:`MetaOAuthClient.revoke`).

Errors are ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``,
mostly with HTTP 400.

The client secret, codes and tokens travel in query strings (as documented), so nothing
here puts a URL into an exception or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from pulse_ingest_meta.api import DEFAULT_API_VERSION, check_api_version, is_node_id
from pulse_ingest_meta.listing import next_cursor
from pulse_ingest_meta.rules import ACCOUNT_THROTTLE_CODES, APP_THROTTLE_CODE, TRANSIENT_CODES
from pulse_shared.events import Platform
from pulse_shared.ingest.oauth import ConnectableAccount, Grant, OAuthRefused

AUTHORIZE_BASE_URL = "https://www.facebook.com"
TOKEN_BASE_URL = "https://graph.facebook.com"  # noqa: S105 - a host, not a secret
# The Pages and their posts, their insights, and the linked Instagram accounts with theirs.
SCOPES = (
    "pages_show_list",
    "pages_read_engagement",
    "read_insights",
    "instagram_basic",
    "instagram_manage_insights",
)
ACCOUNTS_FIELDS = "name,access_token,instagram_business_account"
ACCOUNTS_PAGE_SIZE = 100
# What the vault records a Page token as: a token of a person or Page, counted against the
# account's own rate limits ("app" is an app-only token); the demo's tokens are the same.
PAGE_TOKEN_KIND = "user"  # noqa: S105 - a kind of token, not a token
# A short-lived user token lasts an hour, a long-lived one about 60 days; Page tokens from
# a long-lived one do not expire, those from a short-lived one expire with it.
LONG_LIVED_AFTER = timedelta(days=1)
# Meta's messages can quote a malformed token; anything this long and token-like is cut.
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-|.%]{40,}")
RETRYABLE_CODES = TRANSIENT_CODES | ACCOUNT_THROTTLE_CODES | {APP_THROTTLE_CODE}


def grant_of(body: object, now: datetime) -> Grant:
    """A token answer (``access_token``, ``token_type``, ``expires_in``) as a grant."""
    if not isinstance(body, Mapping) or not isinstance(body.get("access_token"), str):
        raise OAuthRefused("invalid_response", "the token answer holds no access_token")
    expires_in = body.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        expires_in = None  # no lifetime given: a token that does not expire by itself
    return Grant(
        access_token=body["access_token"],
        expires_at=now + timedelta(seconds=expires_in) if expires_in is not None else None,
    )


def graph_error_of(response: httpx.Response) -> Mapping[str, Any]:
    """The ``error`` object of a Graph answer ({} when there is none)."""
    try:
        body: Any = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def _redacted(message: object) -> str:
    return _TOKEN_LIKE.sub("[redacted]", message if isinstance(message, str) else "")[:300]


def refusal_of(response: httpx.Response) -> OAuthRefused:
    """A Graph error as a refusal: ``graph_<code>[_<subcode>]`` (190: the token is
    invalid or expired; 100 with 36007/36009: the code is expired or used), and its
    message without anything token-like."""
    error = graph_error_of(response)
    code, subcode = error.get("code"), error.get("error_subcode")
    if isinstance(code, int):
        name = f"graph_{code}" + (f"_{subcode}" if isinstance(subcode, int) else "")
    else:
        name = f"http_{response.status_code}"
    return OAuthRefused(name, _redacted(error.get("message")))


def is_retryable(response: httpx.Response) -> bool:
    """A server error, a throttle (4, 17, 32, 613, 80001, 80002) or an error Meta calls
    transient: "try again", never "refused for good" (which would end the connection)."""
    if response.status_code >= 500 or response.status_code == 429:
        return True
    error = graph_error_of(response)
    return error.get("code") in RETRYABLE_CODES or error.get("is_transient") is True


@dataclass(frozen=True)
class ManagedPage:
    """One entry of ``/me/accounts``: a Page, its token, its Instagram business account."""

    page_id: str
    name: str
    access_token: str = field(repr=False)
    instagram_id: str | None = None


def parse_accounts(body: object) -> tuple[list[ManagedPage], str | None]:
    """One page of ``/me/accounts`` and the next page's cursor (None: the last). A Page
    listed without a token (the person has no task on it that gives one) cannot be
    polled, so it is left out."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data", []), list):
        raise OAuthRefused("invalid_response", "the accounts answer holds no data list")
    pages: list[ManagedPage] = []
    for item in body.get("data") or []:
        if not isinstance(item, Mapping):
            continue
        page_id, token = item.get("id"), item.get("access_token")
        if not isinstance(page_id, str) or not is_node_id(page_id) or not isinstance(token, str):
            continue
        linked = item.get("instagram_business_account")
        instagram_id = linked.get("id") if isinstance(linked, Mapping) else None
        name = item.get("name")
        pages.append(
            ManagedPage(
                page_id=page_id,
                name=name if isinstance(name, str) and name else page_id,
                access_token=token,
                instagram_id=instagram_id
                if isinstance(instagram_id, str) and is_node_id(instagram_id)
                else None,
            )
        )
    return pages, next_cursor(body)


def page_token_expiry(user_grant: Grant, now: datetime) -> datetime | None:
    """When the Page tokens listed with ``user_grant`` expire: never when it is a
    long-lived user token, else with it."""
    expires_at = user_grant.expires_at
    if expires_at is None or expires_at - now > LONG_LIVED_AFTER:
        return None
    return expires_at


def instagram_name(body: object, page_name: str) -> str:
    """``@username`` of an Instagram account (``GET /{ig-user-id}?fields=username``), or
    the Page's name marked as its Instagram."""
    username = body.get("username") if isinstance(body, Mapping) else None
    return f"@{username}" if isinstance(username, str) and username else f"{page_name} (Instagram)"


class MetaOAuthClient:
    """:class:`~pulse_shared.ingest.oauth.OAuthClient` of Facebook Login for Pages and
    their Instagram business accounts. ``clock`` is "now" for token lifetimes."""

    platforms: tuple[Platform, ...] = ("facebook", "instagram")
    uses_pkce = False

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        api_version: str = DEFAULT_API_VERSION,
        authorize_base_url: str | None = None,
        token_base_url: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._version = check_api_version(api_version)
        self._authorize = (authorize_base_url or AUTHORIZE_BASE_URL).rstrip("/")
        self._graph = (token_base_url or TOKEN_BASE_URL).rstrip("/")
        self._clock = clock

    def __repr__(self) -> str:
        return f"MetaOAuthClient(client_id={self._client_id!r}, api_version={self._version!r})"

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None
    ) -> str:
        query = {
            "client_id": self._client_id, "redirect_uri": redirect_uri, "state": state,
            "response_type": "code", "scope": ",".join(SCOPES),
        }  # fmt: skip
        return f"{self._authorize}/{self._version}/dialog/oauth?{urlencode(query)}"

    # --- calls ----------------------------------------------------------------------------

    async def _call(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        params: Mapping[str, str],
        token: str | None = None,
    ) -> object:
        """One Graph call: its JSON answer; :class:`OAuthRefused` for a refusal, an
        ``httpx.HTTPStatusError`` without the URL (it holds secrets) to try again."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        response = await http.request(
            method, f"{self._graph}/{self._version}{path}", params=params, headers=headers
        )
        if is_retryable(response):
            raise httpx.HTTPStatusError(
                f"Meta answered {response.status_code} to {path}",
                request=response.request,
                response=response,
            )
        if response.status_code != 200:
            raise refusal_of(response)
        try:
            body: object = response.json()
        except ValueError:
            raise OAuthRefused("invalid_response", f"the answer to {path} is not JSON") from None
        return body

    async def _long_lived(self, http: httpx.AsyncClient, token: str, now: datetime) -> Grant:
        params = {
            "grant_type": "fb_exchange_token", "client_id": self._client_id,
            "client_secret": self._client_secret, "fb_exchange_token": token,
        }  # fmt: skip
        return grant_of(await self._call(http, "GET", "/oauth/access_token", params), now)

    async def exchange(
        self, http: httpx.AsyncClient, *, code: str, redirect_uri: str, code_verifier: str | None
    ) -> Grant:
        now = self._clock()
        params = {
            "client_id": self._client_id, "redirect_uri": redirect_uri,
            "client_secret": self._client_secret, "code": code,
        }  # fmt: skip
        short = grant_of(await self._call(http, "GET", "/oauth/access_token", params), now)
        return await self._long_lived(http, short.access_token, now)

    async def _managed_pages(self, http: httpx.AsyncClient, grant: Grant) -> list[ManagedPage]:
        pages: list[ManagedPage] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            params = {"fields": ACCOUNTS_FIELDS, "limit": str(ACCOUNTS_PAGE_SIZE)}
            if after is not None:
                params["after"] = after
            found, after = parse_accounts(
                await self._call(http, "GET", "/me/accounts", params, grant.access_token)
            )
            pages.extend(found)
            if after is None or after in seen:  # a cursor handed out twice would loop
                return pages
            seen.add(after)

    async def _instagram_name(self, http: httpx.AsyncClient, page: ManagedPage) -> str:
        assert page.instagram_id is not None
        try:
            body = await self._call(
                http, "GET", f"/{page.instagram_id}", {"fields": "username"}, page.access_token
            )
        except OAuthRefused:
            body = {}  # the account is still connectable: only its name is unknown
        return instagram_name(body, page.name)

    async def accounts(self, http: httpx.AsyncClient, grant: Grant) -> list[ConnectableAccount]:
        expires_at = page_token_expiry(grant, self._clock())
        offered: list[ConnectableAccount] = []
        for page in await self._managed_pages(http, grant):
            page_grant = Grant(page.access_token, expires_at)
            offered.append(
                ConnectableAccount("facebook", page.page_id, page.name, page_grant, PAGE_TOKEN_KIND)
            )
            if page.instagram_id is not None:
                name = await self._instagram_name(http, page)
                offered.append(
                    ConnectableAccount(
                        "instagram", page.instagram_id, name, page_grant, PAGE_TOKEN_KIND
                    )
                )
        return offered

    async def refresh(self, http: httpx.AsyncClient, grant: Grant) -> Grant:
        """A Page token without expiry is never due; one with expiry is re-exchanged while
        it is still valid (Meta gives no refresh token, and "you can not use an expired
        token to request a long-lived token")."""
        if grant.expires_at is None:
            return grant
        now = self._clock()
        if grant.expires_at <= now:
            raise OAuthRefused("token_expired", "an expired Meta token cannot be exchanged")
        return await self._long_lived(http, grant.access_token, now)

    async def revoke(self, http: httpx.AsyncClient, grant: Grant) -> None:
        """Nothing to revoke at Meta with what is kept: the grant is a Page token, and
        permissions are the person's (``DELETE /me/permissions`` with a Page token is
        refused: ``/me`` is the Page, which has no permissions edge). The person's own
        token is not kept, and revoking with it would end every Page and Instagram account
        they connected, the Instagram account that shares this Page's token among them.
        The tokens are deleted here; the person removes Pulse in their Facebook settings
        (Business integrations, or Apps and websites) to take the consent back."""
        return None
