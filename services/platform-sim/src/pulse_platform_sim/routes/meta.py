"""Meta Graph API (``/vNN.0/...``): Facebook post and Instagram media insights, post
counts, Page and Instagram follower counts.

A retired or unknown insights metric fails the whole call (HTTP 400, code 100). Every
answer carries ``X-App-Usage``; answers to Page and Instagram tokens also carry
``X-Business-Use-Case-Usage``; above 100 % the call fails with a throttling code.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from pulse_platform_sim.errors import PlatformError, attach_headers
from pulse_platform_sim.faults import Fault
from pulse_platform_sim.population import Account, Post
from pulse_platform_sim.ratelimits import BucType
from pulse_platform_sim.routes.gate import apply_fault, bearer_token, identify, label
from pulse_platform_sim.state import SimState, sim_of
from pulse_platform_sim.truth import (
    counts_at,
    facebook_counts,
    facebook_fan_count,
    facebook_insights,
    instagram_insights,
)


class GraphVersion(Convertor[str]):
    """``v26.0`` and every other ``vNN.N``: the Graph API serves each version it keeps."""

    regex = r"v\d+\.\d+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("graph_version", GraphVersion())

router = APIRouter(tags=["Meta Graph API"])

FACEBOOK_POST_METRICS: dict[str, tuple[str, str]] = {
    "post_media_view": ("Media views", "The number of times your post was on screen."),
    "post_total_media_view_unique": (
        "Media viewers",
        "The number of people who saw your post at least once.",
    ),
    "post_clicks": ("Post clicks", "The number of clicks anywhere in your post."),
    "post_video_views": ("Video views", "The number of times your video was viewed."),
    "post_video_view_time": (
        "Video view time",
        "The total time, in milliseconds, your video was watched.",
    ),
}
INSTAGRAM_MEDIA_METRICS: dict[str, tuple[str, str]] = {
    "views": ("Views", "The number of times your media was played or displayed."),
    "reach": ("Accounts reached", "The number of unique accounts that have seen your media."),
    "likes": ("Likes", "The number of likes on your post."),
    "comments": ("Comments", "The number of comments on your post."),
    "shares": ("Shares", "The number of shares of your post."),
    "saved": ("Saved", "The number of saves of your post."),
    "total_interactions": (
        "Interactions",
        "The number of likes, saves, comments and shares on the post, minus unlikes, "
        "unsaves and deleted comments.",
    ),
    "ig_reels_video_view_total_time": (
        "Watch time",
        "The total time, in milliseconds, your reel was played.",
    ),
}
THROTTLES: dict[int, tuple[int, str]] = {
    # code: (HTTP status, message)
    4: (403, "(#4) Application request limit reached"),
    17: (400, "(#17) User request limit reached"),
    32: (403, "(#32) Page request limit reached"),
    613: (400, "(#613) Calls to this api have exceeded the rate limit."),
    80001: (
        400,
        "(#80001) There have been too many calls to this Page account. Wait a bit and try "
        "again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    ),
    80002: (
        400,
        "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
        "try again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    ),
}
THROTTLE_CODE_OF: dict[str, int] = {"app": 4, "pages": 80001, "instagram": 80002}
FIELD_ARGUMENTS = re.compile(r"[.{].*$")


def _error(
    status: int, message: str, code: int, type_: str = "OAuthException", **extra: Any
) -> PlatformError:
    body: dict[str, Any] = {"message": message, "type": type_, "code": code}
    body |= extra
    body["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:22]
    return PlatformError(status, {"error": body})


def _server_error(status: int) -> PlatformError:
    return _error(
        status,
        "An unexpected error has occurred. Please retry your request later.",
        2,
        is_transient=True,
    )


def _throttle(code: int) -> PlatformError:
    status, message = THROTTLES[code]
    return _error(status, message, code, is_transient=True)


def _invalid_metric() -> PlatformError:
    return _error(400, "(#100) The value must be a valid insights metric", 100)


def _no_such_object(object_id: str) -> PlatformError:
    return _error(
        400,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        100,
        "GraphMethodException",
        error_subcode=33,
    )


async def _gate(request: Request, endpoint: str) -> tuple[SimState, Account]:
    sim = sim_of(request)
    label(request, "meta", endpoint)
    token = request.query_params.get("access_token") or bearer_token(request)
    principal, status = sim.tokens.lookup("meta", token) if token else (None, "valid")
    identify(request, principal, token)

    def rate_limited(fault: Fault) -> PlatformError:
        code = fault.meta_code if fault.meta_code in THROTTLES else 4
        return _throttle(code)

    await apply_fault(sim, "meta", _server_error, rate_limited)
    if principal is None or principal.account is None or status != "valid":
        attach_headers(request, sim.limits.meta.record(None, None).headers())
        if not token:
            raise _error(400, "An access token is required to request this resource.", 104)
        if principal is None or principal.account is None:
            raise _error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        if status == "expired":
            raise _error(
                400,
                "Error validating access token: Session has expired. The current time is "
                f"{sim.clock.now():%A, %d-%b-%y %H:%M:%S} UTC.",
                190,
                error_subcode=463,
            )
        raise _error(
            400,
            "Error validating access token: The user has not authorized application "
            f"{sim.population.apps.meta_app_id}.",
            190,
            error_subcode=458,
        )
    account = principal.account
    buc_type: BucType = "instagram" if account.platform == "instagram" else "pages"
    usage = sim.limits.meta.record(account.account_id, buc_type)
    attach_headers(request, usage.headers())
    if usage.throttled_by is not None:
        raise _throttle(THROTTLE_CODE_OF[usage.throttled_by])
    return sim, account


def _resolve(sim: SimState, account: Account, object_id: str) -> Post | Account:
    """The post or account behind an id, if this token's business may read it (a Page
    token reads its Page and the linked Instagram account, and the other way round)."""
    now = sim.clock.now()
    found: Post | Account | None = (
        sim.population.post("facebook", object_id, now)
        or sim.population.post("instagram", object_id, now)
        or sim.population.account("facebook", object_id)
        or sim.population.account("instagram", object_id)
    )
    if found is None or found.business_id != account.business_id:
        raise _no_such_object(object_id)
    return found


def _top_level_fields(raw: str | None) -> list[str]:
    """``reactions.summary(total_count),comments.summary(true),shares`` -> the top-level
    fields with their modifiers, split on the commas outside parentheses and braces."""
    if not raw:
        return []
    fields: list[str] = []
    depth, current = 0, ""
    for char in raw:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            fields.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        fields.append(current.strip())
    return fields


def _unknown_field(name: str, node_type: str) -> PlatformError:
    return _error(
        400, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", 100
    )


def _facebook_post_fields(sim: SimState, post: Post, fields: list[str]) -> dict[str, Any]:
    counts = facebook_counts(counts_at(post, sim.clock.now()))
    body: dict[str, Any] = {}
    for field in fields or ["created_time", "message"]:
        name = FIELD_ARGUMENTS.sub("", field)
        summary = ".summary(" in field
        if name == "created_time":
            body[name] = post.published_at.strftime("%Y-%m-%dT%H:%M:%S+0000")
        elif name == "message":
            body[name] = post.content
        elif name == "permalink_url":
            body[name] = post.url
        elif name == "reactions":
            body[name] = {"data": []}
            if summary:
                body[name]["summary"] = {
                    "total_count": counts["reactions"],
                    "viewer_reaction": "NONE",
                }
        elif name == "comments":
            body[name] = {"data": []}
            if summary:
                body[name]["summary"] = {
                    "order": "ranked",
                    "total_count": counts["comments"],
                    "can_comment": True,
                }
        elif name == "shares":
            # The Graph API leaves ``shares`` out entirely while a post has none.
            if counts["shares"] > 0:
                body[name] = {"count": counts["shares"]}
        elif name != "id":
            raise _unknown_field(name, "Post")
    body["id"] = post.post_id
    return body


def _instagram_media_fields(sim: SimState, post: Post, fields: list[str]) -> dict[str, Any]:
    counts = counts_at(post, sim.clock.now())
    media_type = {"video": "VIDEO", "carousel": "CAROUSEL_ALBUM"}.get(post.content_type, "IMAGE")
    values: dict[str, Any] = {
        "caption": post.content,
        "media_type": media_type,
        "media_product_type": "REELS" if post.is_video else "FEED",
        "timestamp": post.published_at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "permalink": post.url,
        "like_count": counts.likes,
        "comments_count": counts.comments,
    }
    return _pick(values, fields, post.post_id, "IGMedia")


def _account_fields(sim: SimState, account: Account, fields: list[str]) -> dict[str, Any]:
    now = sim.clock.now()
    followers = account.followers_at(now)
    if account.platform == "facebook":
        values: dict[str, Any] = {
            "name": account.name,
            "followers_count": followers,
            "fan_count": facebook_fan_count(account, now),
            "link": f"https://www.facebook.com/{account.account_id}",
        }
        return _pick(values, fields or ["name"], account.account_id, "Page")
    values = {
        "username": account.handle,
        "name": account.name,
        "followers_count": followers,
        "follows_count": account.following,
        "media_count": account.earlier_posts // 10 + len(sim.population.posts_of(account, now)),
    }
    return _pick(values, fields, account.account_id, "IGUser")


def _pick(
    values: dict[str, Any], fields: list[str], object_id: str, node_type: str
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for field in fields:
        name = FIELD_ARGUMENTS.sub("", field)
        if name == "id":
            continue
        if name not in values:
            raise _unknown_field(name, node_type)
        body[name] = values[name]
    body["id"] = object_id
    return body


@router.get("/{version:graph_version}/{object_id}", summary="A Graph API node")
async def node(request: Request, version: str, object_id: str) -> JSONResponse:
    sim, account = await _gate(request, "GET /{version}/:id")
    found = _resolve(sim, account, object_id)
    fields = _top_level_fields(request.query_params.get("fields"))
    if isinstance(found, Account):
        body = _account_fields(sim, found, fields)
    elif found.platform == "facebook":
        body = _facebook_post_fields(sim, found, fields)
    else:
        body = _instagram_media_fields(sim, found, fields)
    return JSONResponse(body, headers=request.state.response_headers)


def _metric_names(request: Request) -> list[str]:
    raw = ",".join(request.query_params.getlist("metric"))
    names = [n.strip() for n in raw.strip("[]").replace('"', "").split(",") if n.strip()]
    if not names:
        raise _error(400, "(#100) The parameter metric is required", 100)
    return list(dict.fromkeys(names))


def _insight(object_id: str, name: str, value: int, texts: tuple[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "period": "lifetime",
        "values": [{"value": value}],
        "title": texts[0],
        "description": texts[1],
        "id": f"{object_id}/insights/{name}/lifetime",
    }


@router.get("/{version:graph_version}/{object_id}/insights", summary="Insights of a post")
async def insights(request: Request, version: str, object_id: str) -> JSONResponse:
    sim, account = await _gate(request, "GET /{version}/:id/insights")
    found = _resolve(sim, account, object_id)
    names = _metric_names(request)
    if isinstance(found, Account):
        raise _invalid_metric()  # Page and account insights are not simulated
    counts = counts_at(found, sim.clock.now())
    if found.platform == "facebook":
        catalogue, values = FACEBOOK_POST_METRICS, facebook_insights(found, counts)
    else:
        catalogue, values = INSTAGRAM_MEDIA_METRICS, instagram_insights(found, counts)
    if any(name not in catalogue for name in names):
        raise _invalid_metric()  # one retired or unknown name fails the whole call
    if (
        found.platform == "instagram"
        and "ig_reels_video_view_total_time" in names
        and not found.is_video
    ):
        raise _error(
            400,
            "(#100) The Media Insights API does not support the ig_reels_video_view_total_time "
            "metric for this media product type.",
            100,
        )
    data = [_insight(found.post_id, n, values[n], catalogue[n]) for n in names]
    body: dict[str, Any] = {"data": data}
    if found.platform == "facebook":
        base = f"{request.base_url}{version}/{found.post_id}/insights?metric={','.join(names)}"
        since, until = int(found.published_at.timestamp()), int(sim.clock.now().timestamp())
        body["paging"] = {
            "previous": f"{base}&since={since - 86_400}&until={since}",
            "next": f"{base}&since={until}&until={until + 86_400}",
        }
    return JSONResponse(body, headers=request.state.response_headers)
