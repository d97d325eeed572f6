"""The daily alert job's SQL (alerting.py, alert_deliveries.py), each statement named, in
the style of store.py: asyncpg, every instant a parameter (the worker's clock), and
:class:`AlertStore`, those statements over one connection, answering in the row shapes
below.

Two guards make an alert happen once, whatever the replicas do:

- ``alerts.alert_key`` is unique ("<business>:<kind>:<platform>:<metric or account>:<day>"),
  so an alert is inserted once (``ON CONFLICT DO NOTHING``);
- the business's advisory lock (:data:`LOCK_BUSINESS`) is taken by the transaction that
  reads the recent alerts (the cooldown) and inserts the new ones, so two replicas judging
  one business write one after the other, the second seeing the first's alerts.

An alert's deliveries are claimed with ``FOR UPDATE SKIP LOCKED`` in one short statement
that counts the attempt and pushes ``next_attempt_at`` past the time a send may take (the
hold); nothing is locked while sending. Every later statement names the attempt it is
for, so a replica whose hold ran out (another took the delivery over) records nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeAlias

import asyncpg

from pulse_reporter.anomalies import Anomaly, Sensitivity

Channel: TypeAlias = Literal["email", "webhook"]
Kind: TypeAlias = Literal["anomaly", "reconnection"]

# --- the businesses to judge -----------------------------------------------------------

# Every business, with its sensitivity: one without settings is alerted at the default
# (medium, in the app only), so alerts arrive without anyone configuring them.
BUSINESSES = """
SELECT b.id, b.timezone, coalesce(s.sensitivity, 'medium') AS sensitivity
FROM businesses b LEFT JOIN alert_settings s ON s.business_id = b.id
ORDER BY b.id
"""
# Held to the end of the transaction; keyed apart from the aggregator's per-business locks
# (the business id itself, and minus it) by hashing a name with the id.
LOCK_BUSINESS = "SELECT pg_advisory_xact_lock(hashtextextended('pulse_reporter.alerts:' || $1, 0))"
# Where the business's alerts go now: the channels an alert made now gets a delivery on.
CHANNELS = """
SELECT cardinality(email_recipients) > 0 AS email, webhook_url IS NOT NULL AS webhook
FROM alert_settings WHERE business_id = $1
"""
# The business's anomaly alerts on the days [$2, $3]: the cooldown's memory.
RECENT_ANOMALIES = """
SELECT platform, metric, day, numbers FROM alerts
WHERE business_id = $1 AND kind = 'anomaly' AND day BETWEEN $2 AND $3
ORDER BY day, id
"""
INSERT_ALERT = """
INSERT INTO alerts
  (business_id, alert_key, kind, platform, metric, day, title, sentence, link, numbers,
   created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)
ON CONFLICT (alert_key) DO NOTHING RETURNING id
"""
INSERT_DELIVERIES = """
INSERT INTO alert_deliveries (alert_id, channel, next_attempt_at)
SELECT $1, channel, $3 FROM unnest($2::text[]) AS channel
ON CONFLICT (alert_id, channel) DO NOTHING
"""

# --- deliveries ------------------------------------------------------------------------

# The pending delivery due longest ago, its attempt counted and held until $2: of two
# replicas asking at once, SKIP LOCKED gives each a different row (or none), and the
# pushed next_attempt_at keeps the row from every replica until the hold ends. The choice
# is a sub-select in WHERE (run once, an InitPlan), not a join: a join's plan may scan the
# sub-select again for each row, and a second scan, skipping the row just updated, would
# claim the next one too.
CLAIM_NEXT_DUE = """
UPDATE alert_deliveries SET attempts = attempts + 1, next_attempt_at = $2
WHERE (alert_id, channel) = (
  SELECT alert_id, channel FROM alert_deliveries
  WHERE status = 'pending' AND next_attempt_at <= $1
  ORDER BY next_attempt_at, alert_id, channel FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING alert_id, channel, attempts
"""
# Each statement below acts only on attempt $3 of the delivery, still pending.
EXTEND_HOLD = """
UPDATE alert_deliveries SET next_attempt_at = $4
WHERE alert_id = $1 AND channel = $2 AND attempts = $3 AND status = 'pending'
RETURNING alert_id
"""
FINISH = """
UPDATE alert_deliveries SET status = $4, detail = $5, finished_at = $6
WHERE alert_id = $1 AND channel = $2 AND attempts = $3 AND status = 'pending'
RETURNING alert_id
"""
RETRY_LATER = """
UPDATE alert_deliveries SET detail = $4, next_attempt_at = $5
WHERE alert_id = $1 AND channel = $2 AND attempts = $3 AND status = 'pending'
RETURNING alert_id
"""
# The alert as its deliveries send it, with where it goes now (settings changed since the
# alert was made are honoured: an address taken off is not mailed).
ALERT_TO_DELIVER = """
SELECT a.id, a.business_id, a.alert_key, a.title, a.sentence, a.link, b.name,
       coalesce(s.email_recipients, '{}') AS email_recipients, s.webhook_url, s.webhook_secret
FROM alerts a JOIN businesses b ON b.id = a.business_id
LEFT JOIN alert_settings s ON s.business_id = a.business_id
WHERE a.id = $1
"""
# Of ``addresses`` (lower-cased), those the mail server refused for the business before
# (report_bounces, store.py's: a dead address is dead for reports and alerts alike).
BOUNCED = "SELECT email FROM report_bounces WHERE business_id = $1 AND email = ANY($2::text[])"


# --- the rows, as the job uses them ----------------------------------------------------


@dataclass(frozen=True)
class BusinessToJudge:
    id: int
    timezone: str
    sensitivity: Sensitivity


@dataclass(frozen=True)
class Channels:
    email: bool = False
    webhook: bool = False

    def names(self) -> list[Channel]:
        chosen: list[Channel] = []
        if self.email:
            chosen.append("email")
        if self.webhook:
            chosen.append("webhook")
        return chosen


@dataclass(frozen=True)
class NewAlert:
    """An alert as inserted: its key, what it is about, its text and its numbers."""

    key: str
    kind: Kind
    platform: str
    metric: str | None
    day: date
    title: str
    sentence: str
    link: str
    numbers: dict[str, Any]


@dataclass(frozen=True)
class ClaimedDelivery:
    alert_id: int
    channel: Channel
    attempt: int  # this attempt's number, from 1


@dataclass(frozen=True)
class AlertToDeliver:
    id: int
    business_id: int
    key: str
    title: str
    sentence: str
    link: str
    business_name: str | None
    email_recipients: tuple[str, ...]
    webhook_url: str | None
    webhook_secret: str | None  # never logged


def anomaly_numbers(a: Anomaly) -> dict[str, Any]:
    """What the ``numbers`` column keeps of an anomaly: every number its sentence says, and
    what the cooldown needs back (:func:`anomaly_of_row`)."""
    return {
        "value": a.value,
        "baseline_median": a.baseline_median,
        "weeks_used": a.weeks_used,
        "change": a.change,
        "percent_change": a.percent_change,
        "z": a.z,
        "direction": a.direction,
    }


def numbers_of(row: asyncpg.Record) -> dict[str, Any]:
    """An alert row's ``numbers`` (jsonb, which asyncpg hands over as its text)."""
    numbers = row["numbers"]
    found: dict[str, Any] = json.loads(numbers) if isinstance(numbers, str) else numbers
    return found


def anomaly_of_row(business_id: int, row: asyncpg.Record) -> Anomaly:
    n = numbers_of(row)
    return Anomaly(
        business_id=business_id,
        platform=row["platform"],
        metric=row["metric"],
        day=row["day"],
        value=n["value"],
        baseline_median=n["baseline_median"],
        weeks_used=n["weeks_used"],
        change=n["change"],
        percent_change=n["percent_change"],
        z=n["z"],
        direction=n["direction"],
    )


class AlertStore:
    """The statements above, over one connection."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.db = connection

    # --- judging ---

    async def businesses(self) -> list[BusinessToJudge]:
        return [BusinessToJudge(**dict(r)) for r in await self.db.fetch(BUSINESSES)]

    async def lock_business(self, business_id: int) -> None:
        """Waits for any other replica's judging transaction of the business to end."""
        await self.db.execute(LOCK_BUSINESS, str(business_id))

    async def channels(self, business_id: int) -> Channels:
        row = await self.db.fetchrow(CHANNELS, business_id)
        return Channels() if row is None else Channels(row["email"], row["webhook"])

    async def recent_anomalies(self, business_id: int, first: date, last: date) -> list[Anomaly]:
        rows = await self.db.fetch(RECENT_ANOMALIES, business_id, first, last)
        return [anomaly_of_row(business_id, r) for r in rows]

    async def insert_alert(
        self, business_id: int, alert: NewAlert, channels: Sequence[Channel], now: datetime
    ) -> int | None:
        """The new alert's id and its deliveries made, or None when its key exists."""
        alert_id: int | None = await self.db.fetchval(
            INSERT_ALERT, business_id, alert.key, alert.kind, alert.platform, alert.metric,
            alert.day, alert.title, alert.sentence, alert.link, json.dumps(alert.numbers), now,
        )  # fmt: skip
        if alert_id is not None and channels:
            await self.db.execute(INSERT_DELIVERIES, alert_id, list(channels), now)
        return alert_id

    # --- delivering ---

    async def claim_next_due(self, now: datetime, hold_until: datetime) -> ClaimedDelivery | None:
        row = await self.db.fetchrow(CLAIM_NEXT_DUE, now, hold_until)
        if row is None:
            return None
        return ClaimedDelivery(row["alert_id"], row["channel"], row["attempts"])

    async def extend_hold(self, c: ClaimedDelivery, until: datetime) -> bool:
        """False when the attempt is no longer the delivery's current one."""
        found = await self.db.fetchval(EXTEND_HOLD, c.alert_id, c.channel, c.attempt, until)
        return found is not None

    async def finish(
        self, c: ClaimedDelivery, status: str, detail: str | None, now: datetime
    ) -> bool:
        args = (c.alert_id, c.channel, c.attempt, status, detail, now)
        return await self.db.fetchval(FINISH, *args) is not None

    async def retry_later(self, c: ClaimedDelivery, detail: str, at: datetime) -> bool:
        args = (c.alert_id, c.channel, c.attempt, detail, at)
        return await self.db.fetchval(RETRY_LATER, *args) is not None

    async def alert_to_deliver(self, alert_id: int) -> AlertToDeliver | None:
        row = await self.db.fetchrow(ALERT_TO_DELIVER, alert_id)
        if row is None:
            return None
        return AlertToDeliver(
            id=row["id"],
            business_id=row["business_id"],
            key=row["alert_key"],
            title=row["title"],
            sentence=row["sentence"],
            link=row["link"],
            business_name=row["name"],
            email_recipients=tuple(row["email_recipients"]),
            webhook_url=row["webhook_url"],
            webhook_secret=row["webhook_secret"],
        )

    async def bounced(self, business_id: int, addresses: Sequence[str]) -> set[str]:
        lowered = sorted({a.lower() for a in addresses})
        return {r["email"] for r in await self.db.fetch(BOUNCED, business_id, lowered)}


@contextlib.asynccontextmanager
async def alert_connected(pool: asyncpg.Pool) -> AsyncIterator[AlertStore]:
    """Single statements, each its own (autocommit) transaction."""
    async with pool.acquire() as connection:
        yield AlertStore(connection)


@contextlib.asynccontextmanager
async def alert_transaction(pool: asyncpg.Pool) -> AsyncIterator[AlertStore]:
    """One transaction (a business's judging: its lock, the cooldown's read, the inserts)."""
    async with pool.acquire() as connection, connection.transaction():
        yield AlertStore(connection)
