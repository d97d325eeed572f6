"""Listing an X account's posts (backfill and discovery): ``GET /2/users/{id}/tweets``.

Documented (../shared/notes/platform-oauth.md, 2.4): ``max_results`` 5-100,
``pagination_token`` from ``meta.next_token`` (absent on the last page), ``start_time``
(ISO 8601), ``tweet.fields``, ``expansions=attachments.media_keys`` with ``media.fields``
in ``includes.media``; at most the 3,200 most recent posts. X gives no follower history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from pulse_shared.events import ContentType
from pulse_shared.ingest.contracts import (
    Account,
    ApiCaller,
    ApiRequest,
    PermanentError,
    get_json,
)
from pulse_shared.ingest.oauth import DiscoveredPost, FollowerCount

USER_TWEETS_ENDPOINT = "/2/users/:id/tweets"
PAGE_SIZE = 100
TWEET_FIELDS = "created_at,attachments,entities,text"
MEDIA_FIELDS = "type,preview_image_url,url,duration_ms"
POST_URL = "https://x.com/i/web/status/{id}"


def user_tweets_request(user_id: str, since: datetime, page: str | None) -> ApiRequest:
    params = {
        "max_results": str(PAGE_SIZE),
        "start_time": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tweet.fields": TWEET_FIELDS,
        "expansions": "attachments.media_keys",
        "media.fields": MEDIA_FIELDS,
    }
    if page is not None:
        params["pagination_token"] = page
    return ApiRequest(f"/2/users/{user_id}/tweets", USER_TWEETS_ENDPOINT, params)


def _content_type(tweet: Mapping[str, Any], media: Mapping[str, Mapping[str, Any]]) -> ContentType:
    keys = (tweet.get("attachments") or {}).get("media_keys") or []
    kinds = [media[k].get("type") for k in keys if k in media]
    if any(kind in ("video", "animated_gif") for kind in kinds):
        return "video"
    if len(kinds) > 1:
        return "carousel"
    if kinds:
        return "image"
    if (tweet.get("entities") or {}).get("urls"):
        return "link"
    return "text"


def _preview_of(media: Mapping[str, Any] | None) -> str | None:
    if media is None:
        return None
    url = media.get("preview_image_url") or media.get("url")
    return url if isinstance(url, str) else None


def parse_user_tweets(body: object) -> tuple[list[DiscoveredPost], str | None]:
    """One page: its posts, and the next page's token (None: the last page)."""
    if not isinstance(body, dict):
        raise PermanentError("X user tweets answer is not an object")
    media = {
        m["media_key"]: m
        for m in (body.get("includes") or {}).get("media") or []
        if isinstance(m, dict) and isinstance(m.get("media_key"), str)
    }
    posts: list[DiscoveredPost] = []
    for tweet in body.get("data") or []:
        if not isinstance(tweet, dict) or not isinstance(tweet.get("id"), str):
            continue
        try:
            published = datetime.fromisoformat(str(tweet["created_at"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            continue  # a post without its date cannot be placed in any period
        keys = (tweet.get("attachments") or {}).get("media_keys") or []
        first = media.get(keys[0]) if keys else None
        duration_ms = first.get("duration_ms") if first else None
        posts.append(
            DiscoveredPost(
                platform_post_id=tweet["id"],
                published_at=published,
                content_type=_content_type(tweet, media),
                content_preview=str(tweet.get("text") or "")[:500],
                platform_post_url=POST_URL.format(id=tweet["id"]),
                thumbnail_url=(first.get("preview_image_url") or first.get("url"))
                if first
                else None,
                video_duration_s=duration_ms / 1000 if isinstance(duration_ms, int) else None,
            )
        )
    meta = body.get("meta") or {}
    token = meta.get("next_token") if isinstance(meta, dict) else None
    return posts, token if isinstance(token, str) and token else None


class XPostLister:
    async def list_posts(
        self, caller: ApiCaller, account: Account, since: datetime
    ) -> AsyncIterator[DiscoveredPost]:
        page: str | None = None
        while True:
            body = await get_json(
                caller, account, user_tweets_request(account.account_id, since, page)
            )
            posts, page = parse_user_tweets(body)
            for post in posts:
                yield post
            if page is None:
                return

    async def follower_history(
        self, caller: ApiCaller, account: Account, since: datetime, current: int
    ) -> list[FollowerCount]:
        return []  # X has no follower time series: counts start the day it is connected
