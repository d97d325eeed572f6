"""Listing an organisation's posts (backfill and discovery) and its daily follower history.

Documented (../shared/notes/platform-oauth.md, 1.4 and 1.5; sources in this service's
README):

- posts: ``GET /rest/posts?author=<encoded urn>&q=author&count=N&start=N&sortBy=...``,
  offset-paged (``paging{start,count,total?,links[]}``); elements carry ``id``
  (``urn:li:share:N`` / ``urn:li:ugcPost:N``), ``commentary``, ``lifecycleState``,
  ``createdAt`` / ``publishedAt`` / ``lastModifiedAt`` (epoch ms) and ``content``;
- follower history: ``GET /rest/organizationalEntityFollowerStatistics?q=
  organizationalEntity&organizationalEntity=<urn>&timeIntervals=(timeRange:(start:MS,
  end:MS),timeGranularityType:DAY)``: one element per day with
  ``followerGains{organicFollowerGain,paidFollowerGain}`` and ``timeRange{start,end}``.

Both queries are built into the path, already encoded, with ``params=None`` (as in
api.py: httpx would encode the Rest.li parentheses and commas of ``timeIntervals``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pulse_ingest_linkedin.api import (
    check_api_version,
    encode_urn,
    is_organization_urn,
    linkedin_headers,
    next_start_of,
    post_kind,
)
from pulse_shared.events import ContentType
from pulse_shared.ingest.contracts import (
    Account,
    ApiCaller,
    ApiRequest,
    PermanentError,
    get_json,
)
from pulse_shared.ingest.oauth import DiscoveredPost, FollowerCount

POSTS_PATH = "/rest/posts"
POSTS_ENDPOINT = "/rest/posts"
FOLLOWER_STATISTICS_PATH = "/rest/organizationalEntityFollowerStatistics"
FOLLOWER_STATISTICS_ENDPOINT = "/rest/organizationalEntityFollowerStatistics"
# The largest page third-party clients ask for (LinkedIn documents no maximum).
PAGE_SIZE = 100
POST_URL = "https://www.linkedin.com/feed/update/{urn}"
PREVIEW_CHARS = 500
# 100,000 posts: more than any organisation's history; a server that never says "last
# page" cannot keep a sync reading forever.
MAX_POST_PAGES = 1000

# CREATED lists the newest-created first, so listing can stop at the first page that
# reaches back past ``since``. LAST_MODIFIED (LinkedIn's default) moves an old post
# that was edited to the front: a listing in that order must read every page.
SortBy = Literal["CREATED", "LAST_MODIFIED"]
DEFAULT_SORT: SortBy = "CREATED"

_DAY = timedelta(days=1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _when(value: object) -> datetime | None:
    """Epoch milliseconds -> an aware datetime (None when absent or not a number)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


def _organization_of(account: Account) -> str:
    if not is_organization_urn(account.account_id):
        raise PermanentError(f"LinkedIn account {account.account_id!r} is not an organization URN")
    return account.account_id


# --- posts -----------------------------------------------------------------------------


def posts_request(
    organization_urn: str, start: int, *, api_version: str, sort_by: SortBy = DEFAULT_SORT
) -> ApiRequest:
    query = "&".join(
        [
            f"author={encode_urn(organization_urn)}",
            "q=author",
            f"count={PAGE_SIZE}",
            f"start={start}",
            f"sortBy={sort_by}",
        ]
    )
    return ApiRequest(
        path=f"{POSTS_PATH}?{query}",
        endpoint=POSTS_ENDPOINT,
        params=None,
        headers=linkedin_headers(api_version),
    )


def content_type_of(content: object) -> ContentType:
    """What the post shows: ``media`` by its URN (video, image, or a document, which
    LinkedIn shows as a swipeable carousel), ``multiImage`` and sponsored ``carousel``
    as carousels, ``article`` as a link; no content (or a poll, a celebration) is text."""
    if not isinstance(content, Mapping):
        return "text"
    media = content.get("media")
    if isinstance(media, Mapping):
        media_id = media.get("id")
        media_id = media_id if isinstance(media_id, str) else ""
        if media_id.startswith("urn:li:video:"):
            return "video"
        if media_id.startswith("urn:li:document:"):
            return "carousel"
        return "image"
    if "multiImage" in content or "carousel" in content:
        return "carousel"
    if "article" in content:
        return "link"
    return "text"


def thumbnail_of(content: object) -> str | None:
    """An article's ``thumbnail`` when it is a URL. (The Posts API mostly gives an image
    URN there, which needs another call to resolve: not worth one per post.)"""
    if not isinstance(content, Mapping):
        return None
    article = content.get("article")
    thumbnail = article.get("thumbnail") if isinstance(article, Mapping) else None
    if isinstance(thumbnail, str) and thumbnail.startswith(("https://", "http://")):
        return thumbnail
    return None


@dataclass(frozen=True)
class PostsPage:
    # The page's published posts, whatever their age (the lister keeps those since).
    posts: list[DiscoveredPost]
    # The oldest ``createdAt`` on the page, drafts included: in CREATED order every later
    # page is older still.
    oldest_created_at: datetime | None
    next_start: int | None  # None: the last page


def _post_of(element: Mapping[str, Any]) -> tuple[DiscoveredPost | None, datetime | None]:
    """The post an element stands for (None: not a published, pollable post), and its
    ``createdAt``."""
    created = _when(element.get("createdAt"))
    urn = element.get("id")
    if not isinstance(urn, str) or post_kind(urn) is None:
        return None, created  # only shares and ugcPosts have share statistics to poll
    if element.get("lifecycleState", "PUBLISHED") != "PUBLISHED":
        return None, created  # drafts, publishing or failed: nothing to measure yet
    published = _when(element.get("publishedAt")) or created
    if published is None:
        return None, created  # a post without its date cannot be placed in any period
    content = element.get("content")
    commentary = element.get("commentary")
    post = DiscoveredPost(
        platform_post_id=urn,
        published_at=published,
        content_type=content_type_of(content),
        content_preview=(commentary if isinstance(commentary, str) else "")[:PREVIEW_CHARS],
        platform_post_url=POST_URL.format(urn=urn),
        thumbnail_url=thumbnail_of(content),
    )
    return post, created


def parse_posts_page(body: object, start: int) -> PostsPage:
    """One ``/rest/posts`` page asked for from offset ``start``."""
    if not isinstance(body, Mapping):
        raise PermanentError("LinkedIn posts answer is not an object")
    elements = body.get("elements")
    if not isinstance(elements, list):
        raise PermanentError("LinkedIn posts answer has no elements list")
    posts: list[DiscoveredPost] = []
    created: list[datetime] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        post, created_at = _post_of(element)
        if post is not None:
            posts.append(post)
        if created_at is not None:
            created.append(created_at)
    return PostsPage(posts, min(created, default=None), next_start_of(body, start, len(elements)))


# --- follower history ------------------------------------------------------------------


def day_start(at: datetime) -> datetime:
    """Midnight UTC of ``at``'s day (LinkedIn's days are UTC days)."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def follower_statistics_request(
    organization_urn: str, start: datetime, end: datetime, *, api_version: str
) -> ApiRequest:
    intervals = f"(timeRange:(start:{_ms(start)},end:{_ms(end)}),timeGranularityType:DAY)"
    query = "&".join(
        [
            "q=organizationalEntity",
            f"organizationalEntity={encode_urn(organization_urn)}",
            f"timeIntervals={intervals}",
        ]
    )
    return ApiRequest(
        path=f"{FOLLOWER_STATISTICS_PATH}?{query}",
        endpoint=FOLLOWER_STATISTICS_ENDPOINT,
        params=None,
        headers=linkedin_headers(api_version),
    )


@dataclass(frozen=True)
class DailyGain:
    start: datetime
    end: datetime
    gain: int  # organic + paid; may be negative if LinkedIn nets out unfollows


def _whole(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_follower_gains(body: object) -> list[DailyGain]:
    """The time-bound elements of ``organizationalEntityFollowerStatistics``, oldest
    first, one per day (a repeated day counted once). Lifetime elements (facets, no
    ``timeRange``) are not gains and are skipped."""
    if not isinstance(body, Mapping):
        raise PermanentError("LinkedIn follower statistics answer is not an object")
    elements = body.get("elements")
    if not isinstance(elements, list):
        raise PermanentError("LinkedIn follower statistics answer has no elements list")
    by_start: dict[datetime, DailyGain] = {}
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        period = element.get("timeRange")
        gains = element.get("followerGains")
        if not isinstance(period, Mapping) or not isinstance(gains, Mapping):
            continue
        start, end = _when(period.get("start")), _when(period.get("end"))
        if start is None or end is None or end <= start:
            continue
        gain = _whole(gains.get("organicFollowerGain")) + _whole(gains.get("paidFollowerGain"))
        by_start.setdefault(start, DailyGain(start, end, gain))
    return [by_start[start] for start in sorted(by_start)]


def back_computed_counts(
    gains: list[DailyGain], current: int, now: datetime
) -> list[FollowerCount]:
    """Each finished day's closing count, from ``current`` (the total at ``now``):
    count(end of day d) = current - the gains of every day after d. A day still under
    way (ending after today's midnight) gives no count of its own (``current`` is
    today's), but its gains so far are subtracted from the days before it. A count is
    never below zero."""
    today = day_start(now)
    counts: list[FollowerCount] = []
    gained_since = 0
    for day in reversed(gains):
        if day.end <= today:
            counts.append(
                FollowerCount(observed_at=day.end, followers=max(0, current - gained_since))
            )
        gained_since += day.gain
    counts.reverse()
    return counts


# --- the lister ------------------------------------------------------------------------


class LinkedInPostLister:
    """:class:`~pulse_shared.ingest.oauth.PostLister` for LinkedIn organisations
    (``account.account_id`` is the organisation's URN).

    ``sort_by``: CREATED (the default) stops paging at the first page reaching back past
    ``since``; LAST_MODIFIED reads every page (an edit moves an old post to the front).
    Either way only posts published at or after ``since`` are yielded. ``clock`` is the
    follower history's now (which days have ended)."""

    def __init__(
        self,
        *,
        api_version: str,
        sort_by: SortBy = DEFAULT_SORT,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._api_version = check_api_version(api_version)
        self._sort_by = sort_by
        self._clock = clock

    async def list_posts(
        self, caller: ApiCaller, account: Account, since: datetime
    ) -> AsyncIterator[DiscoveredPost]:
        organization = _organization_of(account)
        seen: set[str] = set()
        start: int | None = 0
        for _ in range(MAX_POST_PAGES):
            if start is None:
                return
            request = posts_request(
                organization, start, api_version=self._api_version, sort_by=self._sort_by
            )
            page = parse_posts_page(await get_json(caller, account, request), start)
            for post in page.posts:
                # Offsets shift when a post is published while the pages are read: the
                # same post may come twice.
                if post.published_at >= since and post.platform_post_id not in seen:
                    seen.add(post.platform_post_id)
                    yield post
            start = page.next_start
            if (
                self._sort_by == "CREATED"
                and page.oldest_created_at is not None
                and page.oldest_created_at < since
            ):
                return

    async def follower_history(
        self, caller: ApiCaller, account: Account, since: datetime, current: int
    ) -> list[FollowerCount]:
        organization = _organization_of(account)
        now = self._clock()
        start = day_start(since)
        if start >= now:
            return []
        request = follower_statistics_request(
            organization, start, now, api_version=self._api_version
        )
        gains = parse_follower_gains(await get_json(caller, account, request))
        return back_computed_counts(gains, current, now)
