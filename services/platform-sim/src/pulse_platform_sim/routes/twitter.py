"""X API v2: post lookup with metrics, user lookup with follower counts.

Shapes follow the X API v2 OpenAPI document and the examples in the platform notes:
partial failures answer 200 with ``data`` and ``errors[]``; problems use the
``https://api.twitter.com/2/problems/...`` types; rate-limit headers on every answer.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_platform_sim.errors import PlatformError, attach_headers
from pulse_platform_sim.faults import Fault
from pulse_platform_sim.population import Account, Post
from pulse_platform_sim.ratelimits import XEndpoint
from pulse_platform_sim.routes.gate import apply_fault, bearer_token, identify, label
from pulse_platform_sim.state import SimState, sim_of
from pulse_platform_sim.tokens import Principal
from pulse_platform_sim.truth import (
    counts_at,
    x_non_public_metrics,
    x_organic_metrics,
    x_public_metrics,
    x_tweet_count,
)

router = APIRouter(tags=["X API v2"])

PROBLEMS = "https://api.twitter.com/2/problems/"
MAX_IDS = 100


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


TWEET_FIELDS = _names(
    "article attachments author_id card_uri community_id context_annotations "
    "conversation_id created_at display_text_range edit_controls edit_history_tweet_ids "
    "entities geo id in_reply_to_user_id lang media_metadata non_public_metrics note_tweet "
    "organic_metrics possibly_sensitive promoted_metrics public_metrics referenced_tweets "
    "reply_settings scopes source text withheld"
)
PRIVATE_FIELDS = ("non_public_metrics", "organic_metrics")
MEDIA_FIELDS = _names(
    "alt_text duration_ms height media_key non_public_metrics organic_metrics preview_image_url "
    "promoted_metrics public_metrics type url variants width"
)
USER_FIELDS = _names(
    "affiliation connection_status created_at description entities id location "
    "most_recent_tweet_id name pinned_tweet_id profile_banner_url profile_image_url protected "
    "public_metrics receives_your_dm subscription_type url username verified verified_type "
    "withheld"
)


def _problem(status: int, detail: str | None = None, type_: str = "about:blank") -> PlatformError:
    title = HTTPStatus(status).phrase
    body = {"title": title, "detail": detail or title, "type": type_, "status": status}
    return PlatformError(status, body)


def _invalid_request(parameter: str, values: list[str], message: str) -> PlatformError:
    return PlatformError(
        400,
        {
            "errors": [{"parameters": {parameter: values}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request",
        },
    )


def _not_found(kind: str, parameter: str, value: str) -> dict[str, Any]:
    return {
        "resource_id": value,
        "resource_type": kind,
        "parameter": parameter,
        "value": value,
        "title": "Not Found Error",
        "detail": f"Could not find {kind} with {parameter}: [{value}].",
        "type": PROBLEMS + "resource-not-found",
    }


def _field_unauthorized(field: str, post_id: str) -> dict[str, Any]:
    return {
        "value": post_id,
        "detail": f"Sorry, you are not authorized to access '{field}' on the Tweet with ids: "
        f"[{post_id}].",
        "field": field,
        "resource_type": "tweet",
        "resource_id": post_id,
        "title": "Field Authorization Error",
        "section": "data",
        "type": PROBLEMS + "not-authorized-for-field",
    }


async def _gate(
    request: Request, endpoint: XEndpoint, name: str
) -> tuple[SimState, Principal, dict[str, str]]:
    """Fault, authentication and rate limit; returns the rate-limit headers to send."""
    sim = sim_of(request)
    label(request, "twitter", name)
    token = bearer_token(request)
    principal, status = sim.tokens.lookup("twitter", token) if token else (None, "valid")
    identify(request, principal, token)
    user_context = principal is not None and principal.kind == "user"
    who = principal.label if principal else "anonymous"

    def rate_limited(_: Fault) -> PlatformError:
        verdict = sim.limits.twitter.exhausted(endpoint, who, user_context)
        error = _problem(429, "Too Many Requests")
        error.headers.update(verdict.headers())
        return error

    await apply_fault(sim, "twitter", lambda status: _problem(status), rate_limited)
    if principal is None or status != "valid":
        raise _problem(401, "Unauthorized")
    if endpoint == "users_me" and not user_context:
        error = _problem(
            403,
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
            "Supported authentication types are [OAuth 1.0a User Context, "
            "OAuth 2.0 User Context].",
            PROBLEMS + "unsupported-authentication",
        )
        error.body["title"] = "Unsupported Authentication"
        raise error
    verdict = sim.limits.twitter.check(endpoint, principal.label, user_context)
    if not verdict.allowed:
        error = _problem(429, "Too Many Requests")
        error.headers.update(verdict.headers())
        raise error
    attach_headers(request, verdict.headers())
    return sim, principal, verdict.headers()


def _csv(request: Request, *names: str) -> list[str]:
    values: list[str] = []
    for name in names:
        for raw in request.query_params.getlist(name):
            values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values


def _check_fields(parameter: str, requested: list[str], allowed: frozenset[str]) -> None:
    for field in requested:
        if field not in allowed:
            raise _invalid_request(
                parameter,
                [field],
                f"The `{parameter}` query parameter value [{field}] is not one of "
                f"[{','.join(sorted(allowed))}]",
            )


def _check_ids(parameter: str, ids: list[str], maximum: int) -> None:
    if not ids:
        raise _invalid_request(parameter, [], f"The `{parameter}` query parameter can not be empty")
    if len(ids) > maximum:
        raise _invalid_request(
            parameter,
            [",".join(ids)],
            f"The number of values in the `{parameter}` query parameter list [{len(ids)}] is "
            f"not between 1 and {maximum}",
        )
    for value in ids:
        if not value.isdigit() or len(value) > 19:
            raise _invalid_request(
                parameter,
                [value],
                f"The `{parameter}` query parameter value [{value}] does not match ^[0-9]{{1,19}}$",
            )


def _created_at(post: Post) -> str:
    return post.published_at.strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


@router.get("/2/tweets", summary="Post lookup by ids")
async def lookup_posts(request: Request) -> JSONResponse:
    sim, principal, headers = await _gate(request, "tweets", "GET /2/tweets")
    ids = list(dict.fromkeys(_csv(request, "ids")))
    _check_ids("ids", ids, MAX_IDS)
    fields = _csv(request, "tweet.fields", "post.fields")
    _check_fields("tweet.fields", fields, TWEET_FIELDS)
    expansions = _csv(request, "expansions")
    media_fields = _csv(request, "media.fields")
    _check_fields("media.fields", media_fields, MEDIA_FIELDS)
    now = sim.clock.now()
    max_age_s = sim.settings.twitter_private_metrics_max_age_days * 86_400
    data: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for post_id in ids:
        post = sim.population.post("twitter", post_id, now)
        if post is None:
            errors.append(_not_found("tweet", "id", post_id))
            continue
        counts = counts_at(post, now)
        tweet: dict[str, Any] = {
            "id": post.post_id,
            "text": post.content,
            "edit_history_tweet_ids": [post.post_id],
        }
        if "created_at" in fields:
            tweet["created_at"] = _created_at(post)
        if "author_id" in fields:
            tweet["author_id"] = post.account_id
        # Public metrics are readable with any token, so they are always given.
        tweet["public_metrics"] = x_public_metrics(counts)
        owner = principal.account is not None and principal.account.account_id == post.account_id
        young = (now - post.published_at).total_seconds() < max_age_s
        for field in PRIVATE_FIELDS:
            if field not in fields:
                continue
            if principal.kind == "user" and owner and young:
                private = x_non_public_metrics if field == PRIVATE_FIELDS[0] else x_organic_metrics
                tweet[field] = private(counts)
            else:
                errors.append(_field_unauthorized(field, post.post_id))
        if "attachments.media_keys" in expansions and post.media_keys:
            tweet["attachments"] = {"media_keys": list(post.media_keys)}
            for key in post.media_keys:
                item: dict[str, Any] = {
                    "media_key": key,
                    "type": "video" if key.startswith("7_") else "photo",
                }
                if key.startswith("7_") and "public_metrics" in media_fields:
                    item["public_metrics"] = {"view_count": counts.video_views}
                if key.startswith("7_") and "duration_ms" in media_fields:
                    item["duration_ms"] = int((post.video_duration_s or 0) * 1000)
                media.append(item)
        data.append(tweet)
    body: dict[str, Any] = {}
    if data:
        body["data"] = data
    if media:
        body["includes"] = {"media": media}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, headers=headers)


def _user(sim: SimState, account: Account, fields: list[str]) -> dict[str, Any]:
    now = sim.clock.now()
    user: dict[str, Any] = {"id": account.account_id, "name": account.name}
    user["username"] = account.handle
    if "created_at" in fields:
        user["created_at"] = account.growth_start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if "protected" in fields:
        user["protected"] = False
    if "public_metrics" in fields:
        user["public_metrics"] = {
            "followers_count": account.followers_at(now),
            "following_count": account.following,
            "tweet_count": x_tweet_count(sim.population, account, now),
            "listed_count": account.listed,
        }
    return user


@router.get("/2/users/me", summary="The authenticated user")
async def me(request: Request) -> JSONResponse:
    sim, principal, headers = await _gate(request, "users_me", "GET /2/users/me")
    assert principal.account is not None  # the gate refused app-only tokens
    fields = _csv(request, "user.fields")
    _check_fields("user.fields", fields, USER_FIELDS)
    return JSONResponse({"data": _user(sim, principal.account, fields)}, headers=headers)


@router.get("/2/users/{user_id}", summary="User lookup by id")
async def lookup_user(request: Request, user_id: str) -> JSONResponse:
    sim, _, headers = await _gate(request, "users", "GET /2/users/:id")
    _check_ids("id", [user_id], 1)
    fields = _csv(request, "user.fields")
    _check_fields("user.fields", fields, USER_FIELDS)
    account = sim.population.account("twitter", user_id)
    if account is None:
        return JSONResponse({"errors": [_not_found("user", "id", user_id)]}, headers=headers)
    return JSONResponse({"data": _user(sim, account, fields)}, headers=headers)


@router.get("/2/users", summary="User lookup by ids")
async def lookup_users(request: Request) -> JSONResponse:
    sim, _, headers = await _gate(request, "users_lookup", "GET /2/users")
    ids = list(dict.fromkeys(_csv(request, "ids")))
    _check_ids("ids", ids, MAX_IDS)
    fields = _csv(request, "user.fields")
    _check_fields("user.fields", fields, USER_FIELDS)
    data: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for user_id in ids:
        account = sim.population.account("twitter", user_id)
        if account is None:
            errors.append(_not_found("user", "id", user_id))
        else:
            data.append(_user(sim, account, fields))
    body: dict[str, Any] = {}
    if data:
        body["data"] = data
    if errors:
        body["errors"] = errors
    return JSONResponse(body, headers=headers)
