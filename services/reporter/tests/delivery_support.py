"""What the delivery tests share: a clock the test holds, a fake Analytics serving the saved
query-api answers (the thing under test is delivery, not analytics), the reporter's
settings on the session's servers, rows written as the schedules' API will write them,
and the mail read back from Mailpit's API. The fixtures are in ``fixtures`` (a plugin the
test modules name in ``pytest_plugins``)."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import asyncpg
import httpx

from pulse_reporter.anomalies import Reconnection, SeriesByPlatformMetric
from pulse_reporter.deliveries import Deliverer
from pulse_reporter.ports import BusinessInfo, MailSender
from pulse_reporter.report_data import Period, PeriodKind, Report
from pulse_reporter.settings import Settings
from pulse_reporter.worker import Worker
from pulse_shared.mail import Mailer
from pulse_testing.infra import Infra, local_credentials
from pulse_testing.processes import free_port
from services.reporter.tests.support import saved_report

SMTP_PORT = int(os.environ.get("PULSE_SMTP_PORT", "1025"))
MAILPIT = f"http://127.0.0.1:{os.environ.get('PULSE_MAILPIT_PORT', '8025')}"
# Every address this session mails is at this domain: its mail is deleted at the end.
MAIL_DOMAIN = f"rp-{secrets.token_hex(4)}.pulse.test"
SENDER = "Pulse Reports <reports@pulse.test>"
DASHBOARD = "https://pulse.example.com"
TIMEZONE = "America/New_York"  # the saved answers' business's
# The saved weekly report is of 23-29 Nov 2026, owed from Monday 30 Nov 08:00 in New York.
WEEK = Period(date(2026, 11, 23), date(2026, 11, 29))
MONDAY_EIGHT = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)


def link_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


LINK_KEYS = f"{link_key()},{link_key()}"


def new_business_id() -> int:
    return secrets.randbelow(2**62) + 10**12


def address(name: str = "someone") -> str:
    return f"{name}-{secrets.token_hex(4)}@{MAIL_DOMAIN}"


@dataclass
class Clock:
    """The test's "now": moved only by the test."""

    now: datetime = MONDAY_EIGHT + timedelta(minutes=5)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


# --- reports ---------------------------------------------------------------------------


def fresh_report(kind: PeriodKind = "weekly", *, business_id: int, name: str) -> Report:
    """The saved report, made the test business's, its data fresh."""
    report = saved_report(kind)
    fresh = replace(report.freshness, stale_posts=0, needs_reconnection=())
    return replace(report, business_id=business_id, business_name=name, freshness=fresh)


def stale_report(*, business_id: int, name: str) -> Report:
    """The saved weekly report as it was captured: 33 posts' numbers older than promised."""
    report = saved_report("weekly")
    assert report.freshness.is_stale
    return replace(report, business_id=business_id, business_name=name)


def empty_report(*, business_id: int, name: str) -> Report:
    """No post published and no follower count observed in the period."""
    report = fresh_report(business_id=business_id, name=name)
    followers = tuple(replace(f, growth=None) for f in report.followers)
    return replace(report, freshness=replace(report.freshness, posts=0), followers=followers)


@dataclass
class FakeAnalytics:
    """Serves a report per business (only the businesses the test made: another test's
    business gets a LookupError, never a mail); ``failing`` makes every call fail."""

    reports: dict[int, Report] = field(default_factory=dict)
    failing: Exception | None = None
    asked: list[tuple[int, PeriodKind, Period]] = field(default_factory=list)

    def _check(self, business_id: int) -> Report:
        if self.failing is not None:
            raise self.failing
        return self.reports[business_id]

    async def business(self, business_id: int) -> BusinessInfo:
        report = self._check(business_id)
        return BusinessInfo(business_id, report.business_name, report.timezone)

    async def report(self, business_id: int, kind: PeriodKind, period: Period) -> Report:
        self.asked.append((business_id, kind, period))
        return self._check(business_id)

    async def export_csv(self, business_id: int, period: Period) -> bytes:
        self._check(business_id)
        return b"post_id,platform,likes\n1,linkedin,12\n"

    # The worker's alert step asks every business of the database: no data, no alert.
    async def alert_series(
        self, business_id: int, first_day: date, last_day: date
    ) -> SeriesByPlatformMetric:
        return {}

    async def reconnections(self, business_id: int) -> list[Reconnection]:
        return []


# --- the service's parts, on the session's servers -------------------------------------


def reporter_settings(infra: Infra, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": infra.database_url,
        "redis_url": infra.redis_url,
        "smtp_host": "127.0.0.1",
        "smtp_port": SMTP_PORT,
        "smtp_username": "pulse",
        "smtp_password": local_credentials()["PULSE_MAILPIT_SMTP_PASSWORD"],
        "smtp_tls": "none",
        "smtp_timeout_s": 10,
        "mail_from": SENDER,
        "dashboard_url": DASHBOARD,
        "reporter_service_token": "not-used-by-the-fake-analytics",
        "reporter_link_keys": LINK_KEYS,
        "reporter_replica": "replica-a",
        "report_backoff_base_s": 60,
        "report_backoff_cap_s": 3600,
        "report_max_attempts": 5,
        "report_stale_grace_s": 6 * 3600,
        "report_stale_recheck_s": 1800,
    }
    return Settings(**{**values, **over})


def unreachable(settings: Settings) -> Settings:
    """The same settings, the mail server a closed port (nothing listens: refused at once)."""
    return settings.model_copy(update={"smtp_port": free_port()})


def worker(
    pool: asyncpg.Pool,
    analytics: FakeAnalytics,
    settings: Settings,
    clock: Clock,
    mailer: MailSender | None = None,
) -> Worker:
    mail = mailer or Mailer(settings)
    return Worker(pool, Deliverer(pool, analytics, mail, settings, clock), settings, clock)


# --- rows ------------------------------------------------------------------------------


async def add_business(db: asyncpg.Connection, name: str = "Acme Bakery") -> int:
    business_id = new_business_id()
    await db.execute(
        "INSERT INTO businesses (id, name, timezone) VALUES ($1, $2, $3)",
        business_id, name, TIMEZONE,
    )  # fmt: skip
    return business_id


async def add_schedule(
    db: asyncpg.Connection,
    business_id: int,
    recipients: Sequence[str],
    *,
    kind: PeriodKind = "weekly",
    include_csv: bool = False,
    # A Wednesday: the first report owed is Monday 30 Nov's (no earlier one).
    created_at: datetime = datetime(2026, 11, 25, 15, 0, tzinfo=UTC),
) -> int:
    schedule_id: int = await db.fetchval(
        "INSERT INTO report_schedules (business_id, kind, recipients, include_csv, created_by,"
        " created_at) VALUES ($1, $2, $3, $4, 'tests', $5) RETURNING id",
        business_id, kind, list(recipients), include_csv, created_at,
    )  # fmt: skip
    return schedule_id


async def deliveries(db: asyncpg.Connection, schedule_id: int) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT delivery_key, period_start, period_end, status, reason, attempts,"
        " next_attempt_at, lease_owner, lease_until, message_id, created_at, finished_at,"
        " sent_to"
        " FROM report_deliveries WHERE schedule_id = $1 ORDER BY id",
        schedule_id,
    )
    return [dict(r) for r in rows]


# --- Mailpit ---------------------------------------------------------------------------


def inbox() -> httpx.Client:
    password = local_credentials()["PULSE_MAILPIT_UI_PASSWORD"]
    return httpx.Client(base_url=MAILPIT, auth=("pulse", password), timeout=10)


@dataclass(frozen=True)
class Received:
    summary: dict[str, Any]  # Mailpit's view of it (its parse of List-Unsubscribe among it)
    message: EmailMessage  # the bytes as the server received them, parsed


def mail_to(recipient: str) -> list[Received]:
    """Every message the server received for ``recipient``. Each is in the inbox before
    the server's answer to the message's data, so before the delivery was recorded."""
    with inbox() as api:
        found = api.get("/api/v1/search", params={"query": f'to:"{recipient}"'})
        assert found.status_code == 200, found.text
        received = []
        for item in found.json()["messages"]:
            summary = api.get(f"/api/v1/message/{item['ID']}").json()
            raw = api.get(f"/api/v1/message/{item['ID']}/raw").content
            parsed = message_from_bytes(raw, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            received.append(Received(summary, parsed))
        return received


def delete_session_mail() -> None:
    with inbox() as api:  # the inbox may be `make up`'s: leave only its own mail
        api.delete("/api/v1/search", params={"query": f"to:{MAIL_DOMAIN}"})
