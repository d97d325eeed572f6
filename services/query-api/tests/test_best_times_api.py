"""GET /api/v1/analytics/best-times over HTTP against the session's query-api: the answer is
the pure model's (pulse_query_api.best_times) on the SQL's evidence, for the period asked.

A business in Europe/Berlin; query-api's today there is 2026-11-20 (conftest). November:
a planted Tuesday 09:00 slot, noise, a lucky Thursday post. October: a Friday 15:00
pattern that only a period including October may see."""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from pulse_query_api import best_times as model
from pulse_shared import formulas
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

BERLIN = ZoneInfo("Europe/Berlin")
IMPRESSIONS = 1000
NOVEMBER = {"start_date": "2026-11-02", "end_date": "2026-11-20"}
OCTOBER = {"start_date": "2026-10-01", "end_date": "2026-10-31"}
# (local time, likes per 1,000 impressions)
Post = tuple[datetime, int]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def weekdays(first: date, last: date, weekday: int) -> list[date]:
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return [d for d in days if d.weekday() == weekday]


def planted_posts() -> list[Post]:
    r = random.Random(15)
    nov = [date(2026, 11, 2) + timedelta(days=i) for i in range(19)]
    posts = [(local(r.choice(nov), r.randrange(8, 21), r.randrange(60)), r.randrange(15, 31))
             for _ in range(40)]  # fmt: skip
    posts += [(local(d, 9, m), 60) for d in weekdays(nov[0], nov[-1], 1) for m in (10, 40)]
    thursday = date(2026, 11, 12)
    posts += [(local(thursday, 20, 5), 400)]  # 40 %: lucky
    posts += [(local(thursday, h, 30), 20) for h in (19, 19, 21, 21)]
    october = [date(2026, 10, 1) + timedelta(days=i) for i in range(31)]
    posts += [(local(r.choice(october), r.randrange(8, 21), 30), r.randrange(15, 31))
              for _ in range(40)]  # fmt: skip
    posts += [(local(d, 15, m), 80) for d in weekdays(october[0], october[-1], 4) for m in (5, 35)]
    return posts


async def publish(db: asyncpg.Connection, business: int, at: datetime, likes: int) -> None:
    post_id: int = await db.fetchval(
        """INSERT INTO published_posts (business_id, platform, platform_post_id, account_id,
               content_type, published_at, event_id)
           VALUES ($1, 'linkedin', $2, 'acct', 'text', $3, $4) RETURNING id""",
        business, uuid.uuid4().hex, at.astimezone(UTC), uuid.uuid4(),
    )  # fmt: skip
    await db.execute(
        """INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id,
               likes_count, comments_count, shares_count, impressions, engagement_rate,
               click_through_rate, fetched_at)
           SELECT business_id, id, platform, platform_post_id, $3, 0, 0, $4, $5, 0, now()
           FROM published_posts WHERE business_id = $1 AND id = $2""",
        business, post_id, likes, IMPRESSIONS,
        formulas.engagement_rate(likes, 0, 0, IMPRESSIONS),
    )  # fmt: skip


async def new_business(infra: Infra, db: asyncpg.Connection, posts: list[Post]) -> dict[str, Any]:
    b = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", b)
    for at, likes in posts:
        await publish(db, b, at, likes)
    await set_business_timezone(db, b, "Europe/Berlin")
    _, token = await infra.token_for(b)
    return {"id": b, "token": token}


def expected(posts: list[Post], start_date: str, end_date: str) -> dict[str, Any]:
    """The model's answer on the posts published in [start_date, end_date], local days."""
    inside = [
        (at.weekday(), at.hour, formulas.engagement_rate(likes, 0, 0, IMPRESSIONS))
        for at, likes in posts
        if date.fromisoformat(start_date) <= at.date() <= date.fromisoformat(end_date)
    ]
    return model.estimate(model.slots_from_posts(inside))


async def best_times(
    business: dict[str, Any], token: str | None = None, **params: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or business['token']}"}
    async with httpx.AsyncClient(headers=headers) as client:
        return await client.get(
            f"{business['url']}/api/v1/analytics/best-times",
            params={"business_id": business["id"], **params},
        )


@pytest.fixture
async def business(
    infra: Infra, query_api: ServiceProcess, db: asyncpg.Connection
) -> dict[str, Any]:
    return {**await new_business(infra, db, planted_posts()), "url": query_api.url}


def assert_model_answer(body: dict[str, Any], want: dict[str, Any]) -> None:
    """The API's answer is the model's, to the rounding of sums made in another order."""
    for key in ("recommendations", "best_day", "best_hour", "confidence_score",
                "posts_considered", "posts_needed", "message", "min_window_posts"):  # fmt: skip
        assert body[key] == want[key], key
    for key in ("by_day", "by_hour", "by_slot"):
        assert len(body[key]) == len(want[key])
        for got, cell in zip(body[key], want[key], strict=True):
            assert {**got, "score": 0} == {**cell, "score": 0}, key
            assert got["score"] == pytest.approx(cell["score"], abs=0.011), (key, got, cell)


async def test_a_period_is_answered_by_the_model(business: dict[str, Any]) -> None:
    response = await best_times(business, **NOVEMBER)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == {**NOVEMBER, "timezone": "Europe/Berlin"}
    want = expected(planted_posts(), **NOVEMBER)
    assert_model_answer(body, want)
    first = body["recommendations"][0]
    assert (first["day"], first["hour"]) == (1, 9)  # the planted Tuesday 09:00, not the lucky one
    assert first["posts"] >= model.MIN_WINDOW_POSTS
    assert (body["best_day"], body["best_hour"]) == (1, 9)
    assert body["posts_considered"] == 40 + 6 + 1 + 4
    assert body["confidence_score"] > 0


async def test_start_and_end_date_are_honoured(business: dict[str, Any]) -> None:
    october = (await best_times(business, **OCTOBER)).json()
    assert october["period"] == {**OCTOBER, "timezone": "Europe/Berlin"}
    assert_model_answer(october, expected(planted_posts(), **OCTOBER))
    first = october["recommendations"][0]
    assert (first["day"], first["hour"]) == (4, 15)  # October's Friday 15:00
    assert october["posts_considered"] == 40 + 10  # five Fridays, two posts each

    # `days` counts back from end_date (default: today, 2026-11-20 in Berlin).
    week = (await best_times(business, days=7, end_date="2026-11-17")).json()
    assert (week["period"]["start_date"], week["period"]["end_date"]) == (
        "2026-11-11", "2026-11-17",
    )  # fmt: skip
    assert_model_answer(week, expected(planted_posts(), "2026-11-11", "2026-11-17"))
    default = (await best_times(business)).json()
    assert (default["period"]["start_date"], default["period"]["end_date"]) == (
        "2026-10-22", "2026-11-20",
    )  # fmt: skip
    assert_model_answer(default, expected(planted_posts(), "2026-10-22", "2026-11-20"))


async def test_bad_parameters_are_refused_naming_them(
    infra: Infra, business: dict[str, Any]
) -> None:
    cases: dict[str, dict[str, Any]] = {
        "days": {"days": 7, "start_date": "2026-11-01"},
        "days ": {"days": 6},
        "start_date": {"start_date": "2026-11-31"},
        "end_date": {"start_date": "2026-11-20", "end_date": "2026-11-02"},
        "end_date ": {"end_date": "1999-12-31"},
        "platform": {"platform": "myspace"},
    }
    for field, params in cases.items():
        response = await best_times(business, **params)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", field.strip()], response.text

    _, stranger = await infra.token_for(business["id"] + 1)
    other = await best_times(business, token=stranger, **NOVEMBER)
    assert other.status_code == 404
    assert other.json() == {"detail": f"business {business['id']} not found"}
    async with httpx.AsyncClient() as client:
        anonymous = await client.get(
            f"{business['url']}/api/v1/analytics/best-times", params={"business_id": business["id"]}
        )
    assert anonymous.status_code == 401


async def test_too_few_posts_say_how_many_more_are_needed(
    infra: Infra, query_api: ServiceProcess, db: asyncpg.Connection
) -> None:
    tuesday, friday = date(2026, 11, 10), date(2026, 11, 13)
    posts = [(local(tuesday, 9, 5), 60), (local(tuesday, 10, 5), 50),
             (local(tuesday, 11, 5), 40), (local(friday, 18), 400)]  # fmt: skip
    sparse = {**await new_business(infra, db, posts), "url": query_api.url}
    body = (await best_times(sparse, **NOVEMBER)).json()
    assert body["recommendations"] == []
    assert (body["best_day"], body["best_hour"], body["confidence_score"]) == (None, None, 0)
    assert body["posts_needed"] == 2  # Tuesday 09:00-12:00 holds 3 of the 5 a window needs
    assert body["message"].startswith("Not enough posts yet (2 more needed)")
    assert body["posts_considered"] == 4
    assert sum(c["posts"] for c in body["by_slot"]) == 4


async def test_the_overview_carries_the_same_best_times(business: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {business['token']}"}
    async with httpx.AsyncClient(headers=headers) as client:
        overview = await client.get(
            f"{business['url']}/api/v1/analytics/overview",
            params={"business_id": business["id"], **NOVEMBER},
        )
    assert overview.status_code == 200, overview.text
    alone = (await best_times(business, **NOVEMBER)).json()
    for key in ("period", "platform", "data_as_of", "stale_posts"):
        del alone[key]
    assert overview.json()["best_times"] == alone
