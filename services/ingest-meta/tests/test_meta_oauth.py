"""Facebook Login's consent URL, token and account answers and errors, as documented
(platform-oauth.md, 3.1 to 3.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pulse_ingest_meta.oauth import (
    MetaOAuthClient,
    grant_of,
    instagram_name,
    is_retryable,
    page_token_expiry,
    parse_accounts,
    refusal_of,
)
from pulse_shared.ingest.oauth import Grant, OAuthRefused

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
REQUEST = httpx.Request("GET", "https://graph.facebook.com/v26.0/oauth/access_token")

# /me/accounts as in the Page access token docs, with the Instagram field asked inline.
ME_ACCOUNTS: dict[str, Any] = {
    "data": [
        {"access_token": "EAAPagetokenA", "category": "Brand", "name": "Acme Bakery",
         "id": "134895793791914", "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT"],
         "instagram_business_account": {"id": "17841405822304914"}},
        {"access_token": "EAAPagetokenB", "category": "Local business", "name": "Acme Cafe",
         "id": "134895793791915"},
        {"category": "Brand", "name": "Not mine to poll", "id": "134895793791916"},
    ],
    "paging": {
        "cursors": {"before": "MTM0ODk1", "after": "MTM0ODk2"},
        "next": "https://graph.facebook.com/v26.0/me/accounts?access_token=EAAG&after=MTM0ODk2",
    },
}  # fmt: skip

# The error-handling docs' example.
TOKEN_EXPIRED: dict[str, Any] = {
    "error": {
        "message": "Error validating access token: The user has changed the password.",
        "type": "OAuthException",
        "code": 190,
        "error_subcode": 460,
        "error_user_title": "A title",
        "error_user_msg": "A message",
        "fbtrace_id": "EJplcsCHuLu",
    }
}


def client(**options: Any) -> MetaOAuthClient:
    return MetaOAuthClient(client_id="1234567890", client_secret="app-secret", **options)


def answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body, request=REQUEST)


def test_the_consent_url_is_facebook_logins_dialog() -> None:
    url = client(authorize_base_url="http://sim:8200/").authorization_url(
        state="st", redirect_uri="http://i/connect/callback", code_challenge=None
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://sim:8200/v26.0/dialog/oauth"
    assert parse_qs(parts.query) == {
        "client_id": ["1234567890"],
        "redirect_uri": ["http://i/connect/callback"],
        "state": ["st"],
        "response_type": ["code"],
        "scope": [
            "pages_show_list,pages_read_engagement,read_insights,"
            "instagram_basic,instagram_manage_insights"
        ],
    }
    default = client(api_version="v25.0").authorization_url(
        state="s", redirect_uri="http://i/cb", code_challenge=None
    )
    assert default.startswith("https://www.facebook.com/v25.0/dialog/oauth?client_id=1234567890")


def test_meta_is_connected_without_pkce() -> None:
    assert client().uses_pkce is False
    assert client().platforms == ("facebook", "instagram")
    assert "app-secret" not in repr(client())


def test_a_long_lived_token_answer_becomes_a_grant() -> None:
    body = {"access_token": "EAAlonglived", "token_type": "bearer", "expires_in": 5183944}
    grant = grant_of(body, NOW)
    assert grant.access_token == "EAAlonglived"
    assert grant.expires_at == NOW + timedelta(seconds=5183944)
    assert grant.refresh_token is None  # Meta gives none
    assert grant_of({"access_token": "EAAx", "token_type": "bearer"}, NOW).expires_at is None
    with pytest.raises(OAuthRefused):
        grant_of({"token_type": "bearer"}, NOW)


def test_a_graph_error_is_a_refusal_named_by_its_codes() -> None:
    refusal = refusal_of(answer(400, TOKEN_EXPIRED))
    assert refusal.error == "graph_190_460"
    assert "changed the password" in refusal.description
    used_code = {"error": {"message": "This authorization code has been used.",
                           "type": "OAuthException", "code": 100, "error_subcode": 36009,
                           "fbtrace_id": "A1"}}  # fmt: skip
    assert refusal_of(answer(400, used_code)).error == "graph_100_36009"
    assert refusal_of(httpx.Response(403, text="<html>", request=REQUEST)).error == "http_403"


def test_a_refusal_never_quotes_a_token() -> None:
    token = "EAAG" + "x" * 180
    malformed = {"error": {"message": f"Malformed access token {token}", "type": "OAuthException",
                           "code": 190, "fbtrace_id": "A2"}}  # fmt: skip
    refusal = refusal_of(answer(400, malformed))
    assert token not in str(refusal)
    assert refusal.description == "Malformed access token [redacted]"


def test_throttles_and_server_errors_are_tried_again_not_refused() -> None:
    throttled = {"error": {"message": "(#4) Application request limit reached",
                           "type": "OAuthException", "code": 4, "is_transient": True}}  # fmt: skip
    transient = {"error": {"message": "An unexpected error has occurred.", "code": 2}}
    assert is_retryable(answer(403, throttled))
    assert is_retryable(answer(500, transient))
    assert is_retryable(httpx.Response(503, request=REQUEST))
    assert not is_retryable(answer(400, TOKEN_EXPIRED))


def test_each_managed_page_with_a_token_is_offered_with_its_instagram() -> None:
    pages, after = parse_accounts(ME_ACCOUNTS)
    assert after == "MTM0ODk2"
    assert [(p.page_id, p.name, p.instagram_id) for p in pages] == [
        ("134895793791914", "Acme Bakery", "17841405822304914"),
        ("134895793791915", "Acme Cafe", None),
    ]
    assert pages[0].access_token == "EAAPagetokenA"
    assert "EAAPagetokenA" not in repr(pages[0])
    last = {"data": [], "paging": {"cursors": {"before": "a", "after": "b"}}}
    assert parse_accounts(last) == ([], None)
    with pytest.raises(OAuthRefused):
        parse_accounts({"data": "nope"})


def test_page_tokens_from_a_long_lived_user_token_never_expire() -> None:
    long_lived = Grant("EAAuser", NOW + timedelta(seconds=5183944))
    assert page_token_expiry(long_lived, NOW) is None
    short_lived = Grant("EAAuser", NOW + timedelta(hours=1))
    assert page_token_expiry(short_lived, NOW) == NOW + timedelta(hours=1)


def test_an_instagram_account_is_named_by_its_username() -> None:
    assert instagram_name({"username": "acmebakery", "id": "1784"}, "Acme Bakery") == "@acmebakery"
    assert instagram_name({}, "Acme Bakery") == "Acme Bakery (Instagram)"


async def test_a_token_without_expiry_is_never_refreshed() -> None:
    # No call goes out: the client has nowhere to send one.
    async with httpx.AsyncClient(base_url="http://unused.invalid") as http:
        page_grant = Grant("EAAPagetokenA")
        assert await client(clock=lambda: NOW).refresh(http, page_grant) is page_grant
        expired = Grant("EAAPagetokenA", NOW - timedelta(seconds=1))
        with pytest.raises(OAuthRefused) as refused:
            await client(clock=lambda: NOW).refresh(http, expired)
    assert refused.value.error == "token_expired"
