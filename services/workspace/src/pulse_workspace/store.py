"""The one way this service queries: asyncpg, a named statement for each thing it does,
and :func:`unit_of_work` around every change (one transaction, committed when the block
ends without raising). :class:`Store` is those statements over one connection."""

# Statements about tokens and secrets are named so, and hold none: S105 does not apply.
# ruff: noqa: S105

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import asyncpg

# --- businesses and members ----------------------------------------------------------

# A new business takes the next id of business_ids, unless an event already named a
# business with it (then the next one).
CREATE_BUSINESS = """
INSERT INTO businesses (id, name, timezone) VALUES (nextval('business_ids'), $1, $2)
ON CONFLICT (id) DO NOTHING RETURNING id
"""
ENSURE_BUSINESS = "INSERT INTO businesses (id) VALUES ($1) ON CONFLICT (id) DO NOTHING"
BUSINESS = "SELECT id, name, timezone FROM businesses WHERE id = $1"
ROLE_OF = "SELECT role FROM business_members WHERE business_id = $1 AND user_id = $2"
# Every member row of the business, locked in one order (no deadlock between two changes):
# what the last-owner rule reads, so two changes of one business take turns.
LOCK_MEMBERS = """
SELECT user_id, role FROM business_members WHERE business_id = $1 ORDER BY user_id FOR UPDATE
"""
ADD_MEMBER = """
INSERT INTO business_members (business_id, user_id, role) VALUES ($1, $2, $3)
ON CONFLICT (business_id, user_id) DO NOTHING RETURNING role
"""
SET_ROLE = "UPDATE business_members SET role = $3 WHERE business_id = $1 AND user_id = $2"
DELETE_MEMBER = "DELETE FROM business_members WHERE business_id = $1 AND user_id = $2"
MEMBERS = """
SELECT m.user_id, u.email, u.name, m.role, m.created_at AS joined_at
FROM business_members m LEFT JOIN users u ON u.user_id = m.user_id
WHERE m.business_id = $1 ORDER BY m.created_at, m.user_id
"""
MEMBER = """
SELECT m.user_id, u.email, u.name, m.role, m.created_at AS joined_at
FROM business_members m LEFT JOIN users u ON u.user_id = m.user_id
WHERE m.business_id = $1 AND m.user_id = $2
"""
BUSINESSES_OF = """
SELECT b.id AS business_id, b.name, b.timezone, m.role
FROM business_members m JOIN businesses b ON b.id = m.business_id
WHERE m.user_id = $1 ORDER BY b.id
"""
MEMBER_BY_EMAIL = """
SELECT 1 FROM business_members m JOIN users u ON u.user_id = m.user_id
WHERE m.business_id = $1 AND lower(u.email) = $2
"""

# --- users ---------------------------------------------------------------------------

SIGNED_IN = """
INSERT INTO users (user_id, email, name, last_seen_at) VALUES ($1, $2, $3, now())
ON CONFLICT (user_id) DO UPDATE
SET email = EXCLUDED.email, name = EXCLUDED.name, last_seen_at = now()
RETURNING user_id, email, name
"""
# What an operator says of a user fills in what is unknown; it never erases.
NAMED_BY_OPERATOR = """
INSERT INTO users (user_id, email, name) VALUES ($1, $2, $3)
ON CONFLICT (user_id) DO UPDATE
SET email = coalesce(EXCLUDED.email, users.email), name = coalesce(EXCLUDED.name, users.name)
"""
USER = "SELECT user_id, email, name FROM users WHERE user_id = $1"
USER_BY_EMAIL = """
SELECT user_id FROM users WHERE lower(email) = $1 ORDER BY last_seen_at DESC LIMIT 1
"""

# --- invites -------------------------------------------------------------------------

CREATE_INVITE = """
INSERT INTO invites (business_id, email, role, secret_sha256, invited_by, expires_at)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
RETURNING id, email, role, created_at, expires_at, invited_by
"""
PENDING_INVITES = """
SELECT id, email, role, created_at, expires_at, invited_by FROM invites
WHERE business_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
ORDER BY id
"""
INVITE_ROLE = """
SELECT role FROM invites
WHERE id = $1 AND business_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL
"""
REVOKE_INVITE = """
UPDATE invites SET revoked_at = now()
WHERE id = $1 AND business_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL
"""
INVITE_BY_SECRET = """
SELECT id, business_id, email, role, expires_at, accepted_at, revoked_at, now() AS now
FROM invites WHERE secret_sha256 = $1
"""
# Single use: of two acceptances at once, one gets the row.
ACCEPT_INVITE = """
UPDATE invites SET accepted_at = now(), accepted_by = $2
WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
RETURNING business_id, role
"""

# --- API tokens ----------------------------------------------------------------------

CREATE_TOKEN = """
INSERT INTO api_tokens (business_id, user_id, name, prefix, secret_sha256, expires_at)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6))
RETURNING id, name, prefix, created_at, expires_at, last_used_at, user_id
"""
TOKENS = """
SELECT id, name, prefix, created_at, expires_at, last_used_at, user_id FROM api_tokens
WHERE business_id = $1 AND ($2::text IS NULL OR user_id = $2)
  AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
ORDER BY id
"""
TOKEN_OWNER = """
SELECT user_id FROM api_tokens WHERE id = $1 AND business_id = $2 AND revoked_at IS NULL
"""
REVOKE_TOKEN = "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"
REVOKE_TOKENS_OF = """
UPDATE api_tokens SET revoked_at = now()
WHERE business_id = $1 AND user_id = $2 AND revoked_at IS NULL
"""
# A live token whose user is still a member of its business.
USABLE_TOKEN = """
SELECT t.id, t.business_id, t.user_id, t.last_used_at, now() AS now
FROM api_tokens t
JOIN business_members m ON m.business_id = t.business_id AND m.user_id = t.user_id
WHERE t.secret_sha256 = $1 AND t.revoked_at IS NULL
  AND (t.expires_at IS NULL OR t.expires_at > now())
"""
TOKEN_USED = "UPDATE api_tokens SET last_used_at = now() WHERE id = $1"

# --- the audit log -------------------------------------------------------------------

AUDIT = """
INSERT INTO audit_log (business_id, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5)
"""
AUDIT_PAGE = """
SELECT id, at, actor, action, subject, details FROM audit_log
WHERE business_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3
"""


async def init_connection(connection: asyncpg.Connection) -> None:
    """jsonb in and out as Python values."""
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


def as_dict(row: asyncpg.Record | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


class Store:
    """The statements above, over one connection (in a unit of work for changes)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.db = connection

    async def role_of(self, business_id: int, user: str) -> str | None:
        role: str | None = await self.db.fetchval(ROLE_OF, business_id, user)
        return role

    async def lock_members(self, business_id: int) -> dict[str, str]:
        """Every member's role, locked until the unit of work ends."""
        return {r["user_id"]: r["role"] for r in await self.db.fetch(LOCK_MEMBERS, business_id)}

    async def set_role(self, business_id: int, user: str, role: str) -> None:
        await self.db.execute(SET_ROLE, business_id, user, role)

    async def add_member(self, business_id: int, user: str, role: str) -> bool:
        """False when ``user`` was a member already."""
        return await self.db.fetchval(ADD_MEMBER, business_id, user, role) is not None

    async def delete_member(self, business_id: int, user: str) -> None:
        await self.db.execute(DELETE_MEMBER, business_id, user)

    async def revoke_tokens_of(self, business_id: int, user: str) -> None:
        await self.db.execute(REVOKE_TOKENS_OF, business_id, user)

    async def member(self, business_id: int, user: str) -> dict[str, Any] | None:
        return as_dict(await self.db.fetchrow(MEMBER, business_id, user))

    async def business(self, business_id: int) -> dict[str, Any] | None:
        return as_dict(await self.db.fetchrow(BUSINESS, business_id))

    async def user(self, user: str) -> dict[str, Any] | None:
        return as_dict(await self.db.fetchrow(USER, user))

    async def audit(
        self,
        business_id: int,
        actor: str,
        action: str,
        subject: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        await self.db.execute(AUDIT, business_id, actor, action, subject, dict(details or {}))

    async def now(self) -> datetime:
        now: datetime = await self.db.fetchval("SELECT now()")
        return now


@contextlib.asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool) -> AsyncIterator[Store]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    async with pool.acquire() as connection, connection.transaction():
        yield Store(connection)


@contextlib.asynccontextmanager
async def reading(pool: asyncpg.Pool) -> AsyncIterator[Store]:
    """Single statements, each its own (autocommit) transaction."""
    async with pool.acquire() as connection:
        yield Store(connection)
