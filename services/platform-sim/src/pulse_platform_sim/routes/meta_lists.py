"""Meta Graph API edges that list an account's posts, newest first, with cursor paging:

- ``GET /{ver}/{page-id}/published_posts`` (also ``/posts`` and ``/feed``): a Page's
  posts; needs a Page token (``pages_read_engagement``).
- ``GET /{ver}/{ig-user-id}/media``: an Instagram account's media (``instagram_basic``).

``limit`` (default 25, at most 100), ``after``/``before`` cursors, ``since``/``until``.
Paging is ``paging{cursors{before,after},previous?,next?}``; ``next`` is left out on the
last page. A cursor names a post (its time and id), so posts published meanwhile do not
shift the pages already handed out.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_platform_sim.population import Account, Post
from pulse_platform_sim.routes.graph import (
    authenticate,
    graph_error,
    require_page_token,
    require_permission,
    resolve,
    top_level_fields,
)
from pulse_platform_sim.routes.meta import (
    facebook_post_fields,
    instagram_media_fields,
    unix_time,
)
from pulse_platform_sim.state import SimState
from pulse_platform_sim.tokens import Principal

router = APIRouter(tags=["Meta Graph API"])

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
Key = tuple[int, str]  # (published at, in ms; post id): newest first is descending


def _key(post: Post) -> Key:
    return (int(post.published_at.timestamp() * 1000), post.post_id)


def encode_cursor(post: Post) -> str:
    ms, post_id = _key(post)
    return base64.b64encode(f"{ms}:{post_id}".encode()).decode()


def _decode_cursor(raw: str, name: str) -> Key:
    try:
        ms, _, post_id = base64.b64decode(raw + "=" * (-len(raw) % 4)).decode().partition(":")
        return int(ms), post_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise graph_error(400, f"(#100) The {name} cursor is not valid", 100) from None


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit():
        raise graph_error(400, "(#100) The parameter limit must be a positive integer", 100)
    return max(1, min(int(raw), MAX_LIMIT))


def _window(posts: list[Post], since: datetime | None, until: datetime | None) -> list[Post]:
    """Newest first, within [since, until]."""
    kept = [
        p
        for p in posts
        if (since is None or p.published_at >= since) and (until is None or p.published_at <= until)
    ]
    return sorted(kept, key=_key, reverse=True)


def cursor_page(
    request: Request,
    posts: list[Post],
    render: Callable[[Post], dict[str, Any]],
) -> dict[str, Any]:
    """One page of ``posts`` (newest first) after or before the request's cursor."""
    params = request.query_params
    limit = _limit(params.get("limit"))
    ordered = _window(
        posts, unix_time(params.get("since"), "since"), unix_time(params.get("until"), "until")
    )
    if params.get("after"):
        after = _decode_cursor(params["after"], "after")
        rest = [p for p in ordered if _key(p) < after]
        page = rest[:limit]
    elif params.get("before"):
        before = _decode_cursor(params["before"], "before")
        newer = [p for p in ordered if _key(p) > before]
        page = newer[-limit:]
    else:
        page = ordered[:limit]
    body: dict[str, Any] = {"data": [render(p) for p in page]}
    if not page:
        return body
    paging: dict[str, Any] = {
        "cursors": {"before": encode_cursor(page[0]), "after": encode_cursor(page[-1])}
    }
    base = {k: v for k, v in params.items() if k not in ("after", "before")}
    url = f"{request.base_url}{request.url.path.lstrip('/')}"
    if any(_key(p) > _key(page[0]) for p in ordered):
        paging["previous"] = f"{url}?{urlencode({**base, 'before': paging['cursors']['before']})}"
    if any(_key(p) < _key(page[-1]) for p in ordered):
        paging["next"] = f"{url}?{urlencode({**base, 'after': paging['cursors']['after']})}"
    body["paging"] = paging
    return body


async def _account(
    request: Request, object_id: str, endpoint: str
) -> tuple[SimState, Principal, Account]:
    sim, principal = await authenticate(request, endpoint)
    found = resolve(request, sim, principal, object_id)
    if not isinstance(found, Account):
        raise graph_error(
            400, f"(#100) Tried accessing nonexisting field ({endpoint.rsplit('/', 1)[1]})", 100
        )
    return sim, principal, found


async def _page_posts(request: Request, page_id: str, edge: str) -> JSONResponse:
    sim, principal, account = await _account(request, page_id, f"GET /{{version}}/:id/{edge}")
    if account.platform != "facebook":
        raise graph_error(
            400, f"(#100) Tried accessing nonexisting field ({edge}) on node type (IGUser)", 100
        )
    require_page_token(principal)
    require_permission(principal, "pages_read_engagement")
    fields = top_level_fields(request.query_params.get("fields"))
    posts = sim.population.posts_of(account, sim.clock.now())
    body = cursor_page(request, posts, lambda p: facebook_post_fields(sim, p, fields))
    return JSONResponse(body, headers=request.state.response_headers)


@router.get("/{version:graph_version}/{page_id}/published_posts", summary="A Page's posts")
async def published_posts(request: Request, version: str, page_id: str) -> JSONResponse:
    return await _page_posts(request, page_id, "published_posts")


@router.get("/{version:graph_version}/{page_id}/posts", summary="A Page's own posts")
async def posts(request: Request, version: str, page_id: str) -> JSONResponse:
    return await _page_posts(request, page_id, "posts")


@router.get("/{version:graph_version}/{page_id}/feed", summary="A Page's feed")
async def feed(request: Request, version: str, page_id: str) -> JSONResponse:
    return await _page_posts(request, page_id, "feed")


@router.get("/{version:graph_version}/{ig_user_id}/media", summary="An Instagram account's media")
async def media(request: Request, version: str, ig_user_id: str) -> JSONResponse:
    sim, principal, account = await _account(request, ig_user_id, "GET /{version}/:id/media")
    if account.platform != "instagram":
        raise graph_error(
            400, "(#100) Tried accessing nonexisting field (media) on node type (Page)", 100
        )
    require_permission(principal, "instagram_basic")
    fields = top_level_fields(request.query_params.get("fields"))
    posts = sim.population.posts_of(account, sim.clock.now())
    body = cursor_page(request, posts, lambda p: instagram_media_fields(sim, p, fields, account))
    return JSONResponse(body, headers=request.state.response_headers)
