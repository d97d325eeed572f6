"""GET /api/v1/analytics/overview over HTTP, against a small business whose every number
is computed by hand below (Europe/Berlin, UTC+2 in early October 2026)."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from pulse_query_api.routes import export
from pulse_shared import formulas, summaries
from pulse_shared.cache import bump_cache_versions
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra
from pulse_testing.processes import QUERY_API_NOW, ServiceProcess, start_service

pytestmark = pytest.mark.integration

# When the business's posts were last polled, on the session query-api's clock.
POLLED = QUERY_API_NOW


async def add_post(
    db: asyncpg.Connection, business: int, platform: str, published: datetime,
    likes: int, comments: int, shares: int, impressions: int, clicks: int | None,
    fetched_at: datetime,
) -> int:  # fmt: skip
    post_id: int = await db.fetchval(
        """INSERT INTO published_posts (business_id, platform, platform_post_id, account_id,
               content_type, published_at, event_id)
           VALUES ($1, $2, $3, 'acct', 'text', $4, $5) RETURNING id""",
        business, platform, uuid.uuid4().hex, published, uuid.uuid4(),
    )  # fmt: skip
    await db.execute(
        """INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id,
               likes_count, comments_count, shares_count, impressions, clicks,
               engagement_rate, click_through_rate, fetched_at)
           SELECT business_id, id, platform, platform_post_id, $3, $4, $5, $6, $7, $8, $9, $10
           FROM published_posts WHERE business_id = $1 AND id = $2""",
        business, post_id, likes, comments, shares, impressions, clicks,
        formulas.engagement_rate(likes, comments, shares, impressions),
        formulas.click_through_rate(clicks, impressions), fetched_at,
    )  # fmt: skip
    return post_id


@pytest.fixture
async def business(infra: Infra, db: asyncpg.Connection) -> dict[str, Any]:
    b = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", b)
    utc = UTC
    p1 = await add_post(
        db,
        b,
        "linkedin",
        datetime(2026, 10, 1, 23, 30, tzinfo=utc),
        10,
        2,
        3,
        1000,
        20,
        POLLED - timedelta(days=3),
    )  # Fri 02 01:30 local
    p2 = await add_post(
        db,
        b,
        "twitter",
        datetime(2026, 10, 3, 10, 0, tzinfo=utc),
        40,
        5,
        5,
        1000,
        None,
        POLLED - timedelta(hours=1),
    )  # Sat 03 12:00
    p3 = await add_post(
        db,
        b,
        "twitter",
        datetime(2026, 10, 5, 7, 0, tzinfo=utc),
        1,
        0,
        0,
        0,
        None,
        POLLED - timedelta(hours=2),
    )  # Mon 05 09:00
    await add_post(
        db, b, "facebook", datetime(2026, 9, 30, 21, 59, tzinfo=utc), 5, 0, 0, 100, None, POLLED
    )  # Wed 30 Sept 23:59 local: the period before
    for day, followers in ((datetime(2026, 9, 30, 12, tzinfo=utc), 1000),
                           (datetime(2026, 10, 3, 12, tzinfo=utc), 1010),
                           (datetime(2026, 10, 6, 12, tzinfo=utc), 1025)):  # fmt: skip
        await db.execute(
            "INSERT INTO account_snapshots (business_id, platform, account_id, observed_at, "
            "followers, event_id) VALUES ($1, 'facebook', 'page', $2, $3, $4)",
            b, day, followers, uuid.uuid4(),
        )  # fmt: skip
    await set_business_timezone(db, b, "Europe/Berlin")  # also computes its summaries
    _, token = await infra.token_for(b)
    return {"id": b, "token": token, "p1": p1, "p2": p2, "p3": p3}


async def get_overview(query_api: ServiceProcess, token: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(
        base_url=query_api.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        return await client.get("/api/v1/analytics/overview", params=params)


async def test_overview_numbers_match_the_hand_computation(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    response = await get_overview(
        query_api, business["token"], business_id=business["id"],
        start_date="2026-10-01", end_date="2026-10-07",
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == {
        "start_date": "2026-10-01", "end_date": "2026-10-07", "timezone": "Europe/Berlin",
    }  # fmt: skip
    assert body["summary"] == {
        "total_posts": 3, "total_likes": 51, "total_comments": 7, "total_shares": 8,
        "total_impressions": 2000,
        "total_reach": None,  # no post reported reach: null, not 0
        "total_clicks": 20,  # p1's; X does not report clicks
        "total_engagement": 66,
        "avg_engagement_rate": 3.25,  # mean of 1.5 and 5.0; the post without impressions out
        "engagement_rate": 3.3,  # 66 / 2000
        "avg_impressions": 666.67,
        "avg_reach": None,
        "click_through_rate": 2.0,  # 20 clicks / p1's 1000 impressions, not / 2000
        "avg_click_through_rate": 2.0,
        "follower_growth": 25,  # 1025 on 6 Oct minus 1000 before the period
        "followers": 1025,
        "follower_growth_pct": 2.5,  # 25 / 1000
        "coverage": {
            **{total: {"posts": 3, "platforms": ["linkedin", "twitter"], "not_reported_by": []}
               for total in ("total_likes", "total_comments", "total_shares",
                             "total_impressions")},
            "total_reach": {"posts": 0, "platforms": [],
                            "not_reported_by": ["linkedin", "twitter"]},
            "total_clicks": {"posts": 1, "platforms": ["linkedin"], "not_reported_by": ["twitter"]},
        },
    }  # fmt: skip
    assert body["previous_summary"]["total_posts"] == 1  # 24-30 Sept: the facebook post
    assert body["previous_summary"]["engagement_rate"] == 5.0
    assert body["previous_summary"]["follower_growth"] == 0  # one count: nothing gained
    assert body["previous_summary"]["followers"] == 1000  # at 30 Sept's end
    change = body["change_pct"]
    assert change["total_posts"] == 200.0
    assert change["total_likes"] == 920.0
    assert change["engagement_rate"] == -34.0
    assert change["follower_growth"] is None  # growth from 0 is not a percentage
    assert change["followers"] == 2.5  # 1025 against 1000

    platforms = {p["platform"]: p for p in body["by_platform"]}
    assert set(platforms) == {"linkedin", "twitter", "facebook"}
    assert (platforms["twitter"]["total_posts"], platforms["twitter"]["total_engagement"]) == (
        2,
        51,
    )
    assert platforms["twitter"]["share_of_posts"] == 66.67
    assert platforms["linkedin"]["share_of_engagement"] == 22.73  # 15 of 66
    assert platforms["facebook"]["total_posts"] == 0
    assert platforms["facebook"]["follower_growth"] == 25

    trends = body["trends"]
    assert [t["period_start"] for t in trends] == [f"2026-10-0{d}" for d in range(1, 8)]
    by_day = {t["period_start"]: t for t in trends}
    assert by_day["2026-10-01"]["posts"] == 0  # 23:30 UTC on 1 Oct is 2 Oct in Berlin
    assert (by_day["2026-10-02"]["posts"], by_day["2026-10-02"]["engagement_rate"]) == (1, 1.5)
    assert by_day["2026-10-03"]["engagement"] == 50
    assert by_day["2026-10-05"]["engagement_rate"] == 0.0
    # Each day's followers: the last count by its end, carried over days without one (a
    # sparkline without gaps); growth only on the days with a count.
    assert [(t["followers"], t["follower_growth"]) for t in trends] == [
        (1000, None), (1000, None), (1010, 10), (1010, None), (1010, None), (1025, 15),
        (1025, None),
    ]  # fmt: skip

    assert [p["post_id"] for p in body["top_posts"]] == [business["p2"], business["p1"]]
    assert body["top_posts"][0]["engagement_rate"] == 5.0
    assert body["top_posts"][0]["clicks"] is None  # not reported stays null

    best = body["best_times"]
    # Two posts (Fri 01:00 at 1.5 %, Sat 12:00 at 5.0 %): no window of 5 posts, so no
    # recommendation. The scores by hand: test_best_times_model.test_two_posts_by_hand.
    assert best["posts_considered"] == 2
    assert (best["recommendations"], best["best_day"], best["best_hour"]) == ([], None, None)
    assert (best["confidence_score"], best["posts_needed"]) == (0, 4)
    assert best["message"].startswith("Not enough posts yet (4 more needed)")
    assert best["by_day"][5] == {"day": 5, "posts": 1, "avg_engagement_rate": 5.0, "score": 3.33}
    assert best["by_day"][0] == {"day": 0, "posts": 0, "avg_engagement_rate": None, "score": 3.25}
    assert len(best["by_hour"]) == 24
    assert len(best["by_slot"]) == 168  # the heatmap's cells, day-major
    assert best["by_slot"][4 * 24 + 1] == {
        "day": 4, "hour": 1, "posts": 1, "avg_engagement_rate": 1.5, "score": 2.95,
    }  # fmt: skip
    assert best["by_slot"][5 * 24 + 12]["score"] == 3.55

    # The newest observation of the period's posts: p2's. (Which are stale:
    # test_stale_posts_are_counted_on_the_request_clock.)
    assert datetime.fromisoformat(body["data_as_of"]) == POLLED - timedelta(hours=1)


async def test_stale_posts_are_counted_on_the_request_clock(
    infra: Infra, db: asyncpg.Connection, query_api: ServiceProcess
) -> None:
    """A post is stale when its numbers are older than its age's poll interval promises
    (pulse_shared.schedule), judged at the request's instant (queries.FRESHNESS binds
    query-api's clock): the session's query-api is held at QUERY_API_NOW."""
    b = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", b)  # in UTC
    now = QUERY_API_NOW
    for age, polled_ago in (
        (timedelta(days=10), timedelta(days=3)),  # promised daily: stale
        (timedelta(days=10), timedelta(hours=1)),  # fresh
        (timedelta(days=100), timedelta(days=50)),  # past 90 days, no longer polled
    ):
        await add_post(db, b, "linkedin", now - age, 1, 0, 0, 100, None, now - polled_ago)
    _, token = await infra.token_for(b)
    response = await get_overview(
        query_api, token, business_id=b,
        start_date=(now - timedelta(days=100)).date().isoformat(),
        end_date=now.date().isoformat(),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["stale_posts"] == 1


async def test_followers_are_the_last_counts_by_the_period_end_null_before_any(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    async def summaries_of(start: str, end: str) -> tuple[dict[str, Any], dict[str, Any]]:
        response = await get_overview(
            query_api, business["token"], business_id=business["id"],
            start_date=start, end_date=end,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        body = response.json()
        return body["summary"], body["previous_summary"]

    # 8-14 Oct: no count in it, 1025 from 6 Oct; 1-7 Oct before it ends at 1025 too.
    after, before = await summaries_of("2026-10-08", "2026-10-14")
    assert (after["followers"], after["follower_growth"], after["follower_growth_pct"]) == (
        1025, None, None,
    )  # fmt: skip
    assert (before["followers"], before["follower_growth"]) == (1025, 25)
    # 10-16 Sept: no account had a count yet.
    early, _ = await summaries_of("2026-09-10", "2026-09-16")
    assert (early["followers"], early["follower_growth"]) == (None, None)


async def test_platform_filter(query_api: ServiceProcess, business: dict[str, Any]) -> None:
    body = (
        await get_overview(
            query_api, business["token"], business_id=business["id"],
            start_date="2026-10-01", end_date="2026-10-07", platform="twitter",
        )
    ).json()  # fmt: skip
    assert body["summary"]["total_posts"] == 2
    assert body["summary"]["follower_growth"] is None  # no twitter account counts
    assert body["summary"]["followers"] is None  # the facebook page's are not X's
    assert [p["post_id"] for p in body["top_posts"]] == [business["p2"]]


async def test_tenancy_authentication_and_validation(
    infra: Infra, query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    _, stranger = await infra.token_for(business["id"] + 1)
    other = await get_overview(query_api, stranger, business_id=business["id"])
    assert other.status_code == 404
    assert other.json()["detail"] == f"business {business['id']} not found"
    async with httpx.AsyncClient(base_url=query_api.url) as client:
        anonymous = await client.get(
            "/api/v1/analytics/overview", params={"business_id": business["id"]}
        )
    assert anonymous.status_code == 401

    token, b = business["token"], business["id"]
    cases = {
        "end_date": {"start_date": "2026-10-07", "end_date": "2026-10-01"},
        "end_date ": {"start_date": "2025-01-01", "end_date": "2026-10-01"},
        "platform": {"platform": "myspace"},
        "start_date": {"start_date": "yesterday"},
    }
    for field, params in cases.items():
        response = await get_overview(query_api, token, business_id=b, **params)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", field.strip()]
    zero = await get_overview(query_api, token, business_id=0)
    assert zero.status_code == 422


async def test_default_period_is_the_last_30_local_days(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    body = (await get_overview(query_api, business["token"], business_id=business["id"])).json()
    # QUERY_API_NOW is 19 Nov 23:30 UTC: the period ends on Berlin's day, 20 Nov.
    assert (body["period"]["start_date"], body["period"]["end_date"]) == (
        "2026-10-22", "2026-11-20",
    )  # fmt: skip
    assert len(body["trends"]) == 30


async def test_calendar_tells_the_business_day_not_the_utc_one(
    infra: Infra, query_api: ServiceProcess, business: dict[str, Any], db: asyncpg.Connection
) -> None:
    berlin = await get(query_api, business["token"], "calendar", business_id=business["id"])
    assert berlin.status_code == 200, berlin.text
    assert berlin.json() == {
        "business_id": business["id"], "name": None, "timezone": "Europe/Berlin",
        "today": "2026-11-20",
    }  # fmt: skip
    new_york = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", new_york)
    await set_business_timezone(db, new_york, "America/New_York")
    _, token = await infra.token_for(new_york)
    answer = (await get(query_api, token, "calendar", business_id=new_york)).json()
    assert answer["today"] == "2026-11-19"


async def test_calendar_refuses_bad_ids_and_strangers(
    infra: Infra, query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    for bad in ("0", "-1", "abc", str(2**63), "1e3"):
        response = await get(query_api, business["token"], "calendar", business_id=bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", "business_id"]
    missing = await get(query_api, business["token"], "calendar")
    assert missing.status_code == 422
    _, stranger = await infra.token_for(business["id"] + 1)
    other = await get(query_api, stranger, "calendar", business_id=business["id"])
    assert other.status_code == 404
    assert other.json() == {"detail": f"business {business['id']} not found"}


async def get(query_api: ServiceProcess, token: str, path: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(
        base_url=query_api.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        return await client.get(f"/api/v1/analytics/{path}", params=params)


async def test_weekly_summaries_as_stored(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    response = await get(
        query_api, business["token"], "summaries", business_id=business["id"],
        start_date="2026-09-28", end_date="2026-10-11", period_type="weekly",
    )  # fmt: skip
    assert response.status_code == 200, response.text
    weeks = response.json()["summaries"]
    assert [(w["period_start"], w["period_end"]) for w in weeks] == [
        ("2026-09-28", "2026-10-04"),
        ("2026-10-05", "2026-10-11"),
    ]
    first, second = weeks
    # Mon 28 Sept - Sun 4 Oct (Berlin): the facebook post (30 Sept 23:59) and p1, p2.
    assert (first["total_posts"], first["total_likes"], first["total_impressions"]) == (
        3, 55, 2100,
    )  # fmt: skip
    assert first["follower_growth"] == 10  # 1000 on 30 Sept (first seen) -> 1010 on 3 Oct
    assert first["best_post_id"] == business["p2"]  # 5.0 %, tied with the later facebook post
    assert second["total_posts"] == 1
    assert second["follower_growth"] == 15  # 1010 before the week -> 1025 on 6 Oct


async def test_best_times_window(query_api: ServiceProcess, business: dict[str, Any]) -> None:
    b, token = business["id"], business["token"]
    wide = await get(query_api, token, "best-times", business_id=b, days=90)
    assert wide.status_code == 200, wide.text
    assert wide.json()["posts_considered"] == 3  # p1, p2 and the facebook post; p3 unrated
    narrow = (await get(query_api, token, "best-times", business_id=b, days=7)).json()
    assert narrow["posts_considered"] == 0
    assert narrow["confidence_score"] == 0
    assert narrow["recommendations"] == []
    assert narrow["best_day"] is None
    too_short = await get(query_api, token, "best-times", business_id=b, days=6)
    assert too_short.status_code == 422


async def test_content_performance(query_api: ServiceProcess, business: dict[str, Any]) -> None:
    response = await get(
        query_api, business["token"], "content-performance", business_id=business["id"],
        start_date="2026-10-01", end_date="2026-10-07",
    )  # fmt: skip
    assert response.status_code == 200, response.text
    types = {t["content_type"]: t for t in response.json()["content_types"]}
    assert list(types) == ["text", "image", "video", "link", "carousel"]
    text = types["text"]  # p1, p2, p3 are text posts
    assert text["posts"] == 3
    assert text["avg_likes"] == 17.0  # 51 / 3
    assert text["avg_impressions"] == 666.67
    assert text["avg_engagement_rate"] == 3.25
    assert text["engagement_rate"] == 3.3
    assert types["video"] == {  # no posts: nothing to average
        "content_type": "video", "posts": 0, "avg_likes": None, "avg_comments": None,
        "avg_shares": None, "avg_impressions": None, "avg_reach": None, "avg_clicks": None,
        "avg_engagement_rate": None, "engagement_rate": None, "avg_click_through_rate": None,
    }  # fmt: skip


async def test_platform_comparison_with_insights(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    response = await get(
        query_api, business["token"], "platform-comparison", business_id=business["id"],
        start_date="2026-10-01", end_date="2026-10-07",
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["platform"] for p in body["platforms"]] == ["twitter", "linkedin", "facebook"]
    # 51/1000, 15/1000; facebook (follower counts only) reported no impressions: no rate
    assert [p["engagement_rate"] for p in body["platforms"]] == [5.1, 1.5, None]
    assert (body["best"], body["worst"]) == ("twitter", "linkedin")
    texts = [i["text"] for i in body["insights"]]
    assert texts == [
        "X posts earn 3.4× the engagement rate of LinkedIn posts",  # noqa: RUF001
        "67% of posts went to X and earned 77% of the engagement",
        "LinkedIn posts are seen most: 1,000 impressions per post",
    ]
    assert body["insights"][0]["numbers"] == {
        "best": "twitter", "best_rate": 5.1, "worst": "linkedin", "worst_rate": 1.5, "ratio": 3.4,
    }  # fmt: skip


async def test_trends_by_publish_day_and_by_activity_day(
    query_api: ServiceProcess, business: dict[str, Any], db: asyncpg.Connection
) -> None:
    b = business["id"]
    await db.execute("SELECT pulse_ensure_snapshot_partitions('2026-09-01', '2026-10-31')")
    rows = await db.fetch(
        "SELECT id, platform, platform_post_id FROM published_posts WHERE id = ANY($1)",
        [business["p1"], business["p2"]],
    )
    post = {r["id"]: r for r in rows}
    for post_id, at, likes, impressions in (
        (business["p1"], datetime(2026, 10, 1, 23, 45, tzinfo=UTC), 4, 100),  # 2 Oct local
        (business["p1"], datetime(2026, 10, 5, 8, 0, tzinfo=UTC), 10, 1000),
        (business["p2"], datetime(2026, 10, 3, 12, 0, tzinfo=UTC), 10, 200),
        (business["p2"], datetime(2026, 10, 3, 20, 0, tzinfo=UTC), 30, 700),  # 22:00 local
        (business["p2"], datetime(2026, 10, 4, 10, 0, tzinfo=UTC), 40, 1000),
    ):
        await db.execute(
            "INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, "
            "observed_at, source, event_id, likes_count, impressions) "
            "VALUES ($1, $2, $3, $4, 'poll', $5, $6, $7)",
            b, post[post_id]["platform"], post[post_id]["platform_post_id"], at,
            uuid.uuid4(), likes, impressions,
        )  # fmt: skip
    # Written behind the aggregator's back: rebuild what it would have kept (activity_daily).
    await set_business_timezone(db, b, "Europe/Berlin")
    period = {"business_id": b, "start_date": "2026-10-01", "end_date": "2026-10-07"}

    weekly = (await get(query_api, business["token"], "trends", **period, period="weekly")).json()
    assert [(t["period_start"], t["posts"], t["likes"], t["impressions"], t["engagement_rate"])
            for t in weekly["trends"]] == [
        ("2026-10-01", 2, 50, 2000, 3.25),  # only 1-4 Oct of that week are in the range
        ("2026-10-05", 1, 1, 0, 0.0),
    ]  # fmt: skip

    daily = (await get(query_api, business["token"], "trends", **period, basis="activity")).json()
    gained = {t["period_start"]: (t["likes"], t["impressions"]) for t in daily["trends"]}
    assert gained == {
        "2026-10-01": (0, 0),
        "2026-10-02": (4, 100),  # p1's first count
        "2026-10-03": (30, 700),  # p2 by the end of its local day
        "2026-10-04": (10, 300),
        "2026-10-05": (6, 900),
        "2026-10-06": (0, 0),
        "2026-10-07": (0, 0),
    }
    weekly_activity = (
        await get(
            query_api, business["token"], "trends", **period, period="weekly", basis="activity"
        )
    ).json()
    assert [(t["likes"], t["impressions"]) for t in weekly_activity["trends"]] == [
        (44, 1100), (6, 900),
    ]  # fmt: skip


async def test_answers_are_cached_until_the_business_changes(
    infra: Infra, query_api: ServiceProcess, business: dict[str, Any], db: asyncpg.Connection
) -> None:
    b, token = business["id"], business["token"]
    period = {"business_id": b, "start_date": "2026-10-01", "end_date": "2026-10-07"}
    # Twenty at once for a key nobody asked yet: one computation, nineteen cache hits.
    async with httpx.AsyncClient(
        base_url=query_api.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        first = await asyncio.gather(
            *(client.get("/api/v1/analytics/overview", params=period) for _ in range(20))
        )
        assert sorted(r.headers["x-cache"] for r in first) == ["hit"] * 19 + ["miss"]
        assert len({r.content for r in first}) == 1

        # New data without a version bump: the cached answer stands.
        await db.execute(
            "UPDATE analytics_summaries SET total_likes = total_likes + 1000 "
            "WHERE business_id = $1 AND platform = 'linkedin' AND period_start = '2026-10-02'",
            b,
        )
        cached = await client.get("/api/v1/analytics/overview", params=period)
        assert cached.headers["x-cache"] == "hit"
        assert cached.json()["summary"]["total_likes"] == 51

        # The aggregator bumps the version after its commit: the next answer is fresh.
        redis = Redis.from_url(infra.redis_url)
        try:
            await bump_cache_versions(redis, [b])
        finally:
            await redis.aclose()
        fresh = await client.get("/api/v1/analytics/overview", params=period)
        assert fresh.headers["x-cache"] == "miss"
        assert fresh.json()["summary"]["total_likes"] == 1051


async def test_answers_without_redis(
    infra: Infra, business: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = infra.env(
        PULSE_DATABASE_URL=infra.reader_database_url, PULSE_REDIS_URL="redis://127.0.0.1:1/0"
    )
    service = await asyncio.to_thread(
        start_service, "query-api-no-redis", "pulse_query_api.app:app", env,
        str(tmp_path_factory.mktemp("logs")),
    )  # fmt: skip
    try:
        response = await get_overview(
            service, business["token"], business_id=business["id"],
            start_date="2026-10-01", end_date="2026-10-07",
        )  # fmt: skip
    finally:
        service.stop()
    assert response.status_code == 200
    assert response.headers["x-cache"] == "bypass"
    assert response.json()["summary"]["total_posts"] == 3


async def test_request_latency_is_exported_by_route_template(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    await get_overview(query_api, business["token"], business_id=business["id"])
    async with httpx.AsyncClient(base_url=query_api.url) as client:
        exposition = (await client.get("/metrics")).text
    assert (
        'pulse_http_request_seconds_count{method="GET",route="/api/v1/analytics/overview",'
        'service="query-api",status="200"}'
    ) in exposition


async def test_database_down_answers_503_with_retry_after(
    infra: Infra, business: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = infra.env(PULSE_DATABASE_URL="postgresql+asyncpg://pulse_reader:x@127.0.0.1:1/pulse")
    service = await asyncio.to_thread(
        start_service, "query-api-no-db", "pulse_query_api.app:app", env,
        str(tmp_path_factory.mktemp("logs")),
    )  # fmt: skip
    try:
        response = await get_overview(service, business["token"], business_id=business["id"])
        async with httpx.AsyncClient(base_url=service.url) as client:
            ready = await client.get("/readyz")
    finally:
        service.stop()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "database is unavailable" in response.json()["detail"]
    assert ready.status_code == 503


async def test_export_csv_and_json(
    query_api: ServiceProcess, business: dict[str, Any], db: asyncpg.Connection
) -> None:
    b, token = business["id"], business["token"]
    for content in ('=HYPERLINK("http://evil")', "-5 tips", "@team", "\tTab", "plain"):
        await db.execute(
            "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
            "content_preview, content_type, published_at, event_id) "
            "VALUES ($1, 'instagram', $2, 'a', $3, 'image', '2026-10-06 09:00+00', $4)",
            b, uuid.uuid4().hex, content, uuid.uuid4(),
        )  # fmt: skip
    # What the aggregator would do for new posts: queue their day, refresh its summaries.
    await db.execute(
        "INSERT INTO summary_pending_moments VALUES ($1, 'instagram', '2026-10-06 09:00+00')", b
    )
    await db.execute(summaries.SETUP_SQL)
    await summaries.refresh_pending_summaries(db)
    period = {"business_id": b, "start_date": "2026-10-01", "end_date": "2026-10-07"}
    response = await get(query_api, token, "export", **period)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    # Named for the business's day (QUERY_API_NOW is 19 Nov in UTC, 20 Nov in Berlin).
    assert response.headers["content-disposition"] == (
        f'attachment; filename="analytics_{b}_2026-11-20.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0])[:10] == [
        "Date", "Platform", "Posts", "Likes", "Comments", "Shares", "Impressions", "Reach",
        "Clicks", "Engagement Rate",
    ]  # fmt: skip
    assert len(rows) == 8  # p1, p2, p3 and the five instagram posts
    first = rows[0]  # p1, published 1 Oct 23:30 UTC = 2 Oct in Berlin
    assert (first["Date"], first["Platform"], first["Posts"], first["Likes"]) == (
        "2026-10-02", "linkedin", "1", "10",
    )  # fmt: skip
    assert first["Engagement Rate"] == "1.5"
    assert first["Published At"] == "2026-10-01 23:30:00+00"  # UTC, as spreadsheets read it
    assert first["Reach"] == ""  # not reported: empty, not 0
    previews = {r["Content Preview"] for r in rows if r["Platform"] == "instagram"}
    assert previews == {'\'=HYPERLINK("http://evil")', "'-5 tips", "'@team", "'\tTab", "plain"}

    as_json = await get(query_api, token, "export", **period, format="json")
    assert as_json.headers["content-disposition"].endswith('_2026-11-20.json"')
    body = as_json.json()
    assert body["overview"]["summary"]["total_posts"] == 8
    assert len(body["posts"]) == 8
    assert body["posts"][0]["post_id"] == business["p1"]
    assert {p["content_preview"] for p in body["posts"] if p["platform"] == "instagram"} == {
        "=HYPERLINK(\"http://evil\")", "-5 tips", "@team", "\tTab", "plain",
    }  # fmt: skip


async def test_export_csv_parts_meet_at_the_period_midpoint_without_loss_or_repeat(
    query_api: ServiceProcess, business: dict[str, Any], db: asyncpg.Connection
) -> None:
    """The CSV is written by CSV_PARTS COPYs over consecutive spans of the period: a post
    published at the very instant two spans meet, and one a microsecond before it, each
    come out once, in publication order."""
    b, token = business["id"], business["token"]
    # 1-7 Oct in Berlin is [30 Sep 22:00, 7 Oct 22:00) UTC; its midpoint is 4 Oct 10:00.
    midpoint = datetime(2026, 10, 4, 10, 0, tzinfo=UTC)
    assert (
        export.spans(
            datetime(2026, 9, 30, 22, tzinfo=UTC), datetime(2026, 10, 7, 22, tzinfo=UTC), 2
        )[1][0]
        == midpoint
    )
    for at, name in ((midpoint, "at the cut"), (midpoint - timedelta(microseconds=1), "before")):
        await db.execute(
            "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
            "content_preview, content_type, published_at, event_id) "
            "VALUES ($1, 'facebook', $2, 'a', $3, 'text', $4, $5)",
            b, uuid.uuid4().hex, name, at, uuid.uuid4(),
        )  # fmt: skip
    response = await get(
        query_api, token, "export", business_id=b, start_date="2026-10-01", end_date="2026-10-07"
    )
    assert response.status_code == 200, response.text
    assert response.text.count("Date,Platform,Posts") == 1  # one header, from the first part
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["Content Preview"] for r in rows if r["Platform"] == "facebook"] == [
        "before", "at the cut",
    ]  # fmt: skip
    assert [int(r["Post ID"]) for r in rows][:2] == [business["p1"], business["p2"]]
    assert len(rows) == 5  # p1, p2, the two posts at the cut, p3
    published = [r["Published At"] for r in rows]
    assert published == sorted(published)


ENDPOINTS = [
    ("overview", {}), ("trends", {}), ("trends", {"basis": "activity"}),
    ("platform-comparison", {}), ("best-times", {}), ("top-posts", {}),
    ("content-performance", {}), ("summaries", {}), ("export", {}),
    ("export", {"format": "json"}), ("calendar", {}), ("accounts", {}),
]  # fmt: skip


async def test_every_endpoint_hides_other_businesses_and_needs_a_token(
    infra: Infra, query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    _, stranger = await infra.token_for(business["id"] + 1)
    async with httpx.AsyncClient(base_url=query_api.url) as client:
        for path, extra in ENDPOINTS:
            params = {"business_id": business["id"], **extra}
            url = f"/api/v1/analytics/{path}"
            owner = await client.get(
                url, params=params, headers={"Authorization": f"Bearer {business['token']}"}
            )
            other = await client.get(
                url, params=params, headers={"Authorization": f"Bearer {stranger}"}
            )
            anonymous = await client.get(url, params=params)
            assert owner.status_code == 200, (path, owner.text)
            assert other.status_code == 404, (path, other.text)
            assert anonymous.status_code == 401, path
        post = f"/api/v1/analytics/posts/{business['p1']}"
        assert (
            await client.get(post, headers={"Authorization": f"Bearer {stranger}"})
        ).status_code == 404


async def test_compare_with_the_same_days_a_year_earlier(
    query_api: ServiceProcess, business: dict[str, Any], db: asyncpg.Connection
) -> None:
    b, token = business["id"], business["token"]
    await add_post(
        db, b, "linkedin", datetime(2025, 10, 3, 10, 0, tzinfo=UTC), 7, 1, 2, 500, 5, POLLED
    )  # Fri 3 Oct 2025, 12:00 local: a year before the period
    await set_business_timezone(db, b, "Europe/Berlin")  # its summaries
    period = {"business_id": b, "start_date": "2026-10-01", "end_date": "2026-10-07"}

    before = await get_overview(query_api, token, **period)
    assert before.status_code == 200, before.text
    assert before.json()["compare"] == "previous"  # the default
    assert before.json()["previous_period"] == {
        "start_date": "2026-09-24", "end_date": "2026-09-30", "timezone": "Europe/Berlin",
    }  # fmt: skip
    assert before.json()["previous_summary"]["total_posts"] == 1  # the facebook post

    # The cache keys the answer by `compare` too: the year's is not the cached previous one.
    year = await get_overview(query_api, token, **period, compare="year")
    assert year.status_code == 200, year.text
    assert year.headers["x-cache"] == "miss"
    body = year.json()
    assert (body["compare"], body["previous_period"]["start_date"]) == ("year", "2025-10-01")
    assert body["previous_period"]["end_date"] == "2025-10-07"
    previous = body["previous_summary"]
    assert (previous["total_posts"], previous["total_likes"], previous["total_engagement"]) == (
        1, 7, 10,
    )  # fmt: skip
    assert (previous["engagement_rate"], previous["total_clicks"]) == (2.0, 5)
    assert previous["followers"] is None  # no count a year ago
    assert body["summary"] == before.json()["summary"]  # the period itself is the same
    assert body["change_pct"]["total_posts"] == 200.0  # 3 against 1
    assert body["change_pct"]["total_likes"] == 628.57  # 51 against 7
    assert body["change_pct"]["engagement_rate"] == 65.0  # 3.3 against 2.0


async def test_a_year_before_29_february_is_the_28th(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    body = (
        await get_overview(
            query_api, business["token"], business_id=business["id"],
            start_date="2024-02-29", end_date="2024-03-06", compare="year",
        )
    ).json()  # fmt: skip
    assert (body["previous_period"]["start_date"], body["previous_period"]["end_date"]) == (
        "2023-02-28", "2023-03-06",
    )  # fmt: skip


async def test_trends_compared_series_sits_beside_the_range(
    query_api: ServiceProcess, business: dict[str, Any], db: asyncpg.Connection
) -> None:
    b, token = business["id"], business["token"]
    await add_post(
        db, b, "linkedin", datetime(2025, 10, 3, 10, 0, tzinfo=UTC), 7, 1, 2, 500, 5, POLLED
    )
    await set_business_timezone(db, b, "Europe/Berlin")
    period = {"business_id": b, "start_date": "2026-10-01", "end_date": "2026-10-07"}

    plain = (await get(query_api, token, "trends", **period)).json()
    assert plain.get("compared_trends") is None  # only when asked
    assert all(p.get("compared_trends") is None for p in plain["by_platform"])

    daily = (await get(query_api, token, "trends", **period, compare="previous")).json()
    assert daily["compared_period"] == {
        "start_date": "2026-09-24", "end_date": "2026-09-30", "timezone": "Europe/Berlin",
    }  # fmt: skip
    compared = daily["compared_trends"]
    assert [t["period_start"] for t in compared] == [f"2026-09-{d}" for d in range(24, 31)]
    assert [t["posts"] for t in compared] == [0, 0, 0, 0, 0, 0, 1]  # 30 Sept, 23:59 local
    assert (compared[6]["likes"], compared[6]["engagement_rate"]) == (5, 5.0)
    assert compared[6]["followers"] == 1000
    assert daily["trends"] == plain["trends"]  # the range's series is unchanged
    facebook = next(p for p in daily["by_platform"] if p["platform"] == "facebook")
    assert [t["posts"] for t in facebook["compared_trends"]] == [0, 0, 0, 0, 0, 0, 1]

    # Weekly: the range's two cut weeks (1-4 and 5-7 Oct), each beside its days moved back.
    weekly = (
        await get(query_api, token, "trends", **period, period="weekly", compare="previous")
    ).json()
    assert [
        (t["period_start"], t["period_end"], t["partial"], t["posts"])
        for t in weekly["compared_trends"]
    ] == [("2026-09-24", "2026-09-27", True, 0), ("2026-09-28", "2026-09-30", True, 1)]

    year = (await get(query_api, token, "trends", **period, compare="year")).json()
    assert year["compared_period"]["start_date"] == "2025-10-01"
    by_day = {t["period_start"]: t for t in year["compared_trends"]}
    assert (by_day["2025-10-03"]["posts"], by_day["2025-10-03"]["engagement"]) == (1, 10)
    assert sum(t["posts"] for t in year["compared_trends"]) == 1


async def test_compare_is_validated_naming_the_field(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    for path in ("overview", "trends"):
        response = await get(
            query_api, business["token"], path, business_id=business["id"], compare="lastweek"
        )
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", "compare"]


async def test_answers_are_compressed_for_clients_that_accept_gzip(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    params = {"business_id": business["id"], "start_date": "2026-10-01", "end_date": "2026-10-07"}
    headers = {"Authorization": f"Bearer {business['token']}"}
    async with httpx.AsyncClient(base_url=query_api.url, headers=headers, timeout=60) as client:
        plain = await client.get(
            "/api/v1/analytics/overview", params=params, headers={"Accept-Encoding": "identity"}
        )
        packed = await client.get(
            "/api/v1/analytics/overview", params=params, headers={"Accept-Encoding": "gzip"}
        )
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["vary"]
    assert packed.json() == plain.json()  # httpx decoded it
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
