"""Webhook deliveries deduplicated across replicas, in Redis.

Platforms retry a delivery until it is acknowledged (Meta for up to 36 hours), so the
same delivery may reach any replica more than once. The first to see a delivery id
claims it with ``SET NX`` and a TTL longer than every platform's retry window; the
others acknowledge and skip it. If handling fails, the claim is released so that the
platform's next retry is handled.

Key: ``pulse:webhook:{platform}:<delivery id>`` (a long id by its SHA-256).
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from pulse_shared.ingest.metrics import WEBHOOK_DUPLICATES

# Meta retries for up to 36 h; X and LinkedIn for less. 48 h leaves room for a delivery
# that itself arrived late.
DEFAULT_TTL_S = 48 * 3600
MIN_TTL_S = 36 * 3600
LONG_ID = 128


class WebhookDeduplicator:
    def __init__(
        self, redis: Redis, platform: str, ttl_s: int = DEFAULT_TTL_S, key_prefix: str = "pulse"
    ) -> None:
        if ttl_s < MIN_TTL_S:
            raise ValueError(
                f"ttl_s must cover the platforms' retries (Meta's 36 h): >= {MIN_TTL_S} s"
            )
        self._redis = redis
        self._platform = platform
        self._ttl_s = ttl_s
        self._prefix = f"{key_prefix}:webhook:{{{platform}}}"

    def _key(self, delivery_id: str) -> str:
        if len(delivery_id) > LONG_ID:
            delivery_id = "sha256:" + hashlib.sha256(delivery_id.encode()).hexdigest()
        return f"{self._prefix}:{delivery_id}"

    async def first_time(self, delivery_id: str) -> bool:
        """True for the first sighting of this delivery (now claimed); False for a retry."""
        claimed = await self._redis.set(self._key(delivery_id), b"1", nx=True, ex=self._ttl_s)
        if not claimed:
            WEBHOOK_DUPLICATES.labels(self._platform).inc()
        return bool(claimed)

    async def release(self, delivery_id: str) -> None:
        """Handling failed: let the platform's retry of this delivery be handled."""
        await self._redis.delete(self._key(delivery_id))
