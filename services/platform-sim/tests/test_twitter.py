"""X API v2 shapes, authorization of private metrics, rate limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pulse_platform_sim.testing import NOW, Sim
from pulse_platform_sim.truth import counts_at

PROBLEMS = "https://api.twitter.com/2/problems/"


def app_auth(sim: Sim) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.state.population.apps.twitter_bearer_token}"}


async def test_lookup_answers_the_documented_shape(sim: Sim) -> None:
    post = sim.post("twitter")
    response = await sim.client.get(
        "/2/tweets",
        params={"ids": f"{post.post_id},456", "tweet.fields": "created_at,public_metrics"},
        headers=app_auth(sim),
    )
    assert response.status_code == 200
    body = response.json()
    [tweet] = body["data"]
    assert tweet["id"] == post.post_id
    assert tweet["text"] == post.content
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", tweet["created_at"])
    c = counts_at(post, NOW)
    assert tweet["public_metrics"] == {
        "retweet_count": c.shares,
        "reply_count": c.comments,
        "like_count": c.likes,
        "quote_count": c.quotes,
        "bookmark_count": c.saves,
        "impression_count": c.impressions,
    }
    assert body["errors"] == [
        {
            "resource_id": "456",
            "resource_type": "tweet",
            "parameter": "id",
            "value": "456",
            "title": "Not Found Error",
            "detail": "Could not find tweet with id: [456].",
            "type": PROBLEMS + "resource-not-found",
        }
    ]
    assert "non_public_metrics" not in tweet


async def test_post_fields_is_accepted_like_tweet_fields(sim: Sim) -> None:
    post = sim.post("twitter")
    response = await sim.client.get(
        "/2/tweets",
        params={"ids": post.post_id, "post.fields": "created_at"},
        headers=app_auth(sim),
    )
    assert "created_at" in response.json()["data"][0]


async def test_only_unknown_ids_answer_200_with_errors_only(sim: Sim) -> None:
    response = await sim.client.get("/2/tweets", params={"ids": "1,2"}, headers=app_auth(sim))
    assert response.status_code == 200
    assert set(response.json()) == {"errors"}


async def test_more_than_100_ids_is_a_400(sim: Sim) -> None:
    ids = ",".join(str(10**17 + n) for n in range(101))
    response = await sim.client.get("/2/tweets", params={"ids": ids}, headers=app_auth(sim))
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == PROBLEMS + "invalid-request"
    assert "[101] is not between 1 and 100" in body["errors"][0]["message"]


async def test_private_metrics_for_the_owner_of_a_young_post(sim: Sim) -> None:
    post = sim.post("twitter", lambda p: NOW - p.published_at < timedelta(days=29))
    response = await sim.client.get(
        "/2/tweets",
        params={"ids": post.post_id, "tweet.fields": "non_public_metrics,organic_metrics"},
        headers=sim.auth("twitter"),
    )
    body = response.json()
    assert "errors" not in body
    tweet = body["data"][0]
    c = counts_at(post, NOW)
    assert tweet["non_public_metrics"] == {
        "impression_count": c.impressions,
        "url_link_clicks": c.clicks,
        "user_profile_clicks": c.profile_clicks,
        "engagements": c.likes + c.comments + c.shares + c.quotes + c.clicks + c.profile_clicks,
    }
    assert set(tweet["organic_metrics"]) == {
        "impression_count",
        "like_count",
        "reply_count",
        "retweet_count",
        "url_link_clicks",
        "user_profile_clicks",
    }


def field_errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["resource_id"]) for e in body["errors"]]


async def test_private_metrics_refused_to_the_app_to_others_and_for_old_posts(sim: Sim) -> None:
    young = sim.post("twitter", lambda p: NOW - p.published_at < timedelta(days=29))
    old = sim.post("twitter", lambda p: NOW - p.published_at > timedelta(days=31))
    params = {"ids": f"{young.post_id},{old.post_id}", "tweet.fields": "non_public_metrics"}
    cases: list[tuple[dict[str, str], list[tuple[str, str]]]] = [
        (
            app_auth(sim),
            [("non_public_metrics", young.post_id), ("non_public_metrics", old.post_id)],
        ),
        (
            sim.auth("twitter", business=1),
            [("non_public_metrics", young.post_id), ("non_public_metrics", old.post_id)],
        ),
        (sim.auth("twitter"), [("non_public_metrics", old.post_id)]),
    ]
    for headers, expected in cases:
        body = (await sim.client.get("/2/tweets", params=params, headers=headers)).json()
        assert len(body["data"]) == 2  # the posts are still there, without the field
        assert field_errors(body) == expected
        error = body["errors"][0]
        assert error["type"] == PROBLEMS + "not-authorized-for-field"
        assert error["title"] == "Field Authorization Error"


async def test_video_views_come_with_the_media_expansion(sim: Sim) -> None:
    video = sim.post("twitter", lambda p: p.is_video)
    response = await sim.client.get(
        "/2/tweets",
        params={
            "ids": video.post_id,
            "expansions": "attachments.media_keys",
            "media.fields": "public_metrics",
        },
        headers=app_auth(sim),
    )
    body = response.json()
    [key] = body["data"][0]["attachments"]["media_keys"]
    assert key.startswith("7_")
    assert body["includes"]["media"] == [
        {
            "media_key": key,
            "type": "video",
            "public_metrics": {"view_count": counts_at(video, NOW).video_views},
        }
    ]


async def test_user_lookup_gives_follower_counts(sim: Sim) -> None:
    account = sim.account("twitter")
    response = await sim.client.get(
        f"/2/users/{account.account_id}",
        params={"user.fields": "public_metrics"},
        headers=app_auth(sim),
    )
    data = response.json()["data"]
    assert data["id"] == account.account_id
    assert data["username"] == account.handle
    metrics = data["public_metrics"]
    assert metrics["followers_count"] == account.followers_at(NOW)
    assert set(metrics) == {"followers_count", "following_count", "tweet_count", "listed_count"}
    unknown = await sim.client.get("/2/users/12345", headers=app_auth(sim))
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0]["detail"] == "Could not find user with id: [12345]."


async def test_users_me_needs_user_context(sim: Sim) -> None:
    me = await sim.client.get("/2/users/me", headers=sim.auth("twitter"))
    assert me.json()["data"]["id"] == sim.account("twitter").account_id
    refused = await sim.client.get("/2/users/me", headers=app_auth(sim))
    assert refused.status_code == 403
    assert refused.json()["type"] == PROBLEMS + "unsupported-authentication"


async def test_unknown_and_expired_tokens_answer_401(sim: Sim) -> None:
    post = sim.post("twitter")
    unknown = await sim.client.get(
        "/2/tweets", params={"ids": post.post_id}, headers={"Authorization": "Bearer nope"}
    )
    assert unknown.status_code == 401
    assert unknown.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }
    account = sim.account("twitter")
    await sim.client.post(
        "/_sim/tokens/expire", json={"platform": "twitter", "account_id": account.account_id}
    )
    expired = await sim.client.get(
        "/2/tweets", params={"ids": post.post_id}, headers=sim.auth("twitter")
    )
    assert expired.status_code == 401
    await sim.client.post(
        "/_sim/tokens/restore", json={"platform": "twitter", "account_id": account.account_id}
    )
    restored = await sim.client.get(
        "/2/tweets", params={"ids": post.post_id}, headers=sim.auth("twitter")
    )
    assert restored.status_code == 200


async def test_rate_limit_headers_count_down_then_429(sim_with: Callable[..., Any]) -> None:
    async with sim_with(twitter_tweets_user_limit=3, twitter_tweets_app_limit=2) as sim:
        post = sim.post("twitter")
        remaining = []
        for _ in range(3):
            response = await sim.client.get(
                "/2/tweets", params={"ids": post.post_id}, headers=sim.auth("twitter")
            )
            assert response.status_code == 200
            assert response.headers["x-rate-limit-limit"] == "3"
            remaining.append(int(response.headers["x-rate-limit-remaining"]))
            reset = int(response.headers["x-rate-limit-reset"])
        assert remaining == [2, 1, 0]
        # Windows are aligned to the epoch; the wall clock stands at the start of one.
        assert reset == NOW.timestamp() + 900
        over = await sim.client.get(
            "/2/tweets", params={"ids": post.post_id}, headers=sim.auth("twitter")
        )
        assert over.status_code == 429
        assert over.json() == {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        }
        assert over.headers["x-rate-limit-remaining"] == "0"
        # Another principal (the app) has a budget of its own.
        app_call = await sim.client.get(
            "/2/tweets", params={"ids": post.post_id}, headers=app_auth(sim)
        )
        assert app_call.status_code == 200
        assert app_call.headers["x-rate-limit-limit"] == "2"
        # The window turns at the reset: a budget again.
        sim.wall.advance(899.999)
        last = await sim.client.get(
            "/2/tweets", params={"ids": post.post_id}, headers=sim.auth("twitter")
        )
        assert last.status_code == 429
        sim.wall.advance(0.001)
        turned = await sim.client.get(
            "/2/tweets", params={"ids": post.post_id}, headers=sim.auth("twitter")
        )
        assert turned.status_code == 200
        assert turned.headers["x-rate-limit-remaining"] == "2"
        assert turned.headers["x-rate-limit-reset"] == str(reset + 900)
