"""Sending an alert by mail and to its webhook, one delivery (an alert and a channel) at a
time, as named steps:

    claim (the attempt counted, the delivery held) -> load the alert and where it goes now
    -> email: one message per recipient (minus bounced addresses)
       webhook: webhooks.deliver, signed, the alert's stable webhook id
    -> record the outcome (only while the attempt is still the delivery's current one)

- **Claim**: one short statement (alert_store.CLAIM_NEXT_DUE) takes the due delivery
  with ``FOR UPDATE SKIP LOCKED``, counts the attempt and moves ``next_attempt_at`` to the
  end of the hold (``alert_delivery_hold_s``): no other replica takes it meanwhile, and
  no lock or transaction is held while sending. The hold is renewed before each message
  and before the webhook's request; each recording names its attempt, so a replica that
  lost the delivery (its hold ran out, another took it) records nothing.
- **Retries**: the mail server away or refusing for now (4xx), the webhook failing after
  its own quick retries (webhooks.deliver: 429, 5xx, timeouts): tried again after
  schedules.backoff (``alert_backoff_base_s`` doubled, at most ``alert_backoff_cap_s``),
  ``failed`` with the reason at ``alert_max_attempts``. Final at once: a webhook URL that
  is refused (a private address, plain http; ``PULSE_ALERT_WEBHOOK_*``), rejected (a 4xx
  but 429: a removed Slack channel) or without a secret, and every recipient bounced.
- **Skipped**: the settings changed since the alert was made: no recipient (or every
  one bounced before), no webhook any more.

**At least once.** A replica that dies between the mail server (or the webhook) taking
the alert and the outcome being written leaves the delivery pending; when its hold ends,
another replica sends it again, with the same ``Message-ID`` per recipient and the same
``webhook-id``, so a client or receiver that keeps them shows it once. The same happens if
one send outlasts the hold (it is renewed before each message, and is longer than the
webhook's worst case, settings.py). A failure in the middle of the recipients re-sends to
those before it on the retry, with the same Message-IDs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Literal, TypeAlias

import asyncpg
from prometheus_client import Counter

from pulse_reporter import webhooks
from pulse_reporter.alert_mail import alert_message, alert_message_id, settings_link
from pulse_reporter.alert_store import AlertToDeliver, ClaimedDelivery, alert_connected
from pulse_reporter.alert_text import AlertText
from pulse_reporter.ports import MailSender
from pulse_reporter.schedules import backoff
from pulse_reporter.settings import Settings
from pulse_reporter.store import connected
from pulse_shared.logs import get_logger
from pulse_shared.mail import MailFailed

log = get_logger(__name__)
Clock: TypeAlias = Callable[[], datetime]
Sleep: TypeAlias = Callable[[float], Awaitable[None]]

NO_RECIPIENTS = "no recipients: none set, or every address bounced"
NO_WEBHOOK = "no webhook set any more"
NO_SECRET = "the webhook has no signing secret"  # noqa: S105 - a reason, not a secret
GONE = "the alert is gone"

DELIVERIES = Counter(
    "pulse_reporter_alert_deliveries_total",
    "Alert deliveries by channel and outcome",
    ["channel", "outcome"],
)


# --- outcomes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    status: Literal["sent", "skipped", "failed"]
    detail: str | None = None


@dataclass(frozen=True)
class RetryLater:
    detail: str
    at: datetime


@dataclass(frozen=True)
class LostClaim:
    """Another replica holds the delivery now: nothing more is sent or recorded here."""


Outcome: TypeAlias = Finished | RetryLater | LostClaim


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    backoff_base_s: float
    backoff_cap_s: float
    hold: timedelta
    webhook: webhooks.WebhookPolicy

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            max_attempts=settings.alert_max_attempts,
            backoff_base_s=settings.alert_backoff_base_s,
            backoff_cap_s=settings.alert_backoff_cap_s,
            hold=timedelta(seconds=settings.alert_delivery_hold_s),
            webhook=settings.webhook_policy(),
        )


def after_failure(policy: Policy, attempt: int, now: datetime, reason: str) -> Outcome:
    """Attempt ``attempt`` (from 1) failed: tried again after the backoff, or failed for
    good at the last."""
    if attempt >= policy.max_attempts:
        return Finished("failed", f"{reason} (after {attempt} attempts)")
    return RetryLater(reason, now + backoff(attempt, policy.backoff_base_s, policy.backoff_cap_s))


def webhook_id(alert_id: int) -> str:
    """The same for every attempt at the alert, so a receiver drops a repeat."""
    return f"msg_alert_{alert_id}"


def webhook_outcome(
    policy: Policy, c: ClaimedDelivery, now: datetime, result: webhooks.DeliveryOutcome
) -> Outcome:
    """What webhooks.deliver's outcome means for the delivery."""
    match result.outcome:
        case "delivered":
            requests = f"{result.attempts} request{'s' if result.attempts != 1 else ''}"
            return Finished("sent", f"HTTP {result.status_code} after {requests}")
        case "refused":
            return Finished("failed", f"webhook refused: {result.reason}")
        case "rejected":
            return Finished("failed", f"webhook rejected: {result.reason}")
    return after_failure(policy, c.attempt, now, f"webhook: {result.reason}")


def unique_addresses(addresses: Sequence[str]) -> list[str]:
    """Each address once (case aside), in its order, as first spelled."""
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.strip().lower(), address.strip())
    return [a for key, a in seen.items() if key]


# --- the chain -------------------------------------------------------------------------


class AlertSender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        mailer: MailSender,
        settings: Settings,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.pool, self.mailer, self.settings, self.clock = pool, mailer, settings, clock
        self.sleep = sleep  # between the webhook's quick retries (tests record it)
        self.policy = Policy.of(settings)

    async def deliver_due(self, stopping: asyncio.Event | None = None) -> int:
        """Claims and sends due deliveries, one at a time, at most ``alert_batch_size``."""
        sent = 0
        while sent < self.settings.alert_batch_size:
            if stopping is not None and stopping.is_set():
                break
            now = self.clock()
            async with alert_connected(self.pool) as store:
                claimed = await store.claim_next_due(now, now + self.policy.hold)
            if claimed is None:
                break
            await self.deliver(claimed)
            sent += 1
        return sent

    async def deliver(self, c: ClaimedDelivery) -> Outcome:
        try:
            outcome = await self.attempt(c)
        except Exception as exc:  # a fault of ours: retried, then failed
            log.error("alert delivery failed", alert=c.alert_id, channel=c.channel, exc_info=exc)
            reason = f"error: {type(exc).__name__}: {str(exc)[:200]}"
            outcome = after_failure(self.policy, c.attempt, self.clock(), reason)
        await self.record(c, outcome)
        return outcome

    async def attempt(self, c: ClaimedDelivery) -> Outcome:
        async with alert_connected(self.pool) as store:
            alert = await store.alert_to_deliver(c.alert_id)
        if alert is None:
            return Finished("skipped", GONE)
        if c.channel == "email":
            return await self.mail(c, alert)
        return await self.post(c, alert)

    async def still_ours(self, c: ClaimedDelivery) -> bool:
        """Renews the hold; False when another replica has taken the delivery."""
        async with alert_connected(self.pool) as store:
            return await store.extend_hold(c, self.clock() + self.policy.hold)

    # --- email ---

    async def recipients(self, alert: AlertToDeliver) -> list[str]:
        addresses = unique_addresses(alert.email_recipients)
        async with alert_connected(self.pool) as store:
            bounced = await store.bounced(alert.business_id, addresses)
        return [a for a in addresses if a.lower() not in bounced]

    async def mail(self, c: ClaimedDelivery, alert: AlertToDeliver) -> Outcome:
        recipients = await self.recipients(alert)
        if not recipients:
            return Finished("skipped", NO_RECIPIENTS)
        sent: list[str] = []
        bounced: list[str] = []
        for address in recipients:
            if not await self.still_ours(c):
                return LostClaim()
            try:
                await self.mailer.send(self.message(alert, address))
            except MailFailed as exc:
                if not exc.permanent:
                    return after_failure(self.policy, c.attempt, self.clock(), f"mail: {exc}"[:300])
                await self.bounce(alert, address, exc)
                bounced.append(address)
                continue
            sent.append(address)
        if not sent:
            everyone = ", ".join(bounced)
            return Finished("failed", f"the mail server refused every recipient: {everyone}")
        refused = f"; refused (bounced): {', '.join(bounced)}" if bounced else ""
        return Finished("sent", f"sent to {len(sent)}{refused}")

    def message(self, alert: AlertToDeliver, address: str) -> EmailMessage:
        s = self.settings
        return alert_message(
            sender=s.mail_from,
            recipient=address,
            business_name=alert.business_name or f"Business {alert.business_id}",
            text=AlertText(alert.title, alert.sentence, alert.link),
            message_id=alert_message_id(alert.id, s.message_id_domain),
            date=self.clock(),
            settings_url=settings_link(s.dashboard_url, alert.business_id),
        )

    async def bounce(self, alert: AlertToDeliver, address: str, exc: MailFailed) -> None:
        code, reply = next(iter(exc.refused.values()))
        async with connected(self.pool) as store:
            await store.record_bounce(alert.business_id, address, f"{code} {reply}", self.clock())

    # --- webhook ---

    async def post(self, c: ClaimedDelivery, alert: AlertToDeliver) -> Outcome:
        if alert.webhook_url is None:
            return Finished("skipped", NO_WEBHOOK)
        if not alert.webhook_secret:
            return Finished("failed", NO_SECRET)
        if not await self.still_ours(c):
            return LostClaim()
        destination = webhooks.Destination(alert.webhook_url, alert.webhook_secret)
        message = webhooks.slack_message(AlertText(alert.title, alert.sentence, alert.link))
        try:
            result = await webhooks.deliver(
                destination,
                message,
                webhook_id(alert.id),
                self.policy.webhook,
                clock=lambda: self.clock().timestamp(),
                sleep=self.sleep,
            )
        except ValueError as exc:  # a malformed secret: no retry changes it
            return Finished("failed", f"webhook: {exc}")
        return webhook_outcome(self.policy, c, self.clock(), result)

    # --- the record ---

    async def record(self, c: ClaimedDelivery, outcome: Outcome) -> None:
        now = self.clock()
        async with alert_connected(self.pool) as store:
            match outcome:
                case Finished(status, detail):
                    held = await store.finish(c, status, detail, now)
                case RetryLater(detail, at):
                    held = await store.retry_later(c, detail, at)
                case LostClaim():
                    held = False
        name = outcome.status if isinstance(outcome, Finished) else type(outcome).__name__.lower()
        DELIVERIES.labels(c.channel, name).inc()
        log.info(
            "alert delivery",
            alert=c.alert_id,
            channel=c.channel,
            attempt=c.attempt,
            outcome=name,
            detail=getattr(outcome, "detail", None),
            recorded=held,
        )
