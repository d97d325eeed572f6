"""Webhook deliveries deduplicated in the real Redis, across replicas."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from pulse_shared.ingest.dedupe import WebhookDeduplicator
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(infra: Infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_a_delivery_is_handled_once_by_any_replica(redis: Redis) -> None:
    prefix = f"test-{secrets.token_hex(4)}"
    first = WebhookDeduplicator(redis, "facebook", key_prefix=prefix)
    second = WebhookDeduplicator(redis, "facebook", key_prefix=prefix)
    delivery = "1031:1608952691:feed"
    assert await first.first_time(delivery) is True
    assert await second.first_time(delivery) is False
    assert await WebhookDeduplicator(redis, "linkedin", key_prefix=prefix).first_time(delivery)
    # The claim outlives Meta's 36 hours of retries.
    [key] = [k async for k in redis.scan_iter(f"{prefix}:webhook:{{facebook}}:*")]
    assert await redis.ttl(key) > 36 * 3600


async def test_a_failed_delivery_is_released_for_the_platform_retry(redis: Redis) -> None:
    dedupe = WebhookDeduplicator(redis, "twitter", key_prefix=f"test-{secrets.token_hex(4)}")
    long_id = "x" * 500  # stored by its digest
    assert await dedupe.first_time(long_id) is True
    await dedupe.release(long_id)
    assert await dedupe.first_time(long_id) is True
    assert await dedupe.first_time(long_id) is False


def test_a_ttl_shorter_than_the_retry_window_is_refused() -> None:
    with pytest.raises(ValueError, match="36"):
        WebhookDeduplicator(Redis(), "facebook", ttl_s=3600)
