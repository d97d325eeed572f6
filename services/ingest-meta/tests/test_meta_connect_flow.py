"""The whole Facebook Login flow and the listing against the platform simulator, in
process (real HTTP exchanges over ``httpx.ASGITransport``): the consent form, the code
and long-lived token exchanges, the Pages with their Instagram accounts, every post to the
end of the paging through the shared caller (rate limits in the real Redis), and the
Instagram follower history."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from pulse_ingest_meta.listing import MetaPostLister
from pulse_ingest_meta.oauth import MetaOAuthClient
from pulse_ingest_meta.rules import MetaRules
from pulse_platform_sim.settings import HeavyAccount
from pulse_platform_sim.testing import NOW, Sim, consent, make_settings, open_sim, redirect_query
from pulse_shared.events import Platform
from pulse_shared.ingest.caller import HttpApiCaller
from pulse_shared.ingest.contracts import Account
from pulse_shared.ingest.oauth import ConnectableAccount, DiscoveredPost, Grant, OAuthRefused
from pulse_shared.ingest.ratelimit import RateLimiter
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration

BUSINESS_ID = 1  # simulator business 1 is Pulse business 1 (no offset)
BACKFILL = timedelta(days=90)
# More posts than one page of 100 holds, on both surfaces: the paging is read to its end.
FACEBOOK_POSTS, INSTAGRAM_POSTS = 230, 140


@dataclass
class World:
    sim: Sim
    oauth: MetaOAuthClient
    lister: MetaPostLister
    caller: HttpApiCaller


@pytest.fixture
async def world(infra: Infra) -> AsyncIterator[World]:
    settings = make_settings(
        heavy_accounts=[
            HeavyAccount(platform="facebook", business=1, posts=FACEBOOK_POSTS, days=60),
            HeavyAccount(platform="instagram", business=1, posts=INSTAGRAM_POSTS, days=60),
        ]
    )
    app, client = await open_sim(settings)
    redis = Redis.from_url(infra.redis_url)
    key_prefix = f"test-{secrets.token_hex(4)}:rl"
    limiter = RateLimiter(redis, "meta", key_prefix=key_prefix)  # Meta's documented budgets
    caller = HttpApiCaller(
        MetaRules(), limiter, base_url="http://sim", transport=httpx.ASGITransport(app=app)
    )
    sim = Sim(app, client)
    provider = sim.provider("meta")
    try:
        yield World(
            sim=sim,
            oauth=MetaOAuthClient(
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                authorize_base_url="http://sim",
                token_base_url="http://sim",
                clock=lambda: NOW,
            ),
            lister=MetaPostLister(clock=lambda: NOW),
            caller=caller,
        )
    finally:
        await caller.aclose()
        await client.aclose()
        keys = [key async for key in redis.scan_iter(match=f"{key_prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def consented_code(world: World, redirect_uri: str) -> str:
    """Follow the client's consent URL, sign in as the first business's admin, Allow."""
    url = urlsplit(
        world.oauth.authorization_url(state="st-1", redirect_uri=redirect_uri, code_challenge=None)
    )
    answer = await consent(world.sim.client, url.path, dict(parse_qsl(url.query)), "sim-user-1")
    query = redirect_query(answer)
    assert query["state"] == "st-1"
    return query["code"]


async def connect(world: World) -> tuple[Grant, list[ConnectableAccount]]:
    redirect_uri = world.sim.provider("meta").redirect_uris[0]
    code = await consented_code(world, redirect_uri)
    http = world.sim.client
    grant = await world.oauth.exchange(
        http, code=code, redirect_uri=redirect_uri, code_verifier=None
    )
    return grant, await world.oauth.accounts(http, grant)


async def listed(world: World, found: ConnectableAccount) -> list[DiscoveredPost]:
    account = Account(BUSINESS_ID, found.platform, found.account_id, found.grant.access_token)
    return [post async for post in world.lister.list_posts(world.caller, account, NOW - BACKFILL)]


def truth(world: World, platform: Platform) -> list[tuple[str, datetime, str]]:
    """The simulator's own posts of the first business, newest first."""
    posts = sorted(world.sim.posts(platform), key=lambda p: p.published_at, reverse=True)
    return [(p.post_id, p.published_at, p.content_type) for p in posts]


async def test_a_page_and_its_instagram_are_connected_with_the_pages_token(world: World) -> None:
    grant, offered = await connect(world)
    # The long-lived user token: about 60 days.
    assert grant.expires_at == NOW + timedelta(seconds=5_183_944)
    page, instagram = world.sim.account("facebook"), world.sim.account("instagram")
    assert [(a.platform, a.account_id) for a in offered] == [
        ("facebook", page.account_id),
        ("instagram", instagram.account_id),
    ]
    facebook_found, instagram_found = offered
    assert facebook_found.name == page.name
    assert instagram_found.name == f"@{instagram.handle}"
    assert {a.token_kind for a in offered} == {"user"}
    # The Page's token polls both, and from a long-lived user token it never expires.
    assert facebook_found.grant.access_token == instagram_found.grant.access_token
    assert facebook_found.grant.expires_at is None
    http = world.sim.client
    assert await world.oauth.refresh(http, facebook_found.grant) is facebook_found.grant


async def test_disconnecting_the_page_leaves_its_instagram_polling(world: World) -> None:
    _, (facebook_found, instagram_found) = await connect(world)
    await world.oauth.revoke(world.sim.client, facebook_found.grant)
    # The Instagram account shares the Page's token: it must go on working.
    assert len(await listed(world, instagram_found)) == INSTAGRAM_POSTS


async def test_a_code_is_exchanged_once(world: World) -> None:
    redirect_uri = world.sim.provider("meta").redirect_uris[0]
    code = await consented_code(world, redirect_uri)
    http = world.sim.client
    await world.oauth.exchange(http, code=code, redirect_uri=redirect_uri, code_verifier=None)
    with pytest.raises(OAuthRefused) as refused:
        await world.oauth.exchange(http, code=code, redirect_uri=redirect_uri, code_verifier=None)
    assert refused.value.error == "graph_100_36009"  # "This authorization code has been used."


async def test_every_page_post_is_listed_to_the_end_of_the_paging(world: World) -> None:
    _, offered = await connect(world)
    posts = await listed(world, offered[0])
    expected = [t for t in truth(world, "facebook") if t[1] >= NOW - BACKFILL]
    assert len(expected) == FACEBOOK_POSTS
    assert [(p.platform_post_id, p.published_at, p.content_type) for p in posts] == expected
    assert all(p.platform_post_url for p in posts)
    assert all((p.thumbnail_url is None) == (p.content_type == "text") for p in posts)


async def test_every_instagram_media_is_listed_to_the_end_of_the_paging(world: World) -> None:
    _, offered = await connect(world)
    posts = await listed(world, offered[1])
    expected = [t for t in truth(world, "instagram") if t[1] >= NOW - BACKFILL]
    assert len(expected) == INSTAGRAM_POSTS
    assert [(p.platform_post_id, p.published_at, p.content_type) for p in posts] == expected
    assert all(p.platform_post_url and p.thumbnail_url for p in posts)


async def test_listing_since_a_recent_day_reads_only_what_it_needs(world: World) -> None:
    _, offered = await connect(world)
    since = NOW - timedelta(days=7)
    for found in offered:
        account = Account(BUSINESS_ID, found.platform, found.account_id, found.grant.access_token)
        posts = [p async for p in world.lister.list_posts(world.caller, account, since)]
        expected = [t[0] for t in truth(world, found.platform) if t[1] >= since]
        assert [p.platform_post_id for p in posts] == expected


async def test_the_instagram_follower_history_is_back_computed_from_today(world: World) -> None:
    _, offered = await connect(world)
    instagram = world.sim.account("instagram")
    current = instagram.followers_at(NOW)
    found = offered[1]
    account = Account(BUSINESS_ID, "instagram", found.account_id, found.grant.access_token)
    history = await world.lister.follower_history(world.caller, account, NOW - BACKFILL, current)
    assert len(history) == 30  # at most 30 days back
    assert history[-1].followers == current
    assert all(NOW - timedelta(days=30) < c.observed_at <= NOW for c in history)
    for earlier, later in pairwise(history):
        assert later.observed_at - earlier.observed_at == timedelta(days=1)
        gained = instagram.followers_at(later.observed_at) - instagram.followers_at(
            earlier.observed_at
        )
        assert later.followers - earlier.followers == gained
    page = offered[0]
    page_account = Account(BUSINESS_ID, "facebook", page.account_id, page.grant.access_token)
    assert await world.lister.follower_history(world.caller, page_account, NOW - BACKFILL, 9) == []
