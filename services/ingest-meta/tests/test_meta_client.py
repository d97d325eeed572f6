"""MetaClient logic (refused metrics dropped and remembered, bisecting an unnamed refusal,
missing posts, followers) driven through an in-test ApiCaller."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from pulse_ingest_meta.client import MetaClient
from pulse_ingest_meta.rules import MetaRules
from pulse_shared.ingest.contracts import Account, PermanentError, TokenInvalid

PAGE = Account(business_id=42, platform="facebook", account_id="1031", access_token="t")
IG_USER = Account(
    business_id=42, platform="instagram", account_id="17841400000000000", access_token="t"
)

Answer = Callable[[Mapping[str, str]], httpx.Response]

INSIGHT_VALUES = {
    "post_media_view": 1234,
    "post_total_media_view_unique": 900,
    "post_clicks": 40,
    "post_video_views": 300,
    "post_video_view_time": 4500,
    "views": 5000,
    "reach": 3200,
    "likes": 210,
    "comments": 14,
    "shares": 9,
    "saved": 33,
    "total_interactions": 266,
    "ig_reels_video_view_total_time": 91000,
}


class DocumentedGraphApi:
    """A test double of the HTTP boundary only (the shared ApiCaller): it answers each
    path with documentation-shaped responses and raises what the real MetaRules find in
    them, as the shared caller does. None of our own code is replaced."""

    def __init__(self, answers: Mapping[str, Answer]) -> None:
        self.answers = answers
        self.rules = MetaRules()
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    async def get(
        self,
        path: str,
        *,
        account: Account,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        self.calls.append((path, endpoint, dict(params or {})))
        response = self.answers[path](params or {})
        # As on the wire: the response knows its request (the rules read the metric list).
        response.request = httpx.Request(
            "GET", "https://graph.facebook.com" + path, params=params or {}
        )
        error = self.rules.error_of(response)
        if error is not None:
            raise error
        return response

    def metric_lists(self) -> list[str]:
        return [params["metric"] for path, _, params in self.calls if path.endswith("/insights")]


def graph_error(code: int, message: str, **extra: Any) -> httpx.Response:
    return httpx.Response(
        400,
        json={
            "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "fbtrace_id": "A",
                **extra,
            }
        },
    )


def insights_answer(
    retired: frozenset[str] = frozenset(), named_message: str | None = None
) -> Answer:
    """/{id}/insights as Meta answers it: a retired name anywhere in the list fails the
    whole call with the documented, metric-less (#100) message (or ``named_message``)."""

    def answer(params: Mapping[str, str]) -> httpx.Response:
        metrics = params["metric"].split(",")
        if retired & set(metrics):
            return graph_error(
                100, named_message or "(#100) The value must be a valid insights metric"
            )
        return httpx.Response(
            200,
            json={
                "data": [
                    {
                        "name": name,
                        "period": "lifetime",
                        "values": [{"value": INSIGHT_VALUES[name]}],
                        "title": "…",
                        "description": "…",
                        "id": f"{{post-id}}/insights/{name}/lifetime",
                    }
                    for name in metrics
                ],
                "paging": {"next": "…"},
            },
        )

    return answer


def counts_answer(_: Mapping[str, str]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "reactions": {"data": [], "summary": {"total_count": 12}},
            "comments": {"data": [], "summary": {"order": "ranked", "total_count": 3}},
            "shares": {"count": 2},
            "id": "1031_2087",
        },
    )


async def test_a_facebook_post_reads_insights_and_counts() -> None:
    api = DocumentedGraphApi(
        {"/v26.0/1031_2087/insights": insights_answer(), "/v26.0/1031_2087": counts_answer}
    )
    result = await MetaClient().post_metrics(api, PAGE, ["1031_2087"])
    [reading] = result.readings
    assert reading.metrics.likes == 12
    assert reading.metrics.reactions == 12
    assert reading.metrics.impressions == 1234
    assert reading.metrics.video_watch_time_s == 4.5
    assert result.refused_metrics == []
    assert [endpoint for _, endpoint, _ in api.calls] == [
        "/{post-id}/insights",
        "/{post-id}",
    ]


async def test_an_unnamed_refusal_is_bisected_and_the_rest_kept() -> None:
    # post_clicks is the name Meta refuses here, without saying so.
    api = DocumentedGraphApi(
        {
            "/v26.0/1031_2087/insights": insights_answer(retired=frozenset({"post_clicks"})),
            "/v26.0/1031_2087": counts_answer,
        }
    )
    client = MetaClient()
    result = await client.post_metrics(api, PAGE, ["1031_2087"])

    assert result.refused_metrics == ["post_clicks"]
    [reading] = result.readings
    assert reading.metrics.clicks is None
    assert reading.metrics.impressions == 1234
    assert reading.metrics.reach == 900
    assert reading.metrics.video_views == 300
    assert reading.metrics.video_watch_time_s == 4.5
    assert client.refused_metrics("facebook") == frozenset({"post_clicks"})
    assert api.metric_lists() == [
        "post_media_view,post_total_media_view_unique,post_clicks,post_video_views,post_video_view_time",
        "post_media_view,post_total_media_view_unique",
        "post_clicks,post_video_views,post_video_view_time",
        "post_clicks",
        "post_video_views,post_video_view_time",
    ]

    # Remembered: the next poll leaves it out straight away and reports nothing new.
    api.calls.clear()
    again = await client.post_metrics(api, PAGE, ["1031_2087"])
    assert api.metric_lists() == [
        "post_media_view,post_total_media_view_unique,post_video_views,post_video_view_time"
    ]
    assert again.refused_metrics == []
    assert again.readings[0].metrics.impressions == 1234


async def test_two_unnamed_refusals_are_both_found() -> None:
    api = DocumentedGraphApi(
        {
            "/v26.0/17895695668004550/insights": insights_answer(
                retired=frozenset({"reach", "saved"})
            )
        }
    )
    result = await MetaClient().post_metrics(api, IG_USER, ["17895695668004550"])
    assert sorted(result.refused_metrics) == ["reach", "saved"]
    metrics = result.readings[0].metrics
    assert (metrics.likes, metrics.comments, metrics.shares, metrics.impressions) == (
        210,
        14,
        9,
        5000,
    )
    assert metrics.reach is None
    assert metrics.saves is None


async def test_a_named_refusal_is_dropped_in_one_retry() -> None:
    api = DocumentedGraphApi(
        {
            "/v26.0/17895695668004550/insights": insights_answer(
                retired=frozenset({"plays"}),
                named_message="(#100) Starting from version v22.0 and above, the plays metric is "
                "no longer supported for Instagram Media objects. Please use views instead.",
            )
        }
    )
    client = MetaClient(instagram_insight_metrics=["views", "plays", "likes"])
    result = await client.post_metrics(api, IG_USER, ["17895695668004550"])
    assert result.refused_metrics == ["plays"]
    assert api.metric_lists() == ["views,plays,likes", "views,likes"]
    assert result.readings[0].metrics.video_views == 5000


async def test_a_media_type_refusal_is_not_remembered() -> None:
    api = DocumentedGraphApi(
        {
            "/v26.0/17895695668004550/insights": insights_answer(
                retired=frozenset({"shares"}),
                named_message="(#100) The Media Insights API does not support the shares "
                "metric for this media product type.",
            )
        }
    )
    client = MetaClient()
    result = await client.post_metrics(api, IG_USER, ["17895695668004550"])
    assert result.refused_metrics == []  # not a name to fix: it does not apply to this media
    assert result.readings[0].metrics.shares is None  # absent for this post, the rest kept
    assert result.readings[0].metrics.likes == 210
    assert client.refused_metrics("instagram") == frozenset()


async def test_a_deleted_post_is_missing_and_the_others_still_read() -> None:
    def deleted(_: Mapping[str, str]) -> httpx.Response:
        return graph_error(
            100,
            "Unsupported get request. Object with ID '1031_9999' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
            error_subcode=33,
        )

    api = DocumentedGraphApi(
        {
            "/v26.0/1031_9999/insights": deleted,
            "/v26.0/1031_2087/insights": insights_answer(),
            "/v26.0/1031_2087": counts_answer,
        }
    )
    result = await MetaClient().post_metrics(api, PAGE, ["1031_9999", "1031_2087", "2087"])
    assert result.missing == ["1031_9999", "2087"]
    assert [reading.platform_post_id for reading in result.readings] == ["1031_2087"]


async def test_a_dead_token_stops_the_poll() -> None:
    api = DocumentedGraphApi(
        {
            "/v26.0/1031_2087/insights": lambda _: graph_error(
                190, "Error validating access token", error_subcode=463
            )
        }
    )
    with pytest.raises(TokenInvalid):
        await MetaClient().post_metrics(api, PAGE, ["1031_2087"])


async def test_followers_of_a_page_and_an_instagram_user() -> None:
    api = DocumentedGraphApi(
        {
            "/v26.0/1031": lambda _: httpx.Response(
                200, json={"followers_count": 5120, "fan_count": 5000, "id": "1031"}
            ),
            "/v26.0/17841400000000000": lambda _: httpx.Response(
                200, json={"followers_count": 267788, "id": "17841400000000000"}
            ),
        }
    )
    client = MetaClient()
    assert await client.followers(api, PAGE) == 5120
    assert await client.followers(api, IG_USER) == 267788
    assert [(endpoint, params) for _, endpoint, params in api.calls] == [
        ("/{page-id}", {"fields": "followers_count,fan_count"}),
        ("/{ig-user-id}", {"fields": "followers_count"}),
    ]


async def test_an_account_of_another_platform_is_refused() -> None:
    account = Account(business_id=42, platform="twitter", account_id="1", access_token="t")
    with pytest.raises(PermanentError, match="Facebook and Instagram"):
        await MetaClient().post_metrics(DocumentedGraphApi({}), account, ["1"])
