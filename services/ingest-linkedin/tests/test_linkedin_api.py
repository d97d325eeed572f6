"""LinkedIn request builders and answer parsers, on payloads copied from the docs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pulse_ingest_linkedin.api import (
    network_size_request,
    parse_deleted_posts,
    parse_network_size,
    parse_share_statistics,
    post_kind,
    post_request,
    posts_batch_request,
    restli_list,
    share_statistics_request,
)
from pulse_shared.events import PostMetrics

ORGANIZATION = "urn:li:organization:2414183"

# The share-statistics example of the LinkedIn docs, verbatim.
DOCUMENTED_SHARE_STATISTICS: dict[str, Any] = {
    "paging": {"count": 10, "start": 0},
    "elements": [
        {
            "organizationalEntity": "urn:li:organization:2414183",
            "share": "urn:li:share:1000000",
            "totalShareStatistics": {
                "uniqueImpressionsCount": 120,
                "shareCount": 3,
                "engagement": 0.0583,
                "clickCount": 4,
                "likeCount": 5,
                "impressionCount": 206,
                "commentCount": 0,
            },
        }
    ],
}


def test_share_statistics_request_is_the_documented_restli_query() -> None:
    request = share_statistics_request(
        ORGANIZATION, ["urn:li:share:1", "urn:li:share:2"], api_version="202611"
    )
    assert request.path == (
        "/rest/organizationalEntityShareStatistics?q=organizationalEntity"
        "&organizationalEntity=urn%3Ali%3Aorganization%3A2414183"
        "&shares=List(urn%3Ali%3Ashare%3A1,urn%3Ali%3Ashare%3A2)"
    )
    assert request.params is None
    assert request.endpoint == "/rest/organizationalEntityShareStatistics"
    assert request.headers == {
        "LinkedIn-Version": "202611",
        "X-Restli-Protocol-Version": "2.0.0",
    }


async def test_the_restli_list_survives_httpx_as_written() -> None:
    # What goes on the wire when the shared caller's client sends path and params as given.
    request = share_statistics_request(ORGANIZATION, ["urn:li:ugcPost:7"], api_version="202611")
    async with httpx.AsyncClient(base_url="https://api.linkedin.com") as client:
        sent = client.build_request("GET", request.path, params=request.params)
    assert str(sent.url) == (
        "https://api.linkedin.com/rest/organizationalEntityShareStatistics"
        "?q=organizationalEntity&organizationalEntity=urn%3Ali%3Aorganization%3A2414183"
        "&ugcPosts=List(urn%3Ali%3AugcPost%3A7)"
    )


def test_shares_and_ugc_posts_are_not_mixed_in_one_call() -> None:
    with pytest.raises(ValueError, match="all be shares or all ugcPosts"):
        share_statistics_request(
            ORGANIZATION, ["urn:li:share:1", "urn:li:ugcPost:2"], api_version="202611"
        )


def test_share_statistics_request_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="organization URN"):
        share_statistics_request("urn:li:person:1", ["urn:li:share:1"], api_version="202611")
    with pytest.raises(ValueError, match="at least one"):
        share_statistics_request(ORGANIZATION, [], api_version="202611")
    with pytest.raises(ValueError, match="at most 10"):
        share_statistics_request(
            ORGANIZATION, [f"urn:li:share:{n}" for n in range(11)], api_version="202611"
        )
    with pytest.raises(ValueError, match="YYYYMM"):
        share_statistics_request(ORGANIZATION, ["urn:li:share:1"], api_version="2026-11")


def test_post_kinds() -> None:
    assert post_kind("urn:li:share:1") == "share"
    assert post_kind("urn:li:ugcPost:1") == "ugcPost"
    assert post_kind("urn:li:activity:1") is None
    assert post_kind("urn:li:share:1)") is None


def test_restli_list_encodes_the_urns_not_the_syntax() -> None:
    assert restli_list(["urn:li:share:1"]) == "List(urn%3Ali%3Ashare%3A1)"


def test_network_size_request() -> None:
    request = network_size_request("urn:li:organization:123", api_version="202611")
    assert request.path == "/rest/networkSizes/urn%3Ali%3Aorganization%3A123"
    assert request.params == {"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"}
    assert request.headers is not None
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"


def test_documented_answer_maps_every_reported_count() -> None:
    statistics = parse_share_statistics(DOCUMENTED_SHARE_STATISTICS, ["urn:li:share:1000000"])
    [reading] = statistics.readings
    assert reading.platform_post_id == "urn:li:share:1000000"
    assert reading.metrics == PostMetrics(
        likes=5, comments=0, shares=3, impressions=206, reach=120, clicks=4
    )
    assert statistics.omitted == []


def test_the_organisation_aggregate_is_skipped() -> None:
    body = {
        "paging": {"count": 10, "start": 0},
        "elements": [
            {
                "organizationalEntity": ORGANIZATION,
                "totalShareStatistics": {"shareCount": 99, "likeCount": 99},
            },
            *DOCUMENTED_SHARE_STATISTICS["elements"],
        ],
    }
    statistics = parse_share_statistics(body, ["urn:li:share:1000000"])
    assert [r.platform_post_id for r in statistics.readings] == ["urn:li:share:1000000"]


def test_omitted_posts_read_as_zero_activity() -> None:
    statistics = parse_share_statistics(
        DOCUMENTED_SHARE_STATISTICS, ["urn:li:share:1000000", "urn:li:share:1000001"]
    )
    assert statistics.omitted == ["urn:li:share:1000001"]
    quiet = statistics.readings[1]
    assert quiet.platform_post_id == "urn:li:share:1000001"
    assert quiet.metrics == PostMetrics(
        likes=0, comments=0, shares=0, impressions=0, reach=0, clicks=0
    )
    # What LinkedIn never reports stays null even for a quiet post.
    assert quiet.metrics.video_views is None
    assert quiet.metrics.saves is None


def test_omitted_posts_are_not_zeroed_when_the_page_may_be_truncated() -> None:
    full_page = {
        "paging": {"count": 1, "start": 0},
        **{"elements": DOCUMENTED_SHARE_STATISTICS["elements"]},
    }
    statistics = parse_share_statistics(full_page, ["urn:li:share:1000000", "urn:li:share:2"])
    assert [r.platform_post_id for r in statistics.readings] == ["urn:li:share:1000000"]
    assert statistics.omitted == ["urn:li:share:2"]

    with_next = {
        "paging": {"count": 10, "start": 0, "links": [{"rel": "next", "href": "/rest/..."}]},
        "elements": [],
    }
    assert parse_share_statistics(with_next, ["urn:li:share:2"]).readings == []


def test_omitted_posts_give_no_reading_when_zero_fill_is_off() -> None:
    statistics = parse_share_statistics(
        {"paging": {"count": 10, "start": 0}, "elements": []},
        ["urn:li:share:2"],
        omitted_means_zero=False,
    )
    assert statistics.readings == []
    assert statistics.omitted == ["urn:li:share:2"]


def test_a_negative_like_count_is_floored_at_zero() -> None:
    body = {
        "elements": [{"ugcPost": "urn:li:ugcPost:5", "totalShareStatistics": {"likeCount": -2}}]
    }
    [reading] = parse_share_statistics(body, ["urn:li:ugcPost:5"]).readings
    assert reading.metrics.likes == 0
    assert reading.metrics.comments is None


def test_elements_for_posts_not_asked_for_are_ignored() -> None:
    statistics = parse_share_statistics(DOCUMENTED_SHARE_STATISTICS, ["urn:li:share:7"])
    assert [r.platform_post_id for r in statistics.readings] == ["urn:li:share:7"]
    assert statistics.readings[0].metrics.impressions == 0


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"paging": {}},
        {"elements": {}},
        {"elements": [{"share": "urn:li:share:1"}]},
    ],
)
def test_malformed_share_statistics_are_refused(body: object) -> None:
    with pytest.raises(ValueError, match="share statistics"):
        parse_share_statistics(body, ["urn:li:share:1"])


def test_followers_are_the_first_degree_size() -> None:
    assert parse_network_size({"firstDegreeSize": 219145}) == 219145
    with pytest.raises(ValueError, match="firstDegreeSize"):
        parse_network_size({"firstDegreeSize": "219145"})


# --- the Posts API: do the posts the statistics left out still exist? -------------------


def test_post_request_is_the_documented_get() -> None:
    request = post_request("urn:li:ugcPost:7", api_version="202611")
    assert request.path == "/rest/posts/urn%3Ali%3AugcPost%3A7"
    assert request.params is None
    assert request.endpoint == "/rest/posts/{urn}"
    assert request.headers == {
        "LinkedIn-Version": "202611",
        "X-Restli-Protocol-Version": "2.0.0",
    }


async def test_posts_batch_request_is_the_documented_batch_get() -> None:
    request = posts_batch_request(
        ["urn:li:share:1", "urn:li:ugcPost:2", "urn:li:share:1"], api_version="202611"
    )
    assert request.path == "/rest/posts?ids=List(urn%3Ali%3Ashare%3A1,urn%3Ali%3AugcPost%3A2)"
    assert request.params is None
    # Its own budget name, apart from the listing's /rest/posts.
    assert request.endpoint == "/rest/posts?ids=List(...)"
    assert request.headers == {
        "LinkedIn-Version": "202611",
        "X-Restli-Protocol-Version": "2.0.0",
        "X-RestLi-Method": "BATCH_GET",
    }
    async with httpx.AsyncClient(base_url="https://api.linkedin.com") as client:
        sent = client.build_request("GET", request.path, params=request.params)
    assert str(sent.url) == (
        "https://api.linkedin.com/rest/posts?ids=List(urn%3Ali%3Ashare%3A1,urn%3Ali%3AugcPost%3A2)"
    )


def test_post_requests_check_their_inputs() -> None:
    with pytest.raises(ValueError, match="not share or ugcPost"):
        post_request("urn:li:activity:1", api_version="202611")
    with pytest.raises(ValueError, match="at least one"):
        posts_batch_request([], api_version="202611")
    with pytest.raises(ValueError, match="at most 10"):
        posts_batch_request([f"urn:li:share:{n}" for n in range(11)], api_version="202611")


# A Rest.li BATCH_GET answer as LinkedIn's docs show them: maps keyed by id.
BATCH_ANSWER: dict[str, Any] = {
    "results": {"urn:li:share:1": {"id": "urn:li:share:1", "lifecycleState": "PUBLISHED"}},
    "statuses": {"urn:li:share:1": 200, "urn:li:share:2": 404, "urn:li:ugcPost:3": 403},
    "errors": {
        "urn:li:share:2": {"status": 404, "code": "NOT_FOUND", "message": "Not Found"},
        "urn:li:ugcPost:3": {"status": 403, "code": "ACCESS_DENIED", "message": "Denied"},
    },
}


def test_only_posts_answered_not_found_are_deleted() -> None:
    requested = ["urn:li:share:1", "urn:li:share:2", "urn:li:ugcPost:3", "urn:li:share:4"]
    # Found, refused, or not mentioned: not known to be gone.
    assert parse_deleted_posts(BATCH_ANSWER, requested) == ["urn:li:share:2"]


def test_a_404_in_errors_alone_or_in_statuses_alone_is_enough() -> None:
    errors_only = {"results": {}, "errors": {"urn:li:share:2": {"status": 404}}}
    assert parse_deleted_posts(errors_only, ["urn:li:share:2"]) == ["urn:li:share:2"]
    statuses_only = {"results": {}, "statuses": {"urn:li:share:2": 404}}
    assert parse_deleted_posts(statuses_only, ["urn:li:share:2"]) == ["urn:li:share:2"]


def test_batch_keys_are_read_encoded_or_not() -> None:
    encoded = {
        "results": {"urn%3Ali%3Ashare%3A1": {"id": "urn:li:share:1"}},
        "errors": {"urn%3Ali%3Ashare%3A2": {"status": 404}},
    }
    assert parse_deleted_posts(encoded, ["urn:li:share:1", "urn:li:share:2"]) == ["urn:li:share:2"]


@pytest.mark.parametrize(
    "body",
    [[], {"elements": []}, {"results": []}, {"results": {}, "errors": "none"}],
)
def test_malformed_batch_answers_are_refused(body: object) -> None:
    with pytest.raises(ValueError, match="posts batch"):
        parse_deleted_posts(body, ["urn:li:share:1"])
