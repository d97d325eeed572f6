"""Control API for the OAuth side: simulated users, their grants, and killing or reviving
their tokens so a client's reconnection path can be driven."""

from __future__ import annotations

import base64
from typing import Any

from pulse_platform_sim.testing import Sim, authorize


async def x_tokens(sim: Sim, user: str = "sim-user-1") -> dict[str, Any]:
    code = await authorize(sim, "twitter", user)
    provider = sim.provider("twitter")
    basic = base64.b64encode(f"{provider.client_id}:{provider.client_secret}".encode()).decode()
    response = await sim.client.post(
        "/2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code.code,
            "redirect_uri": code.redirect_uri,
            "code_verifier": code.code_verifier or "",
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    body: dict[str, Any] = response.json()
    return body


async def me(sim: Sim, token: str) -> int:
    answer = await sim.client.get("/2/users/me", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code


async def refresh(sim: Sim, refresh_token: str) -> int:
    provider = sim.provider("twitter")
    answer = await sim.client.post(
        "/2/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(provider.client_id, provider.client_secret),
    )
    return answer.status_code


async def test_users_and_the_accounts_they_administer(sim: Sim) -> None:
    users = (await sim.client.get("/_sim/users")).json()["users"]
    assert [u["user_id"] for u in users] == ["sim-user-1", "sim-user-2", "sim-user-none"]
    first = users[0]
    assert first["business_ids"] == [1]
    assert {(a["platform"], a["account_id"]) for a in first["accounts"]} == {
        (p, sim.account(p).account_id) for p in ("linkedin", "twitter", "facebook", "instagram")
    }
    assert first["linkedin_member_urn"].startswith("urn:li:person:")
    assert first["meta_user_id"].isdigit()
    assert users[2]["accounts"] == []
    population = (await sim.client.get("/_sim/population", params={"include_posts": False})).json()
    assert population["users"] == users
    oauth = population["oauth"]
    assert set(oauth) == {"linkedin", "twitter", "meta"}
    assert oauth["meta"]["client_id"] == population["apps"]["meta"]["app_id"]
    assert oauth["twitter"]["redirect_uris"][0].startswith("http://127.0.0.1:8000/")


async def test_revoking_a_users_tokens_ends_their_grants(sim: Sim) -> None:
    first = await x_tokens(sim)
    other = await x_tokens(sim, "sim-user-2")
    revoked = await sim.client.post(
        "/_sim/tokens/revoke", json={"user": "sim-user-1", "platform": "x"}
    )
    assert revoked.json() == {"status": "revoked", "tokens": 2, "grants": 1}
    assert await me(sim, first["access_token"]) == 401
    assert await me(sim, sim.token("twitter")) == 401  # the standing token too
    assert await refresh(sim, first["refresh_token"]) == 400
    assert await me(sim, other["access_token"]) == 200
    grants = (await sim.client.get("/_sim/oauth/grants", params={"user": "sim-user-1"})).json()
    [grant] = grants["grants"]
    assert grant["revoked"] is True
    assert grant["tokens"][0]["status"] == "revoked"
    await sim.client.post("/_sim/tokens/restore", json={"user": "sim-user-1"})
    assert await me(sim, first["access_token"]) == 200
    assert await refresh(sim, first["refresh_token"]) == 200


async def test_expiring_access_tokens_leaves_refresh_unless_asked(sim: Sim) -> None:
    body = await x_tokens(sim)
    await sim.client.post("/_sim/tokens/expire", json={"user": "sim-user-1", "platform": "x"})
    assert await me(sim, body["access_token"]) == 401
    grants = (await sim.client.get("/_sim/oauth/grants")).json()["grants"]
    assert grants[0]["tokens"][0]["status"] == "expired"
    assert grants[0]["refresh_status"] == "valid"
    renewed = await x_tokens(sim)
    await sim.client.post(
        "/_sim/tokens/expire",
        json={"user": "sim-user-1", "platform": "x", "include_refresh": True},
    )
    assert await refresh(sim, renewed["refresh_token"]) == 400


async def test_an_issued_token_can_be_named_directly(sim: Sim) -> None:
    body = await x_tokens(sim)
    await sim.client.post("/_sim/tokens/revoke", json={"token": body["access_token"]})
    assert await me(sim, body["access_token"]) == 401
    unknown = await sim.client.post("/_sim/tokens/revoke", json={"user": "sim-user-9"})
    assert unknown.status_code == 404


async def test_reset_forgets_grants_and_issued_tokens(sim: Sim) -> None:
    body = await x_tokens(sim)
    await sim.client.post("/_sim/reset", json={"clock": False})
    assert await me(sim, body["access_token"]) == 401
    assert (await sim.client.get("/_sim/oauth/grants")).json() == {"grants": []}
    assert await me(sim, sim.token("twitter")) == 200
