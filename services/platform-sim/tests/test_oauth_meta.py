"""Facebook Login: code exchange, long-lived user tokens, Page tokens from /me/accounts,
permissions and their revocation, token debugging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pulse_platform_sim.testing import (
    Authorized,
    Sim,
    authorize,
    consent,
    pkce_pair,
    redirect_query,
)

V = "/v21.0"


def app(sim: Sim) -> dict[str, str]:
    provider = sim.provider("meta")
    return {"client_id": provider.client_id, "client_secret": provider.client_secret}


async def exchange(sim: Sim, code: Authorized, method: str = "GET", **extra: str) -> httpx.Response:
    params = {"code": code.code, "redirect_uri": code.redirect_uri, **app(sim), **extra}
    if method == "POST":
        return await sim.client.post(
            f"{V}/oauth/access_token", data={**params, "grant_type": "authorization_code"}
        )
    return await sim.client.get(f"{V}/oauth/access_token", params=params)


async def user_token(sim: Sim, user: str = "sim-user-1", scope: str | None = None) -> str:
    response = await exchange(sim, await authorize(sim, "meta", user, scope))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def long_lived(sim: Sim, short: str) -> httpx.Response:
    params = {"grant_type": "fb_exchange_token", "fb_exchange_token": short, **app(sim)}
    return await sim.client.get(f"{V}/oauth/access_token", params=params)


async def pages(sim: Sim, token: str) -> dict[str, Any]:
    response = await sim.client.get(
        f"{V}/me/accounts",
        params={"fields": "name,access_token,instagram_business_account", "access_token": token},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def graph_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error.pop("fbtrace_id")
    return error


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_code_buys_a_one_hour_user_token(sim: Sim, method: str) -> None:
    code = await authorize(sim, "meta")
    body = (await exchange(sim, code, method)).json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    me = await sim.client.get(f"{V}/me", params={"access_token": body["access_token"]})
    user = sim.state.population.user("sim-user-1")
    assert user is not None
    assert me.json() == {"name": user.name, "id": user.meta_user_id}


async def test_code_errors_have_the_graph_shape(sim: Sim) -> None:
    code = await authorize(sim, "meta")
    other = sim.provider("meta").redirect_uris[1]
    mismatch = graph_error(await exchange(sim, code, redirect_uri=other))
    assert mismatch["code"] == 100
    assert mismatch["error_subcode"] == 36008
    assert mismatch["type"] == "OAuthException"
    used = graph_error(await exchange(sim, code))
    assert used == {
        "message": "This authorization code has been used.",
        "type": "OAuthException",
        "code": 100,
        "error_subcode": 36009,
    }
    late = await authorize(sim, "meta")
    sim.state.clock.advance(600)
    assert graph_error(await exchange(sim, late))["error_subcode"] == 36007
    fresh = await authorize(sim, "meta")
    assert graph_error(await exchange(sim, fresh, client_secret="nope"))["code"] == 1
    assert graph_error(await exchange(sim, fresh, client_id="1"))["code"] == 101


async def test_the_short_token_is_exchanged_for_a_60_day_one(sim: Sim) -> None:
    short = await user_token(sim)
    body = (await long_lived(sim, short)).json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 5_183_944
    sim.state.clock.advance(3600)
    dead = graph_error(await sim.client.get(f"{V}/me", params={"access_token": short}))
    assert (dead["code"], dead["error_subcode"]) == (190, 463)
    alive = await sim.client.get(f"{V}/me", params={"access_token": body["access_token"]})
    assert alive.status_code == 200
    # An expired token cannot be exchanged.
    refused = graph_error(await long_lived(sim, short))
    assert refused["code"] == 190
    sim.state.clock.advance(5_183_944 - 3600)
    gone = graph_error(
        await sim.client.get(f"{V}/me", params={"access_token": body["access_token"]})
    )
    assert gone["error_subcode"] == 463


async def test_me_accounts_lists_the_users_pages_with_page_tokens(sim: Sim) -> None:
    long = (await long_lived(sim, await user_token(sim))).json()["access_token"]
    body = await pages(sim, long)
    page = sim.account("facebook")
    instagram = sim.account("instagram")
    [entry] = body["data"]
    assert entry["id"] == page.account_id
    assert entry["name"] == page.name
    assert entry["instagram_business_account"] == {"id": instagram.account_id}
    assert set(body["paging"]["cursors"]) == {"before", "after"}
    page_token = entry["access_token"]
    # The same Page token on every call with the same user token.
    assert (await pages(sim, long))["data"][0]["access_token"] == page_token
    # It reads the Page and the linked Instagram account...
    page_node = await sim.client.get(
        f"{V}/{page.account_id}",
        params={"fields": "followers_count,instagram_business_account", "access_token": page_token},
    )
    assert page_node.json() == {
        "followers_count": page.followers_at(sim.state.clock.now()),
        "instagram_business_account": {"id": instagram.account_id},
        "id": page.account_id,
    }
    ig = await sim.client.get(
        f"{V}/{instagram.account_id}",
        params={"fields": "followers_count", "access_token": page_token},
    )
    assert ig.status_code == 200
    # ...and is charged to the Instagram account's budget for Instagram calls.
    assert instagram.account_id in ig.headers["X-Business-Use-Case-Usage"]
    # ...but not another business's Page.
    other = sim.account("facebook", 1)
    assert (
        graph_error(
            await sim.client.get(f"{V}/{other.account_id}", params={"access_token": page_token})
        )["error_subcode"]
        == 33
    )
    # Page tokens from a long-lived user token do not expire.
    sim.state.clock.advance(400 * 86_400)
    still = await sim.client.get(f"{V}/{page.account_id}", params={"access_token": page_token})
    assert still.status_code == 200


async def test_page_tokens_from_a_short_lived_user_token_expire_with_it(sim: Sim) -> None:
    short = await user_token(sim)
    page_token = (await pages(sim, short))["data"][0]["access_token"]
    sim.state.clock.advance(3600)
    page = sim.account("facebook")
    dead = graph_error(
        await sim.client.get(f"{V}/{page.account_id}", params={"access_token": page_token})
    )
    assert dead["code"] == 190


async def test_page_edges_need_a_page_token(sim: Sim) -> None:
    token = await user_token(sim)
    page = sim.account("facebook")
    answer = graph_error(
        await sim.client.get(
            f"{V}/{page.account_id}/published_posts", params={"access_token": token}
        )
    )
    assert answer["code"] == 210
    # The Instagram account is readable with the user token itself.
    media = await sim.client.get(
        f"{V}/{sim.account('instagram').account_id}/media", params={"access_token": token}
    )
    assert media.status_code == 200


async def test_a_user_without_pages_gets_an_empty_list(sim: Sim) -> None:
    token = await user_token(sim, "sim-user-none")
    assert (await pages(sim, token)) == {"data": []}


async def test_me_accounts_needs_pages_show_list(sim: Sim) -> None:
    token = await user_token(sim, scope="public_profile")
    answer = graph_error(await sim.client.get(f"{V}/me/accounts", params={"access_token": token}))
    assert answer["code"] == 10


async def test_deleting_permissions_logs_the_app_out_everywhere(sim: Sim) -> None:
    long = (await long_lived(sim, await user_token(sim))).json()["access_token"]
    page_token = (await pages(sim, long))["data"][0]["access_token"]
    granted = await sim.client.get(f"{V}/me/permissions", params={"access_token": long})
    assert {"permission": "pages_show_list", "status": "granted"} in granted.json()["data"]
    user = sim.state.population.user("sim-user-1")
    assert user is not None
    deleted = await sim.client.delete(
        f"{V}/{user.meta_user_id}/permissions", params={"access_token": long}
    )
    assert deleted.json() == {"success": True}
    for token in (long, page_token):
        dead = graph_error(
            await sim.client.get(
                f"{V}/{sim.account('facebook').account_id}", params={"access_token": token}
            )
        )
        assert (dead["code"], dead["error_subcode"]) == (190, 458)


async def test_deleting_one_permission(sim: Sim) -> None:
    token = await user_token(sim)
    await sim.client.delete(f"{V}/me/permissions/pages_show_list", params={"access_token": token})
    assert (
        graph_error(await sim.client.get(f"{V}/me/accounts", params={"access_token": token}))[
            "code"
        ]
        == 10
    )


async def test_debug_token(sim: Sim) -> None:
    long = (await long_lived(sim, await user_token(sim))).json()["access_token"]
    provider = sim.provider("meta")
    app_token = f"{provider.client_id}|{provider.client_secret}"
    data = (
        await sim.client.get(
            f"{V}/debug_token", params={"input_token": long, "access_token": app_token}
        )
    ).json()["data"]
    assert data["is_valid"] is True
    assert data["type"] == "USER"
    assert "pages_show_list" in data["scopes"]
    assert data["expires_at"] > 0
    page_token = (await pages(sim, long))["data"][0]["access_token"]
    page = (
        await sim.client.get(
            f"{V}/debug_token", params={"input_token": page_token, "access_token": app_token}
        )
    ).json()["data"]
    assert page["type"] == "PAGE"
    assert page["expires_at"] == 0
    bad = (
        await sim.client.get(
            f"{V}/debug_token", params={"input_token": "EAAbad", "access_token": app_token}
        )
    ).json()["data"]
    assert bad["is_valid"] is False


async def test_pkce_is_optional_and_checked_when_used(sim: Sim) -> None:
    verifier, challenge = pkce_pair()
    provider = sim.provider("meta")
    params = {
        "client_id": provider.client_id,
        "redirect_uri": provider.redirect_uris[0],
        "scope": "pages_show_list",
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    answer = await consent(sim.client, "/v21.0/dialog/oauth", params)
    code = Authorized(redirect_query(answer)["code"], provider.redirect_uris[0])
    assert graph_error(await exchange(sim, code, code_verifier="x" * 43))["code"] == 100
    again = redirect_query(await consent(sim.client, "/v21.0/dialog/oauth", params))["code"]
    good = await exchange(sim, Authorized(again, provider.redirect_uris[0]), code_verifier=verifier)
    assert good.status_code == 200
