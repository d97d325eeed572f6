"""Delivering one report, as a chain of small named steps over a delivery this replica
holds under its lease (worker.py claims it):

    load the schedule -> who gets it (recipients minus unsubscribed and bounced)
    -> the report (query-api) -> no data? skipped -> stale? wait for fresh data
    -> render (PDF once; the email per recipient) -> send, one message per recipient
       still owed one, each recorded as the mail server accepts it -> record the outcome

Each step answers either what the next needs or the delivery's :data:`Outcome`, which
ends the chain and is recorded once, at the end, only while the lease is still ours.

- **No data** (report_data.has_data): ``skipped``, "no data in the period"; no mail.
- **Stale data** (the report's freshness): the delivery waits, tried again every
  ``report_stale_recheck_s``, until ``report_stale_grace_s`` after it was created; then it
  goes, and the PDF and the email say on their first lines that numbers may be old.
  Waiting is not failing: it uses no attempt. A send-now does not wait (someone asked).
- **Failures** (query-api, the mail server, a fault of ours): tried again after
  schedules.backoff (exponential, capped), ``failed`` with the reason at
  ``report_max_attempts``.
- **One message per recipient**, not one with everyone in To: each carries its own
  unsubscribe link (and List-Unsubscribe header), no recipient sees the others' addresses,
  and a refused address fails alone. A recipient the server refuses for good (5xx) is
  recorded as a bounce, never sent to again, and the others still get theirs.

**Exactly once, nearly.** Two replicas never both send a delivery: the key is unique per
schedule and period, and a delivery is sent only by the replica holding its lease (claimed
with SKIP LOCKED; the lease is checked and extended before each message, and the outcome
is written only while it holds). Each recipient the mail server accepts is recorded on the
delivery (``sent_to``) before the next message goes, and every attempt sends only to those
still owed one: a failure partway through the list (the server gone after the second
message) retries the rest, never the first two. What remains is the window between the
mail server accepting one message and its record: a replica that dies there (or loses the
database) leaves that recipient owed; when its lease ends (``report_lease_s``) another
replica sends that one message again (once, unless it dies in the same window too), with
the same Message-ID, so a mail client or server that keeps Message-IDs shows it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TypeAlias
from urllib.parse import urlencode

import asyncpg
from prometheus_client import Counter

from pulse_reporter.mail import (
    attachment_stem,
    recipient_message_id,
    report_message,
    unsubscribe_token,
    unsubscribe_url,
)
from pulse_reporter.ports import Analytics, MailSender
from pulse_reporter.rendering import (
    DEFAULT_COLOUR,
    Branding,
    EmailLinks,
    EmbeddedImage,
    render_email,
    render_pdf,
)
from pulse_reporter.report_data import Report, has_data
from pulse_reporter.schedules import backoff, is_send_now
from pulse_reporter.settings import Settings
from pulse_reporter.store import Claimed, ScheduleToDeliver, connected
from pulse_shared.logs import get_logger
from pulse_shared.mail import MailFailed

log = get_logger(__name__)
Clock: TypeAlias = Callable[[], datetime]

NO_DATA = "no data in the period"
WAITING = "waiting for fresh data"
PAUSED = "the schedule is paused"
NO_RECIPIENTS = "no recipients: every address unsubscribed or bounced"

DELIVERIES = Counter("pulse_reporter_deliveries_total", "Report deliveries by outcome", ["outcome"])


# --- outcomes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    recipients: tuple[str, ...]
    bounced: tuple[str, ...] = ()

    @property
    def note(self) -> str | None:
        if not self.bounced:
            return None
        return f"sent to {len(self.recipients)}; refused (bounced): {', '.join(self.bounced)}"


@dataclass(frozen=True)
class Skipped:
    reason: str


@dataclass(frozen=True)
class RetryLater:
    reason: str
    at: datetime
    counts: int  # 1: a failed attempt; 0: waiting for fresh data


@dataclass(frozen=True)
class Failed:
    reason: str


@dataclass(frozen=True)
class LostLease:
    """Another replica holds the delivery now (this one took too long): nothing is sent
    or recorded by this one any more."""


Outcome: TypeAlias = Sent | Skipped | RetryLater | Failed | LostLease


@dataclass(frozen=True)
class Policy:
    stale_grace: timedelta
    stale_recheck: timedelta
    max_attempts: int
    backoff_base_s: float
    backoff_cap_s: float
    lease: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            stale_grace=timedelta(seconds=settings.report_stale_grace_s),
            stale_recheck=timedelta(seconds=settings.report_stale_recheck_s),
            max_attempts=settings.report_max_attempts,
            backoff_base_s=settings.report_backoff_base_s,
            backoff_cap_s=settings.report_backoff_cap_s,
            lease=timedelta(seconds=settings.report_lease_s),
        )


def after_failure(policy: Policy, attempts_before: int, now: datetime, reason: str) -> Outcome:
    """A failed attempt: tried again after the backoff, or failed for good at the last."""
    attempts = attempts_before + 1
    if attempts >= policy.max_attempts:
        return Failed(f"{reason} (after {attempts} attempts)")
    delay = backoff(attempts, policy.backoff_base_s, policy.backoff_cap_s)
    return RetryLater(reason, now + delay, counts=1)


def stale_wait(policy: Policy, created_at: datetime, now: datetime) -> RetryLater | None:
    """While the grace period lasts, look again later; after it, None: send as it is."""
    deadline = created_at + policy.stale_grace
    if now >= deadline:
        return None
    return RetryLater(WAITING, min(now + policy.stale_recheck, deadline), counts=0)


def _reason(source: str, exc: Exception) -> str:
    return f"{source}: {type(exc).__name__}: {str(exc)[:200]}"


@dataclass(frozen=True)
class Content:
    """What every recipient's message shares."""

    report: Report
    branding: Branding
    pdf: bytes
    csv: bytes | None


# --- the chain -----------------------------------------------------------------------


class Deliverer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        analytics: Analytics,
        mailer: MailSender,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.pool, self.analytics, self.mailer = pool, analytics, mailer
        self.settings, self.clock = settings, clock
        self.policy = Policy.of(settings)
        self.owner = settings.reporter_replica
        self.keys = settings.link_keys()

    async def deliver(self, d: Claimed) -> Outcome:
        """Runs the chain on a claimed delivery and records what came of it."""
        try:
            outcome = await self.attempt(d)
        except Exception as exc:  # a fault of ours (rendering, a bug): retried, then failed
            log.error("report delivery failed", delivery=d.delivery_key, exc_info=exc)
            outcome = self.failed_attempt(d, _reason("error", exc))
        await self.record(d, outcome)
        return outcome

    def failed_attempt(self, d: Claimed, reason: str) -> Outcome:
        return after_failure(self.policy, d.attempts, self.clock(), reason)

    async def attempt(self, d: Claimed) -> Outcome:
        schedule = await self.load(d)
        if schedule is None or (schedule.paused and not is_send_now(d.delivery_key)):
            return Skipped(PAUSED if schedule else "the schedule is gone")
        recipients = await self.recipients(d, schedule)
        if not recipients:
            return Skipped(NO_RECIPIENTS)
        report = await self.fetch_report(d, schedule)
        if not isinstance(report, Report):
            return report
        if not has_data(report):
            return Skipped(NO_DATA)
        wait = self.wait_for_fresh_data(d, report)
        if wait is not None:
            return wait
        content = await self.render(d, schedule, report)
        if not isinstance(content, Content):
            return content
        return await self.send(d, content, recipients)

    async def load(self, d: Claimed) -> ScheduleToDeliver | None:
        async with connected(self.pool) as store:
            return await store.schedule_to_deliver(d.schedule_id)

    async def recipients(self, d: Claimed, schedule: ScheduleToDeliver) -> list[str]:
        """The schedule's addresses (each once, in its order, as first spelled) but those
        unsubscribed or bounced."""
        by_address = {a.strip().lower(): a.strip() for a in reversed(schedule.recipients)}
        unique = [
            by_address[a] for a in dict.fromkeys(a.strip().lower() for a in schedule.recipients)
        ]
        async with connected(self.pool) as store:
            blocked = await store.not_to_send(d.schedule_id, d.business_id, unique)
        return [a for a in unique if a and a.lower() not in blocked]

    def wait_for_fresh_data(self, d: Claimed, report: Report) -> RetryLater | None:
        """A stale report waits (within the grace), unless someone asked for it now."""
        if not report.freshness.is_stale or is_send_now(d.delivery_key):
            return None
        return stale_wait(self.policy, d.created_at, self.clock())

    async def fetch_report(self, d: Claimed, schedule: ScheduleToDeliver) -> Report | Outcome:
        try:
            return await self.analytics.report(d.business_id, schedule.kind, d.period)
        except Exception as exc:  # query-api down, refusing, or answering nonsense
            return self.failed_attempt(d, _reason("query-api", exc))

    async def render(
        self, d: Claimed, schedule: ScheduleToDeliver, report: Report
    ) -> Content | Outcome:
        csv = None
        if schedule.include_csv:
            try:
                csv = await self.analytics.export_csv(d.business_id, d.period)
            except Exception as exc:
                return self.failed_attempt(d, _reason("query-api export", exc))
        branding = branding_of(schedule, report)
        # WeasyPrint takes a second or more of CPU: off the event loop, so the API answers.
        pdf = await asyncio.to_thread(render_pdf, report, branding)
        return Content(report, branding, pdf, csv)

    async def send(self, d: Claimed, content: Content, recipients: Sequence[str]) -> Outcome:
        """One message to each recipient an earlier attempt did not reach, each recorded
        as sent once the mail server accepted it."""
        sent = [a for a in recipients if a.lower() in d.sent_to]
        bounced: list[str] = []
        for address in recipients:
            if address.lower() in d.sent_to:
                continue
            if not await self.still_ours(d):
                return LostLease()
            try:
                await self.mailer.send(self.message(d, content, address))
            except MailFailed as exc:
                if not exc.permanent:
                    return self.failed_attempt(d, f"mail: {str(exc)[:250]}")
                await self.bounce(d, address, exc)
                bounced.append(address)
                continue
            if not await self.record_sent_to(d, address):
                return LostLease()
            sent.append(address)
        if not sent:
            return Failed(f"the mail server refused every recipient: {', '.join(bounced)}")
        return Sent(tuple(sent), tuple(bounced))

    async def record_sent_to(self, d: Claimed, address: str) -> bool:
        async with connected(self.pool) as store:
            return await store.record_sent_to(d.id, self.owner, address)

    async def still_ours(self, d: Claimed) -> bool:
        """Renews the lease before a message goes; False when another replica took it."""
        until = self.clock() + self.policy.lease
        async with connected(self.pool) as store:
            return await store.extend_lease(d.id, self.owner, until)

    def message(self, d: Claimed, content: Content, address: str) -> EmailMessage:
        s = self.settings
        token = unsubscribe_token(self.keys, d.schedule_id, address)
        links = EmailLinks(view_url(s.dashboard_url, d), unsubscribe_url(s.public_url, token))
        rendered = render_email(content.report, content.branding, links)
        return report_message(
            sender=s.mail_from,
            recipient=address,
            rendered=rendered,
            message_id=recipient_message_id(d.message_id, address),
            date=self.clock(),
            unsubscribe=links.unsubscribe_url,
            pdf=content.pdf,
            stem=attachment_stem(content.report),
            csv=content.csv,
        )

    async def bounce(self, d: Claimed, address: str, exc: MailFailed) -> None:
        code, reply = next(iter(exc.refused.values()))
        async with connected(self.pool) as store:
            await store.record_bounce(d.business_id, address, f"{code} {reply}", self.clock())

    async def record(self, d: Claimed, outcome: Outcome) -> None:
        now, owner = self.clock(), self.owner
        async with connected(self.pool) as store:
            match outcome:
                case Sent():
                    held = await store.mark_sent(d.id, owner, outcome.note, now)
                case Skipped(reason):
                    held = await store.mark_skipped(d.id, owner, reason, now)
                case Failed(reason):
                    held = await store.mark_failed(d.id, owner, reason, now)
                case RetryLater(reason, at, counts):
                    held = await store.retry_later(d.id, owner, reason, at, counts)
                case LostLease():
                    held = False
        name = type(outcome).__name__.lower()
        DELIVERIES.labels(name).inc()
        log.info(
            "report delivery",
            delivery=d.delivery_key,
            outcome=name,
            reason=getattr(outcome, "reason", None),
            recorded=held,
        )


def view_url(dashboard_url: str, d: Claimed) -> str:
    """The dashboard's Overview of the business over the report's period."""
    query = urlencode(
        {
            "business": d.business_id,
            "range": "custom",
            "from": d.period.start.isoformat(),
            "to": d.period.end.isoformat(),
            "compare": "previous",
        }
    )
    return f"{dashboard_url}/?{query}#/overview"


def branding_of(schedule: ScheduleToDeliver, report: Report) -> Branding:
    """The business's name (query-api's, else the table's), colour and logo; a stored logo
    or colour that is not usable any more is left out, not a reason to fail the report."""
    name = report.business_name or schedule.business_name or f"Business {schedule.business_id}"
    logo = None
    if schedule.logo is not None and schedule.logo_media_type is not None:
        try:
            logo = EmbeddedImage(schedule.logo, schedule.logo_media_type)
        except ValueError as exc:
            log.warning("logo left out", business=schedule.business_id, error=str(exc))
    try:
        return Branding(name, schedule.colour or DEFAULT_COLOUR, logo)
    except ValueError as exc:
        log.warning("branding left out", business=schedule.business_id, error=str(exc))
    try:
        return Branding(name)
    except ValueError:  # a name with control characters
        return Branding(f"Business {schedule.business_id}")
