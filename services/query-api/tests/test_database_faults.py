"""query-api at the edge of a database outage, against a PostgreSQL server of this module's own
(pulse_testing.processes.throwaway_postgres), stopped and started for real: the requests in
flight at a shutdown and those during the outage are answered 503 with Retry-After, never
500 or a dropped connection; a computation that failed leaves no lock behind in Redis; while
the server is away a member still reads the answers already cached, told so and how old they
are, and a removed member reads nothing."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from functools import partial

import asyncpg
import httpx
import jwt
import pytest
from redis.asyncio import Redis

from pulse_query_api.membership import forget_membership, membership_key
from pulse_shared.auth import mint_dev_token
from pulse_shared.db import asyncpg_dsn
from pulse_shared.permissions import READER_ROLE
from pulse_testing.infra import Infra
from pulse_testing.processes import (
    QUERY_API_NOW,
    ServiceProcess,
    ThrowawayPostgres,
    start_service,
    throwaway_postgres,
)
from pulse_testing.waiting import eventually

pytestmark = pytest.mark.integration

OVERVIEW = "/api/v1/analytics/overview"


# The reader role's statement timeout on this server: short, so a query held behind a
# lock fails within the test (the reader's connections take it when they open).
STATEMENT_TIMEOUT = "1s"


@pytest.fixture(scope="module")
def pg() -> Iterator[ThrowawayPostgres]:
    with throwaway_postgres() as server:
        asyncio.run(_set_reader_timeout(server))
        yield server


async def _set_reader_timeout(server: ThrowawayPostgres) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server.superuser_url))
    try:
        await conn.execute(
            f"ALTER ROLE {READER_ROLE} SET statement_timeout = '{STATEMENT_TIMEOUT}'"
        )
    finally:
        await conn.close()


def _query_api(
    infra: Infra, pg: ThrowawayPostgres, logs: str, name: str, **env: str
) -> ServiceProcess:
    return start_service(
        name, "pulse_query_api.app:app",
        infra.env(PULSE_DATABASE_URL=pg.reader_url, PULSE_CLOCK_AT=QUERY_API_NOW.isoformat(),
                  **env),
        logs,
    )  # fmt: skip


@pytest.fixture(scope="module")
def uncached(
    infra: Infra, pg: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """Every request a computation: each one reaches the database."""
    logs = str(tmp_path_factory.mktemp("logs"))
    service = _query_api(infra, pg, logs, "query-api-uncached", PULSE_CACHE_ENABLED="false")
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def cached(
    infra: Infra, pg: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    service = _query_api(infra, pg, str(tmp_path_factory.mktemp("logs")), "query-api-cached")
    try:
        yield service
    finally:
        service.stop()


async def member_token(infra: Infra, pg: ThrowawayPostgres) -> tuple[int, str]:
    business, user = secrets.randbelow(2**40) + 1, f"faults-{secrets.token_hex(4)}@test"
    conn = await asyncpg.connect(asyncpg_dsn(pg.app_url))
    try:
        await conn.execute("INSERT INTO businesses (id) VALUES ($1)", business)
        await conn.execute(
            "INSERT INTO business_members (business_id, user_id, role) VALUES ($1, $2, 'owner')",
            business,
            user,
        )
    finally:
        await conn.close()
    return business, mint_dev_token(infra.jwt_secret, user)


async def answered(pg: ThrowawayPostgres, service: ServiceProcess, params: dict[str, str],
                   token: str) -> bool:  # fmt: skip
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        response = await client.get(
            OVERVIEW, params=params, headers={"Authorization": f"Bearer {token}"}
        )
    return response.status_code == 200


async def test_requests_at_a_shutdown_and_during_the_outage_get_503_never_500(
    infra: Infra, pg: ThrowawayPostgres, uncached: ServiceProcess
) -> None:
    business, token = await member_token(infra, pg)
    headers = {"Authorization": f"Bearer {token}"}
    outcomes: list[str] = []
    stop = asyncio.Event()

    async def client_loop(index: int) -> None:
        async with httpx.AsyncClient(base_url=uncached.url, timeout=30) as client:
            day = 0
            while not stop.is_set():
                day = (day + 1) % 28
                params = {"business_id": str(business), "start_date": f"2026-10-{day + 1:02d}",
                          "end_date": "2026-11-19"}  # fmt: skip
                try:
                    r = await client.get(OVERVIEW, params=params, headers=headers)
                except httpx.TransportError as exc:
                    outcomes.append(f"dropped: {exc!r}")
                    continue
                if r.status_code == 200:
                    outcomes.append("200")
                elif r.status_code == 503 and r.headers.get("retry-after"):
                    outcomes.append("503")
                else:
                    outcomes.append(f"{r.status_code}: {r.text[:200]}")

    loops = [asyncio.create_task(client_loop(i)) for i in range(8)]
    try:
        await eventually(lambda: asyncio.sleep(0, outcomes.count("200") or None), timeout=30)
        started = len(outcomes)
        await eventually(lambda: asyncio.sleep(0, len(outcomes) > started + 40), timeout=60)
        await asyncio.to_thread(pg.stop)  # a fast shutdown, the requests still coming
        stopped = len(outcomes)
        await eventually(lambda: asyncio.sleep(0, len(outcomes) > stopped + 40), timeout=60)
    finally:
        stop.set()
        await asyncio.gather(*loops)
        await asyncio.to_thread(pg.start)
    wrong = [o for o in outcomes if o not in ("200", "503")]
    assert not wrong, wrong[:5]
    assert set(outcomes) == {"200", "503"}
    params = {"business_id": str(business)}
    await eventually(lambda: answered(pg, uncached, params, token), timeout=60)


async def test_a_computation_that_failed_leaves_no_lock_behind(
    infra: Infra, pg: ThrowawayPostgres, cached: ServiceProcess
) -> None:
    """The summaries held behind a lock: the membership lookup answers, the computation
    runs into the statement timeout (503, as a database that cannot answer now), and the
    Redis lock it took is gone with it, so the next identical question computes at once."""
    business, token = await member_token(infra, pg)
    params = {"business_id": str(business), "start_date": "2026-11-01", "end_date": "2026-11-19"}
    redis = Redis.from_url(infra.redis_url)
    holder = await asyncpg.connect(asyncpg_dsn(pg.app_url))
    try:
        async with holder.transaction():
            await holder.execute("LOCK TABLE analytics_summaries IN ACCESS EXCLUSIVE MODE")
            async with httpx.AsyncClient(base_url=cached.url, timeout=30) as client:
                failed = await client.get(
                    OVERVIEW, params=params, headers={"Authorization": f"Bearer {token}"}
                )
            assert failed.status_code == 503, failed.text
            assert failed.headers["retry-after"]
            locks = [k async for k in redis.scan_iter(match=f"pulse:answer:{business}:*:lock")]
            assert locks == []
    finally:
        await holder.close()
        await redis.aclose()
    assert await answered(pg, cached, params, token)


async def test_during_an_outage_members_read_cached_answers_saying_so_removed_ones_nothing(
    infra: Infra, pg: ThrowawayPostgres, cached: ServiceProcess
) -> None:
    business, token = await member_token(infra, pg)
    others = [f"faults-{secrets.token_hex(4)}@test" for _ in range(2)]
    conn = await asyncpg.connect(asyncpg_dsn(pg.app_url))
    try:
        for user in others:
            await conn.execute(
                "INSERT INTO business_members (business_id, user_id, role) "
                "VALUES ($1, $2, 'owner')",
                business, user,
            )  # fmt: skip
    finally:
        await conn.close()
    noticed, told = (mint_dev_token(infra.jwt_secret, user) for user in others)
    params = {"business_id": str(business), "start_date": "2026-11-01", "end_date": "2026-11-19"}
    redis = Redis.from_url(infra.redis_url)

    async def get(token: str, **extra: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=cached.url, timeout=30) as client:
            return await client.get(
                OVERVIEW, params={**params, **extra}, headers={"Authorization": f"Bearer {token}"}
            )

    try:
        # Each member confirmed by PostgreSQL, which query-api remembers for an outage; asked
        # about Twitter, so the answer read during the outage is computed only just before
        # it (an answer is cached for 60 s: pulse_query_api.cache.TTL_S).
        for t in (token, noticed, told):
            assert (await get(t, platform="twitter")).status_code == 200
        for user in [*others, _user_of(token)]:  # remembered off the requests' path
            key = membership_key(business, user)
            await eventually(partial(_present, redis, key), timeout=30)
        # Two members removed: one asks once more while PostgreSQL answers (404, and
        # query-api forgets it), the other's removal forgets it itself.
        conn = await asyncpg.connect(asyncpg_dsn(pg.app_url))
        try:
            await conn.execute("DELETE FROM business_members WHERE user_id = ANY($1)", others)
        finally:
            await conn.close()
        assert (await get(noticed)).status_code == 404
        await forget_membership(redis, business, others[1])
        await eventually(lambda: _gone(redis, membership_key(business, others[0])), timeout=30)

        assert (await get(token)).headers["x-cache"] == "miss"
        hit = await get(token)
        assert hit.headers["x-cache"] == "hit"
        assert 0 <= int(hit.headers["age"]) <= 60
        await asyncio.to_thread(pg.stop)
        try:
            during = await get(token)
            assert during.status_code == 200, during.text
            assert during.json() == hit.json()
            assert during.headers["x-pulse-database"] == "unreachable"
            assert int(during.headers["age"]) >= int(hit.headers["age"])
            uncached = await get(token, platform="linkedin")  # never computed: not served
            assert uncached.status_code == 503
            for removed in (noticed, told):
                refused = await get(removed)
                assert refused.status_code == 503, refused.text
                assert "x-pulse-database" not in refused.headers
        finally:
            await asyncio.to_thread(pg.start)
    finally:
        await redis.aclose()
    after = await get(token)
    assert after.status_code == 200
    assert "x-pulse-database" not in after.headers


def _user_of(token: str) -> str:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return str(claims["sub"])


async def _gone(redis: Redis, key: str) -> bool:
    return not await redis.exists(key)


async def _present(redis: Redis, key: str) -> bool:
    return bool(await redis.exists(key))
