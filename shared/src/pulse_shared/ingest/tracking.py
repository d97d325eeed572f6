"""The poll schedule, in Redis, shared by every replica of an ingest service.

Per platform, a sorted set holds every tracked post with the epoch second its next poll
is due. A replica *claims* due posts: one Lua script takes them and pushes their due time
to the end of a lease, so no other replica takes them while they are polled (a replica
that dies lets its posts come due again when the lease ends). After the poll the post is
rescheduled by its age (pulse_shared.schedule: every 15 minutes on the first day, hourly
in the first week, daily to 90 days, then no more).

Webhooks and refresh requests ask for a poll *soon*: that only ever moves a due time
earlier (``ZADD LT``), so a burst of deliveries for one post makes one poll. A post
under lease is not moved (another replica would take it while it is being polled): the
wish is kept beside it and applied when the post is rescheduled.

A member is a compact JSON array, ``[business_id, platform, platform_post_id,
account_id, published_at epoch seconds]``: a claim gives everything a poll needs without
another lookup. Keys (the ``{platform}`` hash tag keeps one platform's keys in one Redis
Cluster slot):

- ``pulse:track:{platform}:due``           sorted set, member -> next due (epoch s)
- ``pulse:track:{platform}:leases``        hash, member -> lease end of a claimed post
- ``pulse:track:{platform}:soon``          hash, member -> wished due, kept during a lease
- ``pulse:track:{platform}:ids``           hash, platform_post_id -> member (webhooks)
- ``pulse:track:{platform}:business:<id>`` set of the business's members (refresh)

The schedule can be lost (a Redis flush): it is rebuilt by re-reading the compacted
``posts.published.v1`` topic and tracking every post again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import cast

from redis.asyncio import Redis

from pulse_shared.events import Platform, PostPublished
from pulse_shared.ingest.contracts import TrackedPost
from pulse_shared.schedule import poll_interval

# KEYS: due, ids, business, leases, soon. ARGV: member, platform_post_id, now, the
# member's prefix naming its business. A post already tracked keeps its schedule; a
# member for the same post and business that differs (its account or publication time
# was corrected) replaces the old one.
TRACK_SCRIPT = """
local old = redis.call('HGET', KEYS[2], ARGV[2])
if old and old ~= ARGV[1] and string.sub(old, 1, #ARGV[4]) == ARGV[4] then
  redis.call('ZREM', KEYS[1], old)
  redis.call('SREM', KEYS[3], old)
  redis.call('HDEL', KEYS[4], old)
  redis.call('HDEL', KEYS[5], old)
end
local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return added
"""

# KEYS: due, leases. ARGV: now, how many at most, lease end.
CLAIM_SCRIPT = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(members) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], member)
  redis.call('HSET', KEYS[2], member, ARGV[3])
end
return members
"""

# KEYS: due, leases, soon. ARGV: member, next due. Ends the lease; a wish for an earlier
# poll made during the lease wins. A post untracked meanwhile is not brought back.
RESCHEDULE_SCRIPT = """
local next_due = tonumber(ARGV[2])
local wished = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '')
if wished and wished < next_due then next_due = wished end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return false end
redis.call('ZADD', KEYS[1], 'XX', next_due, ARGV[1])
return tostring(next_due)
"""

# KEYS: due, leases, soon. ARGV: now, wished due, members... Only ever earlier; a post
# under lease keeps the wish for its reschedule. Returns how many due times moved.
POLL_SOON_SCRIPT = """
local now, wished = tonumber(ARGV[1]), tonumber(ARGV[2])
local moved = 0
for i = 3, #ARGV do
  local member = ARGV[i]
  local lease = tonumber(redis.call('HGET', KEYS[2], member) or '')
  if lease and lease > now then
    local kept = tonumber(redis.call('HGET', KEYS[3], member) or '')
    if not kept or wished < kept then redis.call('HSET', KEYS[3], member, ARGV[2]) end
  else
    if lease then redis.call('HDEL', KEYS[2], member) end
    moved = moved + redis.call('ZADD', KEYS[1], 'XX', 'LT', 'CH', ARGV[2], member)
  end
end
return moved
"""

# KEYS: due, leases, soon, ids, business. ARGV: member, platform_post_id.
UNTRACK_SCRIPT = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
if redis.call('HGET', KEYS[4], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[4], ARGV[2]) end
return removed
"""


def tracked_post_of(event: PostPublished) -> TrackedPost:
    """The schedule's view of a ``posts.published.v1`` event."""
    return TrackedPost(
        business_id=event.business_id,
        platform=event.platform,
        platform_post_id=event.platform_post_id,
        account_id=event.account_id,
        published_at=event.published_at,
        content_type=event.content_type,
    )


def post_key(post: TrackedPost) -> str:
    """The post's member in the schedule (published_at to the whole second)."""
    return json.dumps(
        [
            post.business_id,
            post.platform,
            post.platform_post_id,
            post.account_id,
            int(post.published_at.timestamp()),
            post.content_type,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )


def post_of_key(key: str | bytes) -> TrackedPost:
    business_id, platform, platform_post_id, account_id, published, *rest = json.loads(key)
    return TrackedPost(
        business_id=int(business_id),
        platform=cast(Platform, platform),
        platform_post_id=str(platform_post_id),
        account_id=str(account_id),
        published_at=datetime.fromtimestamp(published, UTC),
        content_type=rest[0] if rest else None,
    )


def _epoch(moment: datetime | None) -> float:
    return time.time() if moment is None else moment.timestamp()


def schedule_key_prefix(topic_prefix: str) -> str:
    """The Redis key prefix of the poll schedule: scoped by the topic prefix, so a test run
    (or another deployment sharing a Redis) never touches a running stack's schedule."""
    return f"pulse:track:{topic_prefix}" if topic_prefix else "pulse:track"


class PollSchedule:
    """Which tracked posts are due for a poll, per platform, shared by all replicas."""

    def __init__(self, redis: Redis, key_prefix: str = "pulse:track") -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._track = redis.register_script(TRACK_SCRIPT)
        self._claim = redis.register_script(CLAIM_SCRIPT)
        self._reschedule = redis.register_script(RESCHEDULE_SCRIPT)
        self._poll_soon = redis.register_script(POLL_SOON_SCRIPT)
        self._untrack = redis.register_script(UNTRACK_SCRIPT)

    def key(self, platform: str, name: str) -> str:
        """A key of the platform's schedule (others, such as the account sync's, live
        beside it: the ingest service's Redis user may use the platform's keys only)."""
        return f"{self._prefix}:{{{platform}}}:{name}"

    def _business_key(self, platform: str, business_id: int) -> str:
        return self.key(platform, f"business:{business_id}")

    async def track(
        self, post: TrackedPost, now: datetime | None = None, *, at_least_once: bool = False
    ) -> bool:
        """Put the post on the schedule, its first poll due now. Idempotent: a post already
        tracked keeps its schedule. A post past the schedule's last age (90 days) is not
        tracked (rebuilding the schedule from the topic must not poll every old post),
        unless ``at_least_once`` (a backfill found it: it is polled once, then leaves the
        schedule as every post past that age does). True when the post was newly scheduled."""
        at = _epoch(now)
        age = timedelta(seconds=at - post.published_at.timestamp())
        if poll_interval(age) is None and not at_least_once:
            return False
        p = post.platform
        added = await self._track(
            keys=[
                self.key(p, "due"),
                self.key(p, "ids"),
                self._business_key(p, post.business_id),
                self.key(p, "leases"),
                self.key(p, "soon"),
            ],
            args=[post_key(post), post.platform_post_id, at, f"[{post.business_id},"],
        )
        return bool(added)

    async def claim_due(
        self, platform: str, limit: int, lease_s: float, now: datetime | None = None
    ) -> list[TrackedPost]:
        """Take up to ``limit`` due posts (the most overdue first) for ``lease_s`` seconds:
        no other replica gets them until they are rescheduled or the lease ends."""
        at = _epoch(now)
        members = await self._claim(
            keys=[self.key(platform, "due"), self.key(platform, "leases")],
            args=[at, limit, at + lease_s],
        )
        return [post_of_key(m) for m in members]

    async def reschedule(self, post: TrackedPost, polled_at: datetime) -> datetime | None:
        """After a poll: the next one by the post's age, or untracked once past the last
        age. Returns the next due time (None: no longer tracked)."""
        interval = poll_interval(polled_at - post.published_at)
        if interval is None:
            await self.untrack(post)
            return None
        p = post.platform
        next_due = await self._reschedule(
            keys=[self.key(p, "due"), self.key(p, "leases"), self.key(p, "soon")],
            args=[post_key(post), (polled_at + interval).timestamp()],
        )
        return None if next_due is None else datetime.fromtimestamp(float(next_due), UTC)

    async def retry_at(self, post: TrackedPost, at: datetime) -> datetime | None:
        """A poll that could not be made (rate limited, platform failing): the post is due
        again at ``at`` and its lease ends now. None: no longer tracked."""
        p = post.platform
        next_due = await self._reschedule(
            keys=[self.key(p, "due"), self.key(p, "leases"), self.key(p, "soon")],
            args=[post_key(post), at.timestamp()],
        )
        return None if next_due is None else datetime.fromtimestamp(float(next_due), UTC)

    async def poll_soon(
        self,
        platform: str,
        platform_post_ids: Iterable[str],
        delay_s: float = 0.0,
        now: datetime | None = None,
    ) -> int:
        """A webhook said these posts changed: poll them within ``delay_s`` (debounced,
        never later than already due). Posts not tracked are ignored. Returns how many
        due times moved (posts under lease keep the wish for after their poll)."""
        ids = list(dict.fromkeys(platform_post_ids))
        if not ids:
            return 0
        members = [m for m in await self._redis.hmget(self.key(platform, "ids"), ids) if m]
        return await self._move_earlier(platform, members, delay_s, now)

    async def untracked(self, platform: str, platform_post_ids: Iterable[str]) -> list[str]:
        """The ids among these that are not on the schedule."""
        ids = list(dict.fromkeys(platform_post_ids))
        if not ids:
            return []
        members = await self._redis.hmget(self.key(platform, "ids"), ids)
        return [i for i, member in zip(ids, members, strict=True) if member is None]

    async def refresh_business(
        self, business_id: int, platform: str, delay_s: float = 0.0, now: datetime | None = None
    ) -> int:
        """refresh.requested.v1: every tracked post of the business on this platform is
        polled now (or within ``delay_s``). Returns how many due times moved."""
        members = list(await self._redis.smembers(self._business_key(platform, business_id)))
        return await self._move_earlier(platform, members, delay_s, now)

    async def _move_earlier(
        self, platform: str, members: list[bytes | str], delay_s: float, now: datetime | None
    ) -> int:
        if not members:
            return 0
        at = _epoch(now)
        moved = await self._poll_soon(
            keys=[
                self.key(platform, "due"),
                self.key(platform, "leases"),
                self.key(platform, "soon"),
            ],
            args=[at, at + delay_s, *members],
        )
        return int(moved)

    async def untrack(self, post: TrackedPost) -> bool:
        """Stop polling the post (deleted, not found, past the schedule)."""
        p = post.platform
        removed = await self._untrack(
            keys=[
                self.key(p, "due"),
                self.key(p, "leases"),
                self.key(p, "soon"),
                self.key(p, "ids"),
                self._business_key(p, post.business_id),
            ],
            args=[post_key(post), post.platform_post_id],
        )
        return bool(removed)

    async def tracked_post(self, platform: str, platform_post_id: str) -> TrackedPost | None:
        member = await self._redis.hget(self.key(platform, "ids"), platform_post_id)
        return None if member is None else post_of_key(member)

    async def posts_of_business(self, business_id: int, platform: str) -> list[TrackedPost]:
        members = await self._redis.smembers(self._business_key(platform, business_id))
        return sorted((post_of_key(m) for m in members), key=lambda p: p.platform_post_id)

    async def due_at(self, post: TrackedPost) -> datetime | None:
        """When the post's next poll is due (None: not tracked)."""
        score = await self._redis.zscore(self.key(post.platform, "due"), post_key(post))
        return None if score is None else datetime.fromtimestamp(score, UTC)

    async def overdue(self, platform: str, now: datetime | None = None) -> int:
        """How many posts are due and not claimed: the backlog (a scaling signal)."""
        return int(await self._redis.zcount(self.key(platform, "due"), "-inf", _epoch(now)))

    async def leased(self, platform: str, now: datetime | None = None) -> int:
        """How many posts are being polled: claimed, their lease not over."""
        at = _epoch(now)
        ends = await self._redis.hvals(self.key(platform, "leases"))
        return sum(1 for end in ends if float(end) > at)
