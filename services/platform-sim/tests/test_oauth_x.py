"""X's OAuth 2.0 token endpoint: Basic client auth, PKCE, rotating refresh tokens, expiry,
revocation."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from pulse_platform_sim.testing import Authorized, Sim, authorize

TOKEN = "/2/oauth2/token"
BAD_CODE = {
    "error": "invalid_request",
    "error_description": "Value passed for the authorization code was invalid.",
}


def basic(sim: Sim, secret: str | None = None) -> dict[str, str]:
    provider = sim.provider("twitter")
    raw = f"{provider.client_id}:{secret or provider.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def exchange(sim: Sim, code: Authorized, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code.code,
        "redirect_uri": code.redirect_uri,
        "code_verifier": code.code_verifier or "",
        **overrides,
    }
    return await sim.client.post(TOKEN, data=form, headers=basic(sim))


async def refresh(sim: Sim, refresh_token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await sim.client.post(TOKEN, data=form, headers=basic(sim))


async def tokens(sim: Sim, user: str = "sim-user-1", scope: str | None = None) -> dict[str, Any]:
    response = await exchange(sim, await authorize(sim, "twitter", user, scope))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("method", ["S256", "plain"])
async def test_a_code_and_its_verifier_buy_a_2_hour_token(sim: Sim, method: str) -> None:
    code = await authorize(sim, "twitter", pkce_method=method)
    body = (await exchange(sim, code)).json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7200
    assert body["scope"] == "tweet.read users.read offline.access"
    assert body["refresh_token"] != body["access_token"]
    me = await sim.client.get(
        "/2/users/me",
        params={"user.fields": "public_metrics"},
        headers=bearer(body["access_token"]),
    )
    assert me.status_code == 200
    assert me.json()["data"]["id"] == sim.account("twitter").account_id


async def test_each_user_signs_in_as_their_own_x_account(sim: Sim) -> None:
    body = await tokens(sim, "sim-user-2")
    me = await sim.client.get("/2/users/me", headers=bearer(body["access_token"]))
    assert me.json()["data"]["id"] == sim.account("twitter", 1).account_id


async def test_a_wrong_or_missing_verifier_is_refused(sim: Sim) -> None:
    code = await authorize(sim, "twitter")
    wrong = await exchange(sim, code, code_verifier="w" * 50)
    assert wrong.status_code == 400
    assert wrong.json() == BAD_CODE
    missing = await exchange(sim, await authorize(sim, "twitter"), code_verifier="")
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


async def test_a_code_is_single_use_and_lives_30_seconds(sim: Sim) -> None:
    code = await authorize(sim, "twitter")
    assert (await exchange(sim, code)).status_code == 200
    reused = await exchange(sim, code)
    assert reused.status_code == 400
    assert reused.json() == BAD_CODE
    late = await authorize(sim, "twitter")
    sim.state.clock.advance(30)
    assert (await exchange(sim, late)).json() == BAD_CODE


async def test_the_client_authenticates_with_http_basic(sim: Sim) -> None:
    code = await authorize(sim, "twitter")
    form = {
        "grant_type": "authorization_code",
        "code": code.code,
        "redirect_uri": code.redirect_uri,
        "code_verifier": code.code_verifier or "",
        "client_id": sim.provider("twitter").client_id,
    }
    without = await sim.client.post(TOKEN, data=form)
    assert without.status_code == 401
    assert without.json() == {
        "error": "unauthorized_client",
        "error_description": "Missing valid authorization header",
    }
    wrong = await sim.client.post(TOKEN, data=form, headers=basic(sim, "wrong"))
    assert wrong.status_code == 401


async def test_refresh_tokens_rotate_and_the_old_one_is_refused(sim: Sim) -> None:
    first = await tokens(sim)
    second = await refresh(sim, first["refresh_token"])
    assert second.status_code == 200
    renewed = second.json()
    assert renewed["refresh_token"] != first["refresh_token"]
    assert renewed["access_token"] != first["access_token"]
    again = await refresh(sim, first["refresh_token"])
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_request",
        "error_description": "Value passed for the token was invalid.",
    }
    assert (await refresh(sim, renewed["refresh_token"])).status_code == 200


async def test_without_offline_access_there_is_no_refresh_token(sim: Sim) -> None:
    body = await tokens(sim, scope="tweet.read users.read")
    assert "refresh_token" not in body
    assert body["scope"] == "tweet.read users.read"


async def test_without_read_scopes_the_api_is_forbidden(sim: Sim) -> None:
    body = await tokens(sim, scope="users.read offline.access")
    answer = await sim.client.get("/2/users/me", headers=bearer(body["access_token"]))
    assert answer.status_code == 403


async def test_an_access_token_expires_after_2_hours_everywhere(sim: Sim) -> None:
    body = await tokens(sim)
    account = sim.account("twitter")
    post = sim.posts("twitter")[-1]
    calls = [
        ("/2/users/me", {}),
        (f"/2/users/{account.account_id}", {}),
        ("/2/users", {"ids": account.account_id}),
        ("/2/tweets", {"ids": post.post_id}),
        (f"/2/users/{account.account_id}/tweets", {}),
    ]
    for path, params in calls:
        ok = await sim.client.get(path, params=params, headers=bearer(body["access_token"]))
        assert ok.status_code == 200, path
    sim.state.clock.advance(7200)
    for path, params in calls:
        dead = await sim.client.get(path, params=params, headers=bearer(body["access_token"]))
        assert dead.status_code == 401, path
        assert dead.json()["title"] == "Unauthorized"


async def test_revoking_a_refresh_token_ends_the_grant(sim: Sim) -> None:
    body = await tokens(sim)
    revoke = await sim.client.post(
        "/2/oauth2/revoke",
        data={"token": body["refresh_token"], "token_type_hint": "refresh_token"},
        headers=basic(sim),
    )
    assert revoke.json() == {"revoked": True}
    assert (
        await sim.client.get("/2/users/me", headers=bearer(body["access_token"]))
    ).status_code == 401
    assert (await refresh(sim, body["refresh_token"])).status_code == 400


async def test_revoking_an_access_token_ends_only_that_token(sim: Sim) -> None:
    body = await tokens(sim)
    await sim.client.post(
        "/2/oauth2/revoke", data={"token": body["access_token"]}, headers=basic(sim)
    )
    assert (
        await sim.client.get("/2/users/me", headers=bearer(body["access_token"]))
    ).status_code == 401
    renewed = (await refresh(sim, body["refresh_token"])).json()
    assert (
        await sim.client.get("/2/users/me", headers=bearer(renewed["access_token"]))
    ).status_code == 200
