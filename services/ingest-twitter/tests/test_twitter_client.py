"""TwitterClient logic (batching, private-field fallback, missing ids, followers) driven
through an in-test ApiCaller."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from pulse_ingest_twitter.client import TwitterClient
from pulse_ingest_twitter.rules import TwitterRules
from pulse_shared.ingest.contracts import Account, PermanentError, TokenInvalid

ACCOUNT = Account(business_id=42, platform="twitter", account_id="2244994945", access_token="t0ken")

Answer = Callable[[Mapping[str, str]], httpx.Response]


class DocumentedXApi:
    """A test double of the HTTP boundary only (the shared ApiCaller): it answers each
    path with documentation-shaped responses and raises what the real TwitterRules find
    in them, as the shared caller does. None of our own code is replaced."""

    def __init__(self, answers: Mapping[str, Answer]) -> None:
        self.answers = answers
        self.rules = TwitterRules()
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
        error = self.rules.error_of(response)
        if error is not None:
            raise error
        return response


def public_tweet(tweet_id: str) -> dict[str, Any]:
    return {
        "id": tweet_id,
        "text": "Hi",
        "public_metrics": {
            "retweet_count": 1,
            "reply_count": 2,
            "like_count": int(tweet_id) % 1000,
            "quote_count": 0,
            "bookmark_count": 0,
            "impression_count": 100,
        },
    }


def not_found(tweet_id: str) -> dict[str, Any]:
    return {
        "resource_id": tweet_id,
        "resource_type": "tweet",
        "parameter": "ids",
        "value": tweet_id,
        "title": "Not Found Error",
        "detail": f"Could not find tweet with id: [{tweet_id}].",
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def field_refused(tweet_id: str) -> dict[str, Any]:
    return {
        "resource_type": "tweet",
        "field": "non_public_metrics",
        "parameter": "ids",
        "resource_id": tweet_id,
        "title": "Field Authorization Error",
        "section": "data",
        "detail": f"Sorry, you are not authorized to access 'non_public_metrics' on the "
        f"Tweet with ids : [{tweet_id}].",
        "value": tweet_id,
        "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
    }


def lookup_answer(
    deleted: frozenset[str] = frozenset(), old: frozenset[str] = frozenset()
) -> Answer:
    """GET /2/tweets as X answers it: deleted ids in errors[], and (when private fields
    are asked for) posts older than 30 days withheld with a field error."""

    def answer(params: Mapping[str, str]) -> httpx.Response:
        ids = params["ids"].split(",")
        private = "non_public_metrics" in params["tweet.fields"]
        data, errors = [], []
        for tweet_id in ids:
            if tweet_id in deleted:
                errors.append(not_found(tweet_id))
            elif private and tweet_id in old:
                errors.append(field_refused(tweet_id))
            else:
                tweet = public_tweet(tweet_id)
                if private:
                    tweet["non_public_metrics"] = {"impression_count": 100, "url_link_clicks": 7}
                data.append(tweet)
        body: dict[str, Any] = {"data": data} if data else {}
        if errors:
            body["errors"] = errors
        return httpx.Response(200, json=body)

    return answer


async def test_250_ids_are_looked_up_in_batches_of_100() -> None:
    api = DocumentedXApi({"/2/tweets": lookup_answer()})
    ids = [str(1_000 + n) for n in range(250)]
    result = await TwitterClient().post_metrics(api, ACCOUNT, ids)
    assert [len(params["ids"].split(",")) for _, _, params in api.calls] == [100, 100, 50]
    assert {endpoint for _, endpoint, _ in api.calls} == {"/2/tweets"}
    assert [reading.platform_post_id for reading in result.readings] == ids
    assert result.missing == []
    assert result.refused_metrics == []


async def test_deleted_and_invalid_ids_are_missing() -> None:
    api = DocumentedXApi({"/2/tweets": lookup_answer(deleted=frozenset({"456"}))})
    result = await TwitterClient().post_metrics(api, ACCOUNT, ["123", "456", "not-an-id"])
    assert [reading.platform_post_id for reading in result.readings] == ["123"]
    assert sorted(result.missing) == ["456", "not-an-id"]
    assert api.calls[0][2]["ids"] == "123,456"


async def test_private_fields_refused_for_old_posts_fall_back_to_public_metrics() -> None:
    api = DocumentedXApi({"/2/tweets": lookup_answer(old=frozenset({"2"}))})
    client = TwitterClient(private_metrics=True)
    result = await client.post_metrics(api, ACCOUNT, ["1", "2"])

    readings = {reading.platform_post_id: reading.metrics for reading in result.readings}
    assert readings["1"].clicks == 7
    # The old post is read with public metrics: clicks not reported, so null.
    assert readings["2"].clicks is None
    assert readings["2"].likes == 2
    assert result.refused_metrics == ["non_public_metrics"]
    assert [params["ids"] for _, _, params in api.calls] == ["1,2", "2"]

    # The next poll asks for the old post's public metrics straight away.
    api.calls.clear()
    await client.post_metrics(api, ACCOUNT, ["1", "2"])
    assert [(params["ids"], params["tweet.fields"]) for _, _, params in api.calls] == [
        ("1", "public_metrics,non_public_metrics,organic_metrics"),
        ("2", "public_metrics"),
    ]


async def test_without_user_context_only_public_metrics_are_asked_for() -> None:
    api = DocumentedXApi({"/2/tweets": lookup_answer()})
    await TwitterClient().post_metrics(api, ACCOUNT, ["1"])
    assert api.calls[0][2]["tweet.fields"] == "public_metrics"


async def test_a_dead_token_stops_the_poll() -> None:
    api = DocumentedXApi(
        {"/2/tweets": lambda _: httpx.Response(401, json={"title": "Unauthorized", "status": 401})}
    )
    with pytest.raises(TokenInvalid):
        await TwitterClient().post_metrics(api, ACCOUNT, ["1"])


async def test_followers_come_from_the_users_public_metrics() -> None:
    def user(_: Mapping[str, str]) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "data": {
                    "id": "2244994945",
                    "username": "XDevelopers",
                    "public_metrics": {
                        "followers_count": 583423,
                        "following_count": 2048,
                        "tweet_count": 14052,
                        "listed_count": 1672,
                    },
                }
            },
        )

    api = DocumentedXApi({"/2/users/2244994945": user})
    assert await TwitterClient().followers(api, ACCOUNT) == 583423
    assert api.calls == [("/2/users/2244994945", "/2/users/:id", {"user.fields": "public_metrics"})]


async def test_followers_of_an_account_x_does_not_know_is_a_permanent_error() -> None:
    api = DocumentedXApi(
        {"/2/users/2244994945": lambda _: httpx.Response(200, json={"errors": [not_found("1")]})}
    )
    with pytest.raises(PermanentError, match="2244994945"):
        await TwitterClient().followers(api, ACCOUNT)
