"""Meta Graph API shapes, retired metrics, usage headers and throttling, token errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pulse_platform_sim.testing import NOW, Sim
from pulse_platform_sim.truth import counts_at
from pulse_shared.events import Platform

FB_METRICS = (
    "post_media_view,post_total_media_view_unique,post_clicks,post_video_views,post_video_view_time"
)
IG_METRICS = "views,reach,likes,comments,shares,saved,total_interactions"
INVALID_METRIC = {
    "message": "(#100) The value must be a valid insights metric",
    "type": "OAuthException",
    "code": 100,
}


def token(sim: Sim, platform: Platform = "facebook") -> dict[str, str]:
    return {"access_token": sim.token(platform)}


def without_trace(body: dict[str, Any]) -> dict[str, Any]:
    error = dict(body["error"])
    assert error.pop("fbtrace_id")
    return error


async def test_facebook_post_insights_answer_the_documented_shape(sim: Sim) -> None:
    post = sim.post("facebook", lambda p: p.is_video)
    response = await sim.client.get(
        f"/v26.0/{post.post_id}/insights", params={"metric": FB_METRICS, **token(sim)}
    )
    assert response.status_code == 200
    body = response.json()
    c = counts_at(post, NOW)
    values = {item["name"]: item["values"][0]["value"] for item in body["data"]}
    assert values == {
        "post_media_view": c.impressions,
        "post_total_media_view_unique": c.reach,
        "post_clicks": c.clicks,
        "post_video_views": c.video_views,
        "post_video_view_time": c.video_watch_time_ms,
    }
    first = body["data"][0]
    assert set(first) == {"name", "period", "values", "title", "description", "id"}
    assert first["period"] == "lifetime"
    assert first["id"] == f"{post.post_id}/insights/post_media_view/lifetime"
    assert "next" in body["paging"]


@pytest.mark.parametrize(
    "metrics",
    ["post_impressions", "post_impressions_unique", "post_media_view,post_impressions_paid"],
)
async def test_a_retired_facebook_metric_fails_the_whole_call(sim: Sim, metrics: str) -> None:
    post = sim.post("facebook")
    response = await sim.client.get(
        f"/v26.0/{post.post_id}/insights", params={"metric": metrics, **token(sim)}
    )
    assert response.status_code == 400
    assert without_trace(response.json()) == INVALID_METRIC


async def test_instagram_media_insights(sim: Sim) -> None:
    post = sim.post("instagram")
    response = await sim.client.get(
        f"/v26.0/{post.post_id}/insights", params={"metric": IG_METRICS, **token(sim, "instagram")}
    )
    body = response.json()
    c = counts_at(post, NOW)
    values = {item["name"]: item["values"][0]["value"] for item in body["data"]}
    assert values == {
        "views": c.impressions,
        "reach": c.reach,
        "likes": c.likes,
        "comments": c.comments,
        "shares": c.shares,
        "saved": c.saves,
        "total_interactions": c.likes + c.comments + c.shares + c.saves,
    }
    for retired in ("impressions", "plays", "video_views", "clips_replays_count"):
        refused = await sim.client.get(
            f"/v26.0/{post.post_id}/insights",
            params={"metric": f"reach,{retired}", **token(sim, "instagram")},
        )
        assert refused.status_code == 400
        assert without_trace(refused.json()) == INVALID_METRIC


async def test_post_counts_follow_the_fields_syntax(sim: Sim) -> None:
    post = sim.post("facebook", lambda p: counts_at(p, NOW).shares > 0)
    response = await sim.client.get(
        f"/v19.0/{post.post_id}",
        params={
            "fields": "reactions.summary(total_count),comments.summary(true),shares",
            **token(sim),
        },
    )
    body = response.json()
    c = counts_at(post, NOW)
    assert body["id"] == post.post_id
    assert body["reactions"]["summary"]["total_count"] == c.likes
    assert body["comments"]["summary"]["total_count"] == c.comments
    assert body["shares"] == {"count": c.shares}


async def test_follower_counts_of_page_and_instagram_account(sim: Sim) -> None:
    page = sim.account("facebook")
    response = await sim.client.get(
        f"/v26.0/{page.account_id}", params={"fields": "followers_count,fan_count", **token(sim)}
    )
    body = response.json()
    assert body["followers_count"] == page.followers_at(NOW)
    assert 0 < body["fan_count"] <= body["followers_count"]
    assert body["id"] == page.account_id
    instagram = sim.account("instagram")
    response = await sim.client.get(
        f"/v26.0/{instagram.account_id}",
        params={"fields": "followers_count", **token(sim, "instagram")},
    )
    assert response.json() == {
        "followers_count": instagram.followers_at(NOW),
        "id": instagram.account_id,
    }


async def test_another_business_objects_do_not_exist_for_this_token(sim: Sim) -> None:
    other = sim.account("facebook", business=1)
    response = await sim.client.get(f"/v26.0/{other.account_id}", params=token(sim))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert error["error_subcode"] == 33


async def test_usage_headers_rise_with_use(sim_with: Callable[..., Any]) -> None:
    async with sim_with(meta_app_calls_per_window=10, meta_buc_calls_per_window=4) as sim:
        page = sim.account("facebook")
        app_usage, page_usage = [], []
        for _ in range(3):
            response = await sim.client.get(f"/v26.0/{page.account_id}", params=token(sim))
            app_usage.append(json.loads(response.headers["X-App-Usage"]))
            buc = json.loads(response.headers["X-Business-Use-Case-Usage"])
            [entry] = buc[page.account_id]
            page_usage.append(entry)
        assert [u["call_count"] for u in app_usage] == [10, 20, 30]
        assert set(app_usage[0]) == {"call_count", "total_time", "total_cputime"}
        assert [u["call_count"] for u in page_usage] == [25, 50, 75]
        assert page_usage[0]["type"] == "pages"
        assert set(page_usage[0]) == {
            "type",
            "call_count",
            "total_cputime",
            "total_time",
            "estimated_time_to_regain_access",
        }
        await sim.client.get(f"/v26.0/{page.account_id}", params=token(sim))
        throttled = await sim.client.get(f"/v26.0/{page.account_id}", params=token(sim))
        assert throttled.status_code == 400
        assert throttled.json()["error"]["code"] == 80001
        buc = json.loads(throttled.headers["X-Business-Use-Case-Usage"])
        assert buc[page.account_id][0]["call_count"] > 100
        assert buc[page.account_id][0]["estimated_time_to_regain_access"] > 0
        instagram = sim.account("instagram")
        for _ in range(4):
            await sim.client.get(f"/v26.0/{instagram.account_id}", params=token(sim, "instagram"))
        ig_throttled = await sim.client.get(
            f"/v26.0/{instagram.account_id}", params=token(sim, "instagram")
        )
        assert ig_throttled.json()["error"]["code"] == 80002
        # Calls 11 on: the app's own budget is spent too.
        app_throttled = await sim.client.get(f"/v26.0/{page.account_id}", params=token(sim))
        assert app_throttled.status_code == 403
        assert app_throttled.json()["error"]["code"] == 4
        assert json.loads(app_throttled.headers["X-App-Usage"])["call_count"] > 100


async def test_invalid_and_expired_tokens_answer_code_190(sim: Sim) -> None:
    page = sim.account("facebook")
    invalid = await sim.client.get(f"/v26.0/{page.account_id}", params={"access_token": "EAAbad"})
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == 190
    assert invalid.json()["error"]["type"] == "OAuthException"
    assert "X-App-Usage" in invalid.headers
    await sim.client.post(
        "/_sim/tokens/expire", json={"platform": "facebook", "account_id": page.account_id}
    )
    expired = await sim.client.get(
        f"/v26.0/{page.account_id}", headers={"Authorization": f"Bearer {sim.token('facebook')}"}
    )
    assert expired.status_code == 400
    assert expired.json()["error"]["code"] == 190
    assert expired.json()["error"]["error_subcode"] == 463
