"""A business added while the simulator runs (``POST /_sim/businesses``): built as the
starting ones are, its administrator signs in on every consent page and finds its
accounts, its history lists page by page and its followers have a past."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from pulse_platform_sim.population import (
    APIS,
    Api,
    Business,
    Post,
    build_business,
    build_population,
)
from pulse_platform_sim.publisher import posts_to_publish
from pulse_platform_sim.testing import (
    AUTHORIZE_PATHS,
    DEFAULT_SCOPES,
    NOW,
    Sim,
    authorize,
    linkedin_headers,
    linkedin_token,
    make_settings,
    parse_consent,
    pkce_pair,
)
from pulse_shared.events import PLATFORMS, Platform

V = "/v21.0"
N = 40  # the Pulse business added (the fixture's simulator starts with 1 and 2)
ADMIN = f"sim-user-{N}"


async def add(sim: Sim, business_id: Any = N) -> dict[str, Any]:
    response = await sim.client.post("/_sim/businesses", json={"business_id": business_id})
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def business(sim: Sim, business_id: int = N) -> Business:
    found = sim.state.population.business(business_id)
    assert found is not None
    return found


def posts(sim: Sim, platform: Platform, business_id: int = N) -> list[Post]:
    return sim.state.population.posts_of(business(sim, business_id).accounts[platform], NOW)


def newest_first(history: list[Post]) -> list[str]:
    ordered = sorted(history, key=lambda p: (p.published_at, p.post_id), reverse=True)
    return [p.post_id for p in ordered]


# --- the business and its administrator -------------------------------------------------


async def test_an_added_business_is_in_the_population_with_its_administrator(sim: Sim) -> None:
    response = await sim.client.post("/_sim/businesses", json={"business_id": N})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["business_id"], body["created"], body["added_at_runtime"]) == (N, True, True)
    assert body["administrator"]["user_id"] == ADMIN
    assert body["administrator"]["business_ids"] == [N]
    assert {a["platform"] for a in body["accounts"]} == set(PLATFORMS)
    history = [p for platform in PLATFORMS for p in posts(sim, platform)]
    assert body["history"] == {
        "start": (NOW - timedelta(days=45)).isoformat(),
        "posts": 4 * 20,
        "last_published_at": max(p.published_at for p in history).isoformat(),
    }
    population = (await sim.client.get("/_sim/population", params={"business_id": N})).json()
    [listed] = population["businesses"]
    assert listed["accounts"] == body["accounts"]
    assert len(listed["posts"]) == 80
    assert all(p["native"] and p["deleted_at"] is None for p in listed["posts"])
    users = (await sim.client.get("/_sim/users")).json()["users"]
    assert [u["user_id"] for u in users] == ["sim-user-1", "sim-user-2", ADMIN, "sim-user-none"]
    assert users[2] == body["administrator"]


async def test_adding_it_again_answers_the_same_business(sim: Sim) -> None:
    first = await add(sim)
    again = await sim.client.post("/_sim/businesses", json={"business_id": N})
    assert again.status_code == 200
    assert again.json() == {**first, "created": False}
    assert [b.business_id for b in sim.state.population.businesses] == [1, 2, N]


async def test_it_is_built_as_a_starting_business_of_its_number_would_be(sim: Sim) -> None:
    """Simulator business 3 of a simulator started now (anchored on this hour) is the
    business added as 3 to a running one: the same accounts, tokens, followers, posts."""
    await add(sim, 3)
    started = build_population(make_settings(businesses=3, anchor=NOW))
    expected = started.businesses[2]
    assert business(sim, 3) == expected
    for platform in PLATFORMS:
        account = expected.accounts[platform]
        assert posts(sim, platform, 3) == started.posts_of(account)
    assert sim.state.population.admin_of(3) == started.admin_of(3)


async def test_the_same_id_gives_the_same_business_and_another_id_another(
    sim: Sim, sim_with: Callable[..., Any]
) -> None:
    def fingerprint(s: Sim, business_id: int) -> list[tuple[object, ...]]:
        return [
            (p.platform, p.account_id, p.post_id, p.published_at, p.lifetime)
            for platform in PLATFORMS
            for p in posts(s, platform, business_id)
        ]

    await add(sim)
    async with sim_with() as other:
        await add(other, N + 1)
        await add(other)
        assert fingerprint(other, N) == fingerprint(sim, N)
        assert sim.state.population.admin_of(N) == other.state.population.admin_of(N)
        ids = {a.account_id for a in business(sim).accounts.values()}
        assert not ids & {a.account_id for a in business(other, N + 1).accounts.values()}


async def test_its_history_is_never_announced(sim: Sim) -> None:
    await add(sim)
    announced = posts_to_publish(sim.state.population, NOW)
    assert announced
    assert all(p.business_id != N for p in announced)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, ["body", "business_id"]),
        ({"business_id": "41"}, ["body", "business_id"]),
        ({"business_id": 41.0}, ["body", "business_id"]),
        ({"business_id": True}, ["body", "business_id"]),
        ({"business_id": 0}, ["body", "business_id"]),
        ({"business_id": -3}, ["body", "business_id"]),
        ({"business_id": 2**63}, ["body", "business_id"]),
        ({"business_id": 41, "name": "x"}, ["body", "name"]),
    ],
)
async def test_a_bad_body_is_refused_naming_the_field(
    sim: Sim, body: dict[str, Any], field: list[str]
) -> None:
    response = await sim.client.post("/_sim/businesses", json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [field]
    assert sim.state.population.business(41) is None


async def test_ids_up_to_the_offset_and_of_starting_businesses_are_refused(
    sim: Sim, sim_with: Callable[..., Any]
) -> None:
    started = await sim.client.post("/_sim/businesses", json={"business_id": 2})
    assert started.status_code == 409
    assert "started with" in started.json()["detail"]
    async with sim_with(business_id_offset=100) as offset:
        below = await offset.client.post("/_sim/businesses", json={"business_id": 100})
        assert below.status_code == 422
        [error] = below.json()["detail"]
        assert error["loc"] == ["body", "business_id"]
        assert "PULSE_SIM_BUSINESS_ID_OFFSET" in error["msg"]
        taken = await offset.client.post("/_sim/businesses", json={"business_id": 101})
        assert taken.status_code == 409
        body = await add(offset, 2**63 - 1)
        assert body["administrator"]["user_id"] == f"sim-user-{2**63 - 1 - 100}"


def test_accounts_another_business_has_are_found() -> None:
    settings = make_settings()
    population = build_population(settings)
    again = build_business(settings, 1, population.start)
    assert population.taken_account(again) == population.businesses[0].accounts["linkedin"]
    assert population.taken_account(build_business(settings, 9, population.start)) is None


async def test_reset_keeps_it_and_undoes_what_changed_in_it(sim: Sim) -> None:
    await add(sim)
    account = business(sim).accounts["twitter"]
    me = {"Authorization": f"Bearer {account.access_token}"}
    assert (await sim.client.get("/2/users/me", headers=me)).status_code == 200
    native = await sim.client.post("/_sim/posts", json={"platform": "x", "business_id": N})
    gone = posts(sim, "twitter")[0]
    await sim.client.delete("/_sim/posts", params={"platform": "x", "post_id": gone.post_id})
    await sim.client.post("/_sim/tokens/revoke", json={"user": ADMIN})
    assert (await sim.client.get("/2/users/me", headers=me)).status_code == 401
    await sim.client.post("/_sim/reset", json={"clock": False})
    assert sim.state.population.business(N) is not None
    history = {p.post_id for p in posts(sim, "twitter")}
    assert gone.post_id in history
    assert native.json()["post_id"] not in history
    assert (await sim.client.get("/2/users/me", headers=me)).status_code == 200
    users = (await sim.client.get("/_sim/users")).json()["users"]
    assert ADMIN in [u["user_id"] for u in users]


# --- its administrator signs in and finds its accounts ----------------------------------


async def consent_users(sim: Sim, api: Api) -> list[str]:
    """The people the consent page lets one sign in as (``select#user``)."""
    provider = sim.provider(api)
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": provider.redirect_uris[0],
        "scope": DEFAULT_SCOPES[api],
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = await sim.client.get(AUTHORIZE_PATHS[api], params=params)
    assert page.status_code == 200, page.text
    return parse_consent(page.text).users


async def x_token(sim: Sim) -> str:
    code = await authorize(sim, "twitter", ADMIN)
    provider = sim.provider("twitter")
    response = await sim.client.post(
        "/2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code.code,
            "redirect_uri": code.redirect_uri,
            "code_verifier": code.code_verifier or "",
        },
        auth=(provider.client_id, provider.client_secret),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def meta_pages(sim: Sim) -> list[dict[str, Any]]:
    code = await authorize(sim, "meta", ADMIN)
    provider = sim.provider("meta")
    exchanged = await sim.client.get(
        f"{V}/oauth/access_token",
        params={
            "code": code.code,
            "redirect_uri": code.redirect_uri,
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
        },
    )
    assert exchanged.status_code == 200, exchanged.text
    listed = await sim.client.get(
        f"{V}/me/accounts",
        params={
            "fields": "name,access_token,instagram_business_account",
            "access_token": exchanged.json()["access_token"],
        },
    )
    assert listed.status_code == 200, listed.text
    data: list[dict[str, Any]] = listed.json()["data"]
    return data


async def test_its_administrator_is_on_every_consent_page(sim: Sim) -> None:
    await add(sim)
    for api in APIS:
        assert ADMIN in await consent_users(sim, api), api


async def test_its_administrator_finds_its_accounts_and_only_them(sim: Sim) -> None:
    await add(sim)
    accounts = business(sim).accounts
    admin = sim.state.population.user(ADMIN)
    assert admin is not None
    acls = await sim.client.get(
        "/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED",
        headers=linkedin_headers(await linkedin_token(sim, ADMIN)),
    )
    assert [(e["organization"], e["roleAssignee"]) for e in acls.json()["elements"]] == [
        (accounts["linkedin"].account_id, admin.linkedin_urn)
    ]
    me = await sim.client.get(
        "/2/users/me", headers={"Authorization": f"Bearer {await x_token(sim)}"}
    )
    assert me.json()["data"]["id"] == accounts["twitter"].account_id
    [page] = await meta_pages(sim)
    assert page["id"] == accounts["facebook"].account_id
    assert page["instagram_business_account"]["id"] == accounts["instagram"].account_id


# --- its history, page by page ---------------------------------------------------------


async def test_its_linkedin_posts_page_to_the_end(sim: Sim) -> None:
    await add(sim)
    token = await linkedin_token(sim, ADMIN)
    author = quote(posts(sim, "linkedin")[0].account_id, safe="")
    url: str | None = f"/rest/posts?author={author}&q=author&count=7&sortBy=LAST_MODIFIED"
    listed: list[str] = []
    while url is not None:
        body = (await sim.client.get(url, headers=linkedin_headers(token))).json()
        assert len(body["elements"]) <= 7
        listed += [e["id"] for e in body["elements"]]
        url = next((x["href"] for x in body["paging"]["links"] if x["rel"] == "next"), None)
    assert listed == newest_first(posts(sim, "linkedin"))
    assert len(listed) == 20


async def test_its_x_timeline_pages_to_the_end(sim: Sim) -> None:
    await add(sim)
    headers = {"Authorization": f"Bearer {await x_token(sim)}"}
    user_id = posts(sim, "twitter")[0].account_id
    listed: list[str] = []
    query: dict[str, str] = {"max_results": "5"}
    while True:
        body = (
            await sim.client.get(f"/2/users/{user_id}/tweets", params=query, headers=headers)
        ).json()
        listed += [t["id"] for t in body["data"]]
        if "next_token" not in body["meta"]:
            break
        query = {"max_results": "5", "pagination_token": body["meta"]["next_token"]}
    assert listed == newest_first(posts(sim, "twitter"))


async def graph_ids(sim: Sim, url: str, params: dict[str, str]) -> list[str]:
    listed: list[str] = []
    response = await sim.client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        listed += [item["id"] for item in body["data"]]
        following = body.get("paging", {}).get("next")
        if following is None:
            return listed
        response = await sim.client.get(following)


async def test_its_page_and_instagram_posts_page_to_the_end(sim: Sim) -> None:
    await add(sim)
    [page] = await meta_pages(sim)
    token = page["access_token"]
    facebook = await graph_ids(
        sim, f"{V}/{page['id']}/published_posts", {"limit": "6", "access_token": token}
    )
    assert facebook == newest_first(posts(sim, "facebook"))
    instagram = page["instagram_business_account"]["id"]
    media = await graph_ids(sim, f"{V}/{instagram}/media", {"limit": "7", "access_token": token})
    assert media == newest_first(posts(sim, "instagram"))


# --- its followers have a past ------------------------------------------------------------


async def test_its_linkedin_follower_gains_add_up(sim: Sim) -> None:
    await add(sim)
    account = business(sim).accounts["linkedin"]
    start = datetime.combine(NOW.date() - timedelta(days=30), datetime.min.time(), UTC)
    span = (
        f"(timeRange:(start:{int(start.timestamp() * 1000)},end:{int(NOW.timestamp() * 1000)}),"
        "timeGranularityType:DAY)"
    )
    url = (
        "/rest/organizationalEntityFollowerStatistics?q=organizationalEntity"
        f"&organizationalEntity={quote(account.account_id, safe='')}"
        f"&timeIntervals={quote(span, safe='(),:')}"
    )
    response = await sim.client.get(url, headers=linkedin_headers(await linkedin_token(sim, ADMIN)))
    elements = response.json()["elements"]
    assert len(elements) == 31
    gains = [sum(e["followerGains"].values()) for e in elements]
    assert all(g > 0 for g in gains[:-1])
    assert sum(gains) == account.followers_at(NOW) - account.followers_at(start)


async def test_its_instagram_follower_count_has_30_days(sim: Sim) -> None:
    await add(sim)
    [page] = await meta_pages(sim)
    instagram = page["instagram_business_account"]["id"]
    response = await sim.client.get(
        f"{V}/{instagram}/insights",
        params={
            "metric": "follower_count",
            "period": "day",
            "since": str(int((NOW - timedelta(days=30)).timestamp())),
            "until": str(int(NOW.timestamp())),
            "access_token": page["access_token"],
        },
    )
    assert response.status_code == 200, response.text
    [item] = response.json()["data"]
    values = [v["value"] for v in item["values"]]
    assert len(values) >= 29
    assert all(v > 0 for v in values)
    truth = await sim.client.get(
        "/_sim/truth/account", params={"platform": "instagram", "account_id": instagram}
    )
    assert truth.json()["business_id"] == N
