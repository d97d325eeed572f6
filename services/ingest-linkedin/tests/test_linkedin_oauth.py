"""LinkedIn's consent URL, token answers, errors and organisation ACL pages, as documented
(platform-oauth.md, 1.1 to 1.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pulse_ingest_linkedin.api import next_start_of
from pulse_ingest_linkedin.oauth import (
    LinkedInOAuthClient,
    grant_of,
    organization_acls_url,
    organization_url,
    parse_organization_acls,
    parse_organization_name,
    refreshed_grant,
    refusal_of,
)
from pulse_shared.ingest.oauth import Grant, OAuthRefused

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def client(**base_urls: str) -> LinkedInOAuthClient:
    return LinkedInOAuthClient(
        client_id="78abcdef", client_secret="s3cret", api_version="202611", **base_urls
    )


def test_the_consent_url_is_the_web_flows_without_pkce() -> None:
    url = client().authorization_url(
        state="st-1", redirect_uri="https://pulse.example/connect/callback", code_challenge=None
    )
    assert url == (
        "https://www.linkedin.com/oauth/v2/authorization?response_type=code"
        "&client_id=78abcdef&redirect_uri=https%3A%2F%2Fpulse.example%2Fconnect%2Fcallback"
        "&state=st-1&scope=r_organization_social%20rw_organization_admin"
    )
    assert "code_challenge" not in url
    assert LinkedInOAuthClient.uses_pkce is False
    assert LinkedInOAuthClient.platforms == ("linkedin",)


def test_the_consent_url_follows_the_configured_host() -> None:
    url = client(authorize_base_url="http://sim:8200/").authorization_url(
        state="s", redirect_uri="http://i/cb", code_challenge="ignored"
    )
    assert url.startswith("http://sim:8200/oauth/v2/authorization?response_type=code&")
    assert "ignored" not in url


def test_a_partners_token_answer_becomes_a_grant_with_its_refresh_token() -> None:
    # Programmatic refresh tokens (approved partners): 60-day access, 365-day refresh.
    body = {"access_token": "AQV-access", "expires_in": 5_184_000, "refresh_token": "AQX-ref",
            "refresh_token_expires_in": 31_536_000,
            "scope": "r_organization_social,rw_organization_admin"}  # fmt: skip
    grant = grant_of(body, NOW)
    assert grant.access_token == "AQV-access"
    assert grant.expires_at == NOW + timedelta(days=60)
    assert grant.refresh_token == "AQX-ref"
    assert grant.refresh_expires_at == NOW + timedelta(days=365)
    assert grant.scopes == ("r_organization_social", "rw_organization_admin")


def test_an_answer_without_refresh_token_gives_a_grant_that_cannot_refresh() -> None:
    grant = grant_of(
        {"access_token": "AQV", "expires_in": 5_184_000, "scope": "r_organization_social"}, NOW
    )
    assert grant.refresh_token is None
    assert grant.refresh_expires_at is None
    assert grant.scopes == ("r_organization_social",)


def test_an_answer_without_an_access_token_is_refused() -> None:
    with pytest.raises(OAuthRefused) as refused:
        grant_of({"error": "invalid_request"}, NOW)
    assert refused.value.error == "invalid_response"


def test_a_refresh_never_extends_the_refresh_tokens_expiry() -> None:
    # Consented 59 days ago: the refresh answer counts down from the first consent.
    consented = NOW - timedelta(days=59)
    old = Grant("AQV-old", NOW + timedelta(days=1), "AQX-ref", consented + timedelta(days=365))
    body = {"access_token": "AQV-new", "expires_in": 5_184_000, "refresh_token": "AQX-ref",
            "refresh_token_expires_in": 306 * 86_400}  # fmt: skip
    new = refreshed_grant(old, body, NOW)
    assert new.access_token == "AQV-new"
    assert new.expires_at == NOW + timedelta(days=60)
    assert new.refresh_token == "AQX-ref"
    assert new.refresh_expires_at == consented + timedelta(days=365)


def test_a_refresh_answer_leaving_the_refresh_token_out_keeps_the_old_one() -> None:
    old = Grant("AQV-old", NOW, "AQX-ref", NOW + timedelta(days=200), ("r_organization_social",))
    new = refreshed_grant(old, {"access_token": "AQV-new", "expires_in": 60}, NOW)
    assert (new.refresh_token, new.refresh_expires_at) == ("AQX-ref", old.refresh_expires_at)
    assert new.scopes == ("r_organization_social",)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": "invalid_request", "error_description":
               "The provided authorization grant or refresh token is invalid, expired or "
               "revoked"}, "invalid_request"),
        (400, {"error": "invalid_redirect_uri", "error_description": "Unable to retrieve "
               "access token: appid/redirect uri/code verifier does not match authorization "
               "code. Or authorization code expired."}, "invalid_redirect_uri"),
        (401, {"error": "invalid_client", "error_description": "Client authentication failed"},
         "invalid_client"),
        (400, "not json", "http_400"),
    ],
)  # fmt: skip
def test_token_errors_become_refusals(status: int, body: object, error: str) -> None:
    response = (
        httpx.Response(status, json=body)
        if isinstance(body, dict)
        else httpx.Response(status, text=str(body))
    )
    refused = refusal_of(response)
    assert refused.error == error
    if isinstance(body, dict):
        assert refused.description == body["error_description"]


async def test_refreshing_without_a_refresh_token_asks_for_consent_again() -> None:
    # Refused before any request: the client never reaches a host.
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as http:
        with pytest.raises(OAuthRefused) as refused:
            await client().refresh(http, Grant("AQV", NOW))
        assert refused.value.error == "no_refresh_token"
        lapsed = Grant("AQV", NOW, "AQX", datetime(2020, 1, 1, tzinfo=UTC))
        with pytest.raises(OAuthRefused) as refused:
            await client().refresh(http, lapsed)
        assert refused.value.error == "refresh_token_expired"


ACL_PAGE = {
    "paging": {"start": 0, "count": 2, "total": 3},
    "elements": [
        {"organization": "urn:li:organization:2414183", "role": "ADMINISTRATOR",
         "roleAssignee": "urn:li:person:K9sTbU3x2A", "state": "APPROVED"},
        {"organizationalTarget": "urn:li:organization:5515715", "role": "ADMINISTRATOR",
         "roleAssignee": "urn:li:person:K9sTbU3x2A", "state": "APPROVED"},
    ],
}  # fmt: skip


def test_an_acl_page_gives_the_administered_organisations_and_the_next_start() -> None:
    page = parse_organization_acls(ACL_PAGE, 0)
    assert page.organizations == ["urn:li:organization:2414183", "urn:li:organization:5515715"]
    assert page.next_start == 2


def test_the_last_acl_page_leaves_out_other_roles_states_and_urns() -> None:
    body = {
        "paging": {"start": 2, "count": 2, "total": 5},
        "elements": [
            {"organization": "urn:li:organization:1", "role": "ANALYST", "state": "APPROVED"},
            {"organization": "urn:li:organization:2", "role": "ADMINISTRATOR",
             "state": "REVOKED"},
            {"organization": "urn:li:organizationBrand:3", "role": "ADMINISTRATOR",
             "state": "APPROVED"},
        ],
    }  # fmt: skip
    page = parse_organization_acls(body, 2)
    assert page.organizations == []
    assert page.next_start is None  # 2 + 3 elements reach the total


@pytest.mark.parametrize(
    ("asked", "paging", "elements", "expected"),
    [
        (0, {"start": 0, "count": 10}, 0, None),  # empty
        (0, {"start": 0, "count": 10, "total": 25}, 10, 10),
        (20, {"start": 20, "count": 10, "total": 25}, 5, None),  # total reached
        (0, {"start": 0, "count": 10}, 7, None),  # short page, no link
        (10, {"start": 10, "count": 10}, 10, 20),  # a full page may have a next one
        (0, {"start": 0, "count": 10, "links": [{"rel": "next", "href": "/x?start=3"}]}, 3, 3),
        (10, {"start": 0, "count": 10}, 10, 20),  # counted from the start asked for
    ],
)
def test_offset_paging_ends_on_an_empty_or_short_page_or_the_total(
    asked: int, paging: dict[str, object], elements: int, expected: int | None
) -> None:
    assert next_start_of({"paging": paging}, asked, elements) == expected


def test_the_acl_and_organization_urls() -> None:
    assert organization_acls_url("https://api.linkedin.com", 100) == (
        "https://api.linkedin.com/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR"
        "&state=APPROVED&start=100&count=100"
    )
    assert organization_url("http://sim", "urn:li:organization:2414183") == (
        "http://sim/rest/organizations/2414183"
    )


def test_an_organisations_name_is_its_localized_name() -> None:
    assert parse_organization_name({"id": 2414183, "localizedName": "Pulse Labs"}) == ("Pulse Labs")
    multi_locale = {"name": {"localized": {"en_US": "Pulse Labs"},
                             "preferredLocale": {"country": "US", "language": "en"}}}  # fmt: skip
    assert parse_organization_name(multi_locale) == "Pulse Labs"
    assert parse_organization_name({"id": 1}) is None
