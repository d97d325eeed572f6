"""Graph API request builders and answer parsers, on payloads copied from the docs."""

from __future__ import annotations

from typing import Any

import pytest

from pulse_ingest_meta.api import (
    facebook_page_followers_request,
    facebook_post_counts_request,
    facebook_post_insights_request,
    instagram_media_insights_request,
    instagram_user_followers_request,
    parse_facebook_counts,
    parse_followers,
    parse_insights,
)
from pulse_ingest_meta.normalise import FacebookCounts

# The post-insights example of the Graph docs, verbatim ("{post-id}", "…" as written).
DOCUMENTED_INSIGHTS: dict[str, Any] = {
    "data": [
        {
            "name": "post_media_view",
            "period": "lifetime",
            "values": [{"value": 1234}],
            "title": "…",
            "description": "…",
            "id": "{post-id}/insights/post_media_view/lifetime",
        }
    ],
    "paging": {"next": "…"},
}


def test_facebook_insights_ask_for_the_current_metric_names() -> None:
    request = facebook_post_insights_request(
        "1031_2087",
        [
            "post_media_view",
            "post_total_media_view_unique",
            "post_clicks",
            "post_video_views",
            "post_video_view_time",
        ],
    )
    assert request.path == "/v26.0/1031_2087/insights"
    assert request.endpoint == "/{post-id}/insights"
    assert request.params == {
        "metric": "post_media_view,post_total_media_view_unique,post_clicks,post_video_views,"
        "post_video_view_time"
    }


def test_facebook_counts_ask_for_reaction_and_comment_summaries_and_shares() -> None:
    request = facebook_post_counts_request("1031_2087", api_version="v25.0")
    assert request.path == "/v25.0/1031_2087"
    assert request.params == {
        "fields": "reactions.summary(total_count),comments.summary(true),shares"
    }


def test_instagram_insights_ask_for_views_not_the_deprecated_names() -> None:
    request = instagram_media_insights_request(
        "17895695668004550",
        ["views", "reach", "likes", "comments", "shares", "saved", "total_interactions"],
    )
    assert request.path == "/v26.0/17895695668004550/insights"
    assert request.endpoint == "/{ig-media-id}/insights"
    assert request.params == {
        "metric": "views,reach,likes,comments,shares,saved,total_interactions"
    }


def test_followers_requests() -> None:
    page = facebook_page_followers_request("1031")
    assert (page.path, page.params) == ("/v26.0/1031", {"fields": "followers_count,fan_count"})
    ig_user = instagram_user_followers_request("17841400000000000")
    assert ig_user.params == {"fields": "followers_count"}
    assert ig_user.endpoint == "/{ig-user-id}"


def test_ids_versions_and_metric_lists_are_checked() -> None:
    with pytest.raises(ValueError, match="Facebook post"):
        facebook_post_insights_request("2087", ["post_media_view"])
    with pytest.raises(ValueError, match="Instagram media"):
        instagram_media_insights_request("1031_2087", ["views"])
    with pytest.raises(ValueError, match=r"v26\.0"):
        facebook_post_counts_request("1031_2087", api_version="26")
    with pytest.raises(ValueError, match="at least one metric"):
        instagram_media_insights_request("1", [])
    with pytest.raises(ValueError, match="Facebook Page"):
        facebook_page_followers_request("me/accounts")


def test_documented_insights_answer() -> None:
    assert parse_insights(DOCUMENTED_INSIGHTS) == {"post_media_view": 1234}


def test_no_data_is_an_empty_answer() -> None:
    assert parse_insights({"data": []}) == {}


def test_lifetime_wins_and_breakdowns_are_left_out() -> None:
    body = {
        "data": [
            {"name": "post_clicks", "period": "lifetime", "values": [{"value": 9}]},
            {
                "name": "post_clicks",
                "period": "day",
                "values": [
                    {"value": 1, "end_time": "2020-03-09T07:00:00+0000"},
                    {"value": 2, "end_time": "2020-03-10T07:00:00+0000"},
                ],
            },
            {
                "name": "post_clicks_by_type",
                "period": "lifetime",
                "values": [{"value": {"link clicks": 3}}],
            },
            {
                "name": "post_video_views",
                "period": "day",
                "values": [{"value": 4, "end_time": "2020-03-10T07:00:00+0000"}],
            },
        ]
    }
    assert parse_insights(body) == {"post_clicks": 9, "post_video_views": 4}


def test_instagram_total_value_entries() -> None:
    body = {"data": [{"name": "views", "period": "lifetime", "total_value": {"value": 77}}]}
    assert parse_insights(body) == {"views": 77}


@pytest.mark.parametrize("body", [[], {"data": {}}, {"data": [{"values": []}]}])
def test_malformed_insights_are_refused(body: object) -> None:
    with pytest.raises(ValueError, match="insights"):
        parse_insights(body)


def test_documented_counts() -> None:
    body = {
        "reactions": {"data": [], "summary": {"total_count": 12, "viewer_reaction": "NONE"}},
        "comments": {
            "data": [],
            "summary": {"order": "ranked", "total_count": 3, "can_comment": True},
        },
        "shares": {"count": 2},
        "id": "1031_2087",
    }
    assert parse_facebook_counts(body) == FacebookCounts(reactions=12, comments=3, shares=2)


def test_a_never_shared_post_has_no_shares_field_and_zero_shares() -> None:
    body = {
        "reactions": {"data": [], "summary": {"total_count": 0}},
        "comments": {"data": [], "summary": {"total_count": 0}},
        "id": "1031_2087",
    }
    assert parse_facebook_counts(body) == FacebookCounts(reactions=0, comments=0, shares=0)


def test_counts_without_summaries_are_not_reported() -> None:
    assert parse_facebook_counts({"shares": {"count": 1}}) == FacebookCounts(None, None, 1)
    with pytest.raises(ValueError, match="shares"):
        parse_facebook_counts({"shares": 1})


def test_followers() -> None:
    assert parse_followers({"followers_count": 267788, "id": "17841400000000000"}) == 267788
    assert parse_followers({"fan_count": 5120, "id": "1031"}) == 5120
    with pytest.raises(ValueError, match="followers_count"):
        parse_followers({"id": "1031"})
