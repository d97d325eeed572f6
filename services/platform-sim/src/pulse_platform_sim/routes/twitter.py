"""X API v2: post lookup with metrics, user lookup with follower counts.

Shapes follow the X API v2 OpenAPI document and the examples in the platform notes:
partial failures answer 200 with ``data`` and ``errors[]``; problems use the
``https://api.twitter.com/2/problems/...`` types; rate-limit headers on every answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
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
# What every read here needs from a user-context token.
READ_SCOPES = ("tweet.read", "users.read")


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
    if not all(principal.has_scope(scope) for scope in READ_SCOPES):
        raise _problem(
            403, f"Missing required OAuth 2.0 scopes: {' '.join(READ_SCOPES)}", "about:blank"
        )
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
    view = TweetView(sim, principal, fields, expansions, media_fields)
    for post_id in ids:
        post = sim.population.post("twitter", post_id, now)
        if post is None:  # never existed, not yet published, or deleted
            view.errors.append(_not_found("tweet", "id", post_id))
        else:
            view.add(post)
    return JSONResponse(view.body(), headers=headers)


def _link_entity(post: Post) -> dict[str, Any]:
    """The shortened link a link post carries (X wraps every URL in t.co)."""
    short = hashlib.sha256(post.post_id.encode()).hexdigest()[:10]
    target = f"https://www.example.com/blog/{post.post_id}"
    return {
        "start": len(post.content) + 1,
        "end": len(post.content) + 24,
        "url": f"https://t.co/{short}",
        "expanded_url": target,
        "display_url": target.removeprefix("https://"),
    }


class TweetView:
    """Posts as the lookup and timeline endpoints answer them: ``data``, ``includes.media``
    and the field-authorization ``errors``."""

    def __init__(
        self,
        sim: SimState,
        principal: Principal,
        fields: list[str],
        expansions: list[str],
        media_fields: list[str],
    ) -> None:
        self.sim = sim
        self.principal = principal
        self.fields = fields
        self.expansions = expansions
        self.media_fields = media_fields
        self.now = sim.clock.now()
        self.max_age_s = sim.settings.twitter_private_metrics_max_age_days * 86_400
        self.data: list[dict[str, Any]] = []
        self.media: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []

    def add(self, post: Post) -> None:
        fields, principal = self.fields, self.principal
        counts = counts_at(post, self.now)
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
        young = (self.now - post.published_at).total_seconds() < self.max_age_s
        for field in PRIVATE_FIELDS:
            if field not in fields:
                continue
            if principal.kind == "user" and owner and young:
                private = x_non_public_metrics if field == PRIVATE_FIELDS[0] else x_organic_metrics
                tweet[field] = private(counts)
            else:
                self.errors.append(_field_unauthorized(field, post.post_id))
        expand = "attachments.media_keys" in self.expansions
        if (expand or "attachments" in fields) and post.media_keys:
            tweet["attachments"] = {"media_keys": list(post.media_keys)}
        if expand:
            self.media.extend(self._media(post, key, counts.video_views) for key in post.media_keys)
        if "entities" in fields and post.content_type == "link":
            tweet["entities"] = {"urls": [_link_entity(post)]}
        self.data.append(tweet)

    def _media(self, post: Post, key: str, views: int) -> dict[str, Any]:
        video = key.startswith("7_")
        item: dict[str, Any] = {"media_key": key, "type": "video" if video else "photo"}
        wanted = self.media_fields
        digest = hashlib.sha256(key.encode()).hexdigest()[:15]
        if video and "public_metrics" in wanted:
            item["public_metrics"] = {"view_count": views}
        if video and "duration_ms" in wanted:
            item["duration_ms"] = int((post.video_duration_s or 0) * 1000)
        if video and "preview_image_url" in wanted:
            media_id = key.split("_", 1)[1]
            item["preview_image_url"] = (
                f"https://pbs.twimg.com/ext_tw_video_thumb/{media_id}/pu/img/{digest}.jpg"
            )
        if not video and "url" in wanted:
            item["url"] = f"https://pbs.twimg.com/media/{digest}.jpg"
        return item

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.data:
            body["data"] = self.data
        if self.media:
            body["includes"] = {"media": self.media}
        if self.errors:
            body["errors"] = self.errors
        return body


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


# --- a user's timeline ------------------------------------------------------------------

MIN_RESULTS, MAX_RESULTS, DEFAULT_RESULTS = 5, 100, 10
EXCLUDES = frozenset({"replies", "retweets"})


def encode_pagination_token(direction: str, post_id: str) -> str:
    """Opaque, base32hex like X's: which way to page, from which post."""
    raw = f"{direction}{post_id}".encode()
    return base64.b32hexencode(raw).decode().rstrip("=").lower()


def _decode_pagination_token(token: str) -> tuple[str, int]:
    try:
        padded = token.upper() + "=" * (-len(token) % 8)
        raw = base64.b32hexdecode(padded).decode()
        if raw[0] not in "np" or not raw[1:].isdigit():
            raise ValueError(raw)
        return raw[0], int(raw[1:])
    except (binascii.Error, ValueError, IndexError, UnicodeDecodeError):
        raise _invalid_request(
            "pagination_token",
            [token],
            f"The `pagination_token` query parameter value [{token}] is not valid",
        ) from None


def _instant(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _invalid_request(
            name,
            [raw],
            f"Invalid '{name}':'{raw}'. '{name}' must be a ISO 8601 date-time "
            "(YYYY-MM-DDTHH:mm:ssZ)",
        )
    return parsed


def _id_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    _check_ids(name, [raw], 1)
    return int(raw)


def _max_results(request: Request) -> int:
    raw = request.query_params.get("max_results")
    if raw is None:
        return DEFAULT_RESULTS
    if not raw.isdigit() or not MIN_RESULTS <= int(raw) <= MAX_RESULTS:
        raise _invalid_request(
            "max_results",
            [raw],
            f"The `max_results` query parameter value [{raw}] is not between "
            f"{MIN_RESULTS} and {MAX_RESULTS}",
        )
    return int(raw)


def _timeline(sim: SimState, request: Request, account: Account) -> list[Post]:
    """The account's posts a timeline may reach, newest first, within the filters."""
    excludes = _csv(request, "exclude")
    _check_fields("exclude", excludes, EXCLUDES)
    s = sim.settings
    cap = (
        s.twitter_timeline_cap_without_replies if "replies" in excludes else s.twitter_timeline_cap
    )
    posts = sorted(
        sim.population.posts_of(account, sim.clock.now()),
        key=lambda p: int(p.post_id),
        reverse=True,
    )[:cap]
    start, end = _instant(request, "start_time"), _instant(request, "end_time")
    since_id, until_id = _id_param(request, "since_id"), _id_param(request, "until_id")
    return [
        p
        for p in posts
        if (start is None or p.published_at >= start)
        and (end is None or p.published_at < end)
        and (since_id is None or int(p.post_id) > since_id)
        and (until_id is None or int(p.post_id) < until_id)
    ]


def _page(posts: list[Post], token: str | None, size: int) -> tuple[list[Post], bool, bool]:
    """The page, and whether older and newer posts remain beyond it."""
    if token is None:
        page = posts[:size]
    else:
        direction, anchor = _decode_pagination_token(token)
        if direction == "n":
            page = [p for p in posts if int(p.post_id) < anchor][:size]
        else:
            page = [p for p in posts if int(p.post_id) > anchor][-size:]
    if not page:
        return page, False, False
    oldest, newest = int(page[-1].post_id), int(page[0].post_id)
    return (
        page,
        any(int(p.post_id) < oldest for p in posts),
        any(int(p.post_id) > newest for p in posts),
    )


@router.get("/2/users/{user_id}/tweets", summary="A user's posts, newest first")
async def user_tweets(request: Request, user_id: str) -> JSONResponse:
    """With non_public_metrics or organic_metrics asked for by the owner, posts older
    than 30 days are left out of ``data`` (the page still counts them, so a page can
    answer ``result_count: 0`` with a ``next_token``)."""
    sim, principal, headers = await _gate(request, "user_tweets", "GET /2/users/:id/tweets")
    _check_ids("id", [user_id], 1)
    fields = _csv(request, "tweet.fields", "post.fields")
    _check_fields("tweet.fields", fields, TWEET_FIELDS)
    media_fields = _csv(request, "media.fields")
    _check_fields("media.fields", media_fields, MEDIA_FIELDS)
    size = _max_results(request)
    account = sim.population.account("twitter", user_id)
    if account is None:
        return JSONResponse({"errors": [_not_found("user", "id", user_id)]}, headers=headers)
    posts = _timeline(sim, request, account)
    page, older, newer = _page(posts, request.query_params.get("pagination_token"), size)
    view = TweetView(sim, principal, fields, _csv(request, "expansions"), media_fields)
    owner = principal.account is not None and principal.account.account_id == user_id
    private = owner and any(f in fields for f in PRIVATE_FIELDS)
    max_age_s = sim.settings.twitter_private_metrics_max_age_days * 86_400
    for post in page:
        if private and (view.now - post.published_at).total_seconds() >= max_age_s:
            continue
        view.add(post)
    body = view.body()
    meta: dict[str, Any] = {"result_count": len(view.data)}
    if view.data:
        meta["newest_id"] = view.data[0]["id"]
        meta["oldest_id"] = view.data[-1]["id"]
    if older:
        meta["next_token"] = encode_pagination_token("n", page[-1].post_id)
    if newer and request.query_params.get("pagination_token"):
        meta["previous_token"] = encode_pagination_token("p", page[0].post_id)
    body["meta"] = meta
    return JSONResponse(body, headers=headers)
