"""The control API: faults, request counts, truth, clock, population, reset."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import quote

import pytest

from pulse_platform_sim.settings import Settings
from pulse_platform_sim.testing import LINKEDIN_VERSION, NOW, Sim
from pulse_platform_sim.truth import counts_at, normalised_metrics


async def x_lookup(sim: Sim, post_id: str) -> int:
    response = await sim.client.get(
        "/2/tweets", params={"ids": post_id}, headers=sim.auth("twitter")
    )
    return response.status_code


async def test_server_errors_for_the_next_n_answers_then_normal(sim: Sim) -> None:
    post = sim.post("twitter")
    injected = await sim.client.post(
        "/_sim/faults", json={"platform": "twitter", "kind": "error", "count": 2, "status": 502}
    )
    assert injected.json()["pending"]["twitter"][0]["remaining"] == 2
    statuses = [await x_lookup(sim, post.post_id) for _ in range(3)]
    assert statuses == [502, 502, 200]
    # Only the named platform is affected.
    await sim.client.post("/_sim/faults", json={"platform": "meta", "kind": "5xx", "count": 1})
    assert await x_lookup(sim, post.post_id) == 200
    page = sim.account("facebook")
    meta = await sim.client.get(
        f"/v26.0/{page.account_id}", params={"access_token": sim.token("facebook")}
    )
    assert meta.status_code == 503
    assert meta.json()["error"]["is_transient"] is True


async def test_injected_rate_limits_speak_each_platforms_language(sim: Sim) -> None:
    for platform in ("x", "linkedin", "facebook"):
        await sim.client.post("/_sim/faults", json={"platform": platform, "kind": "429"})
    x = await sim.client.get(
        "/2/tweets", params={"ids": sim.post("twitter").post_id}, headers=sim.auth("twitter")
    )
    assert x.status_code == 429
    assert x.headers["x-rate-limit-remaining"] == "0"
    organization = quote(sim.account("linkedin").account_id, safe="")
    linkedin = await sim.client.get(
        f"/rest/networkSizes/{organization}?edgeType=COMPANY_FOLLOWED_BY_MEMBER",
        headers={
            **sim.auth("linkedin"),
            "LinkedIn-Version": LINKEDIN_VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        },
    )
    assert linkedin.status_code == 429
    assert linkedin.json()["serviceErrorCode"] == 101
    meta = await sim.client.get(
        f"/v26.0/{sim.account('facebook').account_id}",
        params={"access_token": sim.token("facebook")},
    )
    assert meta.json()["error"]["code"] == 4


async def test_a_timeout_hangs_longer_than_the_client_waits(sim: Sim) -> None:
    await sim.client.post(
        "/_sim/faults", json={"platform": "twitter", "kind": "timeout", "hang_seconds": 5}
    )
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(x_lookup(sim, sim.post("twitter").post_id), 0.3)
    assert await x_lookup(sim, sim.post("twitter").post_id) == 200


async def test_requests_are_counted_per_endpoint_principal_and_window(sim: Sim) -> None:
    post = sim.post("twitter")
    for _ in range(3):
        await x_lookup(sim, post.post_id)
    await sim.client.get(
        "/2/tweets", params={"ids": post.post_id}, headers={"Authorization": "Bearer x"}
    )
    page = sim.account("facebook")
    await sim.client.get(
        f"/v26.0/{page.account_id}", params={"access_token": sim.token("facebook")}
    )
    body = (await sim.client.get("/_sim/requests", params={"platform": "twitter"})).json()
    rows = {(w["endpoint"], w["principal"]): w for w in body["windows"]}
    owner = rows[("GET /2/tweets", sim.account("twitter").account_id)]
    assert owner["count"] == 3
    assert owner["by_status"] == {"200": 3}
    assert owner["token_kind"] == "user"
    assert owner["window_seconds"] == 900
    assert rows[("GET /2/tweets", "invalid")]["by_status"] == {"401": 1}
    assert all(w["platform"] == "twitter" for w in body["windows"])
    assert body["app_totals"][0]["count"] == 4
    assert body["limits"]["twitter"]["GET /2/tweets"] == {"app": 3500, "user": 5000}
    everything = (await sim.client.get("/_sim/requests")).json()
    meta_rows = [w for w in everything["windows"] if w["platform"] == "meta"]
    assert meta_rows[0]["principal"] == page.account_id
    assert meta_rows[0]["window_seconds"] == 3600


async def test_truth_matches_what_the_api_answered(sim: Sim) -> None:
    post = sim.post("twitter")
    api = await sim.client.get(
        "/2/tweets", params={"ids": post.post_id}, headers=sim.auth("twitter")
    )
    truth = (
        await sim.client.get("/_sim/truth", params={"platform": "twitter", "post_id": post.post_id})
    ).json()
    assert truth["platform_metrics"]["public_metrics"] == api.json()["data"][0]["public_metrics"]
    assert truth["metrics"] == normalised_metrics(post, NOW)
    metrics = truth["metrics"]
    assert metrics["shares"] == metrics["retweets"] + metrics["quote_tweets"]
    assert metrics["reach"] is None
    later = NOW + timedelta(days=3)
    at_later = (
        await sim.client.get(
            "/_sim/truth",
            params={"platform": "x", "post_id": post.post_id, "at": later.isoformat()},
        )
    ).json()
    assert at_later["metrics"]["impressions"] == counts_at(post, later).impressions
    facebook = sim.post("facebook")
    fb_truth = (
        await sim.client.get(
            "/_sim/truth", params={"platform": "facebook", "post_id": facebook.post_id}
        )
    ).json()
    assert fb_truth["metrics"]["likes"] == fb_truth["metrics"]["reactions"]
    missing = await sim.client.get("/_sim/truth", params={"platform": "twitter", "post_id": "1"})
    assert missing.status_code == 404


async def test_moving_the_clock_grows_the_numbers(sim: Sim) -> None:
    post = max(sim.posts("linkedin"), key=lambda p: p.published_at)
    before = counts_at(post, sim.state.clock.now())
    moved = await sim.client.post("/_sim/clock", json={"advance_seconds": 6 * 3600})
    assert moved.json()["frozen"] is True
    after = counts_at(post, sim.state.clock.now())
    assert after.impressions > before.impressions
    account = sim.account("linkedin")
    followers = (
        await sim.client.get(
            "/_sim/truth/account", params={"platform": "linkedin", "account_id": account.account_id}
        )
    ).json()["followers"]
    assert followers == account.followers_at(NOW + timedelta(hours=6))


async def test_population_lists_businesses_accounts_tokens_and_posts(sim: Sim) -> None:
    body = (await sim.client.get("/_sim/population")).json()
    assert [b["business_id"] for b in body["businesses"]] == [1, 2]
    first = body["businesses"][0]
    assert {a["platform"] for a in first["accounts"]} == {
        "linkedin",
        "twitter",
        "facebook",
        "instagram",
    }
    assert all(a["access_token"] and a["token_status"] == "valid" for a in first["accounts"])
    assert len(first["posts"]) == 4 * 20
    assert body["apps"]["twitter"]["bearer_token"].startswith("AAAA")
    only = (
        await sim.client.get("/_sim/population", params={"business_id": 2, "include_posts": False})
    ).json()
    assert [b["business_id"] for b in only["businesses"]] == [2]
    assert "posts" not in only["businesses"][0]


async def test_reset_clears_faults_tokens_and_counts(sim: Sim) -> None:
    post = sim.post("twitter")
    await sim.client.post("/_sim/faults", json={"platform": "twitter", "kind": "error", "count": 5})
    await sim.client.post("/_sim/tokens/revoke", json={"token": sim.token("twitter")})
    await x_lookup(sim, post.post_id)
    await sim.client.post("/_sim/reset", json={"clock": False})
    assert (await sim.client.get("/_sim/faults")).json() == {"pending": {}}
    assert (await sim.client.get("/_sim/requests")).json()["windows"] == []
    assert await x_lookup(sim, post.post_id) == 200
    assert sim.state.clock.now() == NOW


def test_settings_come_from_pulse_sim_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_SIM_SEED", "99")
    monkeypatch.setenv("PULSE_SIM_BUSINESSES", "5")
    monkeypatch.setenv("PULSE_SIM_WEBHOOK_TARGETS_META", '["http://127.0.0.1:8103/webhooks"]')
    settings = Settings()
    assert (settings.seed, settings.businesses, settings.port) == (99, 5, 8200)
    assert settings.webhook_targets_meta == ["http://127.0.0.1:8103/webhooks"]


async def test_healthz(sim: Sim) -> None:
    response = await sim.client.get("/healthz")
    assert response.json() == {"status": "ok"}
