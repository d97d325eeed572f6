"""The simulated world: businesses, their accounts on each platform, and their posts.

Everything is derived from the seed (and the anchor instant), so the same settings give
the same ids, tokens, publish times and lifetime totals in every run. Each business has
one account per platform; ids have the format the real platform uses (LinkedIn URNs,
X snowflakes, ``{page-id}_{post-id}`` Facebook posts, numeric Instagram ids). A post's
numbers at any instant are computed from its lifetime totals by :mod:`.truth`.

Simulated people (:class:`SimUser`) sign in on the consent pages: ``sim-user-<i>``
administers business *i*'s accounts, ``sim-user-none`` administers nothing. The control
API can add "native" posts (made on the platform, never announced to Pulse) and delete
posts; :meth:`Population.reset_changes` undoes both. It can also add a business while the
simulator runs (:func:`build_runtime_business`), built as the starting ones are but laid out
backwards from the moment it is added; its history is never announced either.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import math
import random
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

from pulse_platform_sim import patterns
from pulse_platform_sim.settings import Settings
from pulse_shared.events import PLATFORMS, ContentType, Platform

Api: TypeAlias = Literal["twitter", "linkedin", "meta"]
APIS: tuple[Api, ...] = ("twitter", "linkedin", "meta")

TIMEZONES = (
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
)
NAMES = ("Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli")
TOPICS = (
    "We are hiring engineers who love data",
    "Five lessons from our first year",
    "Behind the scenes at the studio",
    "New feature: scheduled reports",
    "Customer story: how a retailer doubled its reach",
    "Our take on the state of social media",
    "Meet the team that ships on Fridays",
    "What we learned from 1,000 support tickets",
)
# Typical followers of a small business's account, before the business's own scale.
TYPICAL_FOLLOWERS: dict[Platform, int] = {
    "linkedin": 4_000,
    "twitter": 7_000,
    "facebook": 12_000,
    "instagram": 9_000,
}
X_EPOCH_MS = 1_288_834_974_657  # X snowflake ids count milliseconds from this instant


def api_of(platform: Platform) -> Api:
    """The API a platform's accounts are read through (Facebook and Instagram: Meta)."""
    if platform in ("facebook", "instagram"):
        return "meta"
    return "linkedin" if platform == "linkedin" else "twitter"


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


@dataclass(frozen=True, repr=False)
class Account:
    business_id: int
    platform: Platform
    account_id: str
    name: str
    handle: str
    access_token: str
    base_followers: int
    daily_growth: float  # fraction gained per day
    growth_start: datetime
    following: int
    listed: int
    earlier_posts: int  # posts made before the simulated window (X tweet_count)

    def __repr__(self) -> str:  # never shows the token
        return f"Account({self.business_id}, {self.platform!r}, {self.account_id!r})"

    def followers_at(self, at: datetime) -> int:
        days = (at - self.growth_start).total_seconds() / 86_400
        return int(self.base_followers * math.exp(self.daily_growth * days))


@dataclass(frozen=True)
class Lifetime:
    """The totals a post tends to as it ages (floats; the API answers whole numbers)."""

    impressions: float
    reach: float
    likes: float
    comments: float
    shares: float
    quotes: float = 0.0  # X quote posts
    saves: float = 0.0  # X bookmarks, Instagram saves
    clicks: float = 0.0  # link clicks
    profile_clicks: float = 0.0  # X user_profile_clicks
    video_views: float = 0.0
    video_watch_time_s: float = 0.0


@dataclass(frozen=True)
class Post:
    business_id: int
    platform: Platform
    account_id: str
    post_id: str
    published_at: datetime
    content_type: ContentType
    content: str
    url: str
    lifetime: Lifetime
    local_weekday: int
    local_hour: int
    video_duration_s: float | None = None
    # X media keys (attachments.media_keys), video first when there is one.
    media_keys: tuple[str, ...] = ()

    @property
    def is_video(self) -> bool:
        return self.content_type == "video"


@dataclass(frozen=True)
class SimUser:
    """A person who signs in on the platforms' consent pages. ``sim-user-<i>`` administers
    every account of simulator business *i* (the LinkedIn organization, the X account it
    signs in as, the Facebook Page and, through it, the Instagram account)."""

    user_id: str
    name: str
    business_ids: tuple[int, ...]
    linkedin_person_id: str  # urn:li:person:<this>
    meta_user_id: str  # the app-scoped Facebook user id

    @property
    def linkedin_urn(self) -> str:
        return f"urn:li:person:{self.linkedin_person_id}"


@dataclass(frozen=True)
class Business:
    business_id: int
    index: int
    name: str
    timezone: str
    accounts: dict[Platform, Account]


@dataclass(frozen=True, repr=False)
class Apps:
    """The developer apps the ingest services are registered as on each platform."""

    twitter_consumer_key: str
    twitter_consumer_secret: str
    twitter_bearer_token: str  # app-only (OAuth 2.0 Bearer): public metrics only
    linkedin_client_id: str
    linkedin_client_secret: str
    meta_app_id: str
    meta_app_secret: str
    meta_verify_token: str
    twitter_client_id: str  # OAuth 2.0 (confidential client)
    twitter_client_secret: str

    def __repr__(self) -> str:
        return "Apps(...)"


@dataclass
class Population:
    anchor: datetime
    start: datetime
    apps: Apps
    businesses: list[Business]
    # The seeded history (what /_sim/publish announces). Posts created later through the
    # control API ("native" posts, never announced) are in ``native_posts``.
    posts: list[Post]
    users: list[SimUser] = field(default_factory=list)
    native_posts: list[Post] = field(default_factory=list)
    _posts_by_id: dict[tuple[Platform, str], Post] = field(default_factory=dict)
    _posts_by_account: dict[tuple[Platform, str], list[Post]] = field(default_factory=dict)
    _accounts: dict[tuple[Platform, str], Account] = field(default_factory=dict)
    _deleted: dict[tuple[Platform, str], datetime] = field(default_factory=dict)

    # Businesses added while the simulator runs (:meth:`add_business`), in that order.
    runtime_business_ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        for business in self.businesses:
            self._register_accounts(business)
        self._register_posts(self.posts)

    def _register_accounts(self, business: Business) -> None:
        for account in business.accounts.values():
            self._accounts[(account.platform, account.account_id)] = account
            self._posts_by_account[(account.platform, account.account_id)] = []

    def _register_posts(self, posts: Iterable[Post]) -> None:
        """Posts of registered accounts, oldest first."""
        for post in posts:
            self._posts_by_id[(post.platform, post.post_id)] = post
            self._posts_by_account[(post.platform, post.account_id)].append(post)

    @property
    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def account(self, platform: Platform, account_id: str) -> Account | None:
        return self._accounts.get((platform, account_id))

    def post(
        self,
        platform: Platform,
        post_id: str,
        at: datetime | None = None,
        *,
        include_deleted: bool = False,
    ) -> Post | None:
        """The post, if it exists (and, given ``at``, is already published then). A
        deleted post no longer exists, unless ``include_deleted``."""
        post = self._posts_by_id.get((platform, post_id))
        if post is None or (at is not None and post.published_at > at):
            return None
        if not include_deleted and (platform, post_id) in self._deleted:
            return None
        return post

    def posts_of(self, account: Account, at: datetime | None = None) -> list[Post]:
        """The account's posts, oldest first (deleted ones left out)."""
        posts = self._posts_by_account[(account.platform, account.account_id)]
        return [
            p
            for p in posts
            if (at is None or p.published_at <= at) and (p.platform, p.post_id) not in self._deleted
        ]

    # --- changes made through the control API -----------------------------------------

    def add_post(self, post: Post) -> None:
        """A post made on the platform itself (never announced to Pulse)."""
        self.native_posts.append(post)
        self._posts_by_id[(post.platform, post.post_id)] = post
        bisect.insort(
            self._posts_by_account[(post.platform, post.account_id)],
            post,
            key=lambda p: p.published_at,
        )

    def create_post(
        self,
        seed: int,
        account: Account,
        at: datetime,
        content_type: ContentType | None = None,
        content: str | None = None,
    ) -> Post:
        """A native post of the account, published at ``at``, with numbers of its own."""
        business = self.business(account.business_id)
        assert business is not None
        n = len(self.native_posts)
        r = random.Random(f"{seed}:native:{account.platform}:{account.account_id}:{n}")
        post = make_post(business, account, at, n, r, self._posts_by_id, content_type, content)
        self.add_post(post)
        return post

    def delete_post(self, platform: Platform, post_id: str, at: datetime) -> bool:
        if (platform, post_id) not in self._posts_by_id or (platform, post_id) in self._deleted:
            return False
        self._deleted[(platform, post_id)] = at
        return True

    def deleted_at(self, platform: Platform, post_id: str) -> datetime | None:
        return self._deleted.get((platform, post_id))

    def reset_changes(self) -> None:
        """Forget native posts and deletions: the seeded world again."""
        for post in self.native_posts:
            del self._posts_by_id[(post.platform, post.post_id)]
            self._posts_by_account[(post.platform, post.account_id)].remove(post)
        self.native_posts.clear()
        self._deleted.clear()

    # --- businesses added while running ---------------------------------------------------

    def taken_account(self, business: Business) -> Account | None:
        """An account of ``business`` whose id another business's account already has."""
        return next(
            (
                self._accounts[(a.platform, a.account_id)]
                for a in business.accounts.values()
                if (a.platform, a.account_id) in self._accounts
            ),
            None,
        )

    def add_business(self, business: Business, admin: SimUser, history: list[Post]) -> None:
        """A business with its administrator and its past posts (oldest first), which,
        like native posts, :mod:`.publisher` never announces. Its accounts must be new."""
        assert self.taken_account(business) is None
        self.businesses.append(business)
        self.runtime_business_ids.append(business.business_id)
        self._register_accounts(business)
        self._register_posts(history)
        # Administrators in business order, then the people who administer nothing.
        self.users.insert(sum(1 for u in self.users if u.business_ids), admin)

    def is_runtime(self, business_id: int) -> bool:
        return business_id in self.runtime_business_ids

    def is_native(self, post: Post) -> bool:
        """Never announced to Pulse: made through the control API, or the history of a
        business added while running."""
        return self.is_runtime(post.business_id) or post in self.native_posts

    # --- simulated users --------------------------------------------------------------

    def user(self, user_id: str) -> SimUser | None:
        return next((u for u in self.users if u.user_id == user_id), None)

    def admin_of(self, business_id: int) -> SimUser | None:
        return next((u for u in self.users if business_id in u.business_ids), None)

    def accounts_of(self, user: SimUser, platform: Platform) -> list[Account]:
        """The accounts of this platform the user administers."""
        return [b.accounts[platform] for b in self.businesses if b.business_id in user.business_ids]

    def business(self, business_id: int) -> Business | None:
        for business in self.businesses:
            if business.business_id == business_id:
                return business
        return None

    def timezone_of(self, business_id: int) -> str:
        business = self.business(business_id)
        return business.timezone if business else "UTC"


# --- building it ----------------------------------------------------------------------


def default_anchor(now: datetime | None = None) -> datetime:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(minute=0, second=0, microsecond=0)


def build_apps(settings: Settings) -> Apps:
    seed = settings.seed
    return Apps(
        twitter_consumer_key=settings.twitter_consumer_key or _digest(seed, "x-key")[:25],
        twitter_consumer_secret=settings.twitter_consumer_secret
        or _digest(seed, "x-consumer-secret")[:50],
        twitter_bearer_token=settings.twitter_app_bearer_token
        or "AAAAAAAAAAAAAAAAAAAAA" + _digest(seed, "x-app-bearer")[:60],
        linkedin_client_id=settings.linkedin_client_id or _digest(seed, "li-client")[:14],
        linkedin_client_secret=settings.linkedin_client_secret
        or _digest(seed, "li-client-secret")[:16],
        meta_app_id=settings.meta_app_id or str(int(_digest(seed, "meta-app")[:12], 16))[:15],
        meta_app_secret=settings.meta_app_secret or _digest(seed, "meta-app-secret")[:32],
        meta_verify_token=settings.meta_verify_token or _digest(seed, "meta-verify")[:20],
        twitter_client_id=settings.twitter_client_id
        or base64.urlsafe_b64encode(bytes.fromhex(_digest(seed, "x-client")[:36])).decode(),
        twitter_client_secret=settings.twitter_client_secret
        or _digest(seed, "x-client-secret")[:50],
    )


def build_user(settings: Settings, index: int | str, business_ids: tuple[int, ...]) -> SimUser:
    """``sim-user-<index>``, who administers ``business_ids``."""
    alphabet = string.ascii_letters + string.digits
    r = random.Random(f"{settings.seed}:user:{index}")
    return SimUser(
        user_id=f"sim-user-{index}",
        name=f"Sim User {index}".title(),
        business_ids=business_ids,
        linkedin_person_id="".join(r.choice(alphabet) for _ in range(10)),
        meta_user_id=str(10_000_000_000_000_000 + r.randrange(10**16)),
    )


def build_users(settings: Settings, businesses: list[Business]) -> list[SimUser]:
    """One administrator per business, and one person who administers nothing."""
    users = [build_user(settings, b.index, (b.business_id,)) for b in businesses]
    return [*users, build_user(settings, "none", ())]


def _token(seed: int, platform: Platform, account_id: str) -> str:
    body = _digest(seed, "token", platform, account_id)
    prefix = {"twitter": "x-user-", "linkedin": "AQV", "facebook": "EAAG", "instagram": "EAAI"}
    return prefix[platform] + body[:48]


def _account_id(platform: Platform, business_id: int, rng: random.Random) -> str:
    if platform == "linkedin":
        return f"urn:li:organization:{1000 + business_id}"
    if platform == "twitter":
        return str(1_300_000_000_000_000_000 + rng.randrange(10**17))
    if platform == "facebook":
        return str(100_000_000_000_000 + rng.randrange(10**13))
    return str(17_841_400_000_000_000 + rng.randrange(10**9))


def _build_account(
    settings: Settings, business_id: int, index: int, name: str, platform: Platform, start: datetime
) -> Account:
    # Keyed by the Pulse business (simulator business + PULSE_SIM_BUSINESS_ID_OFFSET): two
    # simulators with other offsets never share an account, which Pulse connects to one
    # business at a time (with no offset, the business is the simulator's index).
    rng = random.Random(f"{settings.seed}:account:{business_id}:{platform}")
    account_id = _account_id(platform, business_id, rng)
    scale = rng.lognormvariate(0, 0.6)
    handle = f"{name.lower()}{index}"
    return Account(
        business_id=business_id,
        platform=platform,
        account_id=account_id,
        name=f"{name} {index}",
        handle=handle,
        access_token=_token(settings.seed, platform, account_id),
        base_followers=max(50, int(TYPICAL_FOLLOWERS[platform] * scale)),
        daily_growth=rng.uniform(0.0008, 0.004),
        growth_start=start,
        following=rng.randrange(50, 900),
        listed=rng.randrange(0, 60),
        earlier_posts=rng.randrange(100, 3000),
    )


def _lifetime(
    platform: Platform,
    content_type: ContentType,
    followers: int,
    slot: float,
    video_duration_s: float | None,
    rng: random.Random,
) -> Lifetime:
    quality = rng.lognormvariate(0, 0.45)
    # A good slot also shows a post to more people, though less than it moves engagement.
    impressions = max(
        30.0, followers * patterns.IMPRESSIONS_PER_FOLLOWER[platform] * quality * (0.7 + 0.3 * slot)
    )
    rate = (
        patterns.BASE_ENGAGEMENT_RATE[platform]
        * patterns.CONTENT_ENGAGEMENT[platform][content_type]
        * slot
        * rng.lognormvariate(0, 0.2)
    )
    # Engagement stays well below reach, which stays below impressions.
    engagement = impressions * min(rate, 0.25)
    reach = impressions * rng.uniform(0.55, 0.85)
    link_boost = 3.0 if content_type == "link" else 1.0
    video_views = watch_time = 0.0
    if video_duration_s is not None:
        video_views = impressions * rng.uniform(0.35, 0.6)
        watch_time = video_views * video_duration_s * rng.uniform(0.2, 0.5)
    if platform == "twitter":
        likes = engagement * 0.68
        return Lifetime(
            impressions=impressions,
            reach=reach,
            likes=likes,
            comments=engagement * 0.10,
            shares=engagement * 0.16,
            quotes=engagement * 0.06,
            saves=likes * 0.1,
            clicks=impressions * 0.004 * link_boost,
            profile_clicks=impressions * 0.003,
            video_views=video_views,
            video_watch_time_s=watch_time,
        )
    if platform == "instagram":
        likes = engagement * 0.86
        return Lifetime(
            impressions=impressions,
            reach=reach,
            likes=likes,
            comments=engagement * 0.08,
            shares=engagement * 0.06,
            saves=likes * 0.12,
            video_views=video_views,
            video_watch_time_s=watch_time,
        )
    like_share, comment_share = (0.72, 0.10) if platform == "linkedin" else (0.74, 0.14)
    click_rate = 0.011 if platform == "linkedin" else 0.018
    return Lifetime(
        impressions=impressions,
        reach=reach,
        likes=engagement * like_share,
        comments=engagement * comment_share,
        shares=engagement * (1 - like_share - comment_share),
        clicks=impressions * click_rate * link_boost,
        video_views=video_views,
        video_watch_time_s=watch_time,
    )


def _post_id(platform: Platform, account: Account, published_at: datetime, r: random.Random) -> str:
    ms = int(published_at.timestamp() * 1000)
    if platform == "twitter":
        return str(((ms - X_EPOCH_MS) << 22) | r.getrandbits(22))
    if platform == "linkedin":
        # LinkedIn activity ids also carry their creation time in the top bits.
        kind = "ugcPost" if r.random() < 0.3 else "share"
        return f"urn:li:{kind}:{(ms << 22) | r.getrandbits(22)}"
    if platform == "facebook":
        return f"{account.account_id}_{122_100_000_000_000_000 + r.randrange(10**14)}"
    return str(17_800_000_000_000_000 + r.randrange(10**14))


def _post_url(platform: Platform, account: Account, post_id: str, r: random.Random) -> str:
    if platform == "twitter":
        return f"https://x.com/{account.handle}/status/{post_id}"
    if platform == "linkedin":
        return f"https://www.linkedin.com/feed/update/{post_id}/"
    if platform == "facebook":
        page_id, _, story = post_id.partition("_")
        return f"https://www.facebook.com/{page_id}/posts/{story}"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    shortcode = "".join(r.choice(alphabet) for _ in range(11))
    return f"https://www.instagram.com/p/{shortcode}/"


def _media_keys(content_type: ContentType, post_id: str, r: random.Random) -> tuple[str, ...]:
    # X media keys: "7_" video, "3_" photo, followed by the media's own snowflake.
    media_id = int(post_id) - r.randrange(1 << 22, 1 << 30)
    if content_type == "video":
        return (f"7_{media_id}",)
    if content_type == "image":
        return (f"3_{media_id}",)
    if content_type == "carousel":
        return tuple(f"3_{media_id + n}" for n in range(3))
    return ()


def make_post(
    business: Business,
    account: Account,
    published_at: datetime,
    n: int,
    r: random.Random,
    taken: set[str] | dict[tuple[Platform, str], Post],
    content_type: ContentType | None = None,
    content: str | None = None,
) -> Post:
    """The ``n``-th post of an account, published at ``published_at``, its numbers drawn
    from ``r``; its id differs from every id in ``taken``."""
    platform = account.platform
    if content_type is None:
        mix = patterns.CONTENT_MIX[platform]
        content_type = r.choices(list(mix), list(mix.values()))[0]
    duration = round(r.uniform(15, 180), 1) if content_type == "video" else None
    local = published_at.astimezone(ZoneInfo(business.timezone))
    slot = patterns.hour_engagement(
        platform, local.hour + local.minute / 60
    ) * patterns.day_engagement(platform, local.weekday())
    lifetime = _lifetime(
        platform, content_type, account.followers_at(published_at), slot, duration, r
    )
    post_id = _post_id(platform, account, published_at, r)
    while post_id in taken or (platform, post_id) in taken:  # astronomically unlikely
        post_id = _post_id(platform, account, published_at, r)
    topic = r.choice(TOPICS)
    return Post(
        business_id=business.business_id,
        platform=platform,
        account_id=account.account_id,
        post_id=post_id,
        published_at=published_at,
        content_type=content_type,
        content=content if content is not None else f"{topic} ({content_type} #{n + 1})",
        url=_post_url(platform, account, post_id, r),
        lifetime=lifetime,
        local_weekday=local.weekday(),
        local_hour=local.hour,
        video_duration_s=duration,
        media_keys=_media_keys(content_type, post_id, r) if platform == "twitter" else (),
    )


def _build_posts(
    settings: Settings, business: Business, account: Account, start: datetime, anchor: datetime
) -> Iterable[Post]:
    platform = account.platform
    count = settings.posts_per_account
    for heavy in settings.heavy_accounts:
        if heavy.platform == platform and heavy.business == business.index:
            count, start = heavy.posts, anchor - timedelta(days=heavy.days)
    span_s = (anchor - start).total_seconds()
    taken: set[str] = set()
    for n in range(count):
        r = random.Random(f"{settings.seed}:post:{business.index}:{platform}:{n}")
        published_at = start + timedelta(seconds=int(r.uniform(0, span_s - 60)))
        post = make_post(business, account, published_at, n, r, taken)
        taken.add(post.post_id)
        yield post


def build_business(settings: Settings, index: int, start: datetime) -> Business:
    """Simulator business ``index`` (Pulse business ``business_id_offset + index``) and its
    four accounts, whose followers grow from ``start``."""
    business_id = settings.business_id_offset + index
    name = NAMES[(index - 1) % len(NAMES)]
    return Business(
        business_id=business_id,
        index=index,
        name=f"{name} {index}",
        timezone=TIMEZONES[(index - 1) % len(TIMEZONES)],
        accounts={
            platform: _build_account(settings, business_id, index, name, platform, start)
            for platform in PLATFORMS
        },
    )


def build_history(
    settings: Settings, business: Business, start: datetime, anchor: datetime
) -> list[Post]:
    """The business's posts between ``start`` and ``anchor``, oldest first."""
    posts = [
        post
        for account in business.accounts.values()
        for post in _build_posts(settings, business, account, start, anchor)
    ]
    return sorted(posts, key=lambda p: p.published_at)


def build_runtime_business(
    settings: Settings, business_id: int, now: datetime
) -> tuple[Business, SimUser, list[Post]]:
    """Pulse business ``business_id`` built as the starting ones are, with ``now`` (floored
    to the hour) as its anchor: its accounts, its administrator ``sim-user-<index>`` and
    its history. The same seed, offset, id and hour give the same business."""
    anchor = default_anchor(now)
    start = anchor - timedelta(days=settings.days)
    business = build_business(settings, business_id - settings.business_id_offset, start)
    admin = build_user(settings, business.index, (business.business_id,))
    return business, admin, build_history(settings, business, start, anchor)


def build_population(settings: Settings, now: datetime | None = None) -> Population:
    anchor = (settings.anchor or default_anchor(now)).astimezone(UTC)
    start = anchor - timedelta(days=settings.days)
    businesses = [build_business(settings, i, start) for i in range(1, settings.businesses + 1)]
    posts = [p for b in businesses for p in build_history(settings, b, start, anchor)]
    posts.sort(key=lambda p: p.published_at)
    return Population(
        anchor=anchor,
        start=start,
        apps=build_apps(settings),
        businesses=businesses,
        posts=posts,
        users=build_users(settings, businesses),
    )
