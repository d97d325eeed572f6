"""X request builders and answer parsers, on payloads copied from the API documentation."""

from __future__ import annotations

from typing import Any

import pytest

from pulse_ingest_twitter.api import (
    parse_followers,
    parse_tweet_lookup,
    tweet_lookup_request,
    user_lookup_request,
)

# The tweet lookup example of the X docs (metrics.mdx / openapi.json), verbatim.
DOCUMENTED_LOOKUP: dict[str, Any] = {
    "data": [
        {
            "id": "123",
            "text": "Hi",
            "created_at": "2026-08-01T12:00:00.000Z",
            "public_metrics": {
                "retweet_count": 50,
                "reply_count": 12,
                "like_count": 234,
                "quote_count": 5,
                "bookmark_count": 8,
                "impression_count": 5432,
            },
            "non_public_metrics": {
                "impression_count": 5432,
                "url_link_clicks": 89,
                "user_profile_clicks": 156,
                "engagements": 345,
            },
        }
    ],
    "errors": [
        {
            "resource_id": "456",
            "resource_type": "tweet",
            "parameter": "ids",
            "value": "456",
            "title": "Not Found Error",
            "detail": "Could not find tweet with id: [456].",
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }
    ],
}


def test_lookup_asks_for_public_metrics_and_media_view_counts() -> None:
    request = tweet_lookup_request(["1", "2"], private_metrics=False)
    assert request.path == "/2/tweets"
    assert request.endpoint == "/2/tweets"
    assert request.params == {
        "ids": "1,2",
        "tweet.fields": "public_metrics",
        "expansions": "attachments.media_keys",
        "media.fields": "public_metrics",
    }


def test_lookup_asks_for_private_metrics_only_when_the_token_allows() -> None:
    request = tweet_lookup_request(["1"], private_metrics=True)
    assert request.params is not None
    assert request.params["tweet.fields"] == "public_metrics,non_public_metrics,organic_metrics"


def test_lookup_takes_at_most_100_ids() -> None:
    assert tweet_lookup_request([str(n) for n in range(1, 101)], private_metrics=False)
    with pytest.raises(ValueError, match="at most 100"):
        tweet_lookup_request([str(n) for n in range(1, 102)], private_metrics=False)
    with pytest.raises(ValueError, match="at least one"):
        tweet_lookup_request([], private_metrics=False)


def test_lookup_refuses_ids_that_are_not_snowflakes() -> None:
    with pytest.raises(ValueError, match="not X tweet ids"):
        tweet_lookup_request(["123", "12&ids=9"], private_metrics=False)


def test_user_lookup_asks_for_public_metrics() -> None:
    request = user_lookup_request("2244994945")
    assert request.path == "/2/users/2244994945"
    assert request.endpoint == "/2/users/:id"
    assert request.params == {"user.fields": "public_metrics"}
    with pytest.raises(ValueError, match="not an X user id"):
        user_lookup_request("../2/tweets")


def test_documented_partial_answer_gives_the_reading_and_the_missing_id() -> None:
    lookup = parse_tweet_lookup(DOCUMENTED_LOOKUP)
    assert [reading.platform_post_id for reading in lookup.readings] == ["123"]
    metrics = lookup.readings[0].metrics
    assert metrics.likes == 234
    assert metrics.comments == 12
    assert metrics.retweets == 50
    assert metrics.quote_tweets == 5
    assert metrics.shares == 55
    assert metrics.impressions == 5432
    assert metrics.clicks == 89
    assert metrics.saves == 8
    assert metrics.reach is None
    assert metrics.reactions is None
    assert metrics.video_views is None
    assert lookup.missing == ["456"]
    assert lookup.private_fields_refused == []


def test_errors_only_answer_marks_every_id_missing() -> None:
    # X answers 200 with only errors[] when none of the ids exists (api.x.com problem host
    # as in the docs, not-authorized-for-resource for a protected author).
    body = {
        "errors": [
            {
                "value": "456",
                "detail": "Could not find tweet with id: [456].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": "456",
                "type": "https://api.x.com/2/problems/resource-not-found",
            },
            {
                "value": "789",
                "parameter": "ids",
                "resource_type": "tweet",
                "section": "data",
                "title": "Authorization Error",
                "detail": "Sorry, you are not authorized to see the Tweet with ids: [789].",
                "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
            },
        ]
    }
    lookup = parse_tweet_lookup(body)
    assert lookup.readings == []
    assert lookup.missing == ["456", "789"]


def test_field_authorization_errors_ask_again_for_the_withheld_tweets() -> None:
    body = {
        "data": [{"id": "1", "public_metrics": {"like_count": 1}}],
        "errors": [
            {
                "resource_type": "tweet",
                "field": "organic_metrics.like_count",
                "parameter": "ids",
                "resource_id": "2",
                "title": "Field Authorization Error",
                "section": "data",
                "detail": "Sorry, you are not authorized to access 'organic_metrics.like_count' "
                "on the Tweet with ids : [2].",
                "value": "2",
                "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
            },
            {
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": "3",
                "title": "Field Authorization Error",
                "detail": "Sorry, you are not authorized to access 'non_public_metrics' on "
                "the Tweet with ids : [3].",
                "value": "3",
                "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
            },
        ],
    }
    lookup = parse_tweet_lookup(body)
    assert [reading.platform_post_id for reading in lookup.readings] == ["1"]
    assert lookup.private_fields_refused == ["2", "3"]
    assert lookup.refused_fields == ["organic_metrics", "non_public_metrics"]
    assert lookup.missing == []


def test_errors_about_expanded_media_say_nothing_about_our_tweets() -> None:
    body = {
        "data": [{"id": "1", "public_metrics": {"like_count": 1}}],
        "errors": [
            {
                "resource_id": "3_1",
                "section": "includes",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ],
    }
    lookup = parse_tweet_lookup(body)
    assert lookup.missing == []


def test_video_views_come_from_the_attached_media() -> None:
    body = {
        "data": [
            {
                "id": "1",
                "attachments": {"media_keys": ["7_1", "3_2"]},
                "public_metrics": {"like_count": 3, "impression_count": 40},
            },
            {"id": "2", "attachments": {"media_keys": ["3_3"]}, "public_metrics": {}},
        ],
        "includes": {
            "media": [
                {"media_key": "7_1", "type": "video", "public_metrics": {"view_count": 321}},
                {"media_key": "3_2", "type": "photo"},
                {"media_key": "3_3", "type": "photo"},
            ]
        },
    }
    lookup = parse_tweet_lookup(body)
    # Tweet 2 reports nothing at all: no reading (it would overwrite totals with nulls).
    assert [reading.platform_post_id for reading in lookup.readings] == ["1"]
    assert lookup.readings[0].metrics.video_views == 321


@pytest.mark.parametrize(
    "body",
    [[], {"data": {"id": "1"}}, {"data": [{"text": "no id"}]}, {"errors": "boom"}],
)
def test_malformed_lookup_answers_are_refused(body: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every malformed shape, one error type
        parse_tweet_lookup(body)


def test_followers_from_the_user_object() -> None:
    body = {
        "data": {
            "id": "2244994945",
            "name": "X Dev",
            "username": "XDevelopers",
            "public_metrics": {
                "followers_count": 583423,
                "following_count": 2048,
                "tweet_count": 14052,
                "listed_count": 1672,
            },
        }
    }
    assert parse_followers(body) == 583423


def test_followers_of_an_unknown_user_are_an_error() -> None:
    body = {
        "errors": [
            {
                "value": "1",
                "detail": "Could not find user with id: [1].",
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": "id",
                "resource_id": "1",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }
    with pytest.raises(ValueError, match="not found"):
        parse_followers(body)
