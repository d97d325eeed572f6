"""Connecting a LinkedIn organisation and listing it, against the platform simulator in
process (``httpx.ASGITransport``: real HTTP exchanges, no network): the consent page
filled in as a browser would, the code exchanged, the administered organisations found,
the token refreshed and revoked; the posts listed to the end of their pages and the
follower history read through the shared caller, its rate limits in the real Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from pulse_ingest_linkedin.client import LinkedInClient
from pulse_ingest_linkedin.listing import PAGE_SIZE, LinkedInPostLister, day_start
from pulse_ingest_linkedin.oauth import LinkedInOAuthClient
from pulse_ingest_linkedin.rules import LinkedInRules
from pulse_platform_sim.testing import (
    LINKEDIN_VERSION,
    NOW,
    Sim,
    consent,
    make_settings,
    open_sim,
    redirect_query,
)
from pulse_shared.ingest.caller import HttpApiCaller
from pulse_shared.ingest.contracts import Account
from pulse_shared.ingest.oauth import Grant, OAuthRefused
from pulse_shared.ingest.ratelimit import DEFAULT_BUDGETS, RateLimiter
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration

SIM_URL = "http://sim"
# More than two pages of posts (PAGE_SIZE each) over the simulated 45 days.
POSTS = 250


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    app, client = await open_sim(make_settings(posts_per_account=POSTS))
    async with client:
        yield Sim(app, client)


@pytest.fixture
async def caller(infra: Infra, sim: Sim) -> AsyncIterator[HttpApiCaller]:
    """The shared caller over the simulator, with LinkedIn's rules and budgets."""
    redis = Redis.from_url(infra.redis_url)
    prefix = f"test-{secrets.token_hex(4)}:rl"
    limiter = RateLimiter(redis, "linkedin", DEFAULT_BUDGETS["linkedin"], key_prefix=prefix)
    api = HttpApiCaller(
        LinkedInRules(), limiter, base_url=SIM_URL,
        transport=httpx.ASGITransport(app=sim.app), max_attempts=1,
    )  # fmt: skip
    try:
        yield api
    finally:
        await api.aclose()
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def oauth_client(sim: Sim) -> LinkedInOAuthClient:
    provider = sim.provider("linkedin")
    return LinkedInOAuthClient(
        client_id=provider.client_id, client_secret=provider.client_secret,
        api_version=LINKEDIN_VERSION, authorize_base_url=SIM_URL, token_base_url=SIM_URL,
        api_base_url=SIM_URL,
    )  # fmt: skip


async def consented(sim: Sim, user: str) -> Grant:
    """The consent page opened at our authorization URL, Allow pressed as ``user``, the
    code exchanged for the member's grant."""
    oauth = oauth_client(sim)
    redirect_uri = sim.provider("linkedin").redirect_uris[0]
    url = urlsplit(oauth.authorization_url(state="st-1", redirect_uri=redirect_uri,
                                           code_challenge=None))  # fmt: skip
    answer = await consent(sim.client, url.path, dict(parse_qsl(url.query)), user=user)
    back = redirect_query(answer)
    assert back["state"] == "st-1"
    return await oauth.exchange(
        sim.client, code=back["code"], redirect_uri=redirect_uri, code_verifier=None
    )


def admin_of_first_business(sim: Sim) -> str:
    business_id = sim.state.population.businesses[0].business_id
    return next(u.user_id for u in sim.state.population.users if business_id in u.business_ids)


async def test_a_member_is_offered_the_organisations_they_administer(sim: Sim) -> None:
    grant = await consented(sim, admin_of_first_business(sim))
    assert grant.refresh_token is not None  # the simulator's app is an approved partner
    assert grant.expires_at is not None
    assert grant.refresh_expires_at is not None
    assert grant.refresh_expires_at - grant.expires_at > timedelta(days=300)
    assert set(grant.scopes) == {"r_organization_social", "rw_organization_admin"}

    offered = await oauth_client(sim).accounts(sim.client, grant)
    organization = sim.account("linkedin", 0)
    assert [(a.platform, a.account_id, a.name) for a in offered] == [
        ("linkedin", organization.account_id, organization.name)
    ]
    assert organization.account_id.startswith("urn:li:organization:")  # the vault's form
    assert offered[0].grant is grant

    nobody = await consented(sim, "sim-user-none")
    assert await oauth_client(sim).accounts(sim.client, nobody) == []


async def test_a_code_is_exchanged_once(sim: Sim) -> None:
    oauth = oauth_client(sim)
    redirect_uri = sim.provider("linkedin").redirect_uris[0]
    url = urlsplit(oauth.authorization_url(state="s", redirect_uri=redirect_uri,
                                           code_challenge=None))  # fmt: skip
    answer = await consent(sim.client, url.path, dict(parse_qsl(url.query)))
    code = redirect_query(answer)["code"]
    await oauth.exchange(sim.client, code=code, redirect_uri=redirect_uri, code_verifier=None)
    with pytest.raises(OAuthRefused) as refused:
        await oauth.exchange(sim.client, code=code, redirect_uri=redirect_uri, code_verifier=None)
    assert refused.value.error == "invalid_request"


async def test_a_refresh_keeps_the_refresh_tokens_expiry_and_a_revoke_ends_the_grant(
    sim: Sim,
) -> None:
    oauth = oauth_client(sim)
    # The client dates a grant by this machine's clock when the answer comes (the
    # simulator's is frozen): each reading of it lies between two taken around the call.
    before_consent = datetime.now(UTC)
    grant = await consented(sim, admin_of_first_business(sim))
    after_consent = datetime.now(UTC)
    assert grant.refresh_expires_at is not None
    sim.state.clock.set(NOW + timedelta(days=30))  # a month on, in simulated time

    before_refresh = datetime.now(UTC)
    refreshed = await oauth.refresh(sim.client, grant)
    after_refresh = datetime.now(UTC)
    assert refreshed.access_token != grant.access_token
    assert refreshed.refresh_token == grant.refresh_token
    assert refreshed.refresh_expires_at is not None
    # 30 days less left: counted from the first consent, not extended. The simulator says
    # a year, then 335 days, from the instants the client read.
    year, rest = timedelta(days=365), timedelta(days=335)
    assert before_consent + year <= grant.refresh_expires_at <= after_consent + year
    assert before_refresh + rest <= refreshed.refresh_expires_at <= after_refresh + rest
    assert len(await oauth.accounts(sim.client, refreshed)) == 1

    await oauth.revoke(sim.client, refreshed)
    with pytest.raises(OAuthRefused) as refused:
        await oauth.accounts(sim.client, refreshed)
    assert refused.value.error == "http_401"
    with pytest.raises(OAuthRefused):
        await oauth.refresh(sim.client, refreshed)


def posts_calls(sim: Sim) -> int:
    totals = sim.state.requests.snapshot("linkedin", "GET /rest/posts")["app_totals"]
    return sum(int(t["count"]) for t in totals)


async def test_the_lister_reads_every_post_to_the_last_page(
    sim: Sim, caller: HttpApiCaller
) -> None:
    grant = await consented(sim, admin_of_first_business(sim))
    organization = sim.account("linkedin", 0)
    account = Account(1, "linkedin", organization.account_id, grant.access_token)
    truth = {p.post_id: p for p in sim.posts("linkedin")}
    assert len(truth) > 2 * PAGE_SIZE
    lister = LinkedInPostLister(api_version=LINKEDIN_VERSION)

    listed = [p async for p in lister.list_posts(caller, account, NOW - timedelta(days=60))]
    assert sorted(p.platform_post_id for p in listed) == sorted(truth)
    for post in listed:
        real = truth[post.platform_post_id]
        assert post.published_at == real.published_at
        assert post.content_type == real.content_type
        assert post.platform_post_url == (
            f"https://www.linkedin.com/feed/update/{post.platform_post_id}"
        )
    assert posts_calls(sim) == -(-len(truth) // PAGE_SIZE)  # every page, once

    # Discovery: newest-created first, so the first page reaching back past `since` is
    # the last one read.
    since = NOW - timedelta(days=10)
    recent = [p async for p in lister.list_posts(caller, account, since)]
    assert sorted(p.platform_post_id for p in recent) == sorted(
        urn for urn, p in truth.items() if p.published_at >= since
    )
    assert posts_calls(sim) == -(-len(truth) // PAGE_SIZE) + 1


async def test_the_follower_history_is_each_days_closing_count(
    sim: Sim, caller: HttpApiCaller
) -> None:
    grant = await consented(sim, admin_of_first_business(sim))
    organization = sim.account("linkedin", 0)
    account = Account(1, "linkedin", organization.account_id, grant.access_token)
    current = await LinkedInClient(api_version=LINKEDIN_VERSION).followers(caller, account)
    assert current == organization.followers_at(NOW)
    lister = LinkedInPostLister(api_version=LINKEDIN_VERSION, clock=lambda: NOW)

    history = await lister.follower_history(caller, account, NOW - timedelta(days=7), current)
    day_ends = [day_start(NOW) - timedelta(days=n) for n in range(6, -1, -1)]
    assert [(c.observed_at, c.followers) for c in history] == [
        (end, organization.followers_at(end)) for end in day_ends
    ]


async def test_a_poll_reports_deleted_posts_missing_and_reads_quiet_ones_as_zero(
    sim: Sim, caller: HttpApiCaller
) -> None:
    grant = await consented(sim, admin_of_first_business(sim))
    organization = sim.account("linkedin", 0)
    account = Account(1, "linkedin", organization.account_id, grant.access_token)
    newest = max(sim.posts("linkedin"), key=lambda p: p.published_at)
    kind = newest.post_id.rsplit(":", 1)[0] + ":"
    older = [p for p in sim.posts("linkedin") if p.post_id.startswith(kind) and p is not newest]
    busy, deleted = older[0], older[-2:]
    sim.state.clock.set(newest.published_at)  # just published: nothing happened yet
    for post in deleted:
        assert sim.state.population.delete_post("linkedin", post.post_id, newest.published_at)
    client = LinkedInClient(api_version=LINKEDIN_VERSION)

    # Three left out of the statistics: one BATCH_GET tells the deleted two apart.
    asked = [newest.post_id, busy.post_id, *(p.post_id for p in deleted)]
    result = await client.post_metrics(caller, account, asked)
    assert sorted(result.missing) == sorted(p.post_id for p in deleted)
    readings = {r.platform_post_id: r.metrics for r in result.readings}
    assert sorted(readings) == sorted([newest.post_id, busy.post_id])
    assert readings[newest.post_id].impressions == 0
    assert (readings[busy.post_id].impressions or 0) > 0

    # One left out, deleted: one GET, answered 404.
    assert sim.state.population.delete_post("linkedin", newest.post_id, newest.published_at)
    result = await client.post_metrics(caller, account, [newest.post_id])
    assert (result.missing, result.readings) == ([newest.post_id], [])
