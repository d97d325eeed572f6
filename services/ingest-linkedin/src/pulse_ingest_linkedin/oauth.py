"""Connecting LinkedIn organisations: OAuth 2.0 authorization code (3-legged), as a web app.

Built to LinkedIn's documentation (../shared/notes/platform-oauth.md, section 1; sources in
this service's README):

- consent: ``GET https://www.linkedin.com/oauth/v2/authorization`` with
  ``response_type=code``, ``client_id``, ``redirect_uri``, ``state`` and ``scope``
  (URL-encoded, space-delimited). **No PKCE**: LinkedIn supports it only on its "native
  client" flow (loopback redirect URIs, switched on per app on request); its web flow
  carries no ``code_challenge``, so the runtime's ``state`` is the only binding;
- token: ``POST https://www.linkedin.com/oauth/v2/accessToken`` (a form; ``client_id``
  and ``client_secret`` in the body, never HTTP Basic), ``grant_type=authorization_code``
  with ``code`` and ``redirect_uri``, or ``grant_type=refresh_token`` with
  ``refresh_token``. Access tokens live 60 days; refresh tokens (approved partners only)
  365 days from the first consent, and refreshing never extends them;
- the accounts: ``GET /rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&
  state=APPROVED`` (offset-paged) and each organisation's ``localizedName`` from
  ``GET /rest/organizations/{id}``;
- revoking: ``POST https://www.linkedin.com/oauth/v2/revoke`` with ``token`` (known from
  third-party code only, so best effort).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from pulse_ingest_linkedin.api import (
    API_BASE_URL,
    check_api_version,
    linkedin_headers,
    next_start_of,
)
from pulse_shared.events import Platform
from pulse_shared.ingest.oauth import ConnectableAccount, Grant, OAuthRefused

WEB_BASE_URL = "https://www.linkedin.com"
AUTHORIZE_PATH = "/oauth/v2/authorization"
TOKEN_PATH = "/oauth/v2/accessToken"  # noqa: S105 - a path
REVOKE_PATH = "/oauth/v2/revoke"
ORGANIZATION_ACLS_PATH = "/rest/organizationAcls"
ORGANIZATIONS_PATH = "/rest/organizations"
# Listing the organisations' posts, and their ACLs, follower and share statistics.
SCOPES = ("r_organization_social", "rw_organization_admin")
# ACL elements per page: a member administers a handful of pages, so one page is usual.
ACL_PAGE_SIZE = 100
# A member administering more pages than this is not one Pulse can offer on one form.
MAX_ACL_PAGES = 20

# The SDK joins scopes with commas, the documentation with spaces: the answer may use either.
_SCOPE_SEPARATOR = re.compile(r"[ ,]+")
_ORGANIZATION_ID = re.compile(r"^urn:li:organization:([0-9]+)$")


# --- token answers ---------------------------------------------------------------------


def _seconds(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def grant_of(body: object, now: datetime) -> Grant:
    """A token endpoint's answer: ``access_token``, ``expires_in`` (s), ``scope``
    (comma- or space-separated) and, for apps approved for programmatic refresh,
    ``refresh_token`` with ``refresh_token_expires_in`` (s)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("access_token"), str):
        raise OAuthRefused("invalid_response", "the token answer holds no access_token")
    expires_in = _seconds(body.get("expires_in"))
    refresh = body.get("refresh_token")
    refresh_in = _seconds(body.get("refresh_token_expires_in"))
    scope = body.get("scope")
    return Grant(
        access_token=body["access_token"],
        expires_at=now + timedelta(seconds=expires_in) if expires_in is not None else None,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        refresh_expires_at=now + timedelta(seconds=refresh_in) if refresh_in is not None else None,
        scopes=tuple(s for s in _SCOPE_SEPARATOR.split(scope) if s)
        if isinstance(scope, str)
        else (),
    )


def refreshed_grant(old: Grant, body: object, now: datetime) -> Grant:
    """A refresh's answer over the grant it refreshed. The refresh token's expiry is fixed
    from the first consent, so the answer's countdown is kept as it is (never extended);
    what the answer leaves out (the refresh token, its expiry, the scopes) is kept from
    the old grant, since losing the refresh token would end the connection early."""
    new = grant_of(body, now)
    return Grant(
        access_token=new.access_token,
        expires_at=new.expires_at,
        refresh_token=new.refresh_token or old.refresh_token,
        refresh_expires_at=new.refresh_expires_at or old.refresh_expires_at,
        scopes=new.scopes or old.scopes,
    )


def refusal_of(response: httpx.Response) -> OAuthRefused:
    """LinkedIn's OAuth errors: ``{"error", "error_description"}`` (400 ``invalid_request``
    for a dead code or refresh token, ``invalid_redirect_uri``, 401 ``invalid_client``)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, Mapping) else None
    description = body.get("error_description") if isinstance(body, Mapping) else None
    return OAuthRefused(str(error or f"http_{response.status_code}"), str(description or "")[:300])


def _json_of(response: httpx.Response) -> object:
    try:
        body: object = response.json()
    except ValueError:
        raise OAuthRefused("invalid_response", "LinkedIn's answer is not JSON") from None
    return body


def _try_again_later(response: httpx.Response) -> bool:
    """5xx and 429 say nothing about the grant: the runtime answers "try again"."""
    return response.status_code >= 500 or response.status_code == 429


# --- the organisations a member administers --------------------------------------------


@dataclass(frozen=True)
class AclPage:
    organizations: list[str]  # organisation URNs, in the answer's order
    next_start: int | None  # None: the last page


def organization_acls_url(api_base_url: str, start: int, count: int = ACL_PAGE_SIZE) -> str:
    query = urlencode(
        {"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED",
         "start": str(start), "count": str(count)}
    )  # fmt: skip
    return f"{api_base_url}{ORGANIZATION_ACLS_PATH}?{query}"


def parse_organization_acls(body: object, start: int) -> AclPage:
    """An ``organizationAcls`` page: the organisations of its elements (``organization``;
    the legacy ``organizationalEntityAcls`` called it ``organizationalTarget``). Anything
    but ``urn:li:organization:N`` (legacy brand pages, ``urn:li:organizationBrand``) is
    left out: the name lookup and the statistics here are the organisations' endpoints."""
    if not isinstance(body, Mapping):
        raise OAuthRefused("invalid_response", "the organizationAcls answer is not an object")
    elements = body.get("elements")
    elements = elements if isinstance(elements, list) else []
    organizations: list[str] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        if element.get("role", "ADMINISTRATOR") != "ADMINISTRATOR":
            continue
        if element.get("state", "APPROVED") != "APPROVED":
            continue
        urn = element.get("organization", element.get("organizationalTarget"))
        if isinstance(urn, str) and _ORGANIZATION_ID.match(urn):
            organizations.append(urn)
    return AclPage(organizations, next_start_of(body, start, len(elements)))


def organization_url(api_base_url: str, organization_urn: str) -> str:
    match = _ORGANIZATION_ID.match(organization_urn)
    if match is None:
        raise ValueError(f"not a LinkedIn organization URN: {organization_urn!r}")
    return f"{api_base_url}{ORGANIZATIONS_PATH}/{match.group(1)}"


def parse_organization_name(body: object) -> str | None:
    """``localizedName``; else the first of ``name.localized`` (the multi-locale field)."""
    if not isinstance(body, Mapping):
        return None
    name = body.get("localizedName")
    if isinstance(name, str) and name.strip():
        return name.strip()
    multi_locale = body.get("name")
    localized = multi_locale.get("localized") if isinstance(multi_locale, Mapping) else None
    if isinstance(localized, Mapping):
        for value in localized.values():
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def fallback_name(organization_urn: str) -> str:
    match = _ORGANIZATION_ID.match(organization_urn)
    return f"LinkedIn organization {match.group(1) if match else organization_urn}"


# --- the client ------------------------------------------------------------------------


class LinkedInOAuthClient:
    """:class:`~pulse_shared.ingest.oauth.OAuthClient` for LinkedIn organisations.

    ``authorize_base_url`` and ``token_base_url`` default to www.linkedin.com (both the
    consent page and the token endpoint are there), ``api_base_url`` to
    api.linkedin.com; settings point them at the simulator. ``api_version`` is the
    ``LinkedIn-Version`` month the ``/rest`` calls send."""

    platforms: tuple[Platform, ...] = ("linkedin",)
    uses_pkce = False  # LinkedIn's web flow has none (native clients only)

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        api_version: str,
        authorize_base_url: str | None = None,
        token_base_url: str | None = None,
        api_base_url: str | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._headers = linkedin_headers(check_api_version(api_version))
        self._authorize = (authorize_base_url or WEB_BASE_URL).rstrip("/")
        self._token = (token_base_url or WEB_BASE_URL).rstrip("/")
        self._api = (api_base_url or API_BASE_URL).rstrip("/")

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None
    ) -> str:
        # code_challenge is ignored: the runtime sends none, since uses_pkce is False.
        query = {
            "response_type": "code", "client_id": self._client_id,
            "redirect_uri": redirect_uri, "state": state, "scope": " ".join(SCOPES),
        }  # fmt: skip
        # Spaces as %20, as LinkedIn's examples write them.
        return f"{self._authorize}{AUTHORIZE_PATH}?{urlencode(query, quote_via=quote)}"

    def _client_form(self, **fields: str) -> dict[str, str]:
        return {**fields, "client_id": self._client_id, "client_secret": self._client_secret}

    async def _token_call(self, http: httpx.AsyncClient, form: dict[str, str]) -> object:
        response = await http.post(f"{self._token}{TOKEN_PATH}", data=form)
        if _try_again_later(response):
            response.raise_for_status()
        if response.status_code != 200:
            raise refusal_of(response)
        return _json_of(response)

    async def exchange(
        self, http: httpx.AsyncClient, *, code: str, redirect_uri: str, code_verifier: str | None
    ) -> Grant:
        now = datetime.now(UTC)
        form = self._client_form(
            grant_type="authorization_code", code=code, redirect_uri=redirect_uri
        )
        return grant_of(await self._token_call(http, form), now)

    async def _api_get(self, http: httpx.AsyncClient, url: str, grant: Grant) -> httpx.Response:
        return await http.get(
            url, headers={**self._headers, "Authorization": f"Bearer {grant.access_token}"}
        )

    async def _administered(self, http: httpx.AsyncClient, grant: Grant) -> list[str]:
        organizations: list[str] = []
        start: int | None = 0
        for _ in range(MAX_ACL_PAGES):
            if start is None:
                break
            response = await self._api_get(http, organization_acls_url(self._api, start), grant)
            if _try_again_later(response):
                response.raise_for_status()
            if response.status_code != 200:
                # 401: the token just issued does not work; 403: the consent lacks
                # rw_organization_admin. Either way, consenting again is the way out.
                raise OAuthRefused(
                    f"http_{response.status_code}", "the organisations could not be listed"
                )
            page = parse_organization_acls(_json_of(response), start)
            organizations.extend(page.organizations)
            start = page.next_start
        return list(dict.fromkeys(organizations))

    async def _name_of(self, http: httpx.AsyncClient, grant: Grant, organization: str) -> str:
        response = await self._api_get(http, organization_url(self._api, organization), grant)
        if _try_again_later(response):
            response.raise_for_status()
        if response.status_code != 200:
            # The member administers it (the ACL says so); a name is only a label.
            return fallback_name(organization)
        try:
            body: object = response.json()
        except ValueError:
            return fallback_name(organization)
        return parse_organization_name(body) or fallback_name(organization)

    async def accounts(self, http: httpx.AsyncClient, grant: Grant) -> list[ConnectableAccount]:
        """Each organisation the member administers (approved ADMINISTRATOR role),
        ``account_id`` its URN (``urn:li:organization:N``, as the poller and the vault
        keep it), polled with the member's own grant."""
        return [
            ConnectableAccount("linkedin", urn, await self._name_of(http, grant, urn), grant)
            for urn in await self._administered(http, grant)
        ]

    async def refresh(self, http: httpx.AsyncClient, grant: Grant) -> Grant:
        now = datetime.now(UTC)
        if grant.refresh_token is None:
            raise OAuthRefused(
                "no_refresh_token",
                "LinkedIn gives refresh tokens to approved partners only: consent again",
            )
        if grant.refresh_expires_at is not None and grant.refresh_expires_at <= now:
            raise OAuthRefused(
                "refresh_token_expired", "a refresh token lasts a year from the first consent"
            )
        form = self._client_form(grant_type="refresh_token", refresh_token=grant.refresh_token)
        return refreshed_grant(grant, await self._token_call(http, form), now)

    async def revoke(self, http: httpx.AsyncClient, grant: Grant) -> None:
        for token in (grant.refresh_token, grant.access_token):
            if token is None:
                continue
            response = await http.post(
                f"{self._token}{REVOKE_PATH}", data=self._client_form(token=token)
            )
            if _try_again_later(response):
                response.raise_for_status()
            if response.status_code != 200:
                raise refusal_of(response)
