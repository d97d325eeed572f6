"""LinkedInClient logic (URN kinds, batching, refused posts, zero activity, deleted
posts, followers) driven through an in-test ApiCaller."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from pulse_ingest_linkedin.client import LinkedInClient
from pulse_ingest_linkedin.rules import LinkedInRules
from pulse_shared.ingest.contracts import Account, PermanentError, RateLimited, TokenInvalid

ORGANIZATION = "urn:li:organization:2414183"
# The rules' now (a daily throttle lasts until midnight UTC): 5 h 30 min before it.
NOW = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)
ACCOUNT = Account(business_id=42, platform="linkedin", account_id=ORGANIZATION, access_token="t")

Answer = Callable[[str], httpx.Response]


class DocumentedLinkedInApi:
    """A test double of the HTTP boundary only (the shared ApiCaller): it answers each
    path (or, for a path naming one entity, its endpoint) with documentation-shaped
    responses and raises what the real LinkedInRules find in them, as the shared caller
    does. None of our own code is replaced."""

    def __init__(self, answers: Mapping[str, Answer]) -> None:
        self.answers = answers
        self.rules = LinkedInRules(clock=lambda: NOW)
        self.calls: list[tuple[str, str, Mapping[str, str] | None, Mapping[str, str] | None]] = []

    async def get(
        self,
        path: str,
        *,
        account: Account,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        self.calls.append((path, endpoint, params, headers))
        answer = self.answers.get(path.split("?", 1)[0]) or self.answers[endpoint]
        response = answer(path)
        error = self.rules.error_of(response)
        if error is not None:
            raise error
        return response


def listed_posts(path: str) -> tuple[str, list[str]]:
    match = re.search(r"&(shares|ugcPosts)=List\(([^)]*)\)", path)
    assert match is not None, path
    return match.group(1), [unquote(urn) for urn in match.group(2).split(",")]


def share_statistics_answer(
    quiet: frozenset[str] = frozenset(), foreign: frozenset[str] = frozenset()
) -> Answer:
    """organizationalEntityShareStatistics as LinkedIn answers it: posts without activity
    left out, a post of another organisation refused with 403 naming its list index."""

    def answer(path: str) -> httpx.Response:
        list_name, urns = listed_posts(path)
        for index, urn in enumerate(urns):
            if urn in foreign:
                return httpx.Response(
                    403,
                    json={
                        "status": 403,
                        "serviceErrorCode": 100,
                        "code": "ACCESS_DENIED",
                        "message": "Unpermitted fields present in PARAMETER: Data Processing "
                        f"Exception while processing fields [/{list_name}[{index}]]",
                    },
                )
        elements: list[dict[str, Any]] = [
            {
                "organizationalEntity": ORGANIZATION,
                "share" if list_name == "shares" else "ugcPost": urn,
                "totalShareStatistics": {
                    "uniqueImpressionsCount": 120,
                    "shareCount": 3,
                    "engagement": 0.0583,
                    "clickCount": 4,
                    "likeCount": 5,
                    "impressionCount": 206,
                    "commentCount": 1,
                },
            }
            for urn in urns
            if urn not in quiet
        ]
        return httpx.Response(
            200, json={"paging": {"count": 100, "start": 0}, "elements": elements}
        )

    return answer


def posts_answer(deleted: frozenset[str] = frozenset()) -> Answer:
    """The Posts API as LinkedIn answers it: one post by GET (404 once deleted), several
    by BATCH_GET (``results``, ``statuses`` and ``errors`` keyed by URN)."""

    def answer(path: str) -> httpx.Response:
        gone = {"status": 404, "serviceErrorCode": 100, "code": "NOT_FOUND", "message": "Gone"}
        if path.startswith("/rest/posts/"):
            urn = unquote(path.removeprefix("/rest/posts/"))
            if urn in deleted:
                return httpx.Response(404, json=gone)
            return httpx.Response(200, json={"id": urn, "lifecycleState": "PUBLISHED"})
        match = re.fullmatch(r"/rest/posts\?ids=List\(([^)]*)\)", path)
        assert match is not None, path
        urns = [unquote(urn) for urn in match.group(1).split(",")]
        return httpx.Response(
            200,
            json={
                "results": {u: {"id": u} for u in urns if u not in deleted},
                "statuses": {u: 404 if u in deleted else 200 for u in urns},
                "errors": {u: gone for u in urns if u in deleted},
            },
        )

    return answer


def failing(status: int) -> Answer:
    return lambda _: httpx.Response(status, json={"status": status, "message": "no"})


STATISTICS_PATH = "/rest/organizationalEntityShareStatistics"
POST_ENDPOINT = "/rest/posts/{urn}"
POSTS_PATH = "/rest/posts"


async def test_shares_and_ugc_posts_are_asked_for_in_their_own_calls() -> None:
    api = DocumentedLinkedInApi({STATISTICS_PATH: share_statistics_answer()})
    client = LinkedInClient(api_version="202611")
    result = await client.post_metrics(
        api, ACCOUNT, ["urn:li:share:1", "urn:li:ugcPost:2", "urn:li:share:3", "urn:li:activity:4"]
    )
    assert [listed_posts(path) for path, _, _, _ in api.calls] == [
        ("shares", ["urn:li:share:1", "urn:li:share:3"]),
        ("ugcPosts", ["urn:li:ugcPost:2"]),
    ]
    # The Rest.li query rides in the path; params stays None so httpx cannot re-encode it.
    assert all(params is None for _, _, params, _ in api.calls)
    assert all(
        headers == {"LinkedIn-Version": "202611", "X-Restli-Protocol-Version": "2.0.0"}
        for _, _, _, headers in api.calls
    )
    assert sorted(r.platform_post_id for r in result.readings) == [
        "urn:li:share:1",
        "urn:li:share:3",
        "urn:li:ugcPost:2",
    ]
    assert result.missing == ["urn:li:activity:4"]


async def test_more_posts_than_one_call_takes_are_split() -> None:
    api = DocumentedLinkedInApi({STATISTICS_PATH: share_statistics_answer()})
    urns = [f"urn:li:share:{n}" for n in range(45)]
    result = await LinkedInClient(api_version="202611").post_metrics(api, ACCOUNT, urns)
    assert [len(listed_posts(path)[1]) for path, _, _, _ in api.calls] == [10, 10, 10, 10, 5]
    assert len(result.readings) == 45


async def test_quiet_posts_read_as_zero_activity() -> None:
    api = DocumentedLinkedInApi(
        {
            STATISTICS_PATH: share_statistics_answer(quiet=frozenset({"urn:li:share:2"})),
            POST_ENDPOINT: posts_answer(),
        }
    )
    result = await LinkedInClient(api_version="202611").post_metrics(
        api, ACCOUNT, ["urn:li:share:1", "urn:li:share:2"]
    )
    readings = {r.platform_post_id: r.metrics for r in result.readings}
    assert readings["urn:li:share:1"].likes == 5
    assert readings["urn:li:share:2"].likes == 0
    assert readings["urn:li:share:2"].impressions == 0
    assert result.missing == []
    # Only the post left out is asked about, by the documented GET with the usual headers.
    assert api.calls[1] == (
        "/rest/posts/urn%3Ali%3Ashare%3A2",
        POST_ENDPOINT,
        None,
        {"LinkedIn-Version": "202611", "X-Restli-Protocol-Version": "2.0.0"},
    )
    assert len(api.calls) == 2


async def test_a_deleted_post_is_missing_and_gets_no_reading() -> None:
    api = DocumentedLinkedInApi(
        {
            STATISTICS_PATH: share_statistics_answer(quiet=frozenset({"urn:li:ugcPost:2"})),
            POST_ENDPOINT: posts_answer(deleted=frozenset({"urn:li:ugcPost:2"})),
        }
    )
    result = await LinkedInClient(api_version="202611").post_metrics(
        api, ACCOUNT, ["urn:li:ugcPost:1", "urn:li:ugcPost:2"]
    )
    assert result.missing == ["urn:li:ugcPost:2"]
    assert [r.platform_post_id for r in result.readings] == ["urn:li:ugcPost:1"]


async def test_posts_left_out_of_one_call_are_asked_about_in_one_batch_get() -> None:
    quiet = frozenset({"urn:li:share:2", "urn:li:share:3", "urn:li:share:4"})
    api = DocumentedLinkedInApi(
        {
            STATISTICS_PATH: share_statistics_answer(quiet=quiet),
            POSTS_PATH: posts_answer(deleted=frozenset({"urn:li:share:3"})),
        }
    )
    urns = [f"urn:li:share:{n}" for n in range(1, 6)]
    result = await LinkedInClient(api_version="202611").post_metrics(api, ACCOUNT, urns)
    assert [(path, endpoint) for path, endpoint, _, _ in api.calls[1:]] == [
        (
            "/rest/posts?ids=List(urn%3Ali%3Ashare%3A2,urn%3Ali%3Ashare%3A3,urn%3Ali%3Ashare%3A4)",
            "/rest/posts?ids=List(...)",
        )
    ]
    assert result.missing == ["urn:li:share:3"]
    readings = {r.platform_post_id: r.metrics for r in result.readings}
    assert sorted(readings) == [
        "urn:li:share:1",
        "urn:li:share:2",
        "urn:li:share:4",
        "urn:li:share:5",
    ]
    assert readings["urn:li:share:2"].impressions == 0
    assert readings["urn:li:share:4"].impressions == 0


@pytest.mark.parametrize("status", [429, 500, 403])
async def test_a_failed_existence_check_keeps_the_zero_reading(status: int) -> None:
    api = DocumentedLinkedInApi(
        {
            STATISTICS_PATH: share_statistics_answer(quiet=frozenset({"urn:li:share:2"})),
            POST_ENDPOINT: failing(status),
        }
    )
    result = await LinkedInClient(api_version="202611").post_metrics(
        api, ACCOUNT, ["urn:li:share:1", "urn:li:share:2"]
    )
    assert result.missing == []
    assert sorted(r.platform_post_id for r in result.readings) == [
        "urn:li:share:1",
        "urn:li:share:2",
    ]


async def test_a_dead_token_on_the_existence_check_reaches_the_runtime() -> None:
    api = DocumentedLinkedInApi(
        {
            STATISTICS_PATH: share_statistics_answer(quiet=frozenset({"urn:li:share:2"})),
            POST_ENDPOINT: failing(401),
        }
    )
    with pytest.raises(TokenInvalid):
        await LinkedInClient(api_version="202611").post_metrics(api, ACCOUNT, ["urn:li:share:2"])


async def test_another_organisations_post_is_dropped_and_the_rest_kept() -> None:
    api = DocumentedLinkedInApi(
        {STATISTICS_PATH: share_statistics_answer(foreign=frozenset({"urn:li:share:2"}))}
    )
    result = await LinkedInClient(api_version="202611").post_metrics(
        api, ACCOUNT, ["urn:li:share:1", "urn:li:share:2", "urn:li:share:3"]
    )
    assert result.missing == ["urn:li:share:2"]
    assert sorted(r.platform_post_id for r in result.readings) == [
        "urn:li:share:1",
        "urn:li:share:3",
    ]
    assert len(api.calls) == 2


async def test_the_daily_throttle_reaches_the_runtime() -> None:
    def throttled(_: str) -> httpx.Response:
        return httpx.Response(
            429,
            json={
                "status": 429,
                "serviceErrorCode": 101,
                "code": "TOO_MANY_REQUESTS",
                "message": "Resource level throttle APPLICATION DAY limit for calls to this "
                "resource is reached.",
            },
        )

    api = DocumentedLinkedInApi({STATISTICS_PATH: throttled})
    with pytest.raises(RateLimited) as limited:
        await LinkedInClient(api_version="202611").post_metrics(api, ACCOUNT, ["urn:li:share:1"])
    assert limited.value.retry_after_s == 5.5 * 3600  # until midnight UTC
    assert limited.value.scope == "app"


async def test_followers_come_from_network_sizes() -> None:
    path = "/rest/networkSizes/urn%3Ali%3Aorganization%3A2414183"
    api = DocumentedLinkedInApi(
        {path: lambda _: httpx.Response(200, json={"firstDegreeSize": 219145})}
    )
    assert await LinkedInClient(api_version="202611").followers(api, ACCOUNT) == 219145
    assert api.calls[0][:3] == (
        path,
        "/rest/networkSizes",
        {"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"},
    )


async def test_an_account_that_is_no_organisation_is_a_permanent_error() -> None:
    person = Account(
        business_id=42, platform="linkedin", account_id="urn:li:person:1", access_token="t"
    )
    api = DocumentedLinkedInApi({})
    with pytest.raises(PermanentError, match="organization URN"):
        await LinkedInClient(api_version="202611").followers(api, person)


def test_the_version_is_checked_up_front() -> None:
    with pytest.raises(ValueError, match="YYYYMM"):
        LinkedInClient(api_version="")
