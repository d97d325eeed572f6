"""GET /api/v1/analytics/posts/{post_id} over HTTP, against rows in the real database."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from conftest import ServiceProcess
from pulse_shared import formulas

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


async def test_post_with_metrics_and_history(
    query_api: ServiceProcess, db: asyncpg.Connection
) -> None:
    business, post_id = await insert_post(db)
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

    async with httpx.AsyncClient(base_url=query_api.url) as client:
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


async def test_post_without_metrics_yet(query_api: ServiceProcess, db: asyncpg.Connection) -> None:
    _, post_id = await insert_post(db, content_type="text", video_duration_s=None)
    async with httpx.AsyncClient(base_url=query_api.url) as client:
        body = (await client.get(f"/api/v1/analytics/posts/{post_id}")).json()
    assert body["likes"] is None
    assert body["engagement_rate"] == 0.0
    assert body["video_completion"] is None
    assert body["fetched_at"] is None
    assert body["history"] == []


async def test_unknown_and_invalid_post_ids(query_api: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=query_api.url) as client:
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
