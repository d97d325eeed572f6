"""LinkedIn's token endpoint: code exchange, refresh with a fixed TTL, errors, revocation,
and what the issued member tokens may read."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from pulse_platform_sim.testing import Authorized, Sim, authorize, linkedin_headers

TOKEN = "/oauth/v2/accessToken"
DAY_S = 86_400
INVALID_GRANT = {
    "error": "invalid_request",
    "error_description": "The provided authorization grant or refresh token is invalid, "
    "expired or revoked",
}


def client(sim: Sim) -> dict[str, str]:
    provider = sim.provider("linkedin")
    return {"client_id": provider.client_id, "client_secret": provider.client_secret}


async def exchange(sim: Sim, code: Authorized, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code.code,
        "redirect_uri": code.redirect_uri,
        **client(sim),
        **overrides,
    }
    return await sim.client.post(TOKEN, data=form)


async def refresh(sim: Sim, refresh_token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **client(sim)}
    return await sim.client.post(TOKEN, data=form)


async def tokens(sim: Sim, user: str = "sim-user-1", scope: str | None = None) -> dict[str, Any]:
    response = await exchange(sim, await authorize(sim, "linkedin", user, scope))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stats_url(organization: str) -> str:
    return (
        "/rest/organizationalEntityShareStatistics?q=organizationalEntity"
        f"&organizationalEntity={quote(organization, safe='')}"
    )


async def test_a_code_buys_a_60_day_token_and_a_365_day_refresh_token(sim: Sim) -> None:
    body = await tokens(sim)
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "scope",
    }
    assert body["expires_in"] == 60 * DAY_S
    assert body["refresh_token_expires_in"] == 365 * DAY_S
    assert body["scope"] == "r_organization_social,rw_organization_admin"
    assert body["access_token"].startswith("AQV")


async def test_the_token_reads_what_its_member_administers_and_nothing_else(sim: Sim) -> None:
    token = (await tokens(sim, "sim-user-1"))["access_token"]
    own = sim.account("linkedin", 0).account_id
    other = sim.account("linkedin", 1).account_id
    assert (
        await sim.client.get(stats_url(own), headers=linkedin_headers(token))
    ).status_code == 200
    refused = await sim.client.get(stats_url(other), headers=linkedin_headers(token))
    assert refused.status_code == 403
    assert refused.json()["serviceErrorCode"] == 100
    # Counted per member (the person's URN), never by token.
    user = sim.state.population.user("sim-user-1")
    assert user is not None
    log = (await sim.client.get("/_sim/requests", params={"platform": "linkedin"})).json()
    assert {w["principal"] for w in log["windows"] if w["endpoint"].startswith("GET /rest")} == {
        user.linkedin_urn
    }


async def test_a_missing_scope_is_forbidden(sim: Sim) -> None:
    token = (await tokens(sim, scope="r_organization_social"))["access_token"]
    own = sim.account("linkedin").account_id
    assert (
        await sim.client.get(stats_url(own), headers=linkedin_headers(token))
    ).status_code == 403


async def test_a_code_works_once_and_its_reuse_revokes_what_it_gave(sim: Sim) -> None:
    code = await authorize(sim, "linkedin")
    first = await exchange(sim, code)
    assert first.status_code == 200
    token = first.json()["access_token"]
    again = await exchange(sim, code)
    assert again.status_code == 400
    assert again.json() == INVALID_GRANT
    revoked = await sim.client.get(
        stats_url(sim.account("linkedin").account_id), headers=linkedin_headers(token)
    )
    assert revoked.status_code == 401
    assert revoked.json()["serviceErrorCode"] == 65602


async def test_a_code_expires_after_30_minutes(sim: Sim) -> None:
    code = await authorize(sim, "linkedin")
    sim.state.clock.advance(30 * 60)
    late = await exchange(sim, code)
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_redirect_uri"
    fresh = await authorize(sim, "linkedin")
    sim.state.clock.advance(30 * 60 - 1)
    assert (await exchange(sim, fresh)).status_code == 200


async def test_the_code_is_bound_to_its_redirect_uri(sim: Sim) -> None:
    code = await authorize(sim, "linkedin")
    other = sim.provider("linkedin").redirect_uris[1]
    answer = await exchange(sim, code, redirect_uri=other)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_redirect_uri"
    assert answer.json()["error_description"].startswith(
        "Unable to retrieve access token: appid/redirect uri/code verifier does not match"
    )


async def test_client_authentication_and_required_parameters(sim: Sim) -> None:
    code = await authorize(sim, "linkedin")
    wrong = await exchange(sim, code, client_secret="nope")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    missing = await sim.client.post(TOKEN, data={"grant_type": "refresh_token", **client(sim)})
    assert missing.status_code == 400
    assert missing.json() == {
        "error": "invalid_request",
        "error_description": 'A required parameter "refresh_token" is missing',
    }
    as_json = await sim.client.post(TOKEN, json={"grant_type": "authorization_code"})
    assert as_json.status_code == 400


async def test_refreshing_never_extends_the_refresh_token(sim: Sim) -> None:
    first = await tokens(sim)
    sim.state.clock.advance(59 * DAY_S)
    second = await refresh(sim, first["refresh_token"])
    assert second.status_code == 200
    body = second.json()
    assert body["expires_in"] == 60 * DAY_S
    assert body["refresh_token"] == first["refresh_token"]
    assert body["refresh_token_expires_in"] == 306 * DAY_S
    # Day 360: the new access token cannot outlive the refresh token (5 days left).
    sim.state.clock.advance(301 * DAY_S)
    late = (await refresh(sim, first["refresh_token"])).json()
    assert late["expires_in"] == late["refresh_token_expires_in"] == 5 * DAY_S
    sim.state.clock.advance(5 * DAY_S)
    gone = await refresh(sim, first["refresh_token"])
    assert gone.status_code == 400
    assert gone.json() == INVALID_GRANT


async def test_an_expired_access_token_answers_65601_until_refreshed(
    sim_with: Any,
) -> None:
    async with sim_with(linkedin_access_token_ttl_s=3600) as sim:
        body = await tokens(sim)
        url = stats_url(sim.account("linkedin").account_id)
        assert (
            await sim.client.get(url, headers=linkedin_headers(body["access_token"]))
        ).status_code == 200
        sim.state.clock.advance(3600)
        expired = await sim.client.get(url, headers=linkedin_headers(body["access_token"]))
        assert expired.status_code == 401
        assert expired.json()["serviceErrorCode"] == 65601
        renewed = (await refresh(sim, body["refresh_token"])).json()
        assert renewed["expires_in"] == 3600
        assert (
            await sim.client.get(url, headers=linkedin_headers(renewed["access_token"]))
        ).status_code == 200


async def test_without_programmatic_refresh_there_is_no_refresh_token(sim_with: Any) -> None:
    async with sim_with(linkedin_refresh_tokens=False) as sim:
        body = await tokens(sim)
        assert set(body) == {"access_token", "expires_in", "scope"}


async def test_introspection_and_revocation(sim: Sim) -> None:
    body = await tokens(sim)
    introspect = {"token": body["access_token"], **client(sim)}
    active = (await sim.client.post("/oauth/v2/introspectToken", data=introspect)).json()
    assert active["active"] is True
    assert active["status"] == "active"
    assert active["scope"] == "r_organization_social,rw_organization_admin"
    revoke = await sim.client.post(
        "/oauth/v2/revoke", data={"token": body["access_token"], **client(sim)}
    )
    assert revoke.status_code == 200
    after = (await sim.client.post("/oauth/v2/introspectToken", data=introspect)).json()
    assert after["active"] is False
    assert after["status"] == "revoked"
    # The consent is gone: its refresh token too.
    assert (await refresh(sim, body["refresh_token"])).status_code == 400
    unknown = {"token": "AQVnope", **client(sim)}
    assert (await sim.client.post("/oauth/v2/introspectToken", data=unknown)).json() == {
        "active": False
    }
