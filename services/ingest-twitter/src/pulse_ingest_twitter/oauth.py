"""Connecting an X account: OAuth 2.0 authorization code with PKCE, as a confidential client.

Built to X's documentation (../shared/notes/platform-oauth.md, section 2; sources in this
service's README):

- consent: ``GET https://x.com/i/oauth2/authorize`` with ``response_type=code``,
  ``client_id``, ``redirect_uri``, ``scope`` (space-separated), ``state``,
  ``code_challenge`` and ``code_challenge_method=S256``;
- token: ``POST https://api.x.com/2/oauth2/token`` (form; HTTP Basic client credentials),
  ``grant_type=authorization_code`` with ``code``, ``redirect_uri``, ``code_verifier``; or
  ``grant_type=refresh_token`` with ``refresh_token``. ``offline.access`` brings a refresh
  token, which rotates on every use (the old one stops working);
- the account: ``GET /2/users/me``; revoking: ``POST /2/oauth2/revoke`` with ``token``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from pulse_shared.events import Platform
from pulse_shared.ingest.oauth import ConnectableAccount, Grant, OAuthRefused

AUTHORIZE_BASE_URL = "https://x.com"
TOKEN_BASE_URL = "https://api.x.com"  # noqa: S105 - a host, not a secret
AUTHORIZE_PATH = "/i/oauth2/authorize"
TOKEN_PATH = "/2/oauth2/token"  # noqa: S105 - a path
REVOKE_PATH = "/2/oauth2/revoke"
ME_PATH = "/2/users/me"
# Reading the account's posts and their metrics, the user, and a refresh token.
SCOPES = ("tweet.read", "users.read", "offline.access")


def grant_of(body: object, now: datetime) -> Grant:
    """A token endpoint's answer (``token_type``, ``expires_in``, ``access_token``,
    ``scope``, ``refresh_token``)."""
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise OAuthRefused("invalid_response", "the token answer holds no access_token")
    expires_in = body.get("expires_in")
    refresh = body.get("refresh_token")
    scope = body.get("scope")
    return Grant(
        access_token=body["access_token"],
        expires_at=now + timedelta(seconds=expires_in) if isinstance(expires_in, int) else None,
        refresh_token=refresh if isinstance(refresh, str) else None,
        scopes=tuple(scope.split()) if isinstance(scope, str) else (),
    )


def refusal_of(response: httpx.Response) -> OAuthRefused:
    """X's token errors: ``{"error", "error_description"}`` (400, 401)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    description = body.get("error_description") if isinstance(body, dict) else None
    return OAuthRefused(str(error or f"http_{response.status_code}"), str(description or "")[:300])


class XOAuthClient:
    platforms: tuple[Platform, ...] = ("twitter",)
    uses_pkce = True

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        authorize_base_url: str | None = None,
        token_base_url: str | None = None,
    ) -> None:
        self._client_id = client_id
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._authorize = (authorize_base_url or AUTHORIZE_BASE_URL).rstrip("/")
        self._token = (token_base_url or TOKEN_BASE_URL).rstrip("/")

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None
    ) -> str:
        query = {
            "response_type": "code", "client_id": self._client_id,
            "redirect_uri": redirect_uri, "scope": " ".join(SCOPES), "state": state,
            "code_challenge": code_challenge or "", "code_challenge_method": "S256",
        }  # fmt: skip
        return f"{self._authorize}{AUTHORIZE_PATH}?{urlencode(query)}"

    async def _token_call(self, http: httpx.AsyncClient, form: dict[str, str]) -> Grant:
        now = datetime.now(UTC)
        response = await http.post(f"{self._token}{TOKEN_PATH}", data=form, auth=self._auth)
        if response.status_code >= 500:
            response.raise_for_status()
        if response.status_code != 200:
            raise refusal_of(response)
        return grant_of(response.json(), now)

    async def exchange(
        self, http: httpx.AsyncClient, *, code: str, redirect_uri: str, code_verifier: str | None
    ) -> Grant:
        form = {
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": code_verifier or "",
        }  # fmt: skip
        return await self._token_call(http, form)

    async def accounts(self, http: httpx.AsyncClient, grant: Grant) -> list[ConnectableAccount]:
        response = await http.get(
            f"{self._token}{ME_PATH}",
            headers={"Authorization": f"Bearer {grant.access_token}"},
        )
        if response.status_code >= 500:
            response.raise_for_status()
        if response.status_code != 200:
            raise OAuthRefused(f"http_{response.status_code}", "the user could not be read")
        data = response.json().get("data") or {}
        user_id, username = data.get("id"), data.get("username")
        if not isinstance(user_id, str) or not user_id.isdigit():
            raise OAuthRefused("invalid_response", "the user's answer holds no id")
        return [ConnectableAccount("twitter", user_id, f"@{username or user_id}", grant)]

    async def refresh(self, http: httpx.AsyncClient, grant: Grant) -> Grant:
        if grant.refresh_token is None:
            raise OAuthRefused("no_refresh_token", "consented without offline.access")
        form = {"grant_type": "refresh_token", "refresh_token": grant.refresh_token}
        return await self._token_call(http, form)

    async def revoke(self, http: httpx.AsyncClient, grant: Grant) -> None:
        for token, hint in (
            (grant.refresh_token, "refresh_token"),
            (grant.access_token, "access_token"),
        ):
            if token is None:
                continue
            response = await http.post(
                f"{self._token}{REVOKE_PATH}",
                data={"token": token, "token_type_hint": hint},
                auth=self._auth,
            )
            if response.status_code != 200:
                raise refusal_of(response)
