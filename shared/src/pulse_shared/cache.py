"""Per-business cache versions in Redis.

query-api puts the version in every cache key of a business; the aggregator bumps it
after each commit that changed the business, so a cached answer is never served after
the data under it changed (old entries simply expire).
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis


def cache_version_key(business_id: int) -> str:
    return f"pulse:cache-version:{business_id}"


async def bump_cache_versions(redis: Redis, business_ids: Iterable[int]) -> None:
    ids = sorted(set(business_ids))
    if not ids:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for business_id in ids:
            pipe.incr(cache_version_key(business_id))
        await pipe.execute()


async def cache_version(redis: Redis, business_id: int) -> int:
    value = await redis.get(cache_version_key(business_id))
    return int(value or 0)
