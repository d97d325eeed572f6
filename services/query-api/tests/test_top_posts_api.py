"""GET /api/v1/analytics/top-posts over HTTP: every ranking of a small business whose
posts report different metrics, ranked by hand below."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from pulse_shared import formulas
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

# API name -> post_analytics column
COLUMNS = {
    "likes": "likes_count", "comments": "comments_count", "shares": "shares_count",
    "reactions": "reactions_count", "retweets": "retweets_count",
    "quote_tweets": "quote_tweets_count", "saves": "saves_count", "impressions": "impressions",
    "reach": "reach", "clicks": "clicks", "video_views": "video_views",
}  # fmt: skip
FETCHED_AT = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


async def new_business(db: asyncpg.Connection) -> int:
    business = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", business)
    return business


async def add_post(
    db: asyncpg.Connection,
    business: int,
    platform: str,
    published: datetime,
    polled: bool = True,
    **metrics: int,
) -> int:
    """A post and, when ``polled``, its latest numbers with the rates the aggregator keeps
    (0 without impressions); returns its id."""
    post_id: int = await db.fetchval(
        """INSERT INTO published_posts (business_id, platform, platform_post_id, account_id,
               content_preview, content_type, published_at, event_id)
           VALUES ($1, $2, $3, 'acct', 'A post', 'text', $4, $5) RETURNING id""",
        business, platform, uuid.uuid4().hex, published, uuid.uuid4(),
    )  # fmt: skip
    if not polled:
        return post_id
    got: dict[str, Any] = {name: metrics.get(name) for name in COLUMNS}
    rates = (
        formulas.engagement_rate(got["likes"], got["comments"], got["shares"], got["impressions"]),
        formulas.click_through_rate(got["clicks"], got["impressions"]),
    )
    columns = ", ".join(COLUMNS.values())
    values = ", ".join(f"${i}" for i in range(3, 3 + len(COLUMNS) + 3))
    await db.execute(
        f"""INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id,
               {columns}, engagement_rate, click_through_rate, fetched_at)
           SELECT business_id, id, platform, platform_post_id, {values}
           FROM published_posts WHERE business_id = $1 AND id = $2""",
        business, post_id, *got.values(), *rates, FETCHED_AT,
    )  # fmt: skip
    return post_id


async def get(
    query_api: ServiceProcess, token: str | None, path: str, **params: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=query_api.url, headers=headers) as client:
        return await client.get(f"/api/v1/analytics/{path}", params=params)


def refused(response: httpx.Response) -> str:
    """The parameter a 422 names."""
    assert response.status_code == 422, response.text
    loc: list[str] = response.json()["detail"][0]["loc"]
    assert loc[0] == "query", loc
    return loc[1]


PERIOD = {"start_date": "2026-10-01", "end_date": "2026-10-07"}
DAY = datetime(2026, 10, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def business(infra: Infra, db: asyncpg.Connection) -> dict[str, Any]:
    """Six posts in the period (UTC), inserted in this order (so ids ascend A..F):

    post  platform   likes cmts shares impr  reach clicks other                eng   ER   CTR
    A     linkedin   10    2    3      1000  800   20                          15    1.5  2.0
    B     twitter    40    5    5      1000  -     -      retweets 3, quotes 2  50   5.0  -
    C     facebook   7     1    0      0     0     0      reactions 7, video 30 8    -    -
    D     instagram  25    4    -      -     500   -      saves 6, video 120    29   -    -
    E     linkedin   10    0    0      200   150   10                          10   5.0  5.0
    F     twitter    (never polled: no numbers at all)                         -    -    -

    and one post before the period with more of everything, which no ranking may show.
    """
    b = await new_business(db)
    posts = {
        "A": await add_post(db, b, "linkedin", DAY, likes=10, comments=2, shares=3,
                            impressions=1000, reach=800, clicks=20),
        "B": await add_post(db, b, "twitter", DAY, likes=40, comments=5, shares=5, retweets=3,
                            quote_tweets=2, impressions=1000),
        "C": await add_post(db, b, "facebook", DAY, likes=7, comments=1, shares=0, reactions=7,
                            impressions=0, reach=0, clicks=0, video_views=30),
        "D": await add_post(db, b, "instagram", DAY, likes=25, comments=4, saves=6,
                            reach=500, video_views=120),
        "E": await add_post(db, b, "linkedin", DAY, likes=10, comments=0, shares=0,
                            impressions=200, reach=150, clicks=10),
        "F": await add_post(db, b, "twitter", DAY, polled=False),
    }  # fmt: skip
    await add_post(
        db, b, "linkedin", datetime(2026, 9, 30, 23, 59, tzinfo=UTC), likes=999, comments=99,
        shares=99, reactions=99, retweets=99, quote_tweets=99, saves=99, impressions=9999,
        reach=9999, clicks=999, video_views=999,
    )  # fmt: skip
    assert list(posts.values()) == sorted(posts.values())
    _, token = await infra.token_for(b)
    return {"id": b, "token": token, "posts": posts}


# metric -> the posts in rank order, by hand from the table above
EXPECTED = {
    "likes": "BDAECF",  # 40 25 10 10 (A's lower id first) 7, F unreported last
    "comments": "BDACEF",  # 5 4 2 1 0, F
    "shares": "BACEDF",  # 5 3 0 0, then D and F unreported (by id)
    "reactions": "CABDEF",  # 7, the rest unreported
    "retweets": "BACDEF",
    "quote_tweets": "BACDEF",
    "saves": "DABCEF",
    "clicks": "AECBDF",  # 20 10 0, then B D F unreported
    "reach": "ADECBF",  # 800 500 150 0, B F
    "impressions": "ABECDF",  # 1000 1000 (A's lower id first) 200 0 (C ranked), D F
    "video_views": "DCABEF",
    "engagement": "BDAECF",  # 50 29 15 10 8, F reported nothing
    "engagement_rate": "BEA",  # 5.0 5.0 1.5: C (0 impressions), D, F have no rate
    "click_through_rate": "EA",  # 5.0 2.0: B reported no clicks
}


async def test_each_metric_ranks_as_computed_by_hand(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    letter = {post_id: name for name, post_id in business["posts"].items()}
    for metric, expected in EXPECTED.items():
        response = await get(
            query_api, business["token"], "top-posts", business_id=business["id"], **PERIOD,
            metric=metric,
        )  # fmt: skip
        assert response.status_code == 200, (metric, response.text)
        body = response.json()
        assert body["metric"] == metric
        ranked = "".join(letter[p["post_id"]] for p in body["top_posts"])
        assert ranked == expected, metric


async def test_a_post_without_impressions_is_ranked_by_counts_with_null_rates(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    response = await get(
        query_api, business["token"], "top-posts", business_id=business["id"], **PERIOD,
        metric="likes",
    )  # fmt: skip
    posts = {p["post_id"]: p for p in response.json()["top_posts"]}
    a, b, c, f = (posts[business["posts"][n]] for n in "ABCF")
    assert (a["engagement"], a["engagement_rate"], a["click_through_rate"]) == (15, 1.5, 2.0)
    assert (b["engagement"], b["engagement_rate"], b["click_through_rate"]) == (50, 5.0, None)
    assert (c["impressions"], c["engagement"], c["engagement_rate"]) == (0, 8, None)
    assert c["click_through_rate"] is None  # 0 clicks over 0 impressions: no rate
    assert (b["reach"], b["clicks"], b["retweets"]) == (None, None, 3)  # null, never 0
    assert {k: f[k] for k in ("likes", "impressions", "engagement", "engagement_rate")} == {
        "likes": None, "impressions": None, "engagement": None, "engagement_rate": None,
    }  # fmt: skip
    assert f["fetched_at"] is None


async def test_the_platform_filter_and_the_default_metric(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    b, token, posts = business["id"], business["token"], business["posts"]
    twitter = await get(
        query_api, token, "top-posts", business_id=b, **PERIOD, platform="twitter",
        metric="likes",
    )  # fmt: skip
    assert [p["post_id"] for p in twitter.json()["top_posts"]] == [posts["B"], posts["F"]]
    default = (await get(query_api, token, "top-posts", business_id=b, **PERIOD)).json()
    assert default["metric"] == "engagement_rate"
    assert [p["post_id"] for p in default["top_posts"]] == [posts["B"], posts["E"], posts["A"]]
    overview = (await get(query_api, token, "overview", business_id=b, **PERIOD)).json()
    assert overview["top_posts"] == default["top_posts"]  # the same ranking, the same shape


async def test_limit_up_to_100(
    infra: Infra, query_api: ServiceProcess, db: asyncpg.Connection
) -> None:
    """101 posts, one every minute, post i with i likes and no impressions at all."""
    b = await new_business(db)
    for i in range(1, 102):
        await add_post(db, b, "facebook", DAY + timedelta(minutes=i), likes=i, impressions=0)
    _, token = await infra.token_for(b)
    scope = {"business_id": b, **PERIOD, "metric": "likes"}
    hundred = await get(query_api, token, "top-posts", **scope, limit=100)
    assert hundred.status_code == 200, hundred.text
    assert [p["likes"] for p in hundred.json()["top_posts"]] == list(range(101, 1, -1))
    default = await get(query_api, token, "top-posts", **scope)
    assert len(default.json()["top_posts"]) == 10
    assert refused(await get(query_api, token, "top-posts", **scope, limit=101)) == "limit"


async def test_bad_parameters_are_refused_naming_them(
    query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    scope = {"business_id": business["id"], **PERIOD}
    for bad in (
        {"metric": "likes_count"}, {"metric": "total_engagement"}, {"metric": "vibes"},
        {"metric": ""}, {"limit": 0}, {"limit": -1}, {"limit": 101}, {"limit": "ten"},
        {"limit": 2.5},
    ):  # fmt: skip
        response = await get(query_api, business["token"], "top-posts", **scope, **bad)
        assert refused(response) == next(iter(bad)), bad


async def test_another_business_is_not_found(
    infra: Infra, query_api: ServiceProcess, business: dict[str, Any]
) -> None:
    _, stranger = await infra.token_for(business["id"] + 1)
    scope = {"business_id": business["id"], **PERIOD, "metric": "reach", "limit": 100}
    other = await get(query_api, stranger, "top-posts", **scope)
    assert other.status_code == 404
    assert other.json()["detail"] == f"business {business['id']} not found"
    assert (await get(query_api, None, "top-posts", **scope)).status_code == 401
