"""Account discovery after sign-in, and follower history (LinkedIn per day, Instagram per
day), consistent with the current totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import quote

from pulse_platform_sim.testing import NOW, Sim, authorize, linkedin_headers, linkedin_token

V = "/v21.0"
DAY_MS = 86_400_000


ACLS = "/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED"


async def test_organization_acls_list_what_the_member_administers(sim: Sim) -> None:
    user = sim.state.population.user("sim-user-2")
    assert user is not None
    token = await linkedin_token(sim, "sim-user-2")
    body = (await sim.client.get(ACLS, headers=linkedin_headers(token))).json()
    assert body["elements"] == [
        {
            "organization": sim.account("linkedin", 1).account_id,
            "role": "ADMINISTRATOR",
            "roleAssignee": user.linkedin_urn,
            "state": "APPROVED",
        }
    ]
    assert body["paging"] == {"start": 0, "count": 10, "links": [], "total": 1}
    nobody = await linkedin_token(sim, "sim-user-none")
    empty = (await sim.client.get(ACLS, headers=linkedin_headers(nobody))).json()
    assert empty["elements"] == []
    assert empty["paging"]["total"] == 0
    other_role = await sim.client.get(
        ACLS.replace("ADMINISTRATOR", "ANALYST"), headers=linkedin_headers(token)
    )
    assert other_role.json()["elements"] == []
    no_header = await sim.client.get(ACLS, headers={"Authorization": f"Bearer {token}"})
    assert no_header.status_code == 400


async def test_the_standing_token_stands_for_the_business_administrator(sim: Sim) -> None:
    user = sim.state.population.user("sim-user-1")
    assert user is not None
    body = (await sim.client.get(ACLS, headers=linkedin_headers(sim.token("linkedin")))).json()
    assert [(e["organization"], e["roleAssignee"]) for e in body["elements"]] == [
        (sim.account("linkedin").account_id, user.linkedin_urn)
    ]


async def test_organization_names(sim: Sim) -> None:
    account = sim.account("linkedin")
    number = account.account_id.rsplit(":", 1)[1]
    token = await linkedin_token(sim, "sim-user-1")
    one = (
        await sim.client.get(f"/rest/organizations/{number}", headers=linkedin_headers(token))
    ).json()
    assert one["id"] == int(number)
    assert one["localizedName"] == account.name
    assert one["vanityName"] == account.handle
    batch = (
        await sim.client.get(
            f"/rest/organizations?ids=List({number},999)", headers=linkedin_headers(token)
        )
    ).json()
    assert batch["results"][number]["localizedName"] == account.name
    assert batch["statuses"] == {number: 200, "999": 404}
    missing = await sim.client.get("/rest/organizations/999", headers=linkedin_headers(token))
    assert missing.status_code == 404


async def test_x_users_me_after_sign_in(sim: Sim) -> None:
    code = await authorize(sim, "twitter", "sim-user-2")
    provider = sim.provider("twitter")
    token = (
        await sim.client.post(
            "/2/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code.code,
                "redirect_uri": code.redirect_uri,
                "code_verifier": code.code_verifier or "",
            },
            auth=(provider.client_id, provider.client_secret),
        )
    ).json()["access_token"]
    me = await sim.client.get(
        "/2/users/me",
        params={"user.fields": "public_metrics"},
        headers={"Authorization": f"Bearer {token}"},
    )
    data = me.json()["data"]
    account = sim.account("twitter", 1)
    assert (data["id"], data["username"]) == (account.account_id, account.handle)
    assert data["public_metrics"]["followers_count"] == account.followers_at(NOW)


def follower_url(organization: str, start: datetime, end: datetime) -> str:
    span = (
        f"(timeRange:(start:{int(start.timestamp() * 1000)},end:{int(end.timestamp() * 1000)}),"
        "timeGranularityType:DAY)"
    )
    return (
        "/rest/organizationalEntityFollowerStatistics?q=organizationalEntity"
        f"&organizationalEntity={quote(organization, safe='')}"
        f"&timeIntervals={quote(span, safe='(),:')}"
    )


async def test_linkedin_follower_gains_add_up_to_todays_total(sim: Sim) -> None:
    account = sim.account("linkedin")
    headers = linkedin_headers(sim.token("linkedin"))
    start = datetime.combine(NOW.date() - timedelta(days=30), datetime.min.time(), UTC)
    elements = (
        await sim.client.get(follower_url(account.account_id, start, NOW), headers=headers)
    ).json()["elements"]
    assert len(elements) == 31  # 30 whole days and today so far
    total = (
        await sim.client.get(
            f"/rest/networkSizes/{quote(account.account_id, safe='')}"
            "?edgeType=COMPANY_FOLLOWED_BY_MEMBER",
            headers=headers,
        )
    ).json()["firstDegreeSize"]
    later_gains = 0
    for element in reversed(elements):
        end = datetime.fromtimestamp(element["timeRange"]["end"] / 1000, UTC)
        assert total - later_gains == account.followers_at(end)
        gains = element["followerGains"]
        assert set(gains) == {"organicFollowerGain", "paidFollowerGain"}
        assert gains["organicFollowerGain"] >= gains["paidFollowerGain"] >= 0
        later_gains += gains["organicFollowerGain"] + gains["paidFollowerGain"]
        assert element["organizationalEntity"] == account.account_id
    assert elements[0]["timeRange"]["end"] - elements[0]["timeRange"]["start"] == DAY_MS
    assert later_gains > 0


async def test_linkedin_follower_statistics_of_another_organization_are_forbidden(
    sim: Sim,
) -> None:
    other = sim.account("linkedin", 1)
    url = follower_url(other.account_id, NOW - timedelta(days=2), NOW)
    assert (
        await sim.client.get(url, headers=linkedin_headers(sim.token("linkedin")))
    ).status_code == 403


async def test_linkedin_lifetime_follower_statistics_have_facets(sim: Sim) -> None:
    account = sim.account("linkedin")
    url = (
        "/rest/organizationalEntityFollowerStatistics?q=organizationalEntity"
        f"&organizationalEntity={quote(account.account_id, safe='')}"
    )
    [element] = (await sim.client.get(url, headers=linkedin_headers(sim.token("linkedin")))).json()[
        "elements"
    ]
    assert element["followerCountsBySeniority"] == []


async def ig_followers(sim: Sim, params: dict[str, Any]) -> Any:
    account = sim.account("instagram")
    return await sim.client.get(
        f"{V}/{account.account_id}/insights",
        params={
            "metric": "follower_count",
            "period": "day",
            "access_token": sim.token("instagram"),
            **params,
        },
    )


async def test_instagram_new_followers_per_day(sim: Sim) -> None:
    account = sim.account("instagram")
    since, until = NOW - timedelta(days=30), NOW
    body = (
        await ig_followers(sim, {"since": int(since.timestamp()), "until": int(until.timestamp())})
    ).json()
    [item] = body["data"]
    assert (item["name"], item["period"]) == ("follower_count", "day")
    assert item["id"] == f"{account.account_id}/insights/follower_count/day"
    values = item["values"]
    assert len(values) == 30
    ends = [datetime.strptime(v["end_time"], "%Y-%m-%dT%H:%M:%S%z") for v in values]
    assert all(e.hour == 7 and e.minute == 0 for e in ends)  # midnight at UTC-07:00
    assert all(b - a == timedelta(days=1) for a, b in pairwise(ends))
    assert sum(v["value"] for v in values) == account.followers_at(ends[-1]) - account.followers_at(
        ends[0] - timedelta(days=1)
    )
    assert set(body["paging"]) == {"previous", "next"}


async def test_instagram_follower_history_is_at_most_30_days(sim: Sim) -> None:
    since, until = NOW - timedelta(days=31), NOW
    answer = await ig_followers(
        sim, {"since": int(since.timestamp()), "until": int(until.timestamp())}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100
    wrong_period = await ig_followers(sim, {"period": "week"})
    assert wrong_period.status_code == 400
    default = (await ig_followers(sim, {})).json()
    assert len(default["data"][0]["values"]) == 2


async def test_facebook_pages_have_no_follower_history(sim: Sim) -> None:
    page = sim.account("facebook")
    answer = await sim.client.get(
        f"{V}/{page.account_id}/insights",
        params={"metric": "follower_count", "period": "day", "access_token": sim.token("facebook")},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "(#100) The value must be a valid insights metric"
