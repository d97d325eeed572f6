"""Scheduled reports delivered for real: PostgreSQL (the session's migrated database) and
Mailpit's SMTP server, the mail read back over its API. Analytics is a fake serving the
saved query-api answers (the thing under test is delivery); the clock is the test's.

Once per schedule and period (also with two replicas at once), skipped without data,
waiting for fresh data then sent with the notice, retried with backoff while the mail
server is away, failed at the last attempt, a lease taken over after a crash, unsubscribe
and bounces honoured."""

from __future__ import annotations

import asyncio
import html
import secrets
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from pulse_reporter.app import DATABASE_SETTINGS
from pulse_reporter.deliveries import (
    NO_DATA,
    WAITING,
    Failed,
    Policy,
    RetryLater,
    after_failure,
    stale_wait,
)
from pulse_reporter.mail import recipient_message_id, unsubscribe_token, verify_unsubscribe_token
from pulse_reporter.settings import Settings, decode_link_key
from pulse_reporter.store import connected
from pulse_reporter.worker import request_send_now
from pulse_shared.db import asyncpg_dsn
from pulse_shared.mail import Mailer
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, free_port, start_service
from pulse_testing.waiting import eventually
from services.reporter.tests.delivery_support import (
    DASHBOARD,
    LINK_KEYS,
    MONDAY_EIGHT,
    SENDER,
    WEEK,
    Clock,
    FakeAnalytics,
    add_schedule,
    address,
    deliveries,
    empty_report,
    fresh_report,
    mail_to,
    reporter_settings,
    stale_report,
    unreachable,
    worker,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["services.reporter.tests.fixtures"]

NAME = "Acme Bakery"


def fresh(business: int) -> FakeAnalytics:
    return FakeAnalytics({business: fresh_report(business_id=business, name=NAME)})


# --- the decisions, pure ---------------------------------------------------------------

POLICY = Policy(
    stale_grace=timedelta(hours=6),
    stale_recheck=timedelta(minutes=30),
    max_attempts=3,
    backoff_base_s=60,
    backoff_cap_s=3600,
    lease=timedelta(minutes=5),
)


def test_a_failed_attempt_is_tried_again_after_the_backoff_until_the_last() -> None:
    now = MONDAY_EIGHT
    assert after_failure(POLICY, 0, now, "mail: down") == RetryLater(
        "mail: down", now + timedelta(seconds=60), counts=1
    )
    assert after_failure(POLICY, 1, now, "mail: down") == RetryLater(
        "mail: down", now + timedelta(seconds=120), counts=1
    )
    assert after_failure(POLICY, 2, now, "mail: down") == Failed("mail: down (after 3 attempts)")


def test_stale_data_is_waited_for_until_the_grace_ends_and_waiting_is_no_attempt() -> None:
    made = MONDAY_EIGHT
    assert stale_wait(POLICY, made, made) == RetryLater(
        WAITING, made + timedelta(minutes=30), counts=0
    )
    # The last look is at the end of the grace, not past it.
    late = made + timedelta(hours=5, minutes=50)
    assert stale_wait(POLICY, made, late) == RetryLater(
        WAITING, made + timedelta(hours=6), counts=0
    )
    assert stale_wait(POLICY, made, made + timedelta(hours=6)) is None


# --- delivered for real ----------------------------------------------------------------


async def test_a_weekly_schedule_sends_its_report_once_from_monday_at_eight(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    someone = address("owner")
    schedule = await add_schedule(db, business, [someone])
    analytics = fresh(business)
    settings = reporter_settings(infra)
    clock = Clock(MONDAY_EIGHT - timedelta(minutes=1))
    replica = worker(pool, analytics, settings, clock)

    assert await replica.tick() == 0  # 07:59 in New York: nothing owed yet
    assert await deliveries(db, schedule) == []
    clock.advance(minutes=6)
    assert await replica.tick() == 1

    [row] = await deliveries(db, schedule)
    assert {k: row[k] for k in ("delivery_key", "status", "reason", "attempts", "lease_owner")} == {
        "delivery_key": f"{schedule}:2026-11-23",
        "status": "sent",
        "reason": None,
        "attempts": 1,
        "lease_owner": None,
    }
    assert (row["period_start"], row["period_end"]) == (WEEK.start, WEEK.end)
    assert row["message_id"] == f"<report-{schedule}-2026-11-23@pulse.test>"
    assert row["finished_at"] == clock.now
    assert analytics.asked == [(business, "weekly", WEEK)]

    [mail] = mail_to(someone)
    message = mail.message
    assert (message["From"], message["To"]) == (SENDER, someone)
    assert message["Subject"] == f"{NAME}: weekly report, 23\u201329 Nov 2026"
    assert message["Message-ID"] == recipient_message_id(row["message_id"], someone)
    assert message["Date"].datetime == clock.now
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].removeprefix("<").removesuffix(">")
    assert link.startswith(f"{DASHBOARD}/reporter/v1/unsubscribe?token=")
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert verify_unsubscribe_token(settings.link_keys(), token) == (schedule, someone)
    assert mail.summary["ListUnsubscribe"]["Links"] == [link]  # as a mail client reads it
    assert mail.summary["ListUnsubscribe"]["Errors"] == ""

    text, page = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None
    assert page is not None
    view = f"{DASHBOARD}/?business={business}&range=custom&from=2026-11-23&to=2026-11-29"
    assert f"View in Pulse: {view}&compare=previous#/overview" in text.get_content()
    assert f"Unsubscribe: {link}" in text.get_content()
    assert html.escape(view) in page.get_content()
    assert html.escape(link) in page.get_content()
    [pdf] = message.iter_attachments()
    assert pdf.get_filename() == "acme-bakery-week-2026-11-23.pdf"
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")

    # Later rounds (this replica's or another's) owe nothing more for the week.
    clock.advance(hours=1)
    assert await replica.tick() == 0
    assert len(mail_to(someone)) == 1


async def test_two_replicas_at_once_send_each_report_once(
    infra: Infra, db: asyncpg.Connection, business: int
) -> None:
    people = [address(f"reader{i}") for i in range(4)]
    schedules = [await add_schedule(db, business, [person]) for person in people]
    analytics, clock = fresh(business), Clock()
    dsn = asyncpg_dsn(infra.database_url)
    pools = [
        await asyncpg.create_pool(dsn, min_size=0, max_size=4, server_settings=DATABASE_SETTINGS)
        for _ in range(2)
    ]
    try:
        replicas = [
            worker(pools[i], analytics, reporter_settings(infra, reporter_replica=name), clock)
            for i, name in enumerate(("replica-a", "replica-b"))
        ]
        done = await asyncio.gather(*(r.tick() for r in replicas))
    finally:
        for p in pools:
            await p.close()

    assert sum(done) == 4  # four deliveries in all, shared between the two
    for schedule, person in zip(schedules, people, strict=True):
        [row] = await deliveries(db, schedule)
        assert (row["status"], row["attempts"]) == ("sent", 1)
        assert len(mail_to(person)) == 1


async def test_a_period_without_data_is_skipped_with_its_reason_and_no_mail(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    someone = address()
    schedule = await add_schedule(db, business, [someone])
    analytics = FakeAnalytics({business: empty_report(business_id=business, name=NAME)})
    assert await worker(pool, analytics, reporter_settings(infra), Clock()).tick() == 1
    [row] = await deliveries(db, schedule)
    assert (row["status"], row["reason"], row["attempts"]) == ("skipped", NO_DATA, 0)
    assert mail_to(someone) == []


async def test_stale_data_waits_its_grace_then_goes_with_the_notice(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    someone = address()
    schedule = await add_schedule(db, business, [someone])
    analytics = FakeAnalytics({business: stale_report(business_id=business, name=NAME)})
    clock = Clock()
    replica = worker(pool, analytics, reporter_settings(infra), clock)

    assert await replica.tick() == 1
    [row] = await deliveries(db, schedule)
    assert (row["status"], row["reason"], row["attempts"]) == ("pending", WAITING, 0)
    assert row["next_attempt_at"] == clock.now + timedelta(minutes=30)
    assert row["lease_owner"] is None
    clock.advance(minutes=30)
    assert await replica.tick() == 1  # still stale, still within the grace: waits again
    assert mail_to(someone) == []

    clock.now = row["created_at"] + timedelta(hours=6)
    assert await replica.tick() == 1
    [row] = await deliveries(db, schedule)
    assert (row["status"], row["attempts"]) == ("sent", 1)
    [mail] = mail_to(someone)
    text = mail.message.get_body(("plain",))
    assert text is not None
    assert "SOME NUMBERS MAY BE OUT OF DATE" in text.get_content()


async def test_a_send_now_of_stale_data_goes_at_once_with_the_notice(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    someone = address()
    schedule = await add_schedule(db, business, [someone])
    analytics = FakeAnalytics({business: stale_report(business_id=business, name=NAME)})
    clock, settings = Clock(MONDAY_EIGHT - timedelta(hours=2)), reporter_settings(infra)
    await request_send_now(
        pool, settings, business_id=business, schedule_id=schedule, period=WEEK, now=clock.now
    )
    assert await worker(pool, analytics, settings, clock).tick() == 1
    [row] = await deliveries(db, schedule)
    assert (row["status"], row["reason"]) == ("sent", None)
    [mail] = mail_to(someone)
    text = mail.message.get_body(("plain",))
    assert text is not None
    assert "SOME NUMBERS MAY BE OUT OF DATE" in text.get_content()


async def test_an_unreachable_mail_server_is_retried_with_backoff_then_the_report_goes(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    someone = address()
    schedule = await add_schedule(db, business, [someone])
    analytics, clock = fresh(business), Clock()
    settings = reporter_settings(infra)
    down = worker(pool, analytics, unreachable(settings), clock)

    assert await down.tick() == 1
    [row] = await deliveries(db, schedule)
    assert (row["status"], row["attempts"], row["lease_owner"]) == ("pending", 1, None)
    assert row["next_attempt_at"] == clock.now + timedelta(seconds=60)  # the backoff's base
    assert row["reason"].startswith("mail: ConnectionRefusedError")
    clock.advance(seconds=59)
    assert await down.tick() == 0  # not due yet

    clock.advance(seconds=1)
    up = worker(pool, analytics, reporter_settings(infra, reporter_replica="replica-b"), clock)
    assert await up.tick() == 1
    [row] = await deliveries(db, schedule)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    [mail] = mail_to(someone)
    assert mail.message["Message-ID"] == recipient_message_id(row["message_id"], someone)


class ServerGoneAfter:
    """The mail server answering the first ``after`` messages, then gone (its port closed):
    both real SMTP connections, Mailpit's and a refused one."""

    def __init__(self, settings: Settings, after: int) -> None:
        self.up, self.down, self.left = Mailer(settings), Mailer(unreachable(settings)), after

    async def send(self, message: EmailMessage) -> None:
        self.left -= 1
        await (self.up if self.left >= 0 else self.down).send(message)


async def test_a_retry_after_the_server_went_away_midway_sends_only_to_those_not_reached(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    first, second, third = address("first"), address("second"), address("third")
    schedule = await add_schedule(db, business, [first, second, third])
    analytics, clock = fresh(business), Clock()
    settings = reporter_settings(infra)
    midway = worker(pool, analytics, settings, clock, ServerGoneAfter(settings, after=1))

    assert await midway.tick() == 1
    [row] = await deliveries(db, schedule)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["sent_to"] == [first.lower()]
    clock.advance(seconds=60)
    assert await worker(pool, analytics, settings, clock).tick() == 1
    [row] = await deliveries(db, schedule)
    assert (row["status"], row["attempts"], row["reason"]) == ("sent", 2, None)
    assert sorted(row["sent_to"]) == sorted(a.lower() for a in (first, second, third))
    assert [len(mail_to(a)) for a in (first, second, third)] == [1, 1, 1]


async def test_the_last_attempt_fails_the_delivery_with_its_reason(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    someone = address()
    schedule = await add_schedule(db, business, [someone])
    clock = Clock()
    settings = unreachable(reporter_settings(infra, report_max_attempts=3))
    down = worker(pool, fresh(business), settings, clock)

    for wait_s in (60, 120):  # the backoff after the 1st and the 2nd attempt
        assert await down.tick() == 1
        [row] = await deliveries(db, schedule)
        assert row["status"] == "pending"
        assert row["next_attempt_at"] == clock.now + timedelta(seconds=wait_s)
        clock.advance(seconds=wait_s)
    assert await down.tick() == 1
    [row] = await deliveries(db, schedule)
    assert (row["status"], row["attempts"], row["finished_at"]) == ("failed", 3, clock.now)
    assert row["reason"].startswith("mail: ConnectionRefusedError")
    assert row["reason"].endswith("(after 3 attempts)")
    clock.advance(hours=2)
    assert await down.tick() == 0
    assert mail_to(someone) == []


async def test_query_api_failing_is_retried_like_the_mail_server(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    someone = address()
    schedule = await add_schedule(db, business, [someone])
    analytics, clock = fresh(business), Clock()
    analytics.failing = ConnectionError("query-api is away")
    replica = worker(pool, analytics, reporter_settings(infra), clock)
    assert await replica.tick() == 1
    [row] = await deliveries(db, schedule)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["reason"] == "query-api: ConnectionError: query-api is away"
    analytics.failing = None
    clock.advance(seconds=60)
    assert await replica.tick() == 1
    assert [r["status"] for r in await deliveries(db, schedule)] == ["sent"]
    assert len(mail_to(someone)) == 1


async def test_a_replica_that_dies_holding_a_delivery_leaves_it_to_another_after_the_lease(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    someone = address()
    schedule = await add_schedule(db, business, [someone])
    clock = Clock()
    survivor = worker(pool, fresh(business), reporter_settings(infra, reporter_replica="b"), clock)
    await survivor.make_owed_deliveries()
    async with connected(pool) as store:  # replica a claims it, then is gone
        held = await store.claim_next_due(clock.now, "a", clock.now + timedelta(seconds=300))
    assert held is not None

    assert await survivor.tick() == 0  # a's lease still runs
    clock.advance(seconds=301)
    assert await survivor.tick() == 1
    [row] = await deliveries(db, schedule)
    assert row["status"] == "sent"
    [mail] = mail_to(someone)
    assert mail.message["Message-ID"] == recipient_message_id(held.message_id, someone)
    async with connected(pool) as store:  # a, back, can record nothing over b's outcome
        assert not await store.mark_failed(held.id, "a", "late", clock.now)


async def test_a_refused_address_is_recorded_as_a_bounce_and_not_mailed_again(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    good, bad = address("good"), "no-such-mailbox"  # Mailpit: 553, not an RFC 5321 address
    schedule = await add_schedule(db, business, [bad, good])
    clock = Clock()
    settings = reporter_settings(infra)
    replica = worker(pool, fresh(business), settings, clock)
    assert await replica.tick() == 1

    [row] = await deliveries(db, schedule)
    assert (row["status"], row["reason"]) == ("sent", f"sent to 1; refused (bounced): {bad}")
    bounced = "SELECT email, detail FROM report_bounces WHERE business_id = $1"
    bounces = await db.fetch(bounced, business)
    assert [b["email"] for b in bounces] == [bad]
    assert bounces[0]["detail"].startswith("553 ")
    assert len(mail_to(good)) == 1

    # A "send now" of the same week: its own delivery and Message-ID; the bounce is left out.
    key = await request_send_now(
        pool, settings, business_id=business, schedule_id=schedule, period=WEEK, now=clock.now
    )
    assert await replica.tick() == 1
    [_, again] = await deliveries(db, schedule)
    assert (again["delivery_key"], again["status"], again["reason"]) == (key, "sent", None)
    assert "-now-" in again["message_id"]
    ids = {m.message["Message-ID"] for m in mail_to(good)}
    assert len(ids) == 2


async def test_the_unsubscribe_link_records_the_address_which_then_gets_nothing(
    infra: Infra,
    pool: asyncpg.Pool,
    db: asyncpg.Connection,
    business: int,
    reporter: ServiceProcess,
) -> None:
    stays, leaves = address("stays"), address("Leaves")
    # stays is listed twice, spelled two ways: one mail.
    schedule = await add_schedule(db, business, [stays, leaves, stays.upper()])
    settings = reporter_settings(infra)
    token = unsubscribe_token(settings.link_keys(), schedule, leaves)
    forged = unsubscribe_token([bytes(32), *settings.link_keys()[1:]], schedule, leaves)
    async with httpx.AsyncClient(base_url=reporter.url, timeout=30) as client:
        page = await client.get("/v1/unsubscribe", params={"token": token})
        assert page.status_code == 200, page.text
        assert leaves.lower() in page.text
        assert '<form method="post"' in page.text
        assert page.headers["cache-control"] == "no-store"
        unsubscribes = "SELECT email FROM report_unsubscribes WHERE schedule_id = $1"
        assert await db.fetch(unsubscribes, schedule) == []  # opening the link changes nothing

        one_click = {"Content-Type": "application/x-www-form-urlencoded"}
        for _ in range(2):  # twice: the same row
            done = await client.post(
                "/v1/unsubscribe", params={"token": token},
                content=b"List-Unsubscribe=One-Click", headers=one_click,
            )  # fmt: skip
            assert done.status_code == 200, done.text
        for bad in (forged, "1.2.3", ""):
            refused = await client.post("/v1/unsubscribe", params={"token": bad})
            assert refused.status_code == 422, refused.text
            assert refused.json()["detail"][0]["loc"] == ["query", "token"]
        assert (await client.get("/v1/unsubscribe", params={"token": forged})).status_code == 422
        assert (await client.post("/v1/unsubscribe")).status_code == 422

    assert [r["email"] for r in await db.fetch(unsubscribes, schedule)] == [leaves.lower()]
    assert await worker(pool, fresh(business), settings, Clock()).tick() == 1
    assert len(mail_to(stays)) == 1
    assert mail_to(leaves) == []


async def test_a_link_signed_with_the_key_before_still_unsubscribes(
    reporter: ServiceProcess,
) -> None:
    """The reporter runs with two keys: the first signs, the second (the one before a
    rotation) still verifies; a key it does not list does not."""
    previous = decode_link_key(LINK_KEYS.split(",")[1])
    mailed = unsubscribe_token([previous], 2**40, "gone@example.com")
    stranger = unsubscribe_token([secrets.token_bytes(32)], 2**40, "gone@example.com")
    async with httpx.AsyncClient(base_url=reporter.url, timeout=30) as client:
        # A schedule that is gone: nothing to record, and nothing wrong with the link.
        assert (await client.post("/v1/unsubscribe", params={"token": mailed})).status_code == 200
        assert (await client.post("/v1/unsubscribe", params={"token": stranger})).status_code == 422


async def test_the_worker_loop_delivers_and_stops_when_told(
    infra: Infra, pool: asyncpg.Pool, db: asyncpg.Connection, business: int
) -> None:
    someone = address()
    schedule = await add_schedule(db, business, [someone])
    replica = worker(pool, fresh(business), reporter_settings(infra), Clock())
    task = asyncio.create_task(replica.run())

    async def sent() -> bool:
        return [r["status"] for r in await deliveries(db, schedule)] == ["sent"]

    await eventually(sent, timeout=60)
    replica.stop()
    await asyncio.wait_for(task, 30)  # a deadline against a hang, not a wait
    assert len(mail_to(someone)) == 1


def test_the_service_runs_its_worker_and_stops_cleanly(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The wiring as deployed: the worker started in the lifespan with the real analytics
    (pointed at the discard port: nothing here is owed at the real clock's time, and what
    another test left would only be retried), stopped on SIGTERM."""
    env = infra.env(
        PULSE_REPORTER_SERVICE_TOKEN="a-service-token",
        PULSE_REPORTER_LINK_KEYS=LINK_KEYS,
        PULSE_REPORT_POLL_EVERY_S="0.2",
        PULSE_QUERY_API_URL="http://127.0.0.1:9",
        PULSE_WORKSPACE_URL="http://127.0.0.1:9",
        PULSE_SMTP_PORT=str(free_port()),
        PULSE_SMTP_TLS="none",
    )
    logs = str(tmp_path_factory.mktemp("logs"))
    service = start_service("reporter", "pulse_reporter.app:app", env, logs, ready_path="/readyz")
    try:
        metrics = httpx.get(f"{service.url}/metrics", timeout=10)
        assert "pulse_reporter_deliveries_total" in metrics.text
        assert httpx.get(f"{service.url}/readyz", timeout=10).json()["checks"] == {"database": "ok"}
    finally:
        service.stop()  # SIGTERM (uvicorn then ends by it: -15)
    assert "Application shutdown complete" in service.log()
    assert "Traceback" not in service.log()
