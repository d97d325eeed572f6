"""GET /api/v1/analytics/accounts: the business's accounts and their sync, no token ever."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from pulse_shared.db import asyncpg_dsn
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

ADD_ACCOUNT = """
INSERT INTO connected_accounts (business_id, platform, account_id, encrypted_token, status,
    status_reason, display_name, posts_found, last_synced_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
ADD_POST = """
INSERT INTO published_posts (business_id, platform, platform_post_id, account_id,
    content_type, published_at, event_id, removed_at)
VALUES ($1, 'twitter', $2, $5, 'text', now(), $3, $4) RETURNING id
"""


async def test_accounts_show_their_sync_and_never_a_token(
    infra: Infra, query_api: ServiceProcess, db: asyncpg.Connection
) -> None:
    business = secrets.randbelow(2**62) + 10**12
    _, token = await infra.token_for(business)
    synced = datetime(2026, 11, 19, 12, tzinfo=UTC)
    # Account ids of this test's own: one platform account is connected to one business.
    x_account, organization = str(business), f"urn:li:organization:{business}"
    await db.execute(ADD_ACCOUNT, business, "twitter", x_account, b"secret-token-bytes",
                     "active", None, "@pulse", 3, synced)  # fmt: skip
    await db.execute(ADD_ACCOUNT, business, "linkedin", organization, b"x",
                     "needs_reconnection", "token refresh refused: invalid_request",
                     "Pulse Inc", 0, None)  # fmt: skip
    # Three posts found: two have numbers, one of them removed from the platform since.
    posts = [
        await db.fetchval(
            ADD_POST, business, f"17900000000000000{n}", uuid.uuid4(), removed, x_account
        )
        for n, removed in ((1, None), (2, None), (3, synced))
    ]
    for post_id in posts[1:]:
        await db.execute(
            "INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id, "
            "fetched_at) SELECT business_id, id, platform, platform_post_id, now() "
            "FROM published_posts WHERE business_id = $1 AND id = $2",
            business, post_id,
        )  # fmt: skip
    async with httpx.AsyncClient(
        base_url=query_api.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        answer = await client.get("/api/v1/analytics/accounts", params={"business_id": business})
    assert answer.status_code == 200, answer.text
    assert "secret" not in answer.text
    assert "encrypted" not in answer.text
    body = answer.json()
    assert body["business_id"] == business
    assert [(a["platform"], a["status"]) for a in body["accounts"]] == [
        ("linkedin", "needs_reconnection"),
        ("twitter", "active"),
    ]
    twitter = body["accounts"][1]
    assert twitter["display_name"] == "@pulse"
    assert twitter["posts_found"] == 3
    assert twitter["posts_with_numbers"] == 1  # the removed post's numbers are history
    assert twitter["last_synced_at"] == "2026-11-19T12:00:00Z"
    assert body["accounts"][0]["status_reason"] == "token refresh refused: invalid_request"


async def test_the_reader_sees_no_account_without_its_business_set(
    infra: Infra, db: asyncpg.Connection
) -> None:
    business = secrets.randbelow(2**62) + 10**12
    await db.execute(ADD_ACCOUNT, business, "twitter", f"{business}", b"t", "active", None,
                     "@x", 0, None)  # fmt: skip
    reader = await asyncpg.connect(asyncpg_dsn(infra.reader_database_url))
    try:
        assert await reader.fetchval("SELECT count(*) FROM account_connections") == 0
        async with reader.transaction():
            await reader.execute(f"SET LOCAL pulse.business_id = {business}")
            assert await reader.fetchval("SELECT count(*) FROM account_connections") == 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await reader.fetchval("SELECT count(*) FROM connected_accounts")
    finally:
        await reader.close()
