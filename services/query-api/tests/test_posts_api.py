"""GET /api/v1/analytics/posts/{post_id} over HTTP, against rows in the real database."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from pulse_shared import formulas
from pulse_shared.auth import DEFAULT_DEV_SECRET, mint_dev_token
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, start_service

pytestmark = pytest.mark.integration


async def insert_post(db: asyncpg.Connection, **overrides: object) -> tuple[int, int]:
    business = random.randint(10_000_000, 2**62)
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", business)
    values: dict[str, object] = {
        "platform": "facebook",
        "platform_post_id": f"{business}_1",
        "content_type": "video",
        "video_duration_s": 60.0,
    }
    values.update(overrides)
    post_id = await db.fetchval(
        """INSERT INTO published_posts (business_id, platform, platform_post_id, account_id,
               content_preview, content_type, published_at, platform_post_url,
               video_duration_s, event_id)
           VALUES ($1, $2, $3, 'page-1', 'Behind the scenes', $4, $5, 'https://facebook.com/p/1',
                   $6, $7) RETURNING id""",
        business,
        values["platform"],
        values["platform_post_id"],
        values["content_type"],
        datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        values["video_duration_s"],
        uuid.uuid4(),
    )
    return business, post_id


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_post_with_metrics_and_history(
    infra: Infra, query_api: ServiceProcess, db: asyncpg.Connection
) -> None:
    business, post_id = await insert_post(db)
    _, token = await infra.token_for(business)
    snapshots = [
        (datetime(2026, 11, 2, 12, tzinfo=UTC), 40, 3, 2, 900, 12, 30, 600.0),
        (datetime(2026, 11, 3, 12, tzinfo=UTC), 100, 7, 6, 3000, 41, 90, 2700.0),
    ]
    await db.execute("SELECT pulse_ensure_snapshot_partitions('2026-11-01', '2026-11-30')")
    for at, likes, comments, shares, impressions, clicks, views, watch in snapshots:
        await db.execute(
            """INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id,
                   observed_at, source, event_id, likes_count, comments_count, shares_count,
                   reactions_count, impressions, clicks, video_views, video_watch_time_s)
               VALUES ($1, 'facebook', $2, $3, 'poll', $4, $5, $6, $7, $5, $8, $9, $10, $11)""",
            business, f"{business}_1", at, uuid.uuid4(), likes, comments, shares,
            impressions, clicks, views, watch,
        )  # fmt: skip
    rate = formulas.engagement_rate(100, 7, 6, 3000)
    await db.execute(
        """INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id,
               likes_count, comments_count, shares_count, reactions_count, impressions, clicks,
               video_views, video_watch_time_s, engagement_rate, click_through_rate, fetched_at)
           VALUES ($1, $2, 'facebook', $3, 100, 7, 6, 100, 3000, 41, 90, 2700, $4, $5, $6)""",
        business, post_id, f"{business}_1", rate,
        formulas.click_through_rate(41, 3000), snapshots[-1][0],
    )  # fmt: skip

    async with httpx.AsyncClient(base_url=query_api.url, headers=auth(token)) as client:
        response = await client.get(f"/api/v1/analytics/posts/{post_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["post_id"] == post_id
    assert body["platform"] == "facebook"
    assert body["content_preview"] == "Behind the scenes"
    assert (body["likes"], body["comments"], body["shares"], body["reactions"]) == (100, 7, 6, 100)
    assert body["retweets"] is None  # Facebook does not report it
    assert body["engagement_rate"] == formulas.round2(rate) == 3.77
    assert body["click_through_rate"] == 1.37
    assert body["virality"] == formulas.round2(formulas.virality(6, 3000)) == 0.2
    assert body["video_completion"] == 50.0  # 2700 s / (90 views x 60 s)
    assert [h["likes"] for h in body["history"]] == [40, 100]
    assert body["history"][0]["engagement_rate"] == formulas.round2(
        formulas.engagement_rate(40, 3, 2, 900)
    )


async def test_post_without_metrics_yet(
    infra: Infra, query_api: ServiceProcess, db: asyncpg.Connection
) -> None:
    business, post_id = await insert_post(db, content_type="text", video_duration_s=None)
    _, token = await infra.token_for(business)
    async with httpx.AsyncClient(base_url=query_api.url, headers=auth(token)) as client:
        body = (await client.get(f"/api/v1/analytics/posts/{post_id}")).json()
    assert body["likes"] is None
    # Nothing observed yet: no rate, rather than 0.00 %.
    assert (body["engagement_rate"], body["click_through_rate"], body["virality"]) == (
        None,
        None,
        None,
    )
    assert body["video_completion"] is None
    assert body["fetched_at"] is None
    assert body["history"] == []


async def test_unknown_and_invalid_post_ids(infra: Infra, query_api: ServiceProcess) -> None:
    _, token = await infra.token_for(123456789)
    async with httpx.AsyncClient(base_url=query_api.url, headers=auth(token)) as client:
        missing = await client.get("/api/v1/analytics/posts/9223372036854775000")
        invalid = await client.get("/api/v1/analytics/posts/abc")
        negative = await client.get("/api/v1/analytics/posts/-3")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "post 9223372036854775000 not found"
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["path", "post_id"]
    assert negative.status_code == 422


async def test_health_and_readiness(query_api: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=query_api.url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}
    assert "python_info" in metrics.text


async def test_another_business_post_is_not_found_and_tokens_are_required(
    infra: Infra, query_api: ServiceProcess, db: asyncpg.Connection
) -> None:
    business, post_id = await insert_post(db)
    _, owner = await infra.token_for(business)
    _, stranger = await infra.token_for(business + 1)
    async with httpx.AsyncClient(base_url=query_api.url) as client:
        path = f"/api/v1/analytics/posts/{post_id}"
        assert (await client.get(path, headers=auth(owner))).status_code == 200
        other = await client.get(path, headers=auth(stranger))
        missing = await client.get(path)
        forged = await client.get(
            path, headers=auth(mint_dev_token("not-the-secret-" + "x" * 32, "x"))
        )
        expired = await client.get(
            path, headers=auth(mint_dev_token(infra.jwt_secret, "x", ttl_s=-3600))
        )
    assert other.status_code == 404  # not 403: another business's ids do not exist for you
    assert other.json()["detail"] == f"post {post_id} not found"
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert forged.status_code == 401
    assert "Signature verification failed" in forged.json()["detail"]
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


def test_refuses_to_start_with_the_default_secret_outside_dev(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = infra.env(PULSE_ENVIRONMENT="production", PULSE_DATABASE_URL=infra.reader_database_url)
    env["PULSE_JWT_SECRET"] = DEFAULT_DEV_SECRET
    with pytest.raises(RuntimeError, match="refusing to start: PULSE_JWT_SECRET"):
        start_service(
            "query-api-insecure", "pulse_query_api.app:app", env, str(tmp_path_factory.mktemp("l"))
        )
