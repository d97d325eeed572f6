"""LinkedIn REST shapes, version header rules, daily limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from pulse_platform_sim.testing import LINKEDIN_VERSION, NOW, Sim
from pulse_platform_sim.truth import counts_at

STATS = "/rest/organizationalEntityShareStatistics"


def headers(sim: Sim, business: int = 0, overrides: dict[str, str] | None = None) -> dict[str, str]:
    values = {
        **sim.auth("linkedin", business),
        "LinkedIn-Version": LINKEDIN_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
    }
    values.update(overrides or {})
    return {k: v for k, v in values.items() if v}


def stats_url(organization: str, key: str = "", urns: list[str] | None = None) -> str:
    url = f"{STATS}?q=organizationalEntity&organizationalEntity={quote(organization, safe='')}"
    if urns:
        url += f"&{key}=List({','.join(quote(u, safe='') for u in urns)})"
    return url


async def test_share_statistics_answer_the_documented_shape(sim: Sim) -> None:
    organization = sim.account("linkedin").account_id
    shares = [p for p in sim.posts("linkedin") if ":share:" in p.post_id][:3]
    response = await sim.client.get(
        stats_url(organization, "shares", [p.post_id for p in shares]), headers=headers(sim)
    )
    assert response.status_code == 200
    assert "x-rate-limit-limit" not in response.headers
    body = response.json()
    assert body["paging"] == {"count": 10, "start": 0}
    assert [e["share"] for e in body["elements"]] == [p.post_id for p in shares]
    for element, post in zip(body["elements"], shares, strict=True):
        assert element["organizationalEntity"] == organization
        c = counts_at(post, NOW)
        stats = element["totalShareStatistics"]
        assert list(stats) == [
            "uniqueImpressionsCount",
            "shareCount",
            "engagement",
            "clickCount",
            "likeCount",
            "impressionCount",
            "commentCount",
        ]
        assert stats["impressionCount"] == c.impressions
        assert stats["uniqueImpressionsCount"] == c.reach
        assert stats["engagement"] == pytest.approx(
            (c.clicks + c.likes + c.comments + c.shares) / c.impressions
        )


async def test_ugc_posts_are_asked_for_by_their_own_parameter(sim: Sim) -> None:
    organization = sim.account("linkedin").account_id
    ugc = [p for p in sim.posts("linkedin") if ":ugcPost:" in p.post_id][:2]
    assert ugc
    response = await sim.client.get(
        stats_url(organization, "ugcPosts", [p.post_id for p in ugc]), headers=headers(sim)
    )
    elements = response.json()["elements"]
    assert [e["ugcPost"] for e in elements] == [p.post_id for p in ugc]
    assert all("share" not in e for e in elements)


async def test_without_posts_the_organization_total_comes_back(sim: Sim) -> None:
    organization = sim.account("linkedin").account_id
    response = await sim.client.get(stats_url(organization), headers=headers(sim))
    [total] = response.json()["elements"]
    assert set(total) == {"organizationalEntity", "totalShareStatistics"}
    expected = sum(counts_at(p, NOW).impressions for p in sim.posts("linkedin"))
    assert total["totalShareStatistics"]["impressionCount"] == expected


async def test_posts_without_activity_are_left_out(sim: Sim) -> None:
    organization = sim.account("linkedin").account_id
    newest = max(sim.posts("linkedin"), key=lambda p: p.published_at)
    older = min(sim.posts("linkedin"), key=lambda p: p.published_at)
    sim.state.clock.set(newest.published_at)  # just published: nothing happened yet
    urns = [newest.post_id, older.post_id]
    key = "shares" if ":share:" in newest.post_id else "ugcPosts"
    same_kind = [u for u in urns if (":share:" in u) == (key == "shares")]
    response = await sim.client.get(stats_url(organization, key, same_kind), headers=headers(sim))
    returned = [e.get("share") or e.get("ugcPost") for e in response.json()["elements"]]
    assert newest.post_id not in returned


async def test_posts_batch_get_answers_each_id_with_its_post_or_its_error(sim: Sim) -> None:
    kept, deleted = sim.posts("linkedin")[:2]
    foreign = sim.posts("linkedin", business=1)[0]
    assert sim.state.population.delete_post("linkedin", deleted.post_id, NOW)
    urns = [kept.post_id, deleted.post_id, foreign.post_id]
    response = await sim.client.get(
        f"/rest/posts?ids=List({','.join(quote(u, safe='') for u in urns)})",
        headers=headers(sim, overrides={"X-RestLi-Method": "BATCH_GET"}),
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body["results"]) == [kept.post_id]
    assert body["results"][kept.post_id]["id"] == kept.post_id
    assert body["statuses"] == {kept.post_id: 200, deleted.post_id: 404, foreign.post_id: 403}
    assert body["errors"][deleted.post_id]["status"] == 404
    assert body["errors"][deleted.post_id]["code"] == "NOT_FOUND"
    assert body["errors"][foreign.post_id]["status"] == 403
    # The same post one at a time: 404 once deleted.
    one = await sim.client.get(
        f"/rest/posts/{quote(deleted.post_id, safe='')}", headers=headers(sim)
    )
    assert one.status_code == 404
    empty = await sim.client.get("/rest/posts?ids=List()", headers=headers(sim))
    assert empty.status_code == 400


async def test_time_bound_statistics_give_one_element_per_day(sim: Sim) -> None:
    organization = sim.account("linkedin").account_id
    start = NOW - timedelta(days=3)
    post = max(
        (p for p in sim.posts("linkedin") if p.published_at < start), key=lambda p: p.published_at
    )
    start_ms, end_ms = int(start.timestamp() * 1000), int(NOW.timestamp() * 1000)
    span = f"(timeRange:(start:{start_ms},end:{end_ms}),timeGranularityType:DAY)"
    key = "shares" if ":share:" in post.post_id else "ugcPosts"
    url = (
        stats_url(organization, key, [post.post_id]) + "&timeIntervals=" + quote(span, safe="(),:")
    )
    elements = (await sim.client.get(url, headers=headers(sim))).json()["elements"]
    assert len(elements) == 3
    for element in elements:
        assert element["timeRange"]["end"] - element["timeRange"]["start"] == 86_400_000


async def test_another_organization_is_forbidden(sim: Sim) -> None:
    other = sim.account("linkedin", business=1).account_id
    response = await sim.client.get(stats_url(other), headers=headers(sim))
    assert response.status_code == 403
    assert response.json()["serviceErrorCode"] == 100


async def test_network_size_gives_followers_for_both_edge_type_spellings(sim: Sim) -> None:
    account = sim.account("linkedin")
    for edge in ("COMPANY_FOLLOWED_BY_MEMBER", "CompanyFollowedByMember"):
        response = await sim.client.get(
            f"/rest/networkSizes/{quote(account.account_id, safe='')}?edgeType={edge}",
            headers=headers(sim),
        )
        assert response.json() == {"firstDegreeSize": account.followers_at(NOW)}


async def test_version_header_rules(sim: Sim) -> None:
    url = stats_url(sim.account("linkedin").account_id)
    missing = await sim.client.get(url, headers=headers(sim, overrides={"LinkedIn-Version": ""}))
    assert missing.status_code == 400
    sunset = await sim.client.get(
        url, headers=headers(sim, overrides={"LinkedIn-Version": "202409"})
    )
    assert sunset.status_code == 426
    assert sunset.json() == {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": "Requested version 202409 is not active",
    }
    future = await sim.client.get(
        url, headers=headers(sim, overrides={"LinkedIn-Version": "202701"})
    )
    assert future.status_code == 426
    long_form = await sim.client.get(
        url, headers=headers(sim, overrides={"LinkedIn-Version": "20261101"})
    )
    assert long_form.status_code == 200
    no_restli = await sim.client.get(
        url, headers=headers(sim, overrides={"X-Restli-Protocol-Version": ""})
    )
    assert no_restli.status_code == 400


async def test_tokens(sim: Sim) -> None:
    url = stats_url(sim.account("linkedin").account_id)
    empty = await sim.client.get(url, headers=headers(sim, overrides={"Authorization": ""}))
    assert empty.status_code == 401
    assert empty.json() == {
        "message": "Empty oauth2_access_token",
        "serviceErrorCode": 401,
        "status": 401,
    }
    await sim.client.post("/_sim/tokens/revoke", json={"token": sim.token("linkedin")})
    revoked = await sim.client.get(url, headers=headers(sim))
    assert revoked.status_code == 401
    assert revoked.json()["status"] == 401


async def test_daily_member_limit_answers_429(sim_with: Callable[..., Any]) -> None:
    async with sim_with(linkedin_member_daily_limit=2) as sim:
        url = stats_url(sim.account("linkedin").account_id)
        statuses = [(await sim.client.get(url, headers=headers(sim))).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        over = await sim.client.get(url, headers=headers(sim))
        assert over.json() == {
            "status": 429,
            "serviceErrorCode": 101,
            "code": "TOO_MANY_REQUESTS",
            "message": "Resource level throttle MEMBER DAY limit for calls to this resource "
            "is reached.",
        }
        # Another member still has a budget; the other resource too.
        other = stats_url(sim.account("linkedin", 1).account_id)
        assert (await sim.client.get(other, headers=headers(sim, 1))).status_code == 200
        # The day's limit ends at midnight UTC.
        midnight = datetime.combine(NOW.date() + timedelta(days=1), time(0), UTC)
        sim.wall.advance((midnight - NOW).total_seconds() - 0.001)
        assert (await sim.client.get(url, headers=headers(sim))).status_code == 429
        sim.wall.advance(0.001)
        assert (await sim.client.get(url, headers=headers(sim))).status_code == 200


async def test_daily_app_limit_answers_429(sim_with: Callable[..., Any]) -> None:
    async with sim_with(linkedin_app_daily_limit=1) as sim:
        first = stats_url(sim.account("linkedin").account_id)
        second = stats_url(sim.account("linkedin", 1).account_id)
        assert (await sim.client.get(first, headers=headers(sim))).status_code == 200
        over = await sim.client.get(second, headers=headers(sim, 1))
        assert over.status_code == 429
        assert "APPLICATION DAY" in over.json()["message"]
