"""One event all the way through: Kafka -> aggregator -> PostgreSQL -> query-api -> HTTP.

The events are written as JSON bytes by a plain Kafka producer, the way a producer in
any language would, and read back through query-api's HTTP API as a client would.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from pulse_shared import formulas
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess
from pulse_testing.waiting import eventually

pytestmark = pytest.mark.integration


async def test_post_and_metrics_reach_the_api(
    infra: Infra,
    aggregator: ServiceProcess,
    query_api: ServiceProcess,
    producer: AIOKafkaProducer,
    db: asyncpg.Connection,
) -> None:
    business = random.randint(10_000_000, 2**62)
    platform_post_id = f"urn:li:share:{random.randint(1, 10**12)}"
    published = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    post = (
        '{"event_id": "0f8b7c9e-1d2a-4b3c-8d4e-5f6a7b8c9d0e", "schema_version": 1, '
        f'"business_id": {business}, "platform": "linkedin", '
        f'"platform_post_id": "{platform_post_id}", "account_id": "urn:li:organization:9", '
        f'"published_at": "{published.isoformat()}", "content": "We are hiring", '
        '"content_type": "text", "platform_post_url": "https://www.linkedin.com/feed/update/1", '
        '"video_duration_s": null}'
    )
    observed = published + timedelta(hours=2)
    metrics = {
        "event_id": "1f8b7c9e-1d2a-4b3c-8d4e-5f6a7b8c9d0e",
        "schema_version": 1,
        "business_id": business,
        "platform": "linkedin",
        "platform_post_id": platform_post_id,
        "observed_at": observed.isoformat(),
        "source": "poll",
        "metrics": {
            "likes": 57, "comments": 6, "shares": 4, "reactions": None, "retweets": None,
            "quote_tweets": None, "impressions": 2311, "reach": 1408, "clicks": 63,
            "video_views": None, "video_watch_time_s": None, "saves": None,
        },
    }  # fmt: skip
    key = f"linkedin:{platform_post_id}".encode()
    headers = [("content-type", b"application/json")]
    await producer.send_and_wait(
        infra.topic_prefix + "posts.published.v1", post.encode(), key=key, headers=headers
    )
    await producer.send_and_wait(
        infra.topic_prefix + "metrics.observed.v1",
        json.dumps(metrics).encode(),
        key=key,
        headers=headers,
    )

    async def post_id_once_aggregated() -> int | None:
        post_id: int | None = await db.fetchval(
            "SELECT post_id FROM post_analytics WHERE business_id = $1 AND platform_post_id = $2",
            business,
            platform_post_id,
        )
        return post_id

    post_id = await eventually(post_id_once_aggregated)
    _, token = await infra.token_for(business)

    async with httpx.AsyncClient(
        base_url=query_api.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        response = await client.get(f"/api/v1/analytics/posts/{post_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    expected_rate = formulas.round2(formulas.engagement_rate(57, 6, 4, 2311))
    assert expected_rate == 2.9
    assert body["engagement_rate"] == expected_rate
    assert body["click_through_rate"] == formulas.round2(formulas.click_through_rate(63, 2311))
    assert body["platform_post_id"] == platform_post_id
    assert (body["likes"], body["comments"], body["shares"]) == (57, 6, 4)
    assert (body["impressions"], body["reach"], body["clicks"]) == (2311, 1408, 63)
    assert body["reactions"] is None
    assert body["content_preview"] == "We are hiring"
    assert datetime.fromisoformat(body["published_at"]) == published
    assert datetime.fromisoformat(body["fetched_at"]) == observed
    assert len(body["history"]) == 1
