"""X API v2 requests and answers, as plain functions of JSON.

Paths are absolute from the API host (``https://api.x.com``); the shared caller adds the
host and the account's bearer token, so nothing here ever holds a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulse_ingest_twitter.normalise import anything_reported, tweet_metrics
from pulse_shared.ingest.contracts import ApiRequest, PostReading
from pulse_shared.ingest.counts import count_of

API_BASE_URL = "https://api.x.com"

TWEET_LOOKUP_PATH = "/2/tweets"
# The endpoint names the shared rate-limit budgets (pulse_shared.ingest.ratelimit) use,
# as X's rate-limit table names them.
TWEET_LOOKUP_ENDPOINT = "/2/tweets"
USER_LOOKUP_ENDPOINT = "/2/users/:id"

MAX_IDS_PER_LOOKUP = 100

PUBLIC_TWEET_FIELDS: tuple[str, ...] = ("public_metrics",)
# Only with a user-context token, and only for the user's own posts under 30 days old;
# otherwise X drops the tweet from ``data`` with a not-authorized-for-field error.
PRIVATE_TWEET_FIELDS: tuple[str, ...] = ("non_public_metrics", "organic_metrics")

TWEET_ID_SHAPE = re.compile(r"[0-9]{1,19}")


def is_tweet_id(value: str) -> bool:
    """X ids are decimal snowflakes (up to 19 digits). The whole value: "^...$" with
    re.match would also take "123\n" (a trailing newline), which then went into the
    URLs of the X API's lookups."""
    return TWEET_ID_SHAPE.fullmatch(value) is not None


def tweet_lookup_request(tweet_ids: Sequence[str], *, private_metrics: bool) -> ApiRequest:
    """``GET /2/tweets?ids=...``: metrics of up to 100 tweets, with their media's view
    counts (``includes.media[].public_metrics.view_count``) for video views."""
    if not tweet_ids:
        raise ValueError("a tweet lookup needs at least one id")
    if len(tweet_ids) > MAX_IDS_PER_LOOKUP:
        raise ValueError(
            f"a tweet lookup takes at most {MAX_IDS_PER_LOOKUP} ids, got {len(tweet_ids)}"
        )
    invalid = [tweet_id for tweet_id in tweet_ids if not is_tweet_id(tweet_id)]
    if invalid:
        raise ValueError(f"not X tweet ids: {invalid}")
    tweet_fields = PUBLIC_TWEET_FIELDS + (PRIVATE_TWEET_FIELDS if private_metrics else ())
    return ApiRequest(
        path=TWEET_LOOKUP_PATH,
        endpoint=TWEET_LOOKUP_ENDPOINT,
        params={
            "ids": ",".join(tweet_ids),
            # The guides and every client library say tweet.fields; the newest OpenAPI
            # document also names it post.fields. The API accepts the guides' name.
            "tweet.fields": ",".join(tweet_fields),
            "expansions": "attachments.media_keys",
            "media.fields": "public_metrics",
        },
    )


def user_lookup_request(user_id: str) -> ApiRequest:
    """``GET /2/users/:id?user.fields=public_metrics``: the account's follower count."""
    if not is_tweet_id(user_id):
        raise ValueError(f"not an X user id: {user_id!r}")
    return ApiRequest(
        path=f"/2/users/{user_id}",
        endpoint=USER_LOOKUP_ENDPOINT,
        params={"user.fields": "public_metrics"},
    )


# --- answers ----------------------------------------------------------------------------


@dataclass
class TweetLookup:
    """What one ``GET /2/tweets`` answer says about the ids asked for."""

    readings: list[PostReading] = field(default_factory=list)
    # Deleted, never existed, or not visible to us (protected / suspended author).
    missing: list[str] = field(default_factory=list)
    # Tweets X withheld because a private metric field was refused for them: ask again
    # with public metrics only.
    private_fields_refused: list[str] = field(default_factory=list)
    # The refused field names (top level, e.g. "organic_metrics").
    refused_fields: list[str] = field(default_factory=list)


# X's problem types, matched on the part after "/problems/" because the host differs
# between the docs (api.x.com) and live answers (api.twitter.com).
_NOT_FOUND_PROBLEMS = frozenset({"resource-not-found", "not-authorized-for-resource"})
_FIELD_REFUSED_PROBLEM = "not-authorized-for-field"
_FIELD_IN_DETAIL = re.compile(r"access '([a-z_]+)")


def _problem_of(error: Mapping[str, Any]) -> str:
    problem_type = error.get("type")
    if not isinstance(problem_type, str):
        return ""
    return problem_type.rsplit("/problems/", 1)[-1]


def _refused_field_of(error: Mapping[str, Any]) -> str | None:
    # "organic_metrics.like_count" -> "organic_metrics"; older answers only name it in
    # the detail ("Sorry, you are not authorized to access 'non_public_metrics' on ...").
    named = error.get("field")
    if isinstance(named, str) and named:
        return named.split(".", 1)[0]
    detail = error.get("detail")
    if isinstance(detail, str) and (match := _FIELD_IN_DETAIL.search(detail)):
        return match.group(1).split(".", 1)[0]
    return None


def _object(body: object, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValueError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


def _list_of_objects(value: object, what: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ValueError(f"{what}: expected a list of objects")
    return list(value)


def _media_view_counts(body: Mapping[str, Any]) -> dict[str, int]:
    includes = body.get("includes")
    if not isinstance(includes, Mapping):
        return {}
    view_counts: dict[str, int] = {}
    for media in _list_of_objects(includes.get("media"), "includes.media"):
        key = media.get("media_key")
        metrics = media.get("public_metrics")
        if isinstance(key, str) and isinstance(metrics, Mapping):
            views = count_of(metrics.get("view_count"))
            if views is not None:
                view_counts[key] = views
    return view_counts


def _video_views(tweet: Mapping[str, Any], view_counts: Mapping[str, int]) -> int | None:
    attachments = tweet.get("attachments")
    if not isinstance(attachments, Mapping):
        return None
    keys = attachments.get("media_keys")
    if not isinstance(keys, list):
        return None
    counted = [view_counts[key] for key in keys if isinstance(key, str) and key in view_counts]
    return sum(counted) if counted else None


def parse_tweet_lookup(body: object) -> TweetLookup:
    """A ``GET /2/tweets`` answer: a 200 may carry ``data`` and ``errors`` together (a
    partial failure), or only ``errors`` when no id was found."""
    answer = _object(body, "tweet lookup")
    view_counts = _media_view_counts(answer)
    lookup = TweetLookup()
    answered: set[str] = set()
    for tweet in _list_of_objects(answer.get("data"), "data"):
        tweet_id = tweet.get("id")
        if not isinstance(tweet_id, str):
            raise ValueError("data[]: a tweet without an id")
        answered.add(tweet_id)
        metrics = tweet_metrics(tweet, _video_views(tweet, view_counts))
        if anything_reported(metrics):
            lookup.readings.append(PostReading(platform_post_id=tweet_id, metrics=metrics))

    for error in _list_of_objects(answer.get("errors"), "errors"):
        # Errors about expanded objects (section "includes") say nothing about our tweets.
        if error.get("section") == "includes":
            continue
        resource_id = error.get("resource_id", error.get("value"))
        if not isinstance(resource_id, str):
            continue
        problem = _problem_of(error)
        if problem == _FIELD_REFUSED_PROBLEM:
            refused = _refused_field_of(error)
            if refused and refused not in lookup.refused_fields:
                lookup.refused_fields.append(refused)
            # A tweet answered without the field needs no second ask.
            if resource_id not in answered and resource_id not in lookup.private_fields_refused:
                lookup.private_fields_refused.append(resource_id)
        elif (
            problem in _NOT_FOUND_PROBLEMS
            and resource_id not in answered
            and resource_id not in lookup.missing
        ):
            lookup.missing.append(resource_id)
    return lookup


def parse_followers(body: object) -> int:
    """``GET /2/users/:id`` -> ``data.public_metrics.followers_count``."""
    answer = _object(body, "user lookup")
    user = answer.get("data")
    if not isinstance(user, Mapping):
        raise ValueError("user lookup: no data (the user was not found)")
    metrics = user.get("public_metrics")
    followers = count_of(metrics.get("followers_count")) if isinstance(metrics, Mapping) else None
    if followers is None:
        raise ValueError("user lookup: data.public_metrics.followers_count is missing")
    return followers
