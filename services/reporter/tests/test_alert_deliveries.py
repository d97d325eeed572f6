"""Alerts delivered for real: PostgreSQL (the session's database), Mailpit's SMTP server
(the mail read back over its API) and a local HTTP server receiving the webhooks and
verifying their signatures. The alert comes from a drop planted in a series the fake
Analytics serves; the clock is the test's, and the webhooks' backoff is recorded, not
waited.

One planted drop: one alert, one mail, one signed webhook (also with two replicas at
once); a private webhook address refused; a 503 retried at once and, when it lasts,
with backoff until the last attempt; a replica dying after its claim leaves the delivery
to another after the hold; settings changed since the alert honoured; bounces recorded."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from pulse_reporter import webhooks
from pulse_reporter.alert_deliveries import (
    NO_RECIPIENTS,
    NO_WEBHOOK,
    Finished,
    Policy,
    RetryLater,
    after_failure,
    unique_addresses,
    webhook_outcome,
)
from pulse_reporter.alert_mail import alert_message, alert_message_id, subject
from pulse_reporter.alert_store import ClaimedDelivery, alert_connected
from pulse_reporter.alert_text import AlertText
from pulse_reporter.app import DATABASE_SETTINGS
from pulse_reporter.mail import recipient_message_id
from pulse_shared.db import asyncpg_dsn
from pulse_testing.infra import Infra
from services.reporter.tests.alert_support import (
    DAY,
    AlertAnalytics,
    Sleeps,
    alert_settings,
    alert_worker,
    alerts_of,
    calm_business,
    deliveries_of,
    dropped_on,
    hook_receiver,
    judged_at,
    set_alert_settings,
)
from services.reporter.tests.delivery_support import (
    DASHBOARD,
    SENDER,
    Clock,
    address,
    mail_to,
    unreachable,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["services.reporter.tests.fixtures"]

NAME = "Acme Bakery"  # the business fixture's


def planted(business: int) -> AlertAnalytics:
    """LinkedIn's engagement halved on Tuesday 17 Nov: one alert at medium."""
    series, _, _ = dropped_on(calm_business(), DAY, 0.5)
    return AlertAnalytics(series={business: series})


def text_of(alert: dict[str, Any]) -> AlertText:
    return AlertText(alert["title"], alert["sentence"], alert["link"])


def only(rows: list[dict[str, Any]], channel: str) -> dict[str, Any]:
    [row] = [r for r in rows if r["channel"] == channel]
    return row


# --- the decisions, pure ---------------------------------------------------------------

POLICY = Policy(
    max_attempts=3,
    backoff_base_s=60,
    backoff_cap_s=3600,
    hold=timedelta(minutes=10),
    webhook=webhooks.WebhookPolicy(),
)
NOW = datetime(2026, 11, 18, 12, 30, tzinfo=UTC)


def test_a_failed_attempt_is_tried_again_after_the_backoff_until_the_last() -> None:
    assert after_failure(POLICY, 1, NOW, "mail: down") == RetryLater(
        "mail: down", NOW + timedelta(seconds=60)
    )
    assert after_failure(POLICY, 2, NOW, "mail: down") == RetryLater(
        "mail: down", NOW + timedelta(seconds=120)
    )
    assert after_failure(POLICY, 3, NOW, "mail: down") == Finished(
        "failed", "mail: down (after 3 attempts)"
    )


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (webhooks.DeliveryOutcome("m", "delivered", 2, 200),
         Finished("sent", "HTTP 200 after 2 requests")),
        (webhooks.DeliveryOutcome("m", "refused", 0, reason="10.0.0.5 is a private address"),
         Finished("failed", "webhook refused: 10.0.0.5 is a private address")),
        (webhooks.DeliveryOutcome("m", "rejected", 1, 404, "HTTP 404: channel_not_found"),
         Finished("failed", "webhook rejected: HTTP 404: channel_not_found")),
        (webhooks.DeliveryOutcome("m", "failed", 4, 503, "gave up: HTTP 503"),
         RetryLater("webhook: gave up: HTTP 503", NOW + timedelta(seconds=60))),
    ],
)  # fmt: skip
def test_what_a_webhook_outcome_means_for_the_delivery(
    outcome: webhooks.DeliveryOutcome, expected: Finished | RetryLater
) -> None:
    assert webhook_outcome(POLICY, ClaimedDelivery(7, "webhook", 1), NOW, outcome) == expected


def test_the_mail_is_one_line_of_subject_and_a_stable_message_id_per_recipient() -> None:
    text = AlertText("X account \u201cAcme\nBcc: x@evil.example\u201d needs reconnecting", "s", "l")
    mid = alert_message_id(12, "pulse.test")
    message = alert_message(
        sender=SENDER, recipient="a@example.com", business_name="Acme\r\nBakery", text=text,
        message_id=mid, date=NOW, settings_url=f"{DASHBOARD}/?business=1#/alerts",
    )  # fmt: skip
    assert message["Subject"] == (
        "Acme Bakery: X account \u201cAcme Bcc: x@evil.example\u201d needs reconnecting"
    )
    assert message["Bcc"] is None
    assert message["Message-ID"] == recipient_message_id("<alert-12@pulse.test>", "a@example.com")
    assert message["Auto-Submitted"] == "auto-generated"
    assert subject("A", "t" * 500) == "A: " + "t" * 197
    assert unique_addresses([" A@x.com", "a@X.com", "b@x.com", " "]) == ["A@x.com", "b@x.com"]


# --- delivered for real ----------------------------------------------------------------


async def test_a_planted_drop_is_mailed_and_posted_signed_once(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    owner = address("owner")
    secret = webhooks.new_secret()
    clock = Clock(judged_at(DAY))
    with hook_receiver(secret, clock) as hooks:
        await set_alert_settings(
            db, business, recipients=[owner], webhook_url=hooks.url, secret=secret
        )
        worker = alert_worker(pool, planted(business), alert_settings(infra), clock)
        await worker.tick()
        clock.advance(hours=1)
        await worker.tick()  # later rounds send nothing again

    [alert] = await alerts_of(db, business)
    rows = await deliveries_of(db, business)
    assert [(r["channel"], r["status"], r["attempts"]) for r in rows] == [
        ("email", "sent", 1), ("webhook", "sent", 1),
    ]  # fmt: skip
    assert only(rows, "email")["detail"] == "sent to 1"
    assert only(rows, "webhook")["detail"] == "HTTP 200 after 1 request"
    assert only(rows, "email")["finished_at"] == judged_at(DAY)

    [mail] = mail_to(owner)
    message = mail.message
    assert (message["From"], message["To"]) == (SENDER, owner)
    assert message["Subject"] == f"{NAME}: {alert['title']}"
    mid = recipient_message_id(f"<alert-{alert['id']}@pulse.test>", owner)
    assert message["Message-ID"] == mid
    body = message.get_body(("plain",))
    assert body is not None
    assert alert["sentence"] in body.get_content()
    assert f"Open in Pulse: {alert['link']}" in body.get_content()
    assert f"{DASHBOARD}/?business={business}#/alerts" in body.get_content()

    [hook] = hooks.received
    assert hook.verified
    assert hook.headers["webhook-id"] == f"msg_alert_{alert['id']}"
    assert hook.headers["webhook-timestamp"] == str(int(judged_at(DAY).timestamp()))
    assert json.loads(hook.body) == webhooks.slack_message(text_of(alert))


async def test_two_workers_at_once_make_one_alert_one_mail_and_one_webhook(
    infra: Infra, db: asyncpg.Connection, business: int
) -> None:
    owner, secret = address("owner"), webhooks.new_secret()
    analytics, clock = planted(business), Clock(judged_at(DAY))
    dsn = asyncpg_dsn(infra.database_url)
    pools = [
        await asyncpg.create_pool(dsn, min_size=0, max_size=4, server_settings=DATABASE_SETTINGS)
        for _ in range(2)
    ]
    try:
        with hook_receiver(secret, clock) as hooks:
            await set_alert_settings(
                db, business, recipients=[owner], webhook_url=hooks.url, secret=secret
            )
            workers = [
                alert_worker(p, analytics, alert_settings(infra, reporter_replica=name), clock)
                for p, name in zip(pools, ("replica-a", "replica-b"), strict=True)
            ]
            await asyncio.gather(*(w.tick() for w in workers))
    finally:
        for p in pools:
            await p.close()

    assert analytics.days_asked(business) == [DAY, DAY]  # both judged the day
    assert len(await alerts_of(db, business)) == 1  # one wrote it
    rows = await deliveries_of(db, business)
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 1), ("sent", 1)]
    assert len(mail_to(owner)) == 1
    assert len(hooks.received) == 1


async def test_a_webhook_to_a_private_address_is_refused_and_nothing_is_sent(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    secret, clock = webhooks.new_secret(), Clock(judged_at(DAY))
    production = alert_settings(infra, alert_webhook_allowed_networks=[])  # no private network
    with hook_receiver(secret, clock) as hooks:
        await set_alert_settings(db, business, webhook_url=hooks.url, secret=secret)
        await alert_worker(pool, planted(business), production, clock).tick()

    [row] = await deliveries_of(db, business)
    assert (row["channel"], row["status"], row["attempts"]) == ("webhook", "failed", 1)
    assert row["detail"] == "webhook refused: the URL's host 127.0.0.1 is a loopback address"
    assert hooks.received == []


async def test_a_503_then_a_200_is_delivered_once_with_one_webhook_id(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    secret, clock, sleeps = webhooks.new_secret(), Clock(judged_at(DAY)), Sleeps()
    with hook_receiver(secret, clock, replies=[503]) as hooks:
        await set_alert_settings(db, business, webhook_url=hooks.url, secret=secret)
        await alert_worker(pool, planted(business), alert_settings(infra), clock, sleeps).tick()

    [row] = await deliveries_of(db, business)
    assert (row["status"], row["attempts"], row["detail"]) == (
        "sent", 1, "HTTP 200 after 2 requests",
    )  # fmt: skip
    assert [h.status for h in hooks.received] == [503, 200]
    assert len(hooks.delivered()) == 1
    assert len({h.headers["webhook-id"] for h in hooks.received}) == 1
    assert sleeps.waits == [1.0]  # webhooks.deliver's own quick retry


async def test_a_webhook_that_stays_down_is_retried_with_backoff_then_delivered(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    secret, clock = webhooks.new_secret(), Clock(judged_at(DAY))
    with hook_receiver(secret, clock, replies=[503] * 4) as hooks:  # one attempt's 4 requests
        await set_alert_settings(db, business, webhook_url=hooks.url, secret=secret)
        worker = alert_worker(pool, planted(business), alert_settings(infra), clock)
        await worker.tick()
        [row] = await deliveries_of(db, business)
        assert (row["status"], row["attempts"]) == ("pending", 1)
        assert row["detail"] == "webhook: gave up: HTTP 503"
        assert row["next_attempt_at"] == clock.now + timedelta(seconds=60)  # the backoff's base
        clock.advance(seconds=59)
        await worker.tick()
        assert len(hooks.received) == 4  # not due yet
        clock.advance(seconds=1)
        await worker.tick()

    [row] = await deliveries_of(db, business)
    assert (row["status"], row["attempts"], row["finished_at"]) == ("sent", 2, clock.now)
    assert [h.status for h in hooks.received] == [503, 503, 503, 503, 200]
    assert len({h.headers["webhook-id"] for h in hooks.received}) == 1


async def test_the_last_attempt_fails_the_delivery_with_its_reason(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    owner, clock = address(), Clock(judged_at(DAY))
    await set_alert_settings(db, business, recipients=[owner])
    settings = unreachable(alert_settings(infra, alert_max_attempts=2))
    worker = alert_worker(pool, planted(business), settings, clock)

    await worker.tick()
    [row] = await deliveries_of(db, business)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["detail"].startswith("mail: ConnectionRefusedError")
    clock.advance(seconds=60)
    await worker.tick()
    [row] = await deliveries_of(db, business)
    assert (row["status"], row["attempts"], row["finished_at"]) == ("failed", 2, clock.now)
    assert row["detail"].endswith("(after 2 attempts)")
    assert mail_to(owner) == []


async def test_a_replica_dying_after_its_claim_leaves_the_delivery_to_another_after_the_hold(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    owner, clock = address(), Clock(judged_at(DAY))
    await set_alert_settings(db, business, recipients=[owner])
    settings = alert_settings(infra, alert_delivery_hold_s=600)
    survivor = alert_worker(pool, planted(business), settings, clock)
    await survivor.alerting.job.judge_due()
    async with alert_connected(pool) as store:  # replica a claims it, then is gone
        held = await store.claim_next_due(clock.now, clock.now + timedelta(seconds=600))
    assert held is not None

    await survivor.tick()
    assert mail_to(owner) == []  # a's hold still runs
    clock.advance(seconds=600)
    await survivor.tick()

    [row] = await deliveries_of(db, business)
    assert (row["status"], row["attempts"]) == ("sent", 2)  # a's attempt counted
    [mail] = mail_to(owner)
    alert_id = held.alert_id
    assert mail.message["Message-ID"] == recipient_message_id(
        f"<alert-{alert_id}@pulse.test>", owner
    )
    async with alert_connected(pool) as store:  # a, back, can record nothing over it
        assert not await store.finish(held, "failed", "late", clock.now)


async def test_a_claim_takes_one_delivery_and_holds_it_until_the_hold_ends(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    clock = Clock(judged_at(DAY))
    hook = "https://hooks.example.com/x"
    await set_alert_settings(db, business, recipients=[address()], webhook_url=hook, secret="s")
    await alert_worker(
        pool, planted(business), alert_settings(infra), clock
    ).alerting.job.judge_due()
    now, hold = clock.now, timedelta(minutes=10)

    async with alert_connected(pool) as store:
        first = await store.claim_next_due(now, now + hold)
        assert [(r["channel"], r["attempts"]) for r in await deliveries_of(db, business)] == [
            ("email", 1), ("webhook", 0),
        ]  # fmt: skip
        second = await store.claim_next_due(now, now + hold)
        assert await store.claim_next_due(now, now + hold) is None  # both held
        assert await store.claim_next_due(now + hold - timedelta(seconds=1), now + 2 * hold) is None
        again = await store.claim_next_due(now + hold, now + 2 * hold)
    assert first is not None
    assert second is not None
    assert (first.channel, first.attempt, second.channel, second.attempt) == (
        "email", 1, "webhook", 1,
    )  # fmt: skip
    assert again == ClaimedDelivery(first.alert_id, "email", 2)  # the hold over: due again


async def test_settings_changed_since_the_alert_are_honoured(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    secret, clock = webhooks.new_secret(), Clock(judged_at(DAY))
    hook = "https://hooks.example.com/x"
    await set_alert_settings(db, business, recipients=[address()], webhook_url=hook, secret=secret)
    worker = alert_worker(pool, planted(business), alert_settings(infra), clock)
    await worker.alerting.job.judge_due()
    await set_alert_settings(db, business)  # mail and webhook removed before the send

    await worker.tick()
    rows = await deliveries_of(db, business)
    assert [(r["channel"], r["status"], r["detail"], r["attempts"]) for r in rows] == [
        ("email", "skipped", NO_RECIPIENTS, 1), ("webhook", "skipped", NO_WEBHOOK, 1),
    ], rows  # fmt: skip


async def test_a_refused_address_is_recorded_as_a_bounce_and_the_others_get_theirs(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    good, bad = address("good"), "no-such-mailbox"  # Mailpit: 553, not an RFC 5321 address
    await set_alert_settings(db, business, recipients=[bad, good])
    await alert_worker(pool, planted(business), alert_settings(infra), Clock(judged_at(DAY))).tick()

    [row] = await deliveries_of(db, business)
    assert (row["status"], row["detail"]) == ("sent", f"sent to 1; refused (bounced): {bad}")
    bounces = await db.fetch("SELECT email FROM report_bounces WHERE business_id = $1", business)
    assert [b["email"] for b in bounces] == [bad]
    assert len(mail_to(good)) == 1
