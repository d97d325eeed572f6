"""Issue 13, item 1: no request starts work without end. Dates outside 2000-01-01 .. a year
past today are refused with a 422 naming the field before any analytics query runs (year 1
and year 9999 reach PostgreSQL as -infinity and infinity, and a day series between them
never ends)."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import httpx
import pytest

from pulse_shared.db import asyncpg_dsn
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess
from pulse_testing.waiting import eventually

pytestmark = pytest.mark.integration

PERIOD_ENDPOINTS = (
    "overview", "trends", "platform-comparison", "top-posts", "content-performance",
    "summaries", "export",
)  # fmt: skip
# The session's query-api holds its clock at 19 Nov 2026 (UTC): a year ahead is 20 Nov 2027.
OUT_OF_WINDOW = {
    "start_date": ["0001-01-01", "1999-12-31", "2027-11-21", "9999-12-31"],
    "end_date": ["0001-01-05", "1999-12-31", "2027-11-21", "9999-12-31"],
}
NOT_A_DAY = ["0.0", "1", "1700000000", "2026-11-19T00:00:00", "20261119", "2026-13-01"]


@pytest.fixture(scope="module")
async def member(infra: Infra) -> tuple[int, dict[str, str]]:
    business = secrets.randbelow(2**62) + 10**12
    _, token = await infra.token_for(business)
    return business, {"Authorization": f"Bearer {token}"}


async def test_days_outside_the_window_are_refused_naming_the_field(
    query_api: ServiceProcess, member: tuple[int, dict[str, str]]
) -> None:
    business, headers = member
    async with httpx.AsyncClient(base_url=query_api.url, headers=headers, timeout=30) as client:
        for path in PERIOD_ENDPOINTS:
            for field, days in OUT_OF_WINDOW.items():
                for day in days:
                    response = await client.get(
                        f"/api/v1/analytics/{path}", params={"business_id": business, field: day}
                    )
                    assert response.status_code == 422, (path, field, day, response.text)
                    detail = response.json()["detail"][0]
                    assert detail["loc"] == ["query", field], (path, field, day)
                    assert "between 2000-01-01 and 2027-11-20" in detail["msg"]
        for inside in ({"start_date": "2000-01-01", "end_date": "2000-01-31"},
                       {"start_date": "2027-11-01", "end_date": "2027-11-20"}):  # fmt: skip
            response = await client.get(
                "/api/v1/analytics/trends", params={"business_id": business, **inside}
            )
            assert response.status_code == 200, (inside, response.text)


async def test_a_day_must_be_written_as_a_date(
    query_api: ServiceProcess, member: tuple[int, dict[str, str]]
) -> None:
    business, headers = member
    async with httpx.AsyncClient(base_url=query_api.url, headers=headers, timeout=30) as client:
        for field in ("start_date", "end_date"):
            for value in NOT_A_DAY:
                response = await client.get(
                    "/api/v1/analytics/overview", params={"business_id": business, field: value}
                )
                assert response.status_code == 422, (field, value, response.text)
                assert response.json()["detail"][0]["loc"] == ["query", field], (field, value)


# query-api's backends (it connects as the reader role) waiting for a lock on the table.
# pg_locks, not pg_stat_activity's wait events, which it hides from other roles; asked on a
# connection of its own, since a transaction sees pg_stat_activity as it first read it.
READERS_WAITING = """
SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE NOT l.granted AND l.relation = 'analytics_summaries'::regclass AND a.usename = $1
"""


async def test_a_request_whose_client_left_stops_its_query(
    infra: Infra, query_api: ServiceProcess, member: tuple[int, dict[str, str]]
) -> None:
    """The test holds a lock that the overview's queries wait for, asks for an overview,
    and hangs up while they wait: they must be cancelled, lock or no lock."""
    business, headers = member
    reader = infra.reader_database_url.split("//", 1)[1].split(":", 1)[0]
    owner = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    watch = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    try:
        async with owner.transaction():
            await owner.execute("LOCK TABLE analytics_summaries IN ACCESS EXCLUSIVE MODE")
            host, port = query_api.url.removeprefix("http://").split(":")
            _, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                f"GET /api/v1/analytics/overview?business_id={business}&start_date=2026-01-01"
                f" HTTP/1.1\r\nHost: {host}\r\nAuthorization: {headers['Authorization']}"
                "\r\n\r\n".encode()
            )
            await writer.drain()

            async def waiting() -> bool:
                return bool(await watch.fetchval(READERS_WAITING, reader))

            await eventually(waiting, timeout=60, interval=0.05)
            writer.close()
            await writer.wait_closed()

            async def cancelled() -> bool:
                return "client left: request cancelled" in query_api.log()

            # Cancelled for the client (the role's statement timeout is only the backstop).
            await eventually(cancelled, timeout=60, interval=0.05)

            async def stopped() -> bool:
                return not await watch.fetchval(READERS_WAITING, reader)

            await eventually(stopped, timeout=60, interval=0.05)
    finally:
        await owner.close()
        await watch.close()
