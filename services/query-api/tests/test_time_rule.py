"""One rule for time, in every answer of query-api: instants (published, fetched, data as
of, observed, connected, synced) are ISO 8601 UTC ending in ``Z``; dates are the business's
local ones; every answer names the business's time zone. Checked over every GET route of
the API, for a business in Tokyo whose data came through the aggregator's writer."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from pulse_aggregator.records import EventBatch
from pulse_aggregator.writer import PostgresAnalyticsWriter, prepare_connection
from pulse_shared.db import asyncpg_dsn
from pulse_shared.events import (
    PLATFORMS,
    AccountObserved,
    MetricsObserved,
    PostMetrics,
    PostPublished,
)
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra
from pulse_testing.processes import QUERY_API_NOW, ServiceProcess

pytestmark = pytest.mark.integration

ZONE = "Asia/Tokyo"
INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
# Anything that looks like a moment: a date followed by a time, in any spelling.
MOMENT_LIKE = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
LOCAL_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def timezones(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["timezone"]} if isinstance(value.get("timezone"), str) else set()
        return found.union(*(timezones(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(timezones(v) for v in value))
    return set()


@pytest.fixture(scope="module")
async def business(infra: Infra) -> dict[str, Any]:
    """Two posts and an account, written as the aggregator writes them, in Tokyo."""
    b = secrets.randbelow(2**40) + 10**13
    published = QUERY_API_NOW - timedelta(days=3)
    posts = [
        PostPublished(business_id=b, platform=p, platform_post_id=f"{p}-{b}",
                      account_id=f"account-{p}", published_at=published + timedelta(hours=i),
                      content="a post", content_type="text")
        for i, p in enumerate(PLATFORMS[:2])
    ]  # fmt: skip
    readings = [
        MetricsObserved(business_id=b, platform=p.platform, platform_post_id=p.platform_post_id,
                        observed_at=published + timedelta(hours=5, microseconds=123456),
                        source="poll",
                        metrics=PostMetrics(likes=4, comments=1, shares=1, impressions=300))
        for p in posts
    ]  # fmt: skip
    followers = AccountObserved(business_id=b, platform="linkedin", account_id="account-linkedin",
                                observed_at=published, followers=900)  # fmt: skip
    pool = await asyncpg.create_pool(
        asyncpg_dsn(infra.database_url), min_size=1, max_size=1, init=prepare_connection
    )
    try:
        writer = PostgresAnalyticsWriter(pool)
        await writer.write(EventBatch.of([*posts, *readings, followers]))
        await writer.refresh_summaries()
        async with pool.acquire() as conn:
            await set_business_timezone(conn, b, ZONE)
            post_id = await conn.fetchval(
                "SELECT id FROM published_posts WHERE business_id = $1 ORDER BY id LIMIT 1", b
            )
    finally:
        await pool.close()
    _, token = await infra.token_for(b)
    return {"id": b, "token": token, "post_id": post_id}


ROUTES = [
    ("overview", {}), ("top-posts", {}), ("best-times", {}), ("trends", {}),
    ("trends", {"period": "weekly", "basis": "activity"}), ("platform-comparison", {}),
    ("summaries", {"period_type": "daily"}), ("content-performance", {}), ("accounts", {}),
    ("calendar", {}), ("export", {"format": "json"}), ("export", {"format": "json", "rows": "day"}),
    ("posts/{post_id}", {}),
]  # fmt: skip


@pytest.mark.parametrize(("route", "params"), ROUTES, ids=[f"{r}{p}" for r, p in ROUTES])
async def test_every_instant_is_utc_with_z_and_every_answer_names_the_zone(
    route: str, params: dict[str, str], business: dict[str, Any], query_api: ServiceProcess
) -> None:
    path = route.format(post_id=business["post_id"])
    query = {} if route.startswith("posts/") else {"business_id": str(business["id"]), **params}
    async with httpx.AsyncClient(base_url=query_api.url, timeout=30) as client:
        response = await client.get(
            f"/api/v1/analytics/{path}", params=query,
            headers={"Authorization": f"Bearer {business['token']}"},
        )  # fmt: skip
    assert response.status_code == 200, response.text
    answer = json.loads(response.content)
    moments = [(p, s) for p, s in strings(answer) if MOMENT_LIKE.search(s)]
    wrong = [(p, s) for p, s in moments if not INSTANT.match(s)]
    assert not wrong, wrong[:5]
    assert timezones(answer) == {ZONE}, f"{route}: names {timezones(answer) or 'no time zone'}"
    if route in ("overview", "trends", "export"):
        assert moments or route == "export", "no instant to check"
    for p, s in strings(answer):
        if p.endswith(("start_date", "end_date", "period_start", "period_end", ".today", ".date")):
            assert LOCAL_DATE.match(s), (p, s)
