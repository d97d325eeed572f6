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
          message_id, created_at, sent_to
"""
# Each statement below acts only while the lease is the caller's: a replica whose lease
# ran out (another took the delivery over) changes nothing.
EXTEND_LEASE = """
UPDATE report_deliveries SET lease_until = $3
WHERE id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING id
"""
# A recipient the mail server accepted the report for: no later attempt sends it again.
RECORD_SENT_TO = """
UPDATE report_deliveries SET sent_to = array_append(sent_to, lower($3))
WHERE id = $1 AND lease_owner = $2 AND status = 'pending' AND NOT lower($3) = ANY (sent_to)
RETURNING id
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
    sent_to: frozenset[str] = frozenset()  # lower-cased: accepted by the mail server before


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
        sent_to=frozenset(row["sent_to"]),
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

    async def record_sent_to(self, delivery_id: int, owner: str, address: str) -> bool:
        """False when the lease is no longer ``owner``'s (or ``address`` was recorded)."""
        found = await self.db.fetchval(RECORD_SENT_TO, delivery_id, owner, address)
        return found is not None

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


# --- the API's statements (routes/) ----------------------------------------------------
# Each names the business: an id of another business's schedule or alert finds nothing,
# as one that does not exist. Every list has a LIMIT.

SCHEDULE_COLUMNS = """
id, business_id, kind, recipients, include_csv, paused, created_by, created_at, updated_at
"""
SCHEDULES_OF = f"""
SELECT {SCHEDULE_COLUMNS} FROM report_schedules WHERE business_id = $1 ORDER BY id LIMIT $2
"""  # noqa: S608 - our own constants only
SCHEDULE_OF = f"""
SELECT {SCHEDULE_COLUMNS} FROM report_schedules WHERE business_id = $1 AND id = $2
"""  # noqa: S608 - our own constants only
# A business has at most $7 schedules (a soft bound: two at once may pass it by one).
CREATE_SCHEDULE = f"""
INSERT INTO report_schedules
  (business_id, kind, recipients, include_csv, created_by, created_at, updated_at)
SELECT $1, $2, $3, $4, $5, $6, $6
WHERE (SELECT count(*) FROM report_schedules WHERE business_id = $1) < $7
RETURNING {SCHEDULE_COLUMNS}
"""  # noqa: S608 - our own constants only
# A null leaves the column as it is.
UPDATE_SCHEDULE = f"""
UPDATE report_schedules
SET recipients = coalesce($3, recipients), include_csv = coalesce($4, include_csv),
    paused = coalesce($5, paused), updated_at = $6
WHERE business_id = $1 AND id = $2 RETURNING {SCHEDULE_COLUMNS}
"""  # noqa: S608 - our own constants only
DELETE_SCHEDULE = "DELETE FROM report_schedules WHERE business_id = $1 AND id = $2 RETURNING id"
BUSINESS_TIMEZONE = "SELECT timezone FROM businesses WHERE id = $1"

DELIVERIES_OF = """
SELECT id, schedule_id, delivery_key, period_start, period_end, status, reason, attempts,
       next_attempt_at, created_at, finished_at
FROM report_deliveries
WHERE business_id = $1 AND ($2::bigint IS NULL OR schedule_id = $2)
ORDER BY id DESC LIMIT $3
"""

BRANDING_OF = """
SELECT colour, logo_media_type, octet_length(logo) AS logo_bytes, updated_at
FROM report_branding WHERE business_id = $1
"""
LOGO_OF = """
SELECT logo, logo_media_type FROM report_branding WHERE business_id = $1 AND logo IS NOT NULL
"""
SET_COLOUR = """
INSERT INTO report_branding (business_id, colour, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (business_id) DO UPDATE SET colour = excluded.colour, updated_at = excluded.updated_at
"""
# A logo before any colour: the default colour ($2) with it.
SET_LOGO = """
INSERT INTO report_branding (business_id, colour, logo, logo_media_type, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (business_id) DO UPDATE
SET logo = excluded.logo, logo_media_type = excluded.logo_media_type,
    updated_at = excluded.updated_at
"""
REMOVE_LOGO = """
UPDATE report_branding SET logo = NULL, logo_media_type = NULL, updated_at = $2
WHERE business_id = $1
"""

ALERT_SETTINGS_OF = """
SELECT sensitivity, email_recipients, webhook_url, webhook_secret IS NOT NULL AS signed,
       updated_at
FROM alert_settings WHERE business_id = $1
"""
# $4 true: the webhook is left as it is ($5, $6 unused). Otherwise $5 is the URL (or null):
# the same URL keeps its secret unless $7 (rotate); a new one (or a rotation) takes $6, a
# secret made for this request. ``new_secret``: whether $6 is now the webhook's.
SAVE_ALERT_SETTINGS = """
INSERT INTO alert_settings
  (business_id, sensitivity, email_recipients, webhook_url, webhook_secret, updated_at)
VALUES ($1, $2, $3, CASE WHEN $4::boolean THEN NULL ELSE $5::text END,
        CASE WHEN $4::boolean OR $5::text IS NULL THEN NULL ELSE $6::text END, $8)
ON CONFLICT (business_id) DO UPDATE SET
  sensitivity = excluded.sensitivity,
  email_recipients = excluded.email_recipients,
  webhook_url = CASE WHEN $4 THEN alert_settings.webhook_url ELSE excluded.webhook_url END,
  webhook_secret = CASE
    WHEN $4 THEN alert_settings.webhook_secret
    WHEN excluded.webhook_url IS NULL THEN NULL
    WHEN alert_settings.webhook_url = excluded.webhook_url AND NOT $7::boolean
         AND alert_settings.webhook_secret IS NOT NULL THEN alert_settings.webhook_secret
    ELSE excluded.webhook_secret END,
  updated_at = excluded.updated_at
RETURNING sensitivity, email_recipients, webhook_url, webhook_secret IS NOT NULL AS signed,
          updated_at, coalesce(webhook_secret = $6, false) AS new_secret
"""

ALERTS_OF = """
SELECT a.id, a.kind, a.platform, a.metric, a.day, a.title, a.sentence, a.link, a.numbers,
       a.created_at, r.alert_id IS NOT NULL AS read
FROM alerts a LEFT JOIN alert_reads r ON r.alert_id = a.id AND r.user_id = $2
WHERE a.business_id = $1 AND ($3::bigint IS NULL OR a.id < $3)
ORDER BY a.id DESC LIMIT $4
"""
UNREAD_ALERTS = """
SELECT count(*) FROM (
  SELECT 1 FROM alerts a WHERE a.business_id = $1
    AND NOT EXISTS (SELECT 1 FROM alert_reads r WHERE r.alert_id = a.id AND r.user_id = $2)
  LIMIT $3) unread
"""
# How many alerts of the business have the id: 0 answers 404; reading twice is harmless.
MARK_READ = """
WITH target AS (SELECT id FROM alerts WHERE business_id = $1 AND id = $2),
marked AS (
  INSERT INTO alert_reads (alert_id, user_id, read_at) SELECT id, $3, $4 FROM target
  ON CONFLICT (alert_id, user_id) DO NOTHING)
SELECT count(*) FROM target
"""
MARK_ALL_READ = """
WITH unread AS (
  SELECT a.id FROM alerts a WHERE a.business_id = $1
    AND NOT EXISTS (SELECT 1 FROM alert_reads r WHERE r.alert_id = a.id AND r.user_id = $2)
  ORDER BY a.id DESC LIMIT $4),
marked AS (
  INSERT INTO alert_reads (alert_id, user_id, read_at) SELECT id, $2, $3 FROM unread
  ON CONFLICT (alert_id, user_id) DO NOTHING RETURNING alert_id)
SELECT count(*) FROM marked
"""


class ApiStore:
    """The API's statements over one connection; each answers the rows as asyncpg gives
    them, which the routes shape (schemas.py)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.db = connection

    async def business_timezone(self, business_id: int) -> str | None:
        zone: str | None = await self.db.fetchval(BUSINESS_TIMEZONE, business_id)
        return zone

    async def schedules(self, business_id: int, limit: int) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.db.fetch(SCHEDULES_OF, business_id, limit)
        return rows

    async def schedule(self, business_id: int, schedule_id: int) -> asyncpg.Record | None:
        return await self.db.fetchrow(SCHEDULE_OF, business_id, schedule_id)

    async def create_schedule(
        self, business_id: int, kind: PeriodKind, recipients: Sequence[str], include_csv: bool,
        created_by: str, now: datetime, at_most: int,
    ) -> asyncpg.Record | None:  # fmt: skip
        """None when the business has ``at_most`` schedules already."""
        row = (business_id, kind, list(recipients), include_csv, created_by, now, at_most)
        return await self.db.fetchrow(CREATE_SCHEDULE, *row)

    async def update_schedule(
        self, business_id: int, schedule_id: int, *, recipients: Sequence[str] | None,
        include_csv: bool | None, paused: bool | None, now: datetime,
    ) -> asyncpg.Record | None:  # fmt: skip
        addresses = None if recipients is None else list(recipients)
        row = (business_id, schedule_id, addresses, include_csv, paused, now)
        return await self.db.fetchrow(UPDATE_SCHEDULE, *row)

    async def delete_schedule(self, business_id: int, schedule_id: int) -> bool:
        return await self.db.fetchval(DELETE_SCHEDULE, business_id, schedule_id) is not None

    async def deliveries(
        self, business_id: int, schedule_id: int | None, limit: int
    ) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.db.fetch(
            DELIVERIES_OF, business_id, schedule_id, limit
        )
        return rows

    async def branding(self, business_id: int) -> asyncpg.Record | None:
        return await self.db.fetchrow(BRANDING_OF, business_id)

    async def logo(self, business_id: int) -> asyncpg.Record | None:
        return await self.db.fetchrow(LOGO_OF, business_id)

    async def set_colour(self, business_id: int, colour: str, now: datetime) -> None:
        await self.db.execute(SET_COLOUR, business_id, colour, now)

    async def set_logo(
        self, business_id: int, data: bytes, media_type: str, default_colour: str, now: datetime
    ) -> None:
        await self.db.execute(SET_LOGO, business_id, default_colour, data, media_type, now)

    async def remove_logo(self, business_id: int, now: datetime) -> None:
        await self.db.execute(REMOVE_LOGO, business_id, now)

    async def alert_settings(self, business_id: int) -> asyncpg.Record | None:
        return await self.db.fetchrow(ALERT_SETTINGS_OF, business_id)

    async def save_alert_settings(
        self, business_id: int, *, sensitivity: str, email_recipients: Sequence[str],
        keep_webhook: bool, webhook_url: str | None, secret: str, rotate: bool, now: datetime,
    ) -> asyncpg.Record:  # fmt: skip
        """``secret``: a new one, stored when the webhook is new (or rotated)."""
        row = await self.db.fetchrow(
            SAVE_ALERT_SETTINGS, business_id, sensitivity, list(email_recipients),
            keep_webhook, webhook_url, secret, rotate, now,
        )  # fmt: skip
        assert row is not None
        return row

    async def alerts(
        self, business_id: int, user: str, before: int | None, limit: int
    ) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.db.fetch(
            ALERTS_OF, business_id, user, before, limit
        )
        return rows

    async def unread_alerts(self, business_id: int, user: str, at_most: int) -> int:
        return int(await self.db.fetchval(UNREAD_ALERTS, business_id, user, at_most))

    async def mark_read(self, business_id: int, alert_id: int, user: str, now: datetime) -> bool:
        """False when the business has no such alert."""
        return bool(await self.db.fetchval(MARK_READ, business_id, alert_id, user, now))

    async def mark_all_read(self, business_id: int, user: str, now: datetime, at_most: int) -> int:
        return int(await self.db.fetchval(MARK_ALL_READ, business_id, user, now, at_most))


@contextlib.asynccontextmanager
async def api_connected(pool: asyncpg.Pool) -> AsyncIterator[ApiStore]:
    """As :func:`connected`: each statement is its own (autocommit) transaction."""
    async with pool.acquire() as connection:
        yield ApiStore(connection)
