"""The shared request limiter: quotas per window, counted across replicas through Redis,
on a clock the test moves."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from pulse_shared.http_ratelimit import Limit, RateLimiter, client_address, subject_of_token
from pulse_testing.infra import Infra

T0 = 4_102_444_800.0  # 2100-01-01, the start of a 60 s window


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis(infra: Infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


def prefix() -> str:
    return f"pulse:http-rl:test-{secrets.token_hex(4)}"


def test_a_limit_reads_requests_per_seconds() -> None:
    assert Limit.parse("token", "600/60") == Limit("token", 600, 60)
    assert Limit.parse("token", "600/60").sync_every == 30
    assert Limit.parse("refresh", "1/60").sync_every == 1
    for bad in ("0/60", "10/0", "ten/60", "-1/60"):
        with pytest.raises(ValueError, match="token"):
            Limit.parse("token", bad)


@pytest.mark.integration
async def test_two_replicas_share_one_quota(redis: Redis) -> None:
    clock, key = Clock(), prefix()
    a, b = RateLimiter(redis, key, clock), RateLimiter(redis, key, clock)
    limit = Limit("token", 10, 60)  # syncs on every request
    verdicts = [await (a if n % 2 else b).hit(limit, "s") for n in range(12)]
    assert [v.allowed for v in verdicts] == [True] * 10 + [False] * 2
    refused = verdicts[-1]
    assert refused.reset_s == 60
    assert refused.headers() == {
        "RateLimit-Policy": '"token";q=10;w=60',
        "RateLimit": '"token";r=0;t=60',
        "Retry-After": "60",
    }
    clock.now += 60  # the next window
    assert (await a.hit(limit, "s")).remaining == 9


@pytest.mark.integration
async def test_counts_go_to_redis_in_batches_and_overshoot_is_bounded(redis: Redis) -> None:
    clock, key = Clock(), prefix()
    a, b = RateLimiter(redis, key, clock), RateLimiter(redis, key, clock)
    limit = Limit("address", 200, 60)  # syncs every 10 requests (or every second)
    allowed = 0
    for n in range(400):
        allowed += (await (a if n % 2 else b).hit(limit, "s")).allowed
    # Two replicas, each at most one batch behind the other.
    assert 200 <= allowed <= 200 + 2 * limit.sync_every
    stored = int(await redis.get(f"{key}:address:{int(T0 // 60)}:s") or 0)
    assert stored <= allowed


@pytest.mark.integration
async def test_concurrent_requests_are_counted_once(redis: Redis) -> None:
    """Many requests at once while a sync is in flight: Redis gets each of them once."""
    clock, key = Clock(), prefix()
    limiter = RateLimiter(redis, key, clock)
    limit = Limit("address", 1_000_000, 60)

    async def requests() -> None:
        for _ in range(100):
            assert (await limiter.hit(limit, "s")).allowed
            clock.now += 0.01  # a sync by time every hundred requests or so

    await asyncio.gather(*(requests() for _ in range(32)))
    clock.now += 1.0
    await limiter.hit(limit, "s")  # the last sync
    assert int(await redis.get(f"{key}:address:{int(T0 // 60)}:s") or 0) == 3201


async def test_without_redis_it_counts_locally_and_lets_requests_through() -> None:
    gone = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = RateLimiter(gone, "pulse:http-rl:x", Clock())
    limit = Limit("address", 3, 60)
    assert [(await limiter.hit(limit, "s")).allowed for _ in range(4)] == [True] * 3 + [False]
    await gone.aclose()


def test_the_client_address_comes_from_trusted_proxies_only() -> None:
    forwarded = [(b"x-forwarded-for", b"198.51.100.7, 203.0.113.9")]
    assert client_address("10.0.0.5", forwarded, frozenset()) == "10.0.0.5"
    assert client_address("10.0.0.5", forwarded, frozenset({"10.0.0.5"})) == "203.0.113.9"
    assert client_address("10.0.0.5", [], frozenset({"10.0.0.5"})) == "10.0.0.5"
    assert client_address(None, forwarded, frozenset()) == "unknown"
    cluster = frozenset({"10.0.0.0/8"})
    assert client_address("10.1.2.3", forwarded, cluster) == "203.0.113.9"
    assert client_address("192.0.2.1", forwarded, cluster) == "192.0.2.1"


def test_a_token_is_kept_only_as_a_digest() -> None:
    subject = subject_of_token("eyJ.secret.token")
    assert "secret" not in subject
    assert subject == subject_of_token("eyJ.secret.token")
    assert len(subject) == 32
