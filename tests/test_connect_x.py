"""Connecting an X account for real: ingest-twitter's OAuth 2.0 + PKCE flow against the
platform simulator (both real processes), driven as a member's browser would; then the
backfill, the token's refresh (X rotates refresh tokens), disconnecting, and the flow's
bad inputs: consent denied, a replayed state, a return URL not allowed, an account already
connected to another business, a stranger's business.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from conftest import Infra, ServiceProcess, eventually, free_port, raw_post, start_service
from pulse_cli.demo import consent as browse_consent
from pulse_ingest_twitter.oauth import XOAuthClient
from pulse_shared.db import asyncpg_dsn
from pulse_shared.ingest.connect import TokenRefresher, redis_prefix
from pulse_shared.ingest.tracking import PollSchedule, schedule_key_prefix
from pulse_shared.ingest.vault import TokenVault

pytestmark = pytest.mark.integration

CLIENT_ID, CLIENT_SECRET = "pulse-x-client", "x-client-secret-for-the-simulator-0001"
RETURN_TO = "http://dashboard.test/connections"


@dataclass
class Stack:
    sim: ServiceProcess
    ingest: ServiceProcess
    offset: int  # simulator business i is Pulse business offset + i

    @property
    def callback(self) -> str:
        return f"{self.ingest.url}/connect/callback"


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = str(tmp_path_factory.mktemp("connect-x"))
    offset = secrets.randbelow(2**40) + 10**12
    ingest_port = free_port()
    callback = f"http://127.0.0.1:{ingest_port}/connect/callback"
    sim = start_service(
        "platform-sim", "pulse_platform_sim.app:app",
        infra.env(
            PULSE_SIM_BUSINESS_ID_OFFSET=str(offset), PULSE_SIM_TWITTER_CLIENT_ID=CLIENT_ID,
            PULSE_SIM_TWITTER_CLIENT_SECRET=CLIENT_SECRET,
            PULSE_SIM_TWITTER_REDIRECT_URIS=json.dumps([callback]),
        ),
        logs,
    )  # fmt: skip
    try:
        ingest = start_service(
            "ingest-twitter", "pulse_ingest_twitter.app:app",
            infra.env(
                PULSE_API_BASE_URL=sim.url, PULSE_OAUTH_WEB_BASE_URL=sim.url,
                PULSE_OAUTH_CLIENT_ID=CLIENT_ID, PULSE_OAUTH_CLIENT_SECRET=CLIENT_SECRET,
                PULSE_OAUTH_REDIRECT_URI=callback, PULSE_OAUTH_RETURN_URLS=json.dumps([RETURN_TO]),
                PULSE_POLL_IDLE_S="0.3",
            ),
            logs, ready_path="/readyz", port=ingest_port,
        )  # fmt: skip
    except BaseException:
        sim.stop()
        raise
    try:
        yield Stack(sim, ingest, offset)
    finally:
        ingest.stop()
        sim.stop()


async def authorize(stack: Stack, token: str, business: int, **body: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.ingest.url) as client:
        return await client.post(
            "/connect/authorize",
            json={"business_id": business, "return_to": RETURN_TO, **body},
            headers={"Authorization": f"Bearer {token}"},
        )


async def consent(url: str, user: str, decision: str = "allow") -> str:
    """The browser at the platform's consent page (as the demo drives it); where the
    platform sends it back to."""
    async with httpx.AsyncClient() as browser:
        return await browse_consent(browser, url, user, decision)


async def back_at_pulse(location: str) -> httpx.Response:
    """The browser following the platform's redirect to ingest's callback."""
    async with httpx.AsyncClient() as browser:
        return await browser.get(location)


def outcome(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(RETURN_TO), location
    return parse_qs(urlsplit(location).query)


async def account_row(db: asyncpg.Connection, business: int) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT account_id, status, posts_found, last_synced_at, display_name, connected_by, "
        "encrypted_token, encrypted_refresh_token, token_expires_at "
        "FROM connected_accounts WHERE business_id = $1 AND platform = 'twitter'",
        business,
    )


async def test_a_member_connects_x_and_its_posts_are_found(
    stack: Stack, infra: Infra, db: asyncpg.Connection
) -> None:
    business = stack.offset + 1  # the simulator's business 1
    user, token = await infra.token_for(business)
    started = await authorize(stack, token, business)
    assert started.status_code == 200, started.text
    url = started.json()["authorization_url"]
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{stack.sim.url}/i/oauth2/authorize?")
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["tweet.read users.read offline.access"]

    back = await consent(url, "sim-user-1")
    assert back.startswith(stack.callback)
    answer = await back_at_pulse(back)
    assert outcome(answer) == {"connected": ["twitter"], "accounts": ["1"]}

    row = await account_row(db, business)
    assert row is not None
    assert row["connected_by"] == user
    assert row["display_name"].startswith("@")
    assert row["encrypted_refresh_token"] is not None
    synced = await eventually(
        lambda: _synced(db, business), timeout=60
    )  # the backfill lists the account's past posts, then marks it active
    assert synced["status"] == "active"
    assert synced["posts_found"] > 0
    redis = Redis.from_url(infra.redis_url)
    try:
        schedule = PollSchedule(redis, key_prefix=schedule_key_prefix(infra.topic_prefix))
        tracked = await schedule.posts_of_business(business, "twitter")
    finally:
        await redis.aclose()
    assert len(tracked) == synced["posts_found"]
    assert {p.account_id for p in tracked} == {row["account_id"]}

    # The same consent link again: refused, nothing changed.
    replayed = await back_at_pulse(back)
    assert replayed.status_code == 400
    assert "expired or was already used" in replayed.text
    assert "Content-Security-Policy" in replayed.headers


async def _synced(db: asyncpg.Connection, business: int) -> asyncpg.Record | None:
    row = await account_row(db, business)
    return row if row is not None and row["last_synced_at"] is not None else None


async def test_the_token_is_refreshed_before_it_expires_and_the_old_refresh_token_dies(
    stack: Stack, infra: Infra, db: asyncpg.Connection
) -> None:
    business = stack.offset + 2
    _, token = await infra.token_for(business)
    url = (await authorize(stack, token, business)).json()["authorization_url"]
    outcome(await back_at_pulse(await consent(url, "sim-user-2")))
    pool = await asyncpg.create_pool(asyncpg_dsn(infra.ingest_database_url), min_size=1, max_size=2)
    redis = Redis.from_url(infra.redis_url)
    http = httpx.AsyncClient()
    try:
        vault = TokenVault(pool, [infra.token_encryption_key])
        oauth = XOAuthClient(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            authorize_base_url=stack.sim.url, token_base_url=stack.sim.url,
        )  # fmt: skip
        # X's tokens live two hours: with a margin of three, it is due now.
        soon = datetime.now(UTC) + timedelta(hours=3)
        (before,) = [
            d for d in await vault.due_for_refresh("twitter", soon)
            if d.account.business_id == business
        ]  # fmt: skip
        refresher = TokenRefresher(
            ("twitter",),
            oauth,
            vault,
            http,
            redis,
            redis_prefix("ingest-twitter", infra.topic_prefix + secrets.token_hex(2)),
            margin_s=3 * 3600,
        )
        assert await refresher.refresh_due() >= 1
        (after,) = [
            d for d in await vault.due_for_refresh("twitter", soon)
            if d.account.business_id == business
        ]  # fmt: skip
        assert after.grant.access_token != before.grant.access_token
        assert after.grant.refresh_token != before.grant.refresh_token
        # Rotation: the refresh token used is dead at the platform.
        refused = await http.post(
            f"{stack.sim.url}/2/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": before.grant.refresh_token or ""},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        assert refused.status_code == 400
        # The new access token works on the API.
        me = await http.get(
            f"{stack.sim.url}/2/users/me",
            headers={"Authorization": f"Bearer {after.grant.access_token}"},
        )
        assert me.status_code == 200, me.text
    finally:
        await http.aclose()
        await redis.aclose()
        await pool.close()


async def test_disconnecting_revokes_deletes_the_tokens_and_keeps_the_row(
    stack: Stack, infra: Infra, db: asyncpg.Connection
) -> None:
    business = stack.offset + 3
    _, token = await infra.token_for(business)
    url = (await authorize(stack, token, business)).json()["authorization_url"]
    outcome(await back_at_pulse(await consent(url, "sim-user-3")))
    row = await account_row(db, business)
    assert row is not None
    _, stranger = await infra.token_for(business + 10**6)
    async with httpx.AsyncClient(base_url=stack.ingest.url) as client:
        body = {"business_id": business, "platform": "twitter", "account_id": row["account_id"]}
        foreign = await client.post("/connect/disconnect", json=body,
                                    headers={"Authorization": f"Bearer {stranger}"})  # fmt: skip
        anonymous = await client.post("/connect/disconnect", json=body)
        gone = await client.post("/connect/disconnect", json=body,
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        again = await client.post("/connect/disconnect", json=body,
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert foreign.status_code == 404
    assert anonymous.status_code == 401
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"disconnected": True}
    assert again.status_code == 404
    after = await account_row(db, business)
    assert after is not None
    assert after["status"] == "disconnected"
    assert after["encrypted_token"] is None
    assert after["encrypted_refresh_token"] is None


async def test_every_bad_input_gets_a_clear_answer_and_stores_nothing(
    stack: Stack, infra: Infra, db: asyncpg.Connection
) -> None:
    business = stack.offset + 1
    _, owner = await infra.token_for(business)
    # Consent denied: back to the dashboard with the platform's error, nothing stored.
    other_business = stack.offset + 4
    _, token4 = await infra.token_for(other_business)
    url = (await authorize(stack, token4, other_business)).json()["authorization_url"]
    denied = await back_at_pulse(await consent(url, "sim-user-4", decision="deny"))
    assert outcome(denied)["connect_error"] == ["access_denied"]
    assert await account_row(db, other_business) is None
    # X's account of business 1 is connected to business 1 (the first test): another
    # business signing in as the same X user is refused, business 1 keeps it.
    url = (await authorize(stack, token4, other_business)).json()["authorization_url"]
    taken = await back_at_pulse(await consent(url, "sim-user-1"))
    assert outcome(taken)["connect_error"] == ["account_taken"]
    assert await account_row(db, other_business) is None
    # A made-up state, a state with no code: pages, not redirects; nothing stored.
    made_up = await back_at_pulse(f"{stack.callback}?state=forged&code=x")
    assert made_up.status_code == 400
    # A return URL not on the allow-list, a stranger's business, no token, bad bodies.
    assert (
        await authorize(stack, owner, business, return_to="https://evil.test/")
    ).status_code == 422
    _, stranger = await infra.token_for(business + 10**6)
    assert (await authorize(stack, stranger, business)).status_code == 404
    async with httpx.AsyncClient(base_url=stack.ingest.url) as client:
        anonymous = await client.post("/connect/authorize", json={"business_id": business})
        strings = await client.post("/connect/authorize", json={"business_id": "1"},
                                    headers={"Authorization": f"Bearer {owner}"})  # fmt: skip
    assert anonymous.status_code == 401
    assert strings.status_code == 422
    assert "business_id" in strings.text
    # A body over the service's cap: 413 before it is read.
    huge = await raw_post(
        stack.ingest, "/connect/authorize",
        {"Authorization": f"Bearer {owner}", "Content-Type": "application/json",
         "Content-Length": "10000000"},
        b'{"business_id": 1',
    )  # fmt: skip
    assert huge.startswith(b"HTTP/1.1 413"), huge[:200]
