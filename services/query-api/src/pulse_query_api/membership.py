"""Who may read a business: ``business_members``, asked on every request, and what may
vouch for a member while PostgreSQL cannot be asked.

Each membership PostgreSQL confirms is remembered in Redis for ``VOUCH_S`` (written at most
once a minute per member and process, off the request's path). While, and only while,
PostgreSQL is unreachable, that memory lets a member read answers already cached (the
answer cache serves hits only: computing needs the database); each such answer says so
(``X-Pulse-Database: unreachable``) and how old it is (``Age``). A membership PostgreSQL
denies is forgotten at once, and whatever removes a member must forget it too
(:func:`forget_membership`), so a removed member is never served.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from pulse_shared.db import database_unreachable
from pulse_shared.logs import get_logger

# The key is the workspace service's too (it forgets a removed member): one definition, in
# pulse_shared.memberships, named here as before.
from pulse_shared.memberships import forget_membership as forget_membership
from pulse_shared.memberships import membership_key as membership_key

log = get_logger(__name__)

# How long a confirmed membership may vouch for its member during an outage.
VOUCH_S = 300
# How often one process writes a member's confirmation again.
REWRITE_EVERY_S = 60.0

# The caller's business, its time zone and name, and the caller's role; no row for a
# business the caller is not a member of, exactly as for one that does not exist.
MEMBER_TIMEZONE_AND_ROLE = """
SELECT b.timezone, b.name, m.role FROM businesses b
JOIN business_members m ON m.business_id = b.id
WHERE b.id = $1 AND m.user_id = $2
"""
# A business as a Pulse service's token sees it (a service is no member: pulse_shared.http_auth).
BUSINESS_TIMEZONE_AND_NAME = "SELECT timezone, name FROM businesses WHERE id = $1"


@dataclass(frozen=True)
class Membership:
    """A member's business (its time zone and name) and role; ``vouched`` when read from
    memory while PostgreSQL is unreachable."""

    timezone: str
    role: str
    vouched: bool
    name: str | None = None

    def remembered(self) -> str:
        """As kept in Redis: the role, the time zone (neither has a space) and the name as
        JSON, separated by spaces."""
        return f"{self.role} {self.timezone} {json.dumps(self.name)}"

    @staticmethod
    def recalled(value: str) -> Membership | None:
        parts = value.split(" ", 2)
        if len(parts) < 3:
            return None  # written before roles (or names) were kept: vouches for nothing
        role, timezone, name = parts
        try:
            named = json.loads(name)
        except ValueError:
            return None
        if named is not None and not isinstance(named, str):
            return None
        return Membership(timezone, role, vouched=True, name=named)


@dataclass(frozen=True)
class Business:
    """A business as a service's token reads it: its time zone and name."""

    timezone: str
    name: str | None


class Memberships:
    def __init__(
        self,
        lookups: asyncpg.Pool,
        redis: Redis | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookups = lookups
        self._redis = redis
        self._clock = clock
        self._written: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def membership(self, business_id: int, user: str) -> Membership | None:
        """The business's time zone and ``user``'s role when ``user`` is a member (None
        otherwise), and whether it was vouched for from memory because PostgreSQL is
        unreachable."""
        key = membership_key(business_id, user)
        try:
            row = await self._lookups.fetchrow(MEMBER_TIMEZONE_AND_ROLE, business_id, user)
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            vouched = await self._vouched(key)
            if vouched is None:
                raise
            return vouched
        if row is None:
            if self._redis is not None:
                self._in_background(self._forget(key))
            return None
        found = Membership(row["timezone"], row["role"], vouched=False, name=row["name"])
        if self._redis is None:
            return found
        if self._clock() - self._written.get(key, float("-inf")) >= REWRITE_EVERY_S:
            self._written[key] = self._clock()
            self._in_background(self._remember(key, found.remembered()))
        return found

    async def business(self, business_id: int) -> Business | None:
        """The business (None when it does not exist), for a service's token: no membership
        to look up, and none to vouch for it while PostgreSQL is unreachable."""
        row = await self._lookups.fetchrow(BUSINESS_TIMEZONE_AND_NAME, business_id)
        return None if row is None else Business(row["timezone"], row["name"])

    async def _vouched(self, key: str) -> Membership | None:
        if self._redis is None:
            return None
        try:
            value = await self._redis.get(key)
        except (RedisError, OSError):
            return None
        if value is None:
            return None
        return Membership.recalled(value.decode() if isinstance(value, bytes) else str(value))

    async def _remember(self, key: str, remembered: str) -> None:
        assert self._redis is not None
        try:
            await self._redis.set(key, remembered, ex=VOUCH_S)
        except (RedisError, OSError) as exc:
            self._written.pop(key, None)
            log.warning("membership not remembered", error=repr(exc))

    async def _forget(self, key: str) -> None:
        assert self._redis is not None
        self._written.pop(key, None)
        try:
            await self._redis.delete(key)
        except (RedisError, OSError) as exc:
            log.warning("membership not forgotten", error=repr(exc))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Off the request's path; kept referenced until done."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
