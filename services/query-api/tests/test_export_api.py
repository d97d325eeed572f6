"""GET /api/v1/analytics/export over HTTP: the JSON export in the API's names and instants,
and the per-day export (rows=day) from the daily summaries, every cell computed by hand
below. The business is in Berlin (UTC+2 in early October 2026)."""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from pulse_shared import formulas
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

# API name -> post_analytics column; a metric left out of a post was not reported (null).
COLUMNS = {
    "likes": "likes_count", "comments": "comments_count", "shares": "shares_count",
    "impressions": "impressions", "reach": "reach", "clicks": "clicks",
}  # fmt: skip
FETCHED_AT = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
PERIOD = {"start_date": "2026-10-01", "end_date": "2026-10-03"}


async def add_post(
    db: asyncpg.Connection, business: int, platform: str, published: datetime,
    polled: bool = True, **metrics: int,
) -> int:  # fmt: skip
    post_id: int = await db.fetchval(
        """INSERT INTO published_posts (business_id, platform, platform_post_id, account_id,
               content_preview, content_type, published_at, event_id)
           VALUES ($1, $2, $3, 'acct', 'Launch day', 'image', $4, $5) RETURNING id""",
        business, platform, uuid.uuid4().hex, published, uuid.uuid4(),
    )  # fmt: skip
    if polled:
        got: dict[str, Any] = {name: metrics.get(name) for name in COLUMNS}
        rate = formulas.engagement_rate(
            got["likes"], got["comments"], got["shares"], got["impressions"]
        )
        ctr = formulas.click_through_rate(got["clicks"], got["impressions"])
        await db.execute(
            f"""INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id,
                   {", ".join(COLUMNS.values())}, engagement_rate, click_through_rate,
                   fetched_at)
               SELECT business_id, id, platform, platform_post_id, $3, $4, $5, $6, $7, $8,
                      $9, $10, $11
               FROM published_posts WHERE business_id = $1 AND id = $2""",
            business, post_id, *got.values(), rate, ctr, FETCHED_AT,
        )  # fmt: skip
    return post_id


def utc(month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
async def business(infra: Infra, db: asyncpg.Connection) -> dict[str, Any]:
    """Six posts on 1-3 Oct (Berlin), two just outside; '-' is not reported.

    post  platform   published (UTC)     local day  likes cmts shares impr  reach clicks
    p1    linkedin   30 Sep 22:30        1 Oct      10    2    3      1000  800   20
    p2    linkedin   1 Oct 21:59         1 Oct      14    0    1      500   400   5
    p3    twitter    1 Oct 22:00         2 Oct      40    5    5      1000  -     -
    p4    twitter    2 Oct 12:00         2 Oct      2     0    0      0     -     -
    p5    instagram  3 Oct 08:15:30      3 Oct      25    4    -      -     500   -
    p6    instagram  3 Oct 09:00         3 Oct      (never polled)
    """
    b = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", b)
    posts = {
        "p1": await add_post(db, b, "linkedin", utc(9, 30, 22, 30), likes=10, comments=2,
                             shares=3, impressions=1000, reach=800, clicks=20),
        "p2": await add_post(db, b, "linkedin", utc(10, 1, 21, 59), likes=14, comments=0,
                             shares=1, impressions=500, reach=400, clicks=5),
        "p3": await add_post(db, b, "twitter", utc(10, 1, 22, 0), likes=40, comments=5,
                             shares=5, impressions=1000),
        "p4": await add_post(db, b, "twitter", utc(10, 2, 12, 0), likes=2, comments=0,
                             shares=0, impressions=0),
        "p5": await add_post(db, b, "instagram", utc(10, 3, 8, 15, 30), likes=25,
                             comments=4, reach=500),
        "p6": await add_post(db, b, "instagram", utc(10, 3, 9, 0), polled=False),
    }  # fmt: skip
    for outside in (utc(9, 30, 21, 59), utc(10, 3, 22, 0)):  # 30 Sep, 4 Oct local
        await add_post(db, b, "facebook", outside, likes=7, impressions=70)
    await set_business_timezone(db, b, "Europe/Berlin")  # computes its daily summaries
    _, token = await infra.token_for(b)
    return {"id": b, "token": token, "posts": posts}


async def get(
    query_api: ServiceProcess, token: str | None, path: str = "export", **params: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=query_api.url, headers=headers) as client:
        return await client.get(f"/api/v1/analytics/{path}", params=params)


# By hand from the table above; None is an empty cell (no post of the row reported it).
# Engagement Rate: (likes + comments + shares) / impressions x 100 over the day's posts.
DAYS = [
    # date, platform, posts, likes, comments, shares, impressions, reach, clicks, rate
    ("2026-10-01", "linkedin", 2, 24, 2, 4, 1500, 1200, 25, 2.0),  # 30 / 1500
    ("2026-10-02", "twitter", 2, 42, 5, 5, 1000, None, None, 5.2),  # 52 / 1000
    ("2026-10-03", "instagram", 2, 25, 4, None, None, 500, None, None),  # no impressions
]
DAY_FIELDS = (
    "date", "platform", "posts", "likes", "comments", "shares", "impressions", "reach",
    "clicks", "engagement_rate",
)  # fmt: skip


async def test_per_day_csv_rows_match_the_hand_computation(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    b = business["id"]
    response = await get(query_api, business["token"], business_id=b, **PERIOD, rows="day")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="analytics_{b}_2026-11-20_daily.csv"'
    )
    lines = response.text.splitlines()
    assert lines[0] == (
        "Date,Platform,Posts,Likes,Comments,Shares,Impressions,Reach,Clicks,Engagement Rate"
    )
    assert lines[1:] == [
        "2026-10-01,linkedin,2,24,2,4,1500,1200,25,2",  # 2.0 printed as the post rows print it
        "2026-10-02,twitter,2,42,5,5,1000,,,5.2",
        "2026-10-03,instagram,2,25,4,,,500,,",
    ]

    twitter = await get(
        query_api, business["token"], business_id=b, **PERIOD, rows="day", platform="twitter"
    )
    assert list(csv.reader(io.StringIO(twitter.text)))[1:] == [
        ["2026-10-02", "twitter", "2", "42", "5", "5", "1000", "", "", "5.2"]
    ]


async def test_per_day_json_agrees_with_the_overview(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    b, token = business["id"], business["token"]
    response = await get(query_api, token, business_id=b, **PERIOD, rows="day", format="json")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].endswith('_2026-11-20_daily.json"')
    body = response.json()
    assert body["days"] == [dict(zip(DAY_FIELDS, day, strict=True)) for day in DAYS]
    summary = body["overview"]["summary"]
    assert summary["total_posts"] == sum(d["posts"] for d in body["days"]) == 6
    assert summary["total_likes"] == sum(d["likes"] or 0 for d in body["days"]) == 91
    assert summary["total_impressions"] == 2500
    trends = (await get(query_api, token, "trends", business_id=b, **PERIOD)).json()["trends"]
    assert [t["posts"] for t in trends] == [2, 2, 2]
    assert [t["likes"] for t in trends] == [24, 42, 25]


async def test_json_posts_use_the_api_names_and_instants(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    b, posts = business["id"], business["posts"]
    response = await get(query_api, business["token"], business_id=b, **PERIOD, format="json")
    assert response.status_code == 200, response.text
    rows = response.json()["posts"]
    assert [r["post_id"] for r in rows] == list(posts.values())  # publication order
    first = rows[0]
    assert first == {
        "date": "2026-10-01", "platform": "linkedin", "posts": 1, "post_id": posts["p1"],
        "platform_post_id": first["platform_post_id"], "platform_post_url": None,
        "published_at": "2026-09-30T22:30:00Z", "content_type": "image",
        "content_preview": "Launch day", "likes": 10, "comments": 2, "shares": 3,
        "reactions": None, "retweets": None, "quote_tweets": None, "saves": None,
        "impressions": 1000, "reach": 800, "clicks": 20, "video_views": None,
        "video_watch_time_s": None, "engagement_rate": 1.5, "click_through_rate": 2.0,
        "fetched_at": "2026-10-05T12:00:00Z",
    }  # fmt: skip
    by_id = {r["post_id"]: r for r in rows}
    p3, p4, p5, p6 = (by_id[posts[p]] for p in ("p3", "p4", "p5", "p6"))
    assert (p3["date"], p3["published_at"]) == ("2026-10-02", "2026-10-01T22:00:00Z")
    assert (p3["engagement_rate"], p3["click_through_rate"]) == (5.0, None)  # no clicks
    assert (p4["impressions"], p4["engagement_rate"]) == (0, None)  # no rate without them
    assert p5["published_at"] == "2026-10-03T08:15:30Z"
    assert (p5["shares"], p5["impressions"], p5["engagement_rate"]) == (None, None, None)
    assert (p6["likes"], p6["fetched_at"], p6["engagement_rate"]) == (None, None, None)


async def test_csv_posts_leave_rates_that_do_not_exist_empty(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    response = await get(query_api, business["token"], business_id=business["id"], **PERIOD)
    rows = {int(r["Post ID"]): r for r in csv.DictReader(io.StringIO(response.text))}
    p1, p3, p4 = (rows[business["posts"][p]] for p in ("p1", "p3", "p4"))
    assert (p1["Engagement Rate"], p1["Click-Through Rate"]) == ("1.5", "2")  # as PG prints
    assert (p3["Engagement Rate"], p3["Click-Through Rate"], p3["Reach"]) == ("5", "", "")
    assert (p4["Impressions"], p4["Engagement Rate"]) == ("0", "")
    assert p1["Published At"] == "2026-09-30 22:30:00+00"  # as spreadsheets read it
    assert len(rows) == 6


async def test_bad_parameters_are_refused_naming_them(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    scope = {"business_id": business["id"], **PERIOD}
    for name, bad in (
        ("rows", "week"), ("rows", "DAY"), ("rows", ""), ("rows", "posts"),
        ("format", "xml"), ("format", "CSV"),
    ):  # fmt: skip
        response = await get(query_api, business["token"], **scope, **{name: bad})
        assert response.status_code == 422, (name, bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", name], (name, bad)


async def test_another_business_is_not_found(
    infra: Infra, query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    _, stranger = await infra.token_for(business["id"] + 1)
    for fmt in ("csv", "json"):
        scope = {"business_id": business["id"], **PERIOD, "rows": "day", "format": fmt}
        other = await get(query_api, stranger, **scope)
        assert other.status_code == 404, other.text
        assert other.json()["detail"] == f"business {business['id']} not found"
        assert (await get(query_api, None, **scope)).status_code == 401
