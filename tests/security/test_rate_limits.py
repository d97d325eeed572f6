"""Issue 13, item 4: every endpoint is rate limited, per bearer token and per client address
(the address from X-Forwarded-For only when the peer is a trusted proxy: the dashboard's
server), refused sign-ins per address, and a business's refresh once per window. Limits
live in Redis, so replicas share them; with Redis away reads fail open and refresh closed.

Each test runs query-api processes of its own, with small limits and a key prefix of their
own (a topic prefix), so no other test's requests count against them.

A window is fixed, aligned to the epoch and read on the service's wall clock
(pulse_shared.http_ratelimit): a minute's window would turn under a test that runs across
the minute's end and start its counts over. So the windows here are WINDOW_S long, the next
of which begins in 2033: none turns while a test runs (how one turns is tested on a clock of
the test's own, shared/tests/test_http_ratelimit.py), and the counts are deleted after."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from redis.asyncio import Redis

from pulse_shared.http_ratelimit import key_prefix
from pulse_shared.kafka import ensure_topics
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, start_service

pytestmark = pytest.mark.integration

OVERVIEW = "/api/v1/analytics/calendar"  # the cheapest authenticated read
REFRESH = "/api/v1/analytics/refresh"
WINDOW_S = 10**9


def per_window(quota: int) -> str:
    """A limit setting: ``quota`` requests per window."""
    return f"{quota}/{WINDOW_S}"


async def forget_counts(infra: Infra, prefix: str) -> None:
    """Delete the counts and claims of the services using ``prefix`` (they would live for
    two windows)."""
    redis = Redis.from_url(infra.redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{key_prefix(prefix)}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
async def limited(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Callable[..., ServiceProcess]]:
    """Starts query-api processes sharing one fresh key prefix, with the given settings."""
    prefix = f"{infra.topic_prefix}rl-{secrets.token_hex(3)}."
    await ensure_topics(infra.kafka, prefix)
    started: list[ServiceProcess] = []

    def start(**settings: str) -> ServiceProcess:
        defaults = {
            "PULSE_DATABASE_URL": infra.reader_database_url, "PULSE_TOPIC_PREFIX": prefix,
            "PULSE_RATE_LIMIT_ADDRESS": "1000/60", "PULSE_RATE_LIMIT_TOKEN": "1000/60",
            "PULSE_RATE_LIMIT_AUTH_FAILURES": "1000/60", "PULSE_REFRESH_WINDOW_S": str(WINDOW_S),
        }  # fmt: skip
        env = infra.env(**{**defaults, **settings})
        service = start_service("query-api-limited", "pulse_query_api.app:app", env,
                                str(tmp_path_factory.mktemp("logs")))  # fmt: skip
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
    await forget_counts(infra, prefix)


async def member(infra: Infra) -> tuple[int, dict[str, str]]:
    business = secrets.randbelow(2**62) + 10**12
    _, token = await infra.token_for(business)
    return business, {"Authorization": f"Bearer {token}"}


def assert_refused(response: httpx.Response, name: str, quota: int) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-policy"] == f'"{name}";q={quota};w={WINDOW_S}'
    assert response.headers["ratelimit"].startswith(f'"{name}";r=0;t=')


async def test_a_token_gets_its_quota_then_429_on_every_replica(
    infra: Infra, limited: Callable[..., ServiceProcess]
) -> None:
    first = await asyncio.to_thread(limited, PULSE_RATE_LIMIT_TOKEN=per_window(20))
    second = await asyncio.to_thread(limited, PULSE_RATE_LIMIT_TOKEN=per_window(20))
    business, headers = await member(infra)
    statuses = []
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        for n in range(30):
            service = (first, second)[n % 2]
            response = await client.get(service.url + OVERVIEW, params={"business_id": business})
            statuses.append(response.status_code)
        assert statuses == [200] * 20 + [429] * 10
        assert_refused(response, "token", 20)
        _, other = await member(infra)  # another token from the same address is unaffected
        fresh = await client.get(first.url + OVERVIEW, params={"business_id": business},
                                 headers=other)  # fmt: skip
        assert fresh.status_code == 404  # not its business, but not refused


async def test_an_address_is_limited_and_forwarded_addresses_count_only_from_a_trusted_proxy(
    infra: Infra, limited: Callable[..., ServiceProcess]
) -> None:
    trusting = await asyncio.to_thread(
        limited, PULSE_RATE_LIMIT_ADDRESS=per_window(10), PULSE_TRUSTED_PROXIES='["127.0.0.1"]'
    )
    business, headers = await member(infra)
    async with httpx.AsyncClient(base_url=trusting.url, headers=headers, timeout=30) as client:

        async def call(address: str) -> int:
            forwarded = {"X-Forwarded-For": address}
            response = await client.get(OVERVIEW, params={"business_id": business},
                                        headers=forwarded)  # fmt: skip
            return response.status_code

        assert [await call("198.51.100.1") for _ in range(12)] == [200] * 10 + [429] * 2
        assert await call("198.51.100.2") == 200  # another client behind the proxy
    untrusting = await asyncio.to_thread(limited, PULSE_RATE_LIMIT_ADDRESS=per_window(10))
    async with httpx.AsyncClient(base_url=untrusting.url, headers=headers, timeout=30) as client:
        responses = [
            await client.get(OVERVIEW, params={"business_id": business},
                             headers={"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(12)
        ]  # fmt: skip
        statuses = [r.status_code for r in responses]
    assert statuses == [200] * 10 + [429] * 2  # a forged header buys nothing


async def test_bad_tokens_from_an_address_are_refused_after_a_few(
    infra: Infra, limited: Callable[..., ServiceProcess]
) -> None:
    service = await asyncio.to_thread(limited, PULSE_RATE_LIMIT_AUTH_FAILURES=per_window(5))
    business, headers = await member(infra)
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        guesses = [
            (await client.get(OVERVIEW, params={"business_id": business},
                              headers={"Authorization": f"Bearer guess-{n}"})).status_code
            for n in range(8)
        ]  # fmt: skip
        assert guesses == [401] * 5 + [429] * 3
        # The address is refused until the window ends, even with a valid token.
        valid = await client.get(OVERVIEW, params={"business_id": business}, headers=headers)
        assert_refused(valid, "auth-failures", 5)


async def test_a_repeated_refresh_is_the_one_under_way(
    infra: Infra, limited: Callable[..., ServiceProcess]
) -> None:
    first, second = [await asyncio.to_thread(limited) for _ in range(2)]
    business, headers = await member(infra)
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        answers = [
            await client.post(service.url + REFRESH, json={"business_id": business})
            for service in (first, second, first)
        ]
    assert [a.status_code for a in answers] == [202, 202, 202]
    ids = {a.json()["request_id"] for a in answers}
    assert len(ids) == 1
    assert [a.json()["repeated"] for a in answers] == [False, True, True]


async def test_with_redis_away_reads_pass_and_refresh_is_refused(
    infra: Infra, limited: Callable[..., ServiceProcess]
) -> None:
    service = await asyncio.to_thread(
        limited, PULSE_REDIS_URL="redis://127.0.0.1:1/0", PULSE_RATE_LIMIT_TOKEN=per_window(3)
    )
    business, headers = await member(infra)
    async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=30) as client:
        refresh = await client.post(REFRESH, json={"business_id": business})
        reads = [
            (await client.get(OVERVIEW, params={"business_id": business})).status_code
            for _ in range(3)
        ]
    assert reads == [200, 200, 429]  # the refresh and two reads: counted locally meanwhile
    assert refresh.status_code == 503
    assert "limiter" in refresh.json()["detail"]


async def test_webhooks_are_limited_per_source_address(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> None:
    prefix = f"{infra.topic_prefix}rl-{secrets.token_hex(3)}."
    await ensure_topics(infra.kafka, prefix)
    env = infra.env(
        PULSE_TOPIC_PREFIX=prefix, PULSE_DATABASE_URL=infra.ingest_database_url,
        PULSE_API_BASE_URL="http://127.0.0.1:9", PULSE_WEBHOOK_SECRET="x-consumer-secret",
        PULSE_RATE_LIMIT_WEBHOOKS=per_window(5),
    )  # fmt: skip
    service = await asyncio.to_thread(
        start_service, "ingest-twitter-limited", "pulse_ingest_twitter.app:app", env,
        str(tmp_path_factory.mktemp("logs")), "/readyz",
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            crc = {"crc_token": "M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0"}
            handshakes = [(await client.get("/webhooks", params=crc)).status_code
                          for _ in range(4)]  # fmt: skip
            deliveries = [(await client.post("/webhooks", content=b"{}")).status_code
                           for _ in range(2)]  # fmt: skip
            # The connect routes count in the same budget (a member's token is not asked
            # for before the address's limit).
            connect = await client.post("/connect/authorize", json={"business_id": 1})
            health = await client.get("/healthz")
        assert handshakes == [200] * 4
        assert deliveries == [401, 429]  # one left for an unsigned delivery, then refused
        assert connect.status_code == 429
        assert health.status_code == 200  # the orchestrator's probes are not limited
    finally:
        service.stop()
        await forget_counts(infra, prefix)
