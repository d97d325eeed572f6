"""Meta Graph API (``/vNN.N/...``): nodes (Pages, Instagram accounts, posts, the signed-in
user) and insights (Facebook post and Instagram media metrics, Instagram follower counts
per day).

A retired or unknown insights metric fails the whole call (HTTP 400, code 100). Every
answer carries ``X-App-Usage``; answers about a Page or Instagram account also carry
``X-Business-Use-Case-Usage``; above 100 % the call fails with a throttling code. Who may
read what: :mod:`.graph`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_platform_sim.population import Account, Post
from pulse_platform_sim.routes.graph import (
    authenticate,
    charge,
    graph_error,
    graph_time,
    invalid_metric,
    no_such_object,
    require_page_token,
    require_permission,
    resolve,
    top_level_fields,
    unknown_field,
)
from pulse_platform_sim.state import SimState
from pulse_platform_sim.tokens import Principal
from pulse_platform_sim.truth import (
    counts_at,
    facebook_counts,
    facebook_fan_count,
    facebook_insights,
    instagram_insights,
)

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

FIELD_ARGUMENTS = re.compile(r"[.{].*$")
# Instagram's daily values end at midnight in UTC-07:00.
IG_DAY_END = timedelta(hours=7)
IG_MAX_RANGE = timedelta(days=30)
IG_MIN_FOLLOWERS = 100  # smaller accounts get no follower insights
FOLLOWER_COUNT = "follower_count"
STATUS_TYPES = {
    "text": "mobile_status_update",
    "image": "added_photos",
    "carousel": "added_photos",
    "video": "added_video",
    "link": "shared_story",
}


def picture_url(post: Post) -> str | None:
    """The CDN address of a post's picture (a video's poster frame); None for text."""
    if post.content_type == "text":
        return None
    story = post.post_id.rpartition("_")[2]
    if post.platform == "instagram":
        return f"https://scontent.cdninstagram.com/v/t51.29350-15/{story}_n.jpg"
    return f"https://scontent.xx.fbcdn.net/v/t39.30808-6/{story}_n.jpg"


# A post's attachment: (media_type, type) per content type.
ATTACHMENT_TYPES = {
    "image": ("photo", "photo"),
    "video": ("video", "video_inline"),
    "carousel": ("album", "album"),
    "link": ("link", "share"),
}


def _subfields(field: str) -> list[str]:
    """``attachments{media_type,url}`` -> ``["media_type", "url"]`` (empty: all)."""
    if "{" not in field or not field.endswith("}"):
        return []
    return top_level_fields(field[field.index("{") + 1 : -1])


def _attachment(post: Post, wanted: list[str]) -> dict[str, Any] | None:
    if post.content_type not in ATTACHMENT_TYPES:
        return None
    media_type, kind = ATTACHMENT_TYPES[post.content_type]
    story = post.post_id.rpartition("_")[2]
    picture = picture_url(post)
    values: dict[str, Any] = {
        "media_type": media_type,
        "type": kind,
        "url": f"https://www.example.com/blog/{story}" if kind == "share" else post.url,
        "title": post.content,
        "description": post.content,
        "media": {"image": {"height": 720, "width": 720, "src": picture}},
        "target": {"id": story, "url": post.url},
    }
    if post.content_type == "carousel":
        values["subattachments"] = {
            "data": [
                {"media_type": "photo", "type": "photo", "url": f"{post.url}?item={n}"}
                for n in range(3)
            ]
        }
    chosen = {FIELD_ARGUMENTS.sub("", w) for w in wanted} or set(values)
    unknown = chosen - set(values)
    if unknown:
        raise unknown_field(sorted(unknown)[0], "StoryAttachment")
    return {k: v for k, v in values.items() if k in chosen}


def facebook_post_fields(sim: SimState, post: Post, fields: list[str]) -> dict[str, Any]:
    counts = facebook_counts(counts_at(post, sim.clock.now()))
    body: dict[str, Any] = {}
    for field in fields or ["created_time", "message"]:
        name = FIELD_ARGUMENTS.sub("", field)
        summary = ".summary(" in field
        if name in ("created_time", "updated_time"):
            body[name] = graph_time(post.published_at)
        elif name == "message":
            body[name] = post.content
        elif name == "permalink_url":
            body[name] = post.url
        elif name == "full_picture":
            if (picture := picture_url(post)) is not None:  # absent on text posts
                body[name] = picture
        elif name == "status_type":
            body[name] = STATUS_TYPES[post.content_type]
        elif name == "is_published":
            body[name] = True
        elif name == "attachments":
            if (attachment := _attachment(post, _subfields(field))) is not None:
                body[name] = {"data": [attachment]}  # absent on text posts
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
            raise unknown_field(name, "Post")
    body["id"] = post.post_id
    return body


def instagram_media_fields(
    sim: SimState, post: Post, fields: list[str], account: Account
) -> dict[str, Any]:
    counts = counts_at(post, sim.clock.now())
    media_type = {"video": "VIDEO", "carousel": "CAROUSEL_ALBUM"}.get(post.content_type, "IMAGE")
    picture = picture_url(post) or ""
    values: dict[str, Any] = {
        "caption": post.content,
        "media_type": media_type,
        "media_product_type": "REELS" if post.is_video else "FEED",
        "media_url": picture.replace("_n.jpg", "_n.mp4") if post.is_video else picture,
        "timestamp": graph_time(post.published_at),
        "permalink": post.url,
        "shortcode": post.url.rstrip("/").rpartition("/")[2],
        "username": account.handle,
        "owner": {"id": account.account_id},
        "like_count": counts.likes,
        "comments_count": counts.comments,
    }
    body = pick(values, [f for f in fields if f != "thumbnail_url"], post.post_id, "IGMedia")
    if "thumbnail_url" in fields and post.is_video:  # only videos have one
        body = {"thumbnail_url": picture, **body}
    return body


def account_fields(sim: SimState, account: Account, fields: list[str]) -> dict[str, Any]:
    now = sim.clock.now()
    followers = account.followers_at(now)
    business = sim.population.business(account.business_id)
    assert business is not None
    if account.platform == "facebook":
        values: dict[str, Any] = {
            "name": account.name,
            "followers_count": followers,
            "fan_count": facebook_fan_count(account, now),
            "link": f"https://www.facebook.com/{account.account_id}",
            "instagram_business_account": {"id": business.accounts["instagram"].account_id},
        }
        return pick(values, fields or ["name"], account.account_id, "Page")
    values = {
        "username": account.handle,
        "name": account.name,
        "followers_count": followers,
        "follows_count": account.following,
        "media_count": account.earlier_posts // 10 + len(sim.population.posts_of(account, now)),
    }
    return pick(values, fields, account.account_id, "IGUser")


def pick(
    values: dict[str, Any], fields: list[str], object_id: str, node_type: str
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for field in fields:
        name = FIELD_ARGUMENTS.sub("", field)
        if name == "id":
            continue
        if name not in values:
            raise unknown_field(name, node_type)
        body[name] = values[name]
    body["id"] = object_id
    return body


def _me(sim: SimState, principal: Principal, fields: list[str]) -> dict[str, Any]:
    """``/me``: the person behind a user token, or the Page behind a Page token."""
    if principal.kind == "fb_user":
        assert principal.user is not None
        values = {"name": principal.user.name}
        return pick(values, fields or ["name"], principal.user.meta_user_id, "User")
    assert principal.account is not None
    business = sim.population.business(principal.account.business_id)
    assert business is not None
    return account_fields(sim, business.accounts["facebook"], fields)


def _is_me(principal: Principal, object_id: str) -> bool:
    if object_id == "me":
        return True
    user = principal.user
    return principal.kind == "fb_user" and user is not None and object_id == user.meta_user_id


@router.get("/{version:graph_version}/{object_id}", summary="A Graph API node")
async def node(request: Request, version: str, object_id: str) -> JSONResponse:
    sim, principal = await authenticate(request, "GET /{version}/:id")
    fields = top_level_fields(request.query_params.get("fields"))
    if _is_me(principal, object_id):
        charge(request, sim, principal, None)
        return JSONResponse(_me(sim, principal, fields), headers=request.state.response_headers)
    found = resolve(request, sim, principal, object_id)
    if isinstance(found, Account):
        body = account_fields(sim, found, fields)
    elif found.platform == "facebook":
        require_page_token(principal)
        body = facebook_post_fields(sim, found, fields)
    else:
        require_permission(principal, "instagram_basic")
        owner = sim.population.account("instagram", found.account_id)
        assert owner is not None
        body = instagram_media_fields(sim, found, fields, owner)
    return JSONResponse(body, headers=request.state.response_headers)


def _metric_names(request: Request) -> list[str]:
    raw = ",".join(request.query_params.getlist("metric"))
    names = [n.strip() for n in raw.strip("[]").replace('"', "").split(",") if n.strip()]
    if not names:
        raise graph_error(400, "(#100) The parameter metric is required", 100)
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


def _post_insights(
    request: Request, version: str, sim: SimState, principal: Principal, post: Post
) -> dict[str, Any]:
    names = _metric_names(request)
    counts = counts_at(post, sim.clock.now())
    if post.platform == "facebook":
        require_page_token(principal)
        require_permission(principal, "read_insights")
        catalogue, values = FACEBOOK_POST_METRICS, facebook_insights(post, counts)
    else:
        require_permission(principal, "instagram_manage_insights")
        catalogue, values = INSTAGRAM_MEDIA_METRICS, instagram_insights(post, counts)
    if any(name not in catalogue for name in names):
        raise invalid_metric()  # one retired or unknown name fails the whole call
    if (
        post.platform == "instagram"
        and "ig_reels_video_view_total_time" in names
        and not post.is_video
    ):
        raise graph_error(
            400,
            "(#100) The Media Insights API does not support the ig_reels_video_view_total_time "
            "metric for this media product type.",
            100,
        )
    body: dict[str, Any] = {
        "data": [_insight(post.post_id, n, values[n], catalogue[n]) for n in names]
    }
    if post.platform == "facebook":
        base = f"{request.base_url}{version}/{post.post_id}/insights?metric={','.join(names)}"
        since, until = int(post.published_at.timestamp()), int(sim.clock.now().timestamp())
        body["paging"] = {
            "previous": f"{base}&since={since - 86_400}&until={since}",
            "next": f"{base}&since={until}&until={until + 86_400}",
        }
    return body


def unix_time(raw: str | None, name: str) -> datetime | None:
    """``since``/``until``: a Unix timestamp or an ISO 8601 date(-time)."""
    if raw is None or raw == "":
        return None
    try:
        if raw.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(raw), UTC)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise graph_error(400, f"(#100) The parameter {name} is not a valid time", 100) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day_ends(since: datetime, until: datetime, now: datetime) -> list[datetime]:
    """The ends (07:00 UTC) of the days after ``since`` up to ``until`` and now."""
    midnight = since.replace(hour=0, minute=0, second=0, microsecond=0)
    end = midnight + IG_DAY_END
    while end <= since:
        end += timedelta(days=1)
    ends: list[datetime] = []
    while end <= min(until, now):
        ends.append(end)
        end += timedelta(days=1)
    return ends


def _follower_insights(
    request: Request, version: str, sim: SimState, principal: Principal, account: Account
) -> dict[str, Any]:
    """``metric=follower_count&period=day``: new followers per day, at most 30 days."""
    require_permission(principal, "instagram_manage_insights")
    names = _metric_names(request)
    if account.platform != "instagram" or names != [FOLLOWER_COUNT]:
        raise invalid_metric()  # Page insights and other account metrics: not simulated
    params = request.query_params
    if params.get("period") != "day":
        raise graph_error(400, "(#100) follower_count supports only period=day", 100)
    now = sim.clock.now()
    until = unix_time(params.get("until"), "until") or now
    since = unix_time(params.get("since"), "since") or until - timedelta(days=2)
    if until - since > IG_MAX_RANGE:
        raise graph_error(
            400, "(#100) There cannot be more than 30 days (2592000 s) between since and until", 100
        )
    if account.followers_at(now) < IG_MIN_FOLLOWERS:
        return {"data": []}
    values = [
        {
            "value": account.followers_at(end) - account.followers_at(end - timedelta(days=1)),
            "end_time": graph_time(end),
        }
        for end in _day_ends(since, until, now)
    ]
    span = int((until - since).total_seconds())

    def link(start: int) -> str:
        query = {k: v for k, v in params.items() if k not in ("since", "until")}
        query |= {"since": str(start), "until": str(start + span)}
        return f"{request.base_url}{version}/{account.account_id}/insights?{urlencode(query)}"

    item = {
        "name": FOLLOWER_COUNT,
        "period": "day",
        "values": values,
        "title": "Follower Count",
        "description": "Total number of unique accounts following this profile",
        "id": f"{account.account_id}/insights/{FOLLOWER_COUNT}/day",
    }
    start = int(since.timestamp())
    return {"data": [item], "paging": {"previous": link(start - span), "next": link(start + span)}}


@router.get("/{version:graph_version}/{object_id}/insights", summary="Insights")
async def insights(request: Request, version: str, object_id: str) -> JSONResponse:
    sim, principal = await authenticate(request, "GET /{version}/:id/insights")
    if _is_me(principal, object_id):
        charge(request, sim, principal, None)
        raise no_such_object(object_id)
    found = resolve(request, sim, principal, object_id)
    if isinstance(found, Account):
        body = _follower_insights(request, version, sim, principal, found)
    else:
        body = _post_insights(request, version, sim, principal, found)
    return JSONResponse(body, headers=request.state.response_headers)
