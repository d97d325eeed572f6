"""Listing a Facebook Page's posts and an Instagram account's media (backfill and
discovery), and an Instagram account's follower history.

Documented (../shared/notes/platform-oauth.md, 3.4 and 3.5; sources in this service's
README):

- ``GET /{page-id}/published_posts`` with ``fields`` and ``limit``: the Page's posts,
  newest first (Page token, ``pages_read_engagement``);
- ``GET /{ig-user-id}/media`` with ``fields``, ``limit`` and ``since``: the account's
  media, newest first;
- both page with ``paging{cursors{before,after},previous,next}``: ``next`` is left out on
  the last page, and a short page does not mean the end. The cursor is sent back as
  ``after`` through the shared caller (never ``paging.next`` itself: it is a full URL
  carrying the access token, and it would bypass the caller's host, rate limits and
  retries);
- ``GET /{ig-user-id}/insights?metric=follower_count&period=day&since&until``: the new
  followers of each day, at most 30 days back; nothing for an account under 100
  followers. A Page has no such history here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from pulse_ingest_meta.api import DEFAULT_API_VERSION, check_api_version, is_node_id
from pulse_shared.events import ContentType
from pulse_shared.ingest.contracts import (
    Account,
    ApiCaller,
    ApiRequest,
    MetricRefused,
    PermanentError,
    get_json,
)
from pulse_shared.ingest.oauth import DiscoveredPost, FollowerCount
from pulse_shared.logs import get_logger

log = get_logger(__name__)

PAGE_SIZE = 100  # the most the edges hand out per page
PREVIEW_CHARS = 500
FACEBOOK_POST_FIELDS = "id,message,created_time,permalink_url,full_picture,attachments{media_type}"
INSTAGRAM_MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,media_url,permalink,thumbnail_url,timestamp"
)
FOLLOWER_COUNT_METRIC = "follower_count"
# "Returns a maximum of 30 days worth of data" (since v9.0).
FOLLOWER_HISTORY_SPAN = timedelta(days=30)
# Instagram's days end at 07:00 UTC (UTC-07:00 midnight), so consecutive values are 24 h
# apart; an hour of slack absorbs a clock that is not exactly on the hour.
ONE_DAY = timedelta(days=1)
DAY_SLACK = timedelta(hours=1)

# Endpoint names for the shared rate-limit bookkeeping, in the docs' notation.
PUBLISHED_POSTS_ENDPOINT = "/{page-id}/published_posts"
INSTAGRAM_MEDIA_ENDPOINT = "/{ig-user-id}/media"
INSTAGRAM_USER_INSIGHTS_ENDPOINT = "/{ig-user-id}/insights"

# A Page post's first attachment says what it shows (its media_type, lower case:
# photo, video, album, link, ... in the client code we read; the values are not in the
# notes, so an unknown one falls back on the picture).
_FACEBOOK_ATTACHMENT_TYPES: dict[str, ContentType] = {
    "photo": "image",
    "cover_photo": "image",
    "profile_media": "image",
    "video": "video",
    "video_inline": "video",
    "video_autoplay": "video",
    "animated_image_video": "video",
    "album": "carousel",
    "link": "link",
    "share": "link",
}
_INSTAGRAM_MEDIA_TYPES: dict[str, ContentType] = {
    "IMAGE": "image",
    "VIDEO": "video",
    "CAROUSEL_ALBUM": "carousel",
}


# One page of an edge: its posts, newest first, and the next page's cursor (None: the last).
ListingPage: TypeAlias = tuple[list[DiscoveredPost], str | None]


# --- requests ---------------------------------------------------------------------------


def _node(node_id: str, what: str) -> str:
    if not is_node_id(node_id):
        raise PermanentError(f"not a {what} id: {node_id!r}")
    return node_id


def published_posts_request(
    page_id: str, after: str | None, *, api_version: str = DEFAULT_API_VERSION
) -> ApiRequest:
    params = {"fields": FACEBOOK_POST_FIELDS, "limit": str(PAGE_SIZE)}
    if after is not None:
        params["after"] = after
    return ApiRequest(
        f"/{check_api_version(api_version)}/{_node(page_id, 'Facebook Page')}/published_posts",
        PUBLISHED_POSTS_ENDPOINT,
        params,
    )


def instagram_media_request(
    ig_user_id: str, since: datetime, after: str | None, *, api_version: str = DEFAULT_API_VERSION
) -> ApiRequest:
    params = {
        "fields": INSTAGRAM_MEDIA_FIELDS,
        "limit": str(PAGE_SIZE),
        "since": str(int(since.timestamp())),
    }
    if after is not None:
        params["after"] = after
    return ApiRequest(
        f"/{check_api_version(api_version)}/{_node(ig_user_id, 'Instagram user')}/media",
        INSTAGRAM_MEDIA_ENDPOINT,
        params,
    )


def follower_count_request(
    ig_user_id: str, since: datetime, until: datetime, *, api_version: str = DEFAULT_API_VERSION
) -> ApiRequest:
    params = {
        "metric": FOLLOWER_COUNT_METRIC,
        "period": "day",
        "since": str(int(since.timestamp())),
        "until": str(int(until.timestamp())),
    }
    return ApiRequest(
        f"/{check_api_version(api_version)}/{_node(ig_user_id, 'Instagram user')}/insights",
        INSTAGRAM_USER_INSIGHTS_ENDPOINT,
        params,
    )


# --- answers ----------------------------------------------------------------------------


def graph_time(value: object) -> datetime | None:
    """``2019-05-17T16:24:04+0000`` (Graph's ISO 8601, offset without a colon)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def next_cursor(body: Mapping[str, Any]) -> str | None:
    """The ``after`` cursor of the next page; None on the last page (no ``paging.next``)."""
    paging = body.get("paging")
    if not isinstance(paging, Mapping) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, Mapping) else None
    return after if isinstance(after, str) and after else None


def _items(body: object, what: str) -> tuple[list[Mapping[str, Any]], str | None]:
    if not isinstance(body, Mapping) or not isinstance(body.get("data", []), list):
        raise PermanentError(f"Meta {what} answer is not a page of data")
    items = [item for item in body.get("data") or [] if isinstance(item, Mapping)]
    return items, next_cursor(body)


def _text(value: object) -> str:
    return value[:PREVIEW_CHARS] if isinstance(value, str) else ""


def _url(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def facebook_content_type(post: Mapping[str, Any]) -> ContentType:
    attachments = post.get("attachments")
    data = attachments.get("data") if isinstance(attachments, Mapping) else None
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], Mapping) else {}
    media_type = first.get("media_type")
    if isinstance(media_type, str) and media_type.lower() in _FACEBOOK_ATTACHMENT_TYPES:
        return _FACEBOOK_ATTACHMENT_TYPES[media_type.lower()]
    return "image" if _url(post.get("full_picture")) else "text"


def parse_published_posts(body: object) -> ListingPage:
    """One page of a Page's posts, newest first, and the next page's cursor (None: the
    last page). A post without its id or date is left out: it cannot be tracked."""
    items, after = _items(body, "published_posts")
    posts: list[DiscoveredPost] = []
    for post in items:
        post_id, published = post.get("id"), graph_time(post.get("created_time"))
        if not isinstance(post_id, str) or published is None:
            continue
        posts.append(
            DiscoveredPost(
                platform_post_id=post_id,
                published_at=published,
                content_type=facebook_content_type(post),
                content_preview=_text(post.get("message")),
                platform_post_url=_url(post.get("permalink_url")),
                thumbnail_url=_url(post.get("full_picture")),
            )
        )
    return posts, after


def instagram_content_type(media: Mapping[str, Any]) -> ContentType:
    if media.get("media_product_type") == "REELS":
        return "video"
    return _INSTAGRAM_MEDIA_TYPES.get(str(media.get("media_type")), "image")


def instagram_thumbnail(media: Mapping[str, Any]) -> str | None:
    # thumbnail_url is "only available on VIDEO"; a video's media_url is the video itself.
    thumbnail = _url(media.get("thumbnail_url"))
    if thumbnail is not None or instagram_content_type(media) == "video":
        return thumbnail
    return _url(media.get("media_url"))


def parse_instagram_media(body: object) -> ListingPage:
    """One page of an Instagram account's media, newest first, and the next cursor."""
    items, after = _items(body, "media")
    posts: list[DiscoveredPost] = []
    for media in items:
        media_id, published = media.get("id"), graph_time(media.get("timestamp"))
        if not isinstance(media_id, str) or published is None:
            continue
        posts.append(
            DiscoveredPost(
                platform_post_id=media_id,
                published_at=published,
                content_type=instagram_content_type(media),
                content_preview=_text(media.get("caption")),
                # Left out for copyright-flagged media.
                platform_post_url=_url(media.get("permalink")),
                thumbnail_url=instagram_thumbnail(media),
            )
        )
    return posts, after


def published_since(
    posts: Sequence[DiscoveredPost], since: datetime
) -> tuple[list[DiscoveredPost], bool]:
    """The posts published at or after ``since``, and whether the page went past it (the
    edges are newest first, so no later page can hold a post that is new enough)."""
    kept = [post for post in posts if post.published_at >= since]
    return kept, len(kept) < len(posts)


def _daily_gains(body: object) -> list[tuple[datetime, int]]:
    """``follower_count``'s ``(end_time, value)`` pairs, oldest first."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data", []), list):
        raise PermanentError("Meta follower_count answer is not a list of metrics")
    gains: dict[datetime, int] = {}
    for metric in body.get("data") or []:
        if not isinstance(metric, Mapping) or metric.get("name") != FOLLOWER_COUNT_METRIC:
            continue
        for entry in metric.get("values") or []:
            if not isinstance(entry, Mapping):
                continue
            end, value = graph_time(entry.get("end_time")), entry.get("value")
            if end is not None and isinstance(value, int) and not isinstance(value, bool):
                gains[end] = value
    return sorted(gains.items())


def follower_counts(body: object, current: int) -> list[FollowerCount]:
    """The follower count at the end of each day of a ``follower_count`` answer, back-
    computed from ``current`` (today's total): the count at the end of day d is ``current``
    minus the new followers of every later day. The newest day is given ``current`` itself
    (the followers gained since its end are not reported yet).

    Walking back stops at a missing day (Meta returns no entry rather than 0, and every
    older count would be off by that day's gain) and before a count below zero."""
    gains = _daily_gains(body)
    counts: list[FollowerCount] = []
    followers = current
    later: datetime | None = None
    for end, gained in reversed(gains):
        if later is not None and abs((later - end) - ONE_DAY) > DAY_SLACK:
            break
        if followers < 0:
            break
        counts.append(FollowerCount(observed_at=end, followers=followers))
        followers -= gained
        later = end
    return list(reversed(counts))


# --- the lister -------------------------------------------------------------------------


class MetaPostLister:
    """:class:`~pulse_shared.ingest.oauth.PostLister` for Facebook Pages and Instagram
    accounts, through the shared caller (the account's Page token, rate limits, retries).

    ``clock`` is "now" for the follower history's window (the real one by default)."""

    def __init__(
        self,
        *,
        api_version: str = DEFAULT_API_VERSION,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._api_version = check_api_version(api_version)
        self._clock = clock

    def _listing(
        self, account: Account, since: datetime
    ) -> tuple[Callable[[str | None], ApiRequest], Callable[[object], ListingPage]]:
        """How the account's posts are asked for (by cursor) and read."""
        version = self._api_version
        if account.platform == "facebook":
            return (
                lambda after: published_posts_request(
                    account.account_id, after, api_version=version
                ),
                parse_published_posts,
            )
        if account.platform == "instagram":
            return (
                lambda after: instagram_media_request(
                    account.account_id, since, after, api_version=version
                ),
                parse_instagram_media,
            )
        raise PermanentError(f"ingest-meta lists Facebook and Instagram, not {account.platform}")

    async def list_posts(
        self, caller: ApiCaller, account: Account, since: datetime
    ) -> AsyncIterator[DiscoveredPost]:
        request_of, parse = self._listing(account, since)
        after: str | None = None
        seen: set[str] = set()
        while True:
            posts, after = parse(await get_json(caller, account, request_of(after)))
            kept, past_since = published_since(posts, since)
            for post in kept:
                yield post
            if past_since or after is None:
                return
            if after in seen:  # the same page again: reading on would never end
                raise PermanentError(f"Meta handed out the cursor {after!r} twice")
            seen.add(after)

    async def follower_history(
        self, caller: ApiCaller, account: Account, since: datetime, current: int
    ) -> list[FollowerCount]:
        if account.platform != "instagram":
            return []  # Page follows per day are not read here: its counts start today
        until = self._clock()
        start = max(since, until - FOLLOWER_HISTORY_SPAN)
        if start >= until:
            return []
        request = follower_count_request(
            account.account_id, start, until, api_version=self._api_version
        )
        try:
            body = await get_json(caller, account, request)
        except (MetricRefused, PermanentError) as exc:
            # The history is a nicety: a refused metric (follower_count may be retired)
            # must not stop the account's sync, which would retry it forever.
            log.warning("no follower history", platform=account.platform,
                        account_id=account.account_id, error=str(exc)[:300])  # fmt: skip
            return []
        return [c for c in follower_counts(body, current) if c.observed_at >= since]
