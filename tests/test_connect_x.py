"""Connecting an X account for real: ingest-twitter's OAuth 2.0 + PKCE flow against the
platform simulator (both real processes), driven as a member's browser would; then the
backfill, the token's refresh (X rotates refresh tokens), disconnecting, and the flow's
bad inputs: consent denied, a replayed state, a return URL not allowed, an account already
connected to another business, a stranger's business.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from pulse_cli.demo import consent as browse_consent
from pulse_ingest_twitter.oauth import XOAuthClient
from pulse_shared.db import asyncpg_dsn
from pulse_shared.ingest.connect import TokenRefresher, redis_prefix
from pulse_shared.ingest.tracking import PollSchedule, schedule_key_prefix
from pulse_shared.ingest.vault import TokenVault
from pulse_testing.connect import ConnectStack, browse_to_pulse, connect_outcome, connect_stack
from pulse_testing.http import raw_post
from pulse_testing.infra import Infra
from pulse_testing.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectStack]:
    with connect_stack(infra, str(tmp_path_factory.mktemp("connect-x")), "twitter") as stack:
        yield stack


async def consent(url: str, user: str, decision: str = "allow") -> str:
    """The browser at the platform's consent page (as the demo drives it); where the
    platform sends it back to."""
    async with httpx.AsyncClient() as browser:
        return await browse_consent(browser, url, user, decision)


async def account_row(db: asyncpg.Connection, business: int) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT account_id, status, posts_found, last_synced_at, display_name, connected_by, "
        "encrypted_token, encrypted_refresh_token, token_expires_at "
        "FROM connected_accounts WHERE business_id = $1 AND platform = 'twitter'",
        business,
    )


async def test_a_member_connects_x_and_its_posts_are_found(
    stack: ConnectStack, infra: Infra, db: asyncpg.Connection
) -> None:
    business = stack.offset + 1  # the simulator's business 1
    user, token = await infra.token_for(business)
    started = await stack.authorize(token, business)
    assert started.status_code == 200, started.text
    url = started.json()["authorization_url"]
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{stack.sim.url}/i/oauth2/authorize?")
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["tweet.read users.read offline.access"]

    back = await consent(url, "sim-user-1")
    assert back.startswith(stack.callback)
    answer = await browse_to_pulse(back)
    assert connect_outcome(answer) == {"connected": ["twitter"], "accounts": ["1"]}

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
    replayed = await browse_to_pulse(back)
    assert replayed.status_code == 400
    assert "expired or was already used" in replayed.text
    assert "Content-Security-Policy" in replayed.headers


async def _synced(db: asyncpg.Connection, business: int) -> asyncpg.Record | None:
    row = await account_row(db, business)
    return row if row is not None and row["last_synced_at"] is not None else None


async def test_the_token_is_refreshed_before_it_expires_and_the_old_refresh_token_dies(
    stack: ConnectStack, infra: Infra, db: asyncpg.Connection
) -> None:
    business = stack.offset + 2
    _, token = await infra.token_for(business)
    url = (await stack.authorize(token, business)).json()["authorization_url"]
    connect_outcome(await browse_to_pulse(await consent(url, "sim-user-2")))
    pool = await asyncpg.create_pool(asyncpg_dsn(infra.ingest_database_url), min_size=1, max_size=2)
    redis = Redis.from_url(infra.redis_url)
    http = httpx.AsyncClient()
    try:
        vault = TokenVault(pool, [infra.token_encryption_key])
        oauth = XOAuthClient(
            client_id=stack.client_id, client_secret=stack.client_secret,
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
            auth=(stack.client_id, stack.client_secret),
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
    stack: ConnectStack, infra: Infra, db: asyncpg.Connection
) -> None:
    business = stack.offset + 3
    owner, token = await infra.token_for(business, role="owner")
    url = (await stack.authorize(token, business)).json()["authorization_url"]
    connect_outcome(await browse_to_pulse(await consent(url, "sim-user-3")))
    row = await account_row(db, business)
    assert row is not None
    _, stranger = await infra.token_for(business + 10**6)
    _, analyst = await infra.token_for(business, role="analyst")
    async with httpx.AsyncClient(base_url=stack.ingest.url) as client:
        body = {"business_id": business, "platform": "twitter", "account_id": row["account_id"]}
        foreign = await client.post("/connect/disconnect", json=body,
                                    headers={"Authorization": f"Bearer {stranger}"})  # fmt: skip
        anonymous = await client.post("/connect/disconnect", json=body)
        refused = await client.post("/connect/disconnect", json=body,
                                    headers={"Authorization": f"Bearer {analyst}"})  # fmt: skip
        gone = await client.post("/connect/disconnect", json=body,
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        again = await client.post("/connect/disconnect", json=body,
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert foreign.status_code == 404
    assert anonymous.status_code == 401
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"the role analyst may not connect or disconnect accounts of business {business}"
    )
    assert (await stack.authorize(analyst, business)).status_code == 403
    assert gone.status_code == 200, gone.text
    audit = await db.fetch(
        "SELECT actor, action, subject, details->>'name' AS name FROM audit_log "
        "WHERE business_id = $1 AND action LIKE 'account.%' ORDER BY id",
        business,
    )
    subject = f"twitter:{row['account_id']}"
    assert [(a["actor"], a["action"], a["subject"]) for a in audit] == [
        (owner, "account.connected", subject),
        (owner, "account.disconnected", subject),
    ]
    assert audit[0]["name"] == row["display_name"]
    assert gone.json() == {"disconnected": True}
    assert again.status_code == 404
    after = await account_row(db, business)
    assert after is not None
    assert after["status"] == "disconnected"
    assert after["encrypted_token"] is None
    assert after["encrypted_refresh_token"] is None


async def test_every_bad_input_gets_a_clear_answer_and_stores_nothing(
    stack: ConnectStack, infra: Infra, db: asyncpg.Connection
) -> None:
    business = stack.offset + 1
    _, owner = await infra.token_for(business)
    # Consent denied: back to the dashboard with the platform's error, nothing stored.
    other_business = stack.offset + 4
    _, token4 = await infra.token_for(other_business)
    url = (await stack.authorize(token4, other_business)).json()["authorization_url"]
    denied = await browse_to_pulse(await consent(url, "sim-user-4", decision="deny"))
    assert connect_outcome(denied)["connect_error"] == ["access_denied"]
    assert await account_row(db, other_business) is None
    # X's account of business 1 is connected to business 1 (the first test): another
    # business signing in as the same X user is refused, business 1 keeps it.
    url = (await stack.authorize(token4, other_business)).json()["authorization_url"]
    taken = await browse_to_pulse(await consent(url, "sim-user-1"))
    assert connect_outcome(taken)["connect_error"] == ["account_taken"]
    assert await account_row(db, other_business) is None
    # A made-up state, a state with no code: pages, not redirects; nothing stored.
    made_up = await browse_to_pulse(f"{stack.callback}?state=forged&code=x")
    assert made_up.status_code == 400
    # A return URL not on the allow-list, a stranger's business, no token, bad bodies.
    assert (
        await stack.authorize(owner, business, return_to="https://evil.test/")
    ).status_code == 422
    _, stranger = await infra.token_for(business + 10**6)
    assert (await stack.authorize(stranger, business)).status_code == 404
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
