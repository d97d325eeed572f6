"""Post listings of each platform, paged to the end: every published post, newest first,
under the ids the metrics endpoints answer for; native posts included, deleted ones not."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from pulse_platform_sim.population import Post
from pulse_platform_sim.publisher import posts_to_publish
from pulse_platform_sim.settings import Settings
from pulse_platform_sim.testing import LINKEDIN_VERSION, NOW, Sim
from pulse_shared.events import Platform

V = "/v21.0"
PROBLEMS = "https://api.twitter.com/2/problems/"


def newest_first(posts: list[Post]) -> list[str]:
    """The platforms' order: newest first; posts of the same instant by id."""
    ordered = sorted(posts, key=lambda p: (p.published_at, p.post_id), reverse=True)
    return [p.post_id for p in ordered]


def li_headers(sim: Sim, business: int = 0) -> dict[str, str]:
    return {
        **sim.auth("linkedin", business),
        "LinkedIn-Version": LINKEDIN_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
    }


async def linkedin_posts(sim: Sim, count: int = 7, business: int = 0) -> list[dict[str, Any]]:
    author = quote(sim.account("linkedin", business).account_id, safe="")
    url: str | None = f"/rest/posts?author={author}&q=author&count={count}&sortBy=LAST_MODIFIED"
    elements: list[dict[str, Any]] = []
    while url is not None:
        response = await sim.client.get(url, headers=li_headers(sim, business))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["paging"]["count"] == count
        elements += body["elements"]
        url = next(
            (link["href"] for link in body["paging"]["links"] if link["rel"] == "next"), None
        )
    return elements


async def x_timeline(
    sim: Sim, params: dict[str, str], headers: dict[str, str]
) -> list[dict[str, Any]]:
    user_id = sim.account("twitter").account_id
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query = {**params, **({"pagination_token": token} if token else {})}
        response = await sim.client.get(f"/2/users/{user_id}/tweets", params=query, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        token = pages[-1]["meta"].get("next_token")
        if token is None:
            return pages


async def graph_pages(sim: Sim, first: str, params: dict[str, str]) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    response = await sim.client.get(first, params=params)
    while True:
        assert response.status_code == 200, response.text
        pages.append(response.json())
        following = pages[-1].get("paging", {}).get("next")
        if following is None:
            return pages
        response = await sim.client.get(following)


def ids(pages: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for page in pages for item in page.get("data", [])]


# --- LinkedIn --------------------------------------------------------------------------


async def test_linkedin_posts_page_to_the_end(sim: Sim) -> None:
    elements = await linkedin_posts(sim)
    assert [e["id"] for e in elements] == newest_first(sim.posts("linkedin"))
    post = sim.posts("linkedin")[0]
    element = next(e for e in elements if e["id"] == post.post_id)
    published = int(post.published_at.timestamp() * 1000)
    assert element["author"] == post.account_id
    assert element["commentary"] == post.content
    assert element["lifecycleState"] == "PUBLISHED"
    assert element["createdAt"] == element["publishedAt"] == element["lastModifiedAt"] == published
    assert re.fullmatch(r"urn:li:(share|ugcPost):\d+", element["id"])
    media = [e for e in elements if "media" in e.get("content", {})]
    assert media
    assert media[0]["content"]["media"]["id"].startswith(("urn:li:image:", "urn:li:video:"))


async def test_linkedin_paging_total_and_limits(sim: Sim) -> None:
    author = quote(sim.account("linkedin").account_id, safe="")
    body = (
        await sim.client.get(
            f"/rest/posts?author={author}&q=author&count=100", headers=li_headers(sim)
        )
    ).json()
    assert body["paging"]["total"] == len(sim.posts("linkedin"))
    assert body["paging"]["links"] == []
    over = await sim.client.get(
        f"/rest/posts?author={author}&q=author&count=101", headers=li_headers(sim)
    )
    assert over.status_code == 400
    other = quote(sim.account("linkedin", 1).account_id, safe="")
    forbidden = await sim.client.get(
        f"/rest/posts?author={other}&q=author", headers=li_headers(sim)
    )
    assert forbidden.status_code == 403
    headerless = await sim.client.get(
        f"/rest/posts?author={author}&q=author", headers=sim.auth("linkedin")
    )
    assert headerless.status_code == 400


async def test_listed_linkedin_ids_are_the_ones_statistics_answer_for(sim: Sim) -> None:
    [element] = (await linkedin_posts(sim, count=1))[:1]
    key = "shares" if ":share:" in element["id"] else "ugcPosts"
    organization = quote(sim.account("linkedin").account_id, safe="")
    sim.state.clock.advance(3600)  # the newest post has some activity by then
    stats = await sim.client.get(
        f"/rest/organizationalEntityShareStatistics?q=organizationalEntity"
        f"&organizationalEntity={organization}&{key}=List({quote(element['id'], safe='')})",
        headers=li_headers(sim),
    )
    [row] = stats.json()["elements"]
    assert row[key[:-1]] == element["id"]
    one = await sim.client.get(
        f"/rest/posts/{quote(element['id'], safe='')}", headers=li_headers(sim)
    )
    assert one.json()["id"] == element["id"]


# --- X ----------------------------------------------------------------------------------


async def test_x_timeline_pages_to_the_end(sim: Sim) -> None:
    pages = await x_timeline(
        sim,
        {"max_results": "5", "tweet.fields": "created_at,public_metrics"},
        sim.auth("twitter"),
    )
    assert ids(pages) == newest_first(sim.posts("twitter"))
    for page in pages:
        meta = page["meta"]
        assert meta["result_count"] == len(page["data"])
        assert meta["newest_id"] == page["data"][0]["id"]
        assert meta["oldest_id"] == page["data"][-1]["id"]
    assert "next_token" not in pages[-1]["meta"]
    assert all("next_token" in p["meta"] for p in pages[:-1])
    tweet = pages[0]["data"][0]
    assert set(tweet) >= {"id", "text", "created_at", "public_metrics", "edit_history_tweet_ids"}
    # post.fields is accepted like tweet.fields; the app token reads timelines too.
    app = {"Authorization": f"Bearer {sim.state.population.apps.twitter_bearer_token}"}
    also = await x_timeline(sim, {"max_results": "100", "post.fields": "created_at"}, app)
    assert ids(also) == ids(pages)


async def test_x_timeline_media_and_filters(sim: Sim) -> None:
    params = {
        "max_results": "100",
        "expansions": "attachments.media_keys",
        "media.fields": "preview_image_url,url,type",
    }
    [page] = await x_timeline(sim, params, sim.auth("twitter"))
    media = {m["media_key"]: m for m in page["includes"]["media"]}
    keys = [k for t in page["data"] for k in t.get("attachments", {}).get("media_keys", [])]
    assert set(keys) == set(media)
    for key, item in media.items():
        if key.startswith("7_"):
            assert item["type"] == "video"
            assert item["preview_image_url"].startswith("https://pbs.twimg.com/")
        else:
            assert item["type"] == "photo"
            assert item["url"].startswith("https://pbs.twimg.com/media/")
    posts = sorted(sim.posts("twitter"), key=lambda p: p.published_at)
    middle = posts[len(posts) // 2]
    since = await x_timeline(sim, {"since_id": middle.post_id}, sim.auth("twitter"))
    assert set(ids(since)) == {p.post_id for p in posts if int(p.post_id) > int(middle.post_id)}
    start = (NOW - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    window = await x_timeline(sim, {"start_time": start, "end_time": end}, sim.auth("twitter"))
    assert set(ids(window)) == {
        p.post_id
        for p in posts
        if NOW - timedelta(days=10) <= p.published_at < NOW - timedelta(days=2)
    }


async def test_x_timeline_parameter_errors(sim: Sim) -> None:
    user_id = sim.account("twitter").account_id
    for params in ({"max_results": "4"}, {"max_results": "101"}, {"pagination_token": "zz!"}):
        answer = await sim.client.get(
            f"/2/users/{user_id}/tweets", params=params, headers=sim.auth("twitter")
        )
        assert answer.status_code == 400, params
        assert answer.json()["type"] == PROBLEMS + "invalid-request"
    unknown = await sim.client.get("/2/users/12345/tweets", headers=sim.auth("twitter"))
    assert unknown.json()["errors"][0]["title"] == "Not Found Error"


async def test_x_timeline_reaches_back_only_so_far(sim_with: Callable[..., Any]) -> None:
    async with sim_with(twitter_timeline_cap=7, twitter_timeline_cap_without_replies=3) as sim:
        pages = await x_timeline(sim, {"max_results": "5"}, sim.auth("twitter"))
        assert ids(pages) == newest_first(sim.posts("twitter"))[:7]
        fewer = await x_timeline(sim, {"exclude": "replies"}, sim.auth("twitter"))
        assert len(ids(fewer)) == 3


async def test_x_timeline_private_metrics_only_for_young_posts_of_the_owner(sim: Sim) -> None:
    pages = await x_timeline(
        sim, {"max_results": "100", "tweet.fields": "non_public_metrics"}, sim.auth("twitter")
    )
    young = [p for p in sim.posts("twitter") if NOW - p.published_at < timedelta(days=30)]
    assert set(ids(pages)) == {p.post_id for p in young}
    assert all("non_public_metrics" in t for t in pages[0]["data"])


async def test_x_timeline_counts_against_its_own_limit(sim_with: Callable[..., Any]) -> None:
    async with sim_with(twitter_user_tweets_user_limit=2) as sim:
        url = f"/2/users/{sim.account('twitter').account_id}/tweets"
        statuses = [
            (await sim.client.get(url, headers=sim.auth("twitter"))).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]


# --- Facebook and Instagram ---------------------------------------------------------


async def test_facebook_published_posts_page_to_the_end(sim: Sim) -> None:
    page = sim.account("facebook")
    params = {
        "fields": "id,message,created_time,permalink_url,full_picture",
        "limit": "6",
        "access_token": sim.token("facebook"),
    }
    pages = await graph_pages(sim, f"{V}/{page.account_id}/published_posts", params)
    assert ids(pages) == newest_first(sim.posts("facebook"))
    assert all(len(p["data"]) == 6 for p in pages[:-1])
    assert "next" not in pages[-1]["paging"]
    assert set(pages[0]["paging"]["cursors"]) == {"before", "after"}
    posts = {p.post_id: p for p in sim.posts("facebook")}
    for item in (i for p in pages for i in p["data"]):
        post = posts[item["id"]]
        assert item["message"] == post.content
        assert item["permalink_url"] == post.url
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", item["created_time"])
        assert ("full_picture" in item) == (post.content_type != "text")
    # Each listed id is one the insights endpoint answers for.
    insights = await sim.client.get(
        f"{V}/{ids(pages)[-1]}/insights",
        params={"metric": "post_media_view", "access_token": sim.token("facebook")},
    )
    assert insights.status_code == 200


async def test_facebook_before_cursor_goes_back(sim: Sim) -> None:
    page = sim.account("facebook")
    params = {"limit": "5", "access_token": sim.token("facebook")}
    first = (await sim.client.get(f"{V}/{page.account_id}/posts", params=params)).json()
    second = (await sim.client.get(first["paging"]["next"])).json()
    back = (await sim.client.get(second["paging"]["previous"])).json()
    assert ids([back]) == ids([first])


async def test_instagram_media_page_to_the_end(sim: Sim) -> None:
    account = sim.account("instagram")
    fields = "id,caption,media_type,media_product_type,media_url,permalink,thumbnail_url,timestamp"
    params = {"fields": fields, "limit": "7", "access_token": sim.token("instagram")}
    pages = await graph_pages(sim, f"{V}/{account.account_id}/media", params)
    assert ids(pages) == newest_first(sim.posts("instagram"))
    assert "next" not in pages[-1]["paging"]
    items = [i for p in pages for i in p["data"]]
    assert {i["media_type"] for i in items} <= {"IMAGE", "VIDEO", "CAROUSEL_ALBUM"}
    for item in items:
        assert ("thumbnail_url" in item) == (item["media_type"] == "VIDEO")
        assert item["media_product_type"] == ("REELS" if item["media_type"] == "VIDEO" else "FEED")
    since = int((NOW - timedelta(days=7)).timestamp())
    recent = await graph_pages(
        sim, f"{V}/{account.account_id}/media", {**params, "since": str(since)}
    )
    assert set(ids(recent)) == {
        p.post_id for p in sim.posts("instagram") if p.published_at.timestamp() >= since
    }


# --- native and deleted posts -----------------------------------------------------------


async def new_post(sim: Sim, platform: str, **extra: Any) -> dict[str, Any]:
    response = await sim.client.post("/_sim/posts", json={"platform": platform, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_native_posts_appear_in_every_listing(sim: Sim) -> None:
    created = {p: await new_post(sim, p) for p in ("linkedin", "twitter", "facebook", "instagram")}
    assert all(c["native"] and c["published_at"] == NOW.isoformat() for c in created.values())
    assert (await linkedin_posts(sim))[0]["id"] == created["linkedin"]["post_id"]
    timeline = await x_timeline(sim, {"max_results": "5"}, sim.auth("twitter"))
    assert ids(timeline)[0] == created["twitter"]["post_id"]
    facebook = await graph_pages(
        sim,
        f"{V}/{sim.account('facebook').account_id}/published_posts",
        {"access_token": sim.token("facebook")},
    )
    assert ids(facebook)[0] == created["facebook"]["post_id"]
    instagram = await graph_pages(
        sim,
        f"{V}/{sim.account('instagram').account_id}/media",
        {"access_token": sim.token("instagram")},
    )
    assert ids(instagram)[0] == created["instagram"]["post_id"]
    # The metrics endpoints know them, and they grow with the clock.
    sim.state.clock.advance(6 * 3600)
    lookup = await sim.client.get(
        "/2/tweets", params={"ids": created["twitter"]["post_id"]}, headers=sim.auth("twitter")
    )
    assert lookup.json()["data"][0]["public_metrics"]["impression_count"] > 0
    # They were never announced: /_sim/publish sends the seeded history only.
    announced = {p.post_id for p in posts_to_publish(sim.state.population, sim.state.clock.now())}
    assert not announced & {c["post_id"] for c in created.values()}


async def test_a_native_post_of_a_chosen_type(sim: Sim) -> None:
    body = await new_post(sim, "x", business_id=2, content_type="video", content="Launch day")
    assert body["account_id"] == sim.account("twitter", 1).account_id
    assert body["content_type"] == "video"
    assert body["content"] == "Launch day"
    refused = await sim.client.post(
        "/_sim/posts", json={"platform": "instagram", "content_type": "text"}
    )
    assert refused.status_code == 422


async def test_deleted_posts_leave_listings_and_lookups(sim: Sim) -> None:
    doomed = {p: sim.posts(p)[-2] for p in ("linkedin", "twitter", "facebook", "instagram")}
    for platform, post in doomed.items():
        gone = await sim.client.delete(
            "/_sim/posts", params={"platform": platform, "post_id": post.post_id}
        )
        assert gone.json()["deleted"] is True
    assert doomed["linkedin"].post_id not in [e["id"] for e in await linkedin_posts(sim)]
    timeline = await x_timeline(sim, {"max_results": "100"}, sim.auth("twitter"))
    assert doomed["twitter"].post_id not in ids(timeline)
    # X multi-lookup leaves it out with a "Not Found Error".
    kept = sim.posts("twitter")[-1]
    lookup = (
        await sim.client.get(
            "/2/tweets",
            params={"ids": f"{kept.post_id},{doomed['twitter'].post_id}"},
            headers=sim.auth("twitter"),
        )
    ).json()
    assert [t["id"] for t in lookup["data"]] == [kept.post_id]
    [error] = lookup["errors"]
    assert error["title"] == "Not Found Error"
    assert error["resource_id"] == doomed["twitter"].post_id
    assert error["type"] == PROBLEMS + "resource-not-found"
    # Graph: 400, code 100, subcode 33, for the node and its insights.
    graph: tuple[tuple[Platform, str, str], ...] = (
        ("facebook", "post_media_view", "posts"),
        ("instagram", "reach", "media"),
    )
    for platform, metric, edge in graph:
        post_id = doomed[platform].post_id
        for path, params in (
            (f"{V}/{post_id}", {}),
            (f"{V}/{post_id}/insights", {"metric": metric}),
        ):
            answer = await sim.client.get(
                path, params={**params, "access_token": sim.token(platform)}
            )
            assert answer.status_code == 400
            assert (answer.json()["error"]["code"], answer.json()["error"]["error_subcode"]) == (
                100,
                33,
            )
        listing = await graph_pages(
            sim,
            f"{V}/{sim.account(platform).account_id}/{edge}",
            {"access_token": sim.token(platform), "limit": "100"},
        )
        assert post_id not in ids(listing)
    # LinkedIn: the post is a 404; statistics leave it out.
    urn = quote(doomed["linkedin"].post_id, safe="")
    assert (await sim.client.get(f"/rest/posts/{urn}", headers=li_headers(sim))).status_code == 404
    key = "shares" if ":share:" in doomed["linkedin"].post_id else "ugcPosts"
    organization = quote(sim.account("linkedin").account_id, safe="")
    stats = await sim.client.get(
        f"/rest/organizationalEntityShareStatistics?q=organizationalEntity"
        f"&organizationalEntity={organization}&{key}=List({urn})",
        headers=li_headers(sim),
    )
    assert stats.json()["elements"] == []
    # Truth still knows it, and when it went.
    truth = await sim.client.get(
        "/_sim/truth", params={"platform": "linkedin", "post_id": doomed["linkedin"].post_id}
    )
    assert truth.status_code == 200
    again = await sim.client.delete(
        "/_sim/posts", params={"platform": "linkedin", "post_id": doomed["linkedin"].post_id}
    )
    assert again.status_code == 404


async def test_reset_forgets_native_and_deleted_posts(sim: Sim) -> None:
    created = await new_post(sim, "facebook")
    deleted = sim.posts("facebook")[0]
    await sim.client.delete(
        "/_sim/posts", params={"platform": "facebook", "post_id": deleted.post_id}
    )
    await sim.client.post("/_sim/reset", json={"clock": False})
    listed = await graph_pages(
        sim,
        f"{V}/{sim.account('facebook').account_id}/posts",
        {"access_token": sim.token("facebook"), "limit": "100"},
    )
    assert deleted.post_id in ids(listed)
    assert created["post_id"] not in ids(listed)


async def test_a_heavy_account_is_backfilled_in_full(sim_with: Callable[..., Any]) -> None:
    heavy = [{"platform": "x", "business": 1, "posts": 2000, "days": 90}]
    async with sim_with(heavy_accounts=heavy) as sim:
        posts = sim.posts("twitter")
        assert len(posts) == 2000
        assert min(p.published_at for p in posts) >= NOW - timedelta(days=91)
        assert len(sim.posts("twitter", 1)) == 20  # the other accounts keep their size
        pages = await x_timeline(sim, {"max_results": "100"}, sim.auth("twitter"))
        assert len(pages) == 20
        assert ids(pages) == newest_first(posts)


def test_heavy_accounts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PULSE_SIM_HEAVY_ACCOUNTS", '[{"platform":"linkedin","business":2,"posts":2000,"days":90}]'
    )
    [heavy] = Settings().heavy_accounts
    assert (heavy.platform, heavy.business, heavy.posts, heavy.days) == ("linkedin", 2, 2000, 90)


async def test_facebook_attachments_tell_the_kind_of_post(sim: Sim) -> None:
    page = sim.account("facebook")
    params = {"fields": "id,attachments{media_type}", "limit": "100"}
    [listing] = await graph_pages(
        sim,
        f"{V}/{page.account_id}/published_posts",
        {**params, "access_token": sim.token("facebook")},
    )
    kinds = {"image": "photo", "video": "video", "carousel": "album", "link": "link"}
    for item in listing["data"]:
        post = next(p for p in sim.posts("facebook") if p.post_id == item["id"])
        if post.content_type == "text":
            assert "attachments" not in item
        else:
            assert item["attachments"] == {"data": [{"media_type": kinds[post.content_type]}]}


async def test_x_attachments_and_link_entities_as_fields(sim: Sim) -> None:
    params = {"max_results": "100", "tweet.fields": "attachments,entities"}
    [page] = await x_timeline(sim, params, sim.auth("twitter"))
    assert "includes" not in page  # no expansion asked for
    posts = {p.post_id: p for p in sim.posts("twitter")}
    for tweet in page["data"]:
        post = posts[tweet["id"]]
        assert tweet.get("attachments", {}).get("media_keys", []) == list(post.media_keys)
        if post.content_type == "link":
            [url] = tweet["entities"]["urls"]
            assert url["url"].startswith("https://t.co/")
            assert url["expanded_url"].startswith("https://")
        else:
            assert "entities" not in tweet
