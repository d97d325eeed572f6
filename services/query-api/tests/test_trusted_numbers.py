"""Issue 15, items 2, 3, 4, 5 (platform comparison), 6 and 9 (average CTR and reach) over
HTTP, against a business shaped like a real team's, every number computed by hand below.

The business (UTC), October 2026:

| post | platform  | published    | likes | comments | shares | impressions | reach | clicks |
|------|-----------|--------------|-------|----------|--------|-------------|-------|--------|
| L1   | linkedin  | Mon 5, 09:00 | 20    | 4        | 6      | 1,000       | -     | 30     |
| X1   | twitter   | Tue 6, 10:00 | 50    | 10       | 40     | 2,000       | -     | -      |
| I1   | instagram | Wed 7, 12:00 | 90    | 10       | -      | 4,000       | 3,000 | -      |
| F1   | facebook  | Thu 8, 08:00 | 30    | 5        | 5      | 1,000       | 800   | 10     |
| F2   | facebook  | Tue 20, 08:00| 10    | 0        | 0      | 500         | 400   | 5      |

(- : the platform does not report it.) I1 was first observed on 10 Oct (60 likes, 6
comments, 3,000 impressions, 2,500 reach by then) and again on 11 Oct (its final numbers).
Followers: the LinkedIn page 2,000 (30 Sept), 2,100 (15 Oct), 2,200 (31 Oct); the Instagram
account 5,000 (10 Oct, its first count), 5,500 (25 Oct). X: none.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from pulse_shared import formulas
from pulse_shared.db import asyncpg_dsn
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

OCTOBER = {"start_date": "2026-10-01", "end_date": "2026-10-31"}
METRICS = ("likes", "comments", "shares", "impressions", "reach", "clicks")
COLUMN = {"likes": "likes_count", "comments": "comments_count", "shares": "shares_count"}


def at(day: int, hour: int, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


Numbers = tuple[int | None, ...]  # in METRICS order


async def add_post(
    db: asyncpg.Connection, business: int, platform: str, published: datetime,
    numbers: Numbers, snapshots: tuple[tuple[datetime, Numbers], ...] = (),
) -> int:  # fmt: skip
    """A post, its latest numbers and its snapshots."""
    post_id = uuid.uuid4().hex
    pulse_id: int = await db.fetchval(
        "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
        "content_type, published_at, event_id) VALUES ($1, $2, $3, 'a', 'text', $4, $5) "
        "RETURNING id",
        business, platform, post_id, published, uuid.uuid4(),
    )  # fmt: skip
    m = dict(zip(METRICS, numbers, strict=True))
    columns = ", ".join(COLUMN.get(name, name) for name in METRICS)
    await db.execute(
        f"INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id, "
        f"{columns}, engagement_rate, click_through_rate, fetched_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        business, pulse_id, platform, post_id, *numbers,
        formulas.engagement_rate(m["likes"], m["comments"], m["shares"], m["impressions"]),
        formulas.click_through_rate(m["clicks"], m["impressions"]), published,
    )  # fmt: skip
    for observed, values in snapshots:
        await db.execute(
            f"INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, "
            f"observed_at, source, event_id, {columns}) "
            "VALUES ($1, $2, $3, $4, 'poll', $5, $6, $7, $8, $9, $10, $11)",
            business, platform, post_id, observed, uuid.uuid4(), *values,
        )  # fmt: skip
    return pulse_id


@pytest.fixture(scope="module")
async def team(infra: Infra) -> dict[str, Any]:
    db = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    try:
        b = secrets.randbelow(2**62) + 10**12
        await db.execute("INSERT INTO businesses (id) VALUES ($1)", b)
        await db.execute("SELECT pulse_ensure_snapshot_partitions($1, $2)", at(1, 0), at(31, 0))
        ids = {
            "L1": await add_post(db, b, "linkedin", at(5, 9), (20, 4, 6, 1000, None, 30)),
            "X1": await add_post(db, b, "twitter", at(6, 10), (50, 10, 40, 2000, None, None)),
            "I1": await add_post(
                db, b, "instagram", at(7, 12), (90, 10, None, 4000, 3000, None),
                ((at(10, 9), (60, 6, None, 3000, 2500, None)),
                 (at(11, 9), (90, 10, None, 4000, 3000, None))),
            ),
            "F1": await add_post(db, b, "facebook", at(8, 8), (30, 5, 5, 1000, 800, 10)),
            "F2": await add_post(db, b, "facebook", at(20, 8), (10, 0, 0, 500, 400, 5)),
        }  # fmt: skip
        for platform, account, observed, followers in (
            ("linkedin", "page", at(30, 12, month=9), 2000),
            ("linkedin", "page", at(15, 12), 2100),
            ("linkedin", "page", at(31, 12), 2200),
            ("instagram", "ig", at(10, 12), 5000),
            ("instagram", "ig", at(25, 12), 5500),
        ):
            await db.execute(
                "INSERT INTO account_snapshots (business_id, platform, account_id, observed_at, "
                "followers, event_id) VALUES ($1, $2, $3, $4, $5, $6)",
                b, platform, account, observed, followers, uuid.uuid4(),
            )  # fmt: skip
        # Written behind the aggregator's back: rebuild what it keeps (summaries, activity).
        await set_business_timezone(db, b, "UTC")
    finally:
        await db.close()
    _, token = await infra.token_for(b)
    return {"id": b, "token": token, **ids}


async def get(query_api: ServiceProcess, team: dict[str, Any], path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(
        base_url=query_api.url, headers={"Authorization": f"Bearer {team['token']}"}
    ) as client:
        response = await client.get(
            f"/api/v1/analytics/{path}", params={"business_id": team["id"], **params}
        )
    assert response.status_code == 200, response.text
    return response.json()


def covers(posts: int, platforms: list[str], left_out: list[str]) -> dict[str, Any]:
    return {"posts": posts, "platforms": platforms, "not_reported_by": left_out}


ALL_FOUR = ["linkedin", "twitter", "facebook", "instagram"]
OCTOBER_SUMMARY = {
    "total_posts": 5,
    "total_likes": 200, "total_comments": 29,
    "total_shares": 51,  # Instagram reports none: 6 + 40 + 5 + 0
    "total_impressions": 8500,
    "total_reach": 4200,  # I1, F1, F2: the only posts reporting reach
    "total_clicks": 45,  # L1, F1, F2
    "total_engagement": 280,
    "avg_engagement_rate": 3.3,  # (3.0 + 5.0 + 2.5 + 4.0 + 2.0) / 5
    "engagement_rate": 3.29,  # 280 / 8,500
    "avg_impressions": 1700.0,
    "avg_reach": 1400.0,  # 4,200 / 3 posts that reported it
    "click_through_rate": 1.8,  # 45 / 2,500: the impressions of the posts reporting clicks
    "avg_click_through_rate": 1.67,  # (3.0 + 1.0 + 1.0) / 3
    "follower_growth": 700,  # LinkedIn 2,200 - 2,000 (30 Sept); Instagram 5,500 - 5,000
    "followers": 7700,
    "follower_growth_pct": 10.0,  # 700 / 7,000
    "coverage": {
        "total_likes": covers(5, ALL_FOUR, []),
        "total_comments": covers(5, ALL_FOUR, []),
        "total_shares": covers(4, ["linkedin", "twitter", "facebook"], ["instagram"]),
        "total_impressions": covers(5, ALL_FOUR, []),
        "total_reach": covers(3, ["facebook", "instagram"], ["linkedin", "twitter"]),
        "total_clicks": covers(3, ["linkedin", "facebook"], ["twitter", "instagram"]),
    },
}  # fmt: skip


async def test_platform_comparison_says_not_reported_where_it_said_zero(
    query_api: ServiceProcess, team: dict[str, Any]
) -> None:
    body = await get(query_api, team, "platform-comparison", **OCTOBER)
    platforms = {p["platform"]: p for p in body["platforms"]}
    assert list(platforms) == ["twitter", "facebook", "linkedin", "instagram"]  # 5, 3.33, 3, 2.5
    x = platforms["twitter"]
    assert (x["total_reach"], x["total_clicks"]) == (None, None)  # were 0
    assert (x["avg_reach"], x["click_through_rate"], x["avg_click_through_rate"]) == (
        None, None, None,
    )  # fmt: skip
    assert (x["engagement_rate"], x["total_engagement"]) == (5.0, 100)
    assert x["coverage"]["total_reach"] == covers(0, [], ["twitter"])
    assert (x["follower_growth"], x["followers"], x["follower_growth_pct"]) == (None, None, None)

    instagram = platforms["instagram"]
    assert (instagram["total_shares"], instagram["total_clicks"]) == (None, None)
    assert instagram["click_through_rate"] is None  # not 0.00 % beside "clicks: not reported"
    assert (instagram["total_engagement"], instagram["engagement_rate"]) == (100, 2.5)
    assert instagram["avg_reach"] == 3000.0
    # First count 5,000 on 10 Oct, 5,500 on 25 Oct: +500, 10 % of 5,000.
    assert (instagram["follower_growth"], instagram["followers"]) == (500, 5500)
    assert instagram["follower_growth_pct"] == 10.0

    linkedin = platforms["linkedin"]
    assert (linkedin["click_through_rate"], linkedin["avg_click_through_rate"]) == (3.0, 3.0)
    assert linkedin["total_reach"] is None
    # 2,000 before October (30 Sept), 2,200 at its end: +200, 10 %.
    assert (linkedin["follower_growth"], linkedin["followers"]) == (200, 2200)
    assert linkedin["follower_growth_pct"] == 10.0

    facebook = platforms["facebook"]
    assert (facebook["engagement_rate"], facebook["avg_engagement_rate"]) == (3.33, 3.0)
    assert (facebook["avg_reach"], facebook["click_through_rate"]) == (600.0, 1.0)
    assert facebook["avg_click_through_rate"] == 1.0

    assert (body["best"], body["worst"]) == ("twitter", "instagram")
    assert body["insights"][0]["text"] == (
        "X posts earn 2.0× the engagement rate of Instagram posts"  # noqa: RUF001
    )


async def test_platform_comparison_honours_platform(
    query_api: ServiceProcess, team: dict[str, Any]
) -> None:
    body = await get(query_api, team, "platform-comparison", platform="instagram", **OCTOBER)
    assert body["platform"] == "instagram"
    assert [p["platform"] for p in body["platforms"]] == ["instagram"]
    assert (body["best"], body["worst"]) == ("instagram", None)
    assert body["platforms"][0]["share_of_posts"] == 100.0


async def test_overview_totals_say_which_platforms_they_cover(
    query_api: ServiceProcess, team: dict[str, Any]
) -> None:
    body = await get(query_api, team, "overview", **OCTOBER)
    assert body["summary"] == OCTOBER_SUMMARY
    # 31 Aug - 30 Sept: no post (totals 0, rates null); one LinkedIn count, nothing gained.
    previous = body["previous_summary"]
    assert (previous["total_posts"], previous["total_likes"], previous["engagement_rate"]) == (
        0, 0, None,
    )  # fmt: skip
    assert (previous["follower_growth"], previous["followers"]) == (0, 2000)
    assert previous["follower_growth_pct"] == 0.0
    assert body["change_pct"]["followers"] == 285.0  # 7,700 against 2,000
    assert body["change_pct"]["total_posts"] is None  # from 0: not a percentage
    assert [p["platform"] for p in body["by_platform"]] == ALL_FOUR

    only_x = await get(query_api, team, "overview", platform="twitter", **OCTOBER)
    assert [p["platform"] for p in only_x["by_platform"]] == ["twitter"]
    assert only_x["summary"]["total_reach"] is None
    assert only_x["summary"]["coverage"]["total_clicks"] == covers(0, [], ["twitter"])


async def test_stored_summaries_carry_growth_coverage_and_the_new_averages(
    query_api: ServiceProcess, team: dict[str, Any]
) -> None:
    months = await get(query_api, team, "summaries", period_type="monthly", **OCTOBER)
    (month,) = months["summaries"]
    assert (month["platform"], month["period_start"], month["period_end"]) == (
        "all", "2026-10-01", "2026-10-31",
    )  # fmt: skip
    assert {k: month[k] for k in OCTOBER_SUMMARY} == OCTOBER_SUMMARY
    assert (month["best_post_id"], month["best_post_engagement_rate"]) == (team["X1"], 5.0)

    weeks = await get(
        query_api, team, "summaries", period_type="weekly",
        start_date="2026-10-05", end_date="2026-10-11",
    )  # fmt: skip
    (week,) = weeks["summaries"]
    # L1, X1, I1, F1; Instagram's first count (10 Oct) is where its growth starts: 0. The
    # followers at its end count LinkedIn's 2,000 of 30 Sept too, though not seen that week.
    assert (week["total_posts"], week["total_reach"], week["total_clicks"]) == (4, 3800, 40)
    assert (week["follower_growth"], week["followers"], week["follower_growth_pct"]) == (
        0, 7000, 0.0,
    )  # fmt: skip

    linkedin = await get(
        query_api, team, "summaries", period_type="monthly", platform="linkedin", **OCTOBER
    )
    (li,) = linkedin["summaries"]
    assert (li["follower_growth"], li["followers"], li["follower_growth_pct"]) == (200, 2200, 10.0)
    assert li["coverage"]["total_reach"] == covers(0, [], ["linkedin"])


def buckets(trends: list[dict[str, Any]]) -> list[tuple[str, str, int, bool]]:
    return [(t["period_start"], t["period_end"], t["days"], t["partial"]) for t in trends]


async def test_weeks_and_months_the_range_cuts_are_clipped_and_marked_partial(
    query_api: ServiceProcess, team: dict[str, Any]
) -> None:
    weekly = await get(query_api, team, "trends", period="weekly", **OCTOBER)
    assert buckets(weekly["trends"]) == [
        ("2026-10-01", "2026-10-04", 4, True),  # Thu-Sun: not labelled 28 Sept
        ("2026-10-05", "2026-10-11", 7, False),
        ("2026-10-12", "2026-10-18", 7, False),
        ("2026-10-19", "2026-10-25", 7, False),
        ("2026-10-26", "2026-10-31", 6, True),
    ]
    numbers = [
        (t["posts"], t["likes"], t["reach"], t["clicks"], t["engagement_rate"],
         t["follower_growth"], t["followers"], t["follower_growth_pct"])
        for t in weekly["trends"]
    ]  # fmt: skip
    assert numbers == [
        # No post: 0, and no rate; no count in the week, LinkedIn's of 30 Sept carried.
        (0, 0, 0, 0, None, None, 2000, None),
        (4, 190, 3800, 40, 3.38, 0, 7000, 0.0),  # 270 / 8,000; Instagram's first count
        (0, 0, 0, 0, None, 100, 7100, 5.0),  # LinkedIn 2,000 -> 2,100 (of 2,000); Instagram's
        (1, 10, 400, 5, 2.0, 500, 7600, 10.0),  # F2; Instagram 5,000 -> 5,500 (of 5,000)
        (0, 0, 0, 0, None, 100, 7700, 4.76),  # LinkedIn 2,100 -> 2,200 (of 2,100)
    ]
    x = next(p for p in weekly["by_platform"] if p["platform"] == "twitter")["trends"]
    assert [(t["posts"], t["reach"], t["clicks"]) for t in x][:2] == [
        (0, 0, 0), (1, None, None),  # X1 reported neither
    ]  # fmt: skip
    assert [p["platform"] for p in weekly["by_platform"]] == ALL_FOUR

    monthly = await get(
        query_api, team, "trends", period="monthly", start_date="2026-10-15",
        end_date="2026-11-14",
    )  # fmt: skip
    assert buckets(monthly["trends"]) == [
        ("2026-10-15", "2026-10-31", 17, True),
        ("2026-11-01", "2026-11-14", 14, True),
    ]
    october, november = monthly["trends"]
    assert (october["posts"], october["follower_growth"], october["followers"]) == (1, 700, 7700)
    # No count in November: no growth, the followers of the last counts.
    assert (november["posts"], november["follower_growth"], november["followers"]) == (
        0, None, 7700,
    )  # fmt: skip
    assert november["follower_growth_pct"] is None


async def test_activity_before_the_first_look_counts_on_the_publish_day_as_an_estimate(
    query_api: ServiceProcess, team: dict[str, Any]
) -> None:
    """Before: 0 every day, then I1's 60 likes and 3,000 impressions on 10 Oct, the day
    Pulse first saw it."""
    daily = await get(
        query_api, team, "trends", basis="activity", platform="instagram",
        start_date="2026-10-06", end_date="2026-10-12",
    )  # fmt: skip
    days = {
        t["period_start"]: (t["posts"], t["likes"], t["impressions"], t["reach"], t["clicks"],
                            t["engagement_rate"], t["estimated"])
        for t in daily["trends"]
    }  # fmt: skip
    assert days == {
        "2026-10-06": (0, 0, 0, 0, 0, None, False),
        "2026-10-07": (1, 60, 3000, 2500, None, 2.2, True),  # (60 + 6) / 3,000; clicks: none
        "2026-10-08": (0, 0, 0, 0, 0, None, False),
        "2026-10-09": (0, 0, 0, 0, 0, None, False),
        "2026-10-10": (0, 0, 0, 0, None, 0.0, False),  # first seen: nothing new that day
        "2026-10-11": (0, 30, 1000, 500, None, 3.4, False),  # (30 + 4) / 1,000
        "2026-10-12": (0, 0, 0, 0, 0, None, False),
    }
    weekly = await get(
        query_api, team, "trends", basis="activity", period="weekly",
        start_date="2026-10-05", end_date="2026-10-18",
    )  # fmt: skip
    assert [(t["likes"], t["estimated"]) for t in weekly["trends"]] == [(90, True), (0, False)]
    publish = await get(query_api, team, "trends", start_date="2026-10-05", end_date="2026-10-11")
    assert not any(t["estimated"] for t in publish["trends"])
