"""The one name of a remembered membership in Redis, shared by the service that remembers
it (query-api vouches for a member from it while PostgreSQL is unreachable:
pulse_query_api.membership) and the one that removes members (the workspace service), so
that a removed member is forgotten at once under exactly the key that was written."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis


def membership_key(business_id: int, user: str) -> str:
    # The user id is digested: a key names no person.
    digest = hashlib.sha256(user.encode()).hexdigest()[:32]
    return f"pulse:member:{business_id}:{digest}"


async def forget_membership(redis: Redis, business_id: int, user: str) -> None:
    """What removing a member must do besides deleting its row."""
    await redis.delete(membership_key(business_id, user))
