"""Answers cached in Redis per business and query.

The key holds the business's cache version, which the aggregator bumps after every commit
that changed the business (pulse_shared.cache): new data means new keys, so a cached answer
is never served over data that changed under it. A database session (a transaction that
sees the business only, pulse_query_api.tenancy) is opened only to compute an answer,
never for a hit. One computation per key at a time: in this process an asyncio lock per
key, across processes a short Redis lock that the others wait on (then read the value).
With Redis down, every request is answered from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Response
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from pulse_query_api.tenancy import business_session
from pulse_shared.cache import cache_version_key
from pulse_shared.logs import get_logger

log = get_logger(__name__)

TTL_S = 60  # bounds how old `stale_posts` (which moves with the clock) may get
LOCK_TTL_MS = 10_000
WAIT_FOR_OTHER_S = 5.0


# The hot path in one round trip: the business's cache version, then the answer stored
# under it. (The answer's key is built inside the script, which a Redis Cluster would
# refuse; Pulse runs one Redis.)
LOOKUP_SCRIPT = """
local version = redis.call('GET', KEYS[1]) or '0'
local key = ARGV[1] .. version .. ARGV[2]
local answer = redis.call('GET', key)
if not answer then return {version} end
return {version, answer, redis.call('PTTL', key)}
"""


Compute = Callable[[AsyncSession], Awaitable[BaseModel]]


class AnswerCache:
    def __init__(self, redis: Redis | None, engine: AsyncEngine) -> None:
        self._redis = redis
        self._engine = engine
        self._local: dict[str, asyncio.Lock] = {}
        self._lookup = redis.register_script(LOOKUP_SCRIPT) if redis is not None else None

    async def answer(
        self,
        business_id: int,
        parts: dict[str, Any],
        compute: Compute,
    ) -> Response:
        if self._redis is None or self._lookup is None:
            return _json(await self._compute(business_id, compute))
        digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
        prefix, suffix = f"pulse:answer:{business_id}:", f":{digest.hexdigest()[:32]}"
        try:
            found = await self._lookup(keys=[cache_version_key(business_id)], args=[prefix, suffix])
        except (RedisError, OSError) as exc:
            log.warning("cache unavailable", error=repr(exc))
            return _json(await self._compute(business_id, compute))
        if len(found) > 2:
            # Age (RFC 9111): how long ago the answer was computed, from its TTL left.
            age = max(0, TTL_S - int(found[2]) // 1000)
            return _raw(found[1], "hit", age=age)
        key = f"{prefix}{int(found[0])}{suffix}"
        lock = self._local.setdefault(key, asyncio.Lock())
        async with lock:
            response = await self._through_redis(key, business_id, compute)
        if not lock.locked():
            self._local.pop(key, None)
        return response

    async def _compute(self, business_id: int, compute: Compute) -> BaseModel:
        async with business_session(self._engine, business_id) as session:
            return await compute(session)

    async def _through_redis(self, key: str, business_id: int, compute: Compute) -> Response:
        assert self._redis is not None
        try:
            hit = await self._redis.get(key)
            if hit is not None:
                return _raw(hit, "hit")
            if not await self._redis.set(f"{key}:lock", b"1", nx=True, px=LOCK_TTL_MS):
                # Another process is computing this answer: wait for it rather than
                # computing it again.
                waited = 0.0
                while waited < WAIT_FOR_OTHER_S:
                    await asyncio.sleep(0.05)
                    waited += 0.05
                    hit = await self._redis.get(key)
                    if hit is not None:
                        return _raw(hit, "hit")
        except (RedisError, OSError) as exc:
            log.warning("cache unavailable", error=repr(exc))
            return _json(await self._compute(business_id, compute))
        try:
            body = (await self._compute(business_id, compute)).model_dump_json().encode()
        except BaseException:
            # The others stop waiting at once and compute it themselves (or fail alike).
            await self._unlock(key)
            raise
        try:
            await self._redis.set(key, body, ex=TTL_S)
        except (RedisError, OSError) as exc:
            log.warning("cache write failed", error=repr(exc))
        await self._unlock(key)
        return _raw(body, "miss")

    async def _unlock(self, key: str) -> None:
        assert self._redis is not None
        try:
            await self._redis.delete(f"{key}:lock")
        except (RedisError, OSError) as exc:
            log.warning("cache unlock failed", error=repr(exc))


def _raw(body: bytes | str, status: str, age: int | None = None) -> Response:
    headers = {"X-Cache": status}
    if age is not None:
        headers["Age"] = str(age)
    return Response(body, media_type="application/json", headers=headers)


def _json(model: BaseModel) -> Response:
    return _raw(model.model_dump_json().encode(), "bypass")


def scope_parts(route: str, scope: Any, **extra: Any) -> dict[str, Any]:
    """What identifies an answer: the route, the resolved scope, the other parameters."""
    return {
        "route": route, "start": scope.start, "end": scope.end,
        "platform": scope.platform, "timezone": scope.timezone, **extra,
    }  # fmt: skip
