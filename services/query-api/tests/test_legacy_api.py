"""The original API's paths over HTTP: each redirects (307) to where the original design
sent it, the query string kept and `days` mapped onto the successor's parameters. The
business is in Berlin, where the session's clock (19 Nov 23:30 UTC) is already 20 Nov."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
import httpx
import pytest

from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

TARGETS = {
    "overview": "overview", "content": "top-posts", "platforms": "platform-comparison",
    "trends": "trends", "insights": "best-times",
}  # fmt: skip


@pytest.fixture
async def business(infra: Infra, db: asyncpg.Connection) -> dict[str, Any]:
    b = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", b)
    await set_business_timezone(db, b, "Europe/Berlin")
    _, token = await infra.token_for(b)
    return {"id": b, "token": token}


async def _get(
    query_api: ServiceProcess, token: str | None, path: str, follow: bool, params: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(
        base_url=query_api.url, headers=headers, follow_redirects=follow
    ) as client:
        return await client.get(f"/api/v1/analytics/{path}", params=params)


async def legacy(
    query_api: ServiceProcess, token: str | None, path: str, **params: Any
) -> httpx.Response:
    return await _get(query_api, token, path, False, params)


async def redirected(
    query_api: ServiceProcess, token: str, path: str, **params: Any
) -> httpx.Response:
    """The answer at the end of the redirect."""
    return await _get(query_api, token, path, True, params)


async def test_each_path_goes_where_the_design_sent_it_keeping_the_query(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    b = business["id"]
    for old, target in TARGETS.items():
        response = await legacy(
            query_api, business["token"], f"{old}/{b}", start_date="2026-10-01",
            platform="twitter", business_id=1,  # the path's business wins
        )  # fmt: skip
        assert response.status_code == 307, (old, response.text)
        assert response.headers["location"] == (
            f"/api/v1/analytics/{target}?business_id={b}&start_date=2026-10-01&platform=twitter"
        )


async def test_days_becomes_the_local_period_ending_today(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    b, token = business["id"], business["token"]
    for old in ("overview", "content", "platforms", "trends"):
        response = await legacy(query_api, token, f"{old}/{b}", days=7, platform="linkedin")
        assert response.status_code == 307, (old, response.text)
        # Berlin's today is 20 Nov: the 7 days are 14-20 Nov, not 13-19 (UTC's).
        assert response.headers["location"] == (
            f"/api/v1/analytics/{TARGETS[old]}?business_id={b}&platform=linkedin"
            "&start_date=2026-11-14&end_date=2026-11-20"
        )
    one = await legacy(query_api, token, f"content/{b}", days=1)
    assert one.headers["location"].endswith("start_date=2026-11-20&end_date=2026-11-20")

    answer = await redirected(query_api, token, f"content/{b}", days=7, limit=100)
    assert answer.status_code == 200, answer.text
    assert answer.json()["period"] == {
        "start_date": "2026-11-14", "end_date": "2026-11-20", "timezone": "Europe/Berlin",
    }  # fmt: skip
    assert answer.json()["metric"] == "engagement_rate"


async def test_insights_days_is_best_times_days(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    b, token = business["id"], business["token"]
    response = await legacy(query_api, token, f"insights/{b}", days=60)
    assert response.status_code == 307, response.text
    assert response.headers["location"] == f"/api/v1/analytics/best-times?business_id={b}&days=60"
    answer = await redirected(query_api, token, f"insights/{b}", days=60)
    assert answer.status_code == 200, answer.text
    # The 60 local days up to Berlin's today, 20 Nov: from 22 Sept.
    assert answer.json()["period"]["start_date"] == "2026-09-22"
    assert answer.json()["period"]["end_date"] == "2026-11-20"


async def test_bad_days_are_refused_naming_days(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    b, token = business["id"], business["token"]
    for old in TARGETS:
        for bad in ("0", "-1", "367", "seven", "7.0", ""):
            response = await legacy(query_api, token, f"{old}/{b}", days=bad)
            assert response.status_code == 422, (old, bad, response.text)
            assert response.json()["detail"][0]["loc"] == ["query", "days"], (old, bad)
    for old in ("overview", "content", "platforms", "trends"):
        for period in ({"start_date": "2026-11-01"}, {"end_date": "2026-11-10"}):
            response = await legacy(query_api, token, f"{old}/{b}", days=7, **period)
            assert response.status_code == 422, (old, response.text)
            assert response.json()["detail"][0] == {
                "loc": ["query", "days"], "type": "value_error", "input": 7,
                "msg": "days cannot be combined with start_date or end_date",
            }  # fmt: skip


async def test_another_business_is_not_found_and_a_token_is_needed(
    infra: Infra, query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    b = business["id"]
    _, stranger = await infra.token_for(b + 1)
    for old in TARGETS:
        other = await legacy(query_api, stranger, f"{old}/{b}", days=30)
        assert other.status_code == 404, (old, other.text)
        assert other.json()["detail"] == f"business {b} not found"
        assert (await legacy(query_api, None, f"{old}/{b}")).status_code == 401
        for bad_id in ("0", "-3", "abc", str(2**63)):
            response = await legacy(query_api, business["token"], f"{old}/{bad_id}")
            assert response.status_code == 422, (old, bad_id, response.text)
            assert response.json()["detail"][0]["loc"] == ["path", "business_id"]
