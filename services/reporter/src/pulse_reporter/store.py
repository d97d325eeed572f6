"""The one way this service queries: asyncpg, a named statement for each thing it does, and
:class:`Store`, those statements over one connection, answering in the row shapes below.

Every instant is a parameter (``$now``), never the database's ``now()``: the worker's clock
decides when a delivery is due and when a lease ends, so tests hold it. Addresses are kept
lower-cased (unsubscribes, bounces) and compared so."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from pulse_reporter.report_data import Period, PeriodKind

# --- schedules -----------------------------------------------------------------------

# Each schedule that runs, its business's time zone, and the latest period a scheduled
# (not send-now) delivery of it exists for: what the worker needs to see what is owed.
ACTIVE_SCHEDULES = """
SELECT s.id, s.business_id, s.kind, s.created_at, b.timezone,
       (SELECT max(d.period_start) FROM report_deliveries d
        WHERE d.business_id = s.business_id AND d.schedule_id = s.id
          AND d.delivery_key NOT LIKE '%:now:%') AS last_period_start
FROM report_schedules s JOIN businesses b ON b.id = s.business_id
WHERE NOT s.paused ORDER BY s.id
"""
SCHEDULE_TO_DELIVER = """
SELECT s.id, s.business_id, s.kind, s.recipients, s.include_csv, s.paused,
       b.name, b.timezone, r.colour, r.logo, r.logo_media_type
FROM report_schedules s JOIN businesses b ON b.id = s.business_id
LEFT JOIN report_branding r ON r.business_id = s.business_id
WHERE s.id = $1
"""
# Of ``addresses`` (lower-cased), those not to send this schedule to: unsubscribed from it,
# or refused by the mail server for any report of the business.
NOT_TO_SEND = """
SELECT email FROM report_unsubscribes WHERE schedule_id = $1 AND email = ANY($3::text[])
UNION
SELECT email FROM report_bounces WHERE business_id = $2 AND email = ANY($3::text[])
"""

# --- deliveries ----------------------------------------------------------------------

INSERT_DELIVERY = """
INSERT INTO report_deliveries
  (business_id, schedule_id, delivery_key, period_start, period_end, message_id,
   next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (delivery_key) DO NOTHING RETURNING id
"""
# The pending delivery due longest ago that no replica holds, taken under a lease: of two
# replicas asking at once, SKIP LOCKED gives each a different row (or none).
CLAIM_NEXT_DUE = """
UPDATE report_deliveries SET lease_owner = $2, lease_until = $3
WHERE id = (
  SELECT id FROM report_deliveries
  WHERE status = 'pending' AND next_attempt_at <= $1
    AND (lease_until IS NULL OR lease_until < $1)
  ORDER BY next_attempt_at, id FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id, business_id, schedule_id, delivery_key, period_start, period_end, attempts,
          message_id, created_at
"""
# Each statement below acts only while the lease is the caller's: a replica whose lease
# ran out (another took the delivery over) changes nothing.
EXTEND_LEASE = """
UPDATE report_deliveries SET lease_until = $3
WHERE id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING id
"""
MARK_SENT = """
UPDATE report_deliveries
SET status = 'sent', reason = $3, attempts = attempts + 1, finished_at = $4,
    lease_owner = NULL, lease_until = NULL
WHERE id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING id
"""
MARK_SKIPPED = """
UPDATE report_deliveries
SET status = 'skipped', reason = $3, finished_at = $4, lease_owner = NULL, lease_until = NULL
WHERE id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING id
"""
MARK_FAILED = """
UPDATE report_deliveries
SET status = 'failed', reason = $3, attempts = attempts + 1, finished_at = $4,
    lease_owner = NULL, lease_until = NULL
WHERE id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING id
"""
# Tried again at $4; $5 is how many attempts this one counts for (0 while it waits for
# fresh data: waiting is not failing).
RETRY_LATER = """
UPDATE report_deliveries
SET reason = $3, next_attempt_at = $4, attempts = attempts + $5,
    lease_owner = NULL, lease_until = NULL
WHERE id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING id
"""

# --- addresses not to send to again --------------------------------------------------

RECORD_BOUNCE = """
INSERT INTO report_bounces (business_id, email, detail, at) VALUES ($1, lower($2), $3, $4)
"""
RECORD_UNSUBSCRIBE = """
INSERT INTO report_unsubscribes (schedule_id, email, business_id, at)
SELECT id, lower($2), business_id, $3 FROM report_schedules WHERE id = $1
ON CONFLICT (schedule_id, email) DO NOTHING
"""


# --- the rows, as the service uses them ----------------------------------------------


@dataclass(frozen=True)
class ActiveSchedule:
    id: int
    business_id: int
    kind: PeriodKind
    created_at: datetime
    timezone: str
    last_period_start: date | None


@dataclass(frozen=True)
class Claimed:
    """A delivery a replica holds under its lease."""

    id: int
    business_id: int
    schedule_id: int
    delivery_key: str
    period: Period
    attempts: int  # attempts made before this one
    message_id: str
    created_at: datetime


@dataclass(frozen=True)
class ScheduleToDeliver:
    id: int
    business_id: int
    kind: PeriodKind
    recipients: tuple[str, ...]
    include_csv: bool
    paused: bool
    business_name: str | None
    timezone: str
    colour: str | None
    logo: bytes | None
    logo_media_type: str | None


def _claimed(row: asyncpg.Record) -> Claimed:
    return Claimed(
        id=row["id"],
        business_id=row["business_id"],
        schedule_id=row["schedule_id"],
        delivery_key=row["delivery_key"],
        period=Period(row["period_start"], row["period_end"]),
        attempts=row["attempts"],
        message_id=row["message_id"],
        created_at=row["created_at"],
    )


class Store:
    """The statements above, over one connection."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.db = connection

    async def active_schedules(self) -> list[ActiveSchedule]:
        return [ActiveSchedule(**dict(r)) for r in await self.db.fetch(ACTIVE_SCHEDULES)]

    async def schedule_to_deliver(self, schedule_id: int) -> ScheduleToDeliver | None:
        row = await self.db.fetchrow(SCHEDULE_TO_DELIVER, schedule_id)
        if row is None:
            return None
        fields: dict[str, Any] = dict(row)
        fields["business_name"] = fields.pop("name")
        fields["recipients"] = tuple(fields["recipients"])
        return ScheduleToDeliver(**fields)

    async def not_to_send(
        self, schedule_id: int, business_id: int, addresses: Sequence[str]
    ) -> set[str]:
        """Of ``addresses``, the lower-cased ones unsubscribed or bounced."""
        lowered = sorted({a.lower() for a in addresses})
        rows = await self.db.fetch(NOT_TO_SEND, schedule_id, business_id, lowered)
        return {r["email"] for r in rows}

    async def insert_delivery(
        self, business_id: int, schedule_id: int, key: str, period: Period, message_id: str,
        now: datetime,
    ) -> bool:  # fmt: skip
        """False when a delivery with ``key`` exists already (another replica made it)."""
        row = (business_id, schedule_id, key, period.start, period.end, message_id, now)
        return await self.db.fetchval(INSERT_DELIVERY, *row) is not None

    async def claim_next_due(self, now: datetime, owner: str, until: datetime) -> Claimed | None:
        row = await self.db.fetchrow(CLAIM_NEXT_DUE, now, owner, until)
        return None if row is None else _claimed(row)

    async def extend_lease(self, delivery_id: int, owner: str, until: datetime) -> bool:
        """False when the lease is no longer ``owner``'s."""
        return await self.db.fetchval(EXTEND_LEASE, delivery_id, owner, until) is not None

    async def mark_sent(
        self, delivery_id: int, owner: str, note: str | None, now: datetime
    ) -> bool:
        return await self.db.fetchval(MARK_SENT, delivery_id, owner, note, now) is not None

    async def mark_skipped(self, delivery_id: int, owner: str, reason: str, now: datetime) -> bool:
        return await self.db.fetchval(MARK_SKIPPED, delivery_id, owner, reason, now) is not None

    async def mark_failed(self, delivery_id: int, owner: str, reason: str, now: datetime) -> bool:
        return await self.db.fetchval(MARK_FAILED, delivery_id, owner, reason, now) is not None

    async def retry_later(
        self, delivery_id: int, owner: str, reason: str, at: datetime, counts: int
    ) -> bool:
        found = await self.db.fetchval(RETRY_LATER, delivery_id, owner, reason, at, counts)
        return found is not None

    async def record_bounce(self, business_id: int, email: str, detail: str, now: datetime) -> None:
        await self.db.execute(RECORD_BOUNCE, business_id, email, detail[:500], now)

    async def record_unsubscribe(self, schedule_id: int, email: str, now: datetime) -> None:
        """Nothing when the schedule is gone (its reports with it)."""
        await self.db.execute(RECORD_UNSUBSCRIBE, schedule_id, email, now)


@contextlib.asynccontextmanager
async def connected(pool: asyncpg.Pool) -> AsyncIterator[Store]:
    """Single statements, each its own (autocommit) transaction: every statement above is
    one atomic step, so none needs a wider transaction."""
    async with pool.acquire() as connection:
        yield Store(connection)
