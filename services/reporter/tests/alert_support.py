"""What the alert tests share: a fake Analytics serving the series the test built (the
detector and the deliveries are under test, not query-api), the alert job and a worker
on the session's servers with a recorded sleep, rows written as the alerts' API writes
them, and a real local HTTP server receiving webhooks and verifying their signatures."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import random
import statistics
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from pulse_reporter.alerting import Alerting
from pulse_reporter.anomalies import (
    BASELINE_WEEKS,
    DayValue,
    InputMetric,
    Reconnection,
    SeriesByPlatformMetric,
)
from pulse_reporter.deliveries import Deliverer
from pulse_reporter.settings import Settings
from pulse_reporter.worker import Worker
from pulse_shared.mail import Mailer
from pulse_testing.infra import Infra
from services.reporter.tests import noise
from services.reporter.tests.delivery_support import (
    TIMEZONE,
    Clock,
    FakeAnalytics,
    reporter_settings,
)

# The planted day: Tuesday 17 Nov 2026 in New York (the test businesses' zone), judged
# from Wednesday 07:00 there.
DAY = date(2026, 11, 17)
ZONE = ZoneInfo(TIMEZONE)
SERIES_START = DAY - timedelta(weeks=BASELINE_WEEKS + 13)  # room for 90 judged days
SERIES_DAYS = (DAY - SERIES_START).days + 30
# Four calm accounts (steady, small noise: noise.quiet_profile), engagements a day.
CALM = {"linkedin": 700, "twitter": 300, "facebook": 1_500, "instagram": 5_000}

Series = dict[tuple[str, InputMetric], list[DayValue]]


def judged_at(day: date, hour: int = 7, minute: int = 30) -> datetime:
    """The instant (UTC) ``day``'s alerts are due from: the next local day at ``hour``."""
    local = datetime.combine(day + timedelta(days=1), time(hour, minute), tzinfo=ZONE)
    return local.astimezone(UTC)


def calm_business(seed: int = 7) -> Series:
    profiles = [noise.quiet_profile(platform, size) for platform, size in CALM.items()]
    return noise.business_series(random.Random(seed), profiles, SERIES_START, SERIES_DAYS)


def same_weekdays_before(series: Sequence[DayValue], day: date) -> list[float]:
    """The baseline in plain Python: the usable same weekdays of the 8 weeks before."""
    wanted = {day - timedelta(weeks=w) for w in range(1, BASELINE_WEEKS + 1)}
    return [d.value for d in series if d.day in wanted and d.value is not None and not d.estimated]


def dropped_on(series: Series, day: date, factor: float) -> tuple[Series, int, float]:
    """``series`` with LinkedIn's engagement on ``day`` at ``factor`` of its usual (the
    median of the same weekdays before): the series, the value, the median."""
    usual = statistics.median(same_weekdays_before(series[("linkedin", "engagement")], day))
    value = round(usual * factor)
    return noise.planted(series, "linkedin", "engagement", day, value=value), value, usual


@dataclass
class AlertAnalytics(FakeAnalytics):
    """Serves each business's series (cut to the range asked, as query-api answers) and
    accounts needing reconnection; any other business of the session has neither."""

    series: dict[int, SeriesByPlatformMetric] = field(default_factory=dict)
    accounts: dict[int, list[Reconnection]] = field(default_factory=dict)
    series_asked: list[tuple[int, date, date]] = field(default_factory=list)

    async def alert_series(
        self, business_id: int, first_day: date, last_day: date
    ) -> SeriesByPlatformMetric:
        self.series_asked.append((business_id, first_day, last_day))
        if self.failing is not None and business_id in self.series:
            raise self.failing
        return {
            key: [v for v in values if first_day <= v.day <= last_day]
            for key, values in self.series.get(business_id, {}).items()
        }

    async def reconnections(self, business_id: int) -> list[Reconnection]:
        return list(self.accounts.get(business_id, ()))

    def days_asked(self, business_id: int) -> list[date]:
        return [last for b, _, last in self.series_asked if b == business_id]


@dataclass
class Sleeps:
    """Records the webhooks' backoff instead of waiting it."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def alert_settings(infra: Infra, **over: Any) -> Settings:
    """The reporter's settings, webhooks allowed to this machine (plain http, loopback),
    and every business of the session judged in one round."""
    values: dict[str, Any] = {
        "alert_webhook_allow_http": True,
        "alert_webhook_allowed_networks": ["127.0.0.0/8"],
        "alert_batch_size": 10_000,
    }
    return reporter_settings(infra, **{**values, **over})


def alerting(
    pool: asyncpg.Pool,
    analytics: AlertAnalytics,
    settings: Settings,
    clock: Clock,
    sleeps: Sleeps | None = None,
) -> Alerting:
    return Alerting(pool, analytics, Mailer(settings), settings, clock, sleeps or Sleeps())


def alert_worker(
    pool: asyncpg.Pool,
    analytics: AlertAnalytics,
    settings: Settings,
    clock: Clock,
    sleeps: Sleeps | None = None,
) -> Worker:
    """A replica's whole worker (reports and alerts), its webhooks' sleep recorded."""
    deliverer = Deliverer(pool, analytics, Mailer(settings), settings, clock)
    job = alerting(pool, analytics, settings, clock, sleeps)
    return Worker(pool, deliverer, settings, clock, alerting=job)


# --- rows ------------------------------------------------------------------------------


async def set_alert_settings(
    db: asyncpg.Connection,
    business_id: int,
    *,
    recipients: Sequence[str] = (),
    webhook_url: str | None = None,
    secret: str | None = None,
    sensitivity: str = "medium",
) -> None:
    await db.execute(
        "INSERT INTO alert_settings (business_id, sensitivity, email_recipients, webhook_url,"
        " webhook_secret) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (business_id) DO UPDATE SET"
        " sensitivity = $2, email_recipients = $3, webhook_url = $4, webhook_secret = $5",
        business_id, sensitivity, list(recipients), webhook_url, secret,
    )  # fmt: skip


async def alerts_of(db: asyncpg.Connection, business_id: int) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT id, alert_key, kind, platform, metric, day, title, sentence, link,"
        " numbers::text AS numbers, created_at FROM alerts WHERE business_id = $1 ORDER BY id",
        business_id,
    )
    return [dict(r) for r in rows]


async def deliveries_of(db: asyncpg.Connection, business_id: int) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT d.alert_id, d.channel, d.status, d.attempts, d.detail, d.next_attempt_at,"
        " d.finished_at FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id"
        " WHERE a.business_id = $1 ORDER BY d.alert_id, d.channel",
        business_id,
    )
    return [dict(r) for r in rows]


# --- a webhook receiver ----------------------------------------------------------------


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes, now: int) -> bool:
    """The receiver's side, from the Standard Webhooks specification (not the sender's
    code): the HMAC-SHA256 of "{id}.{timestamp}.{body}", a timestamp within 5 minutes."""
    key = base64.b64decode(secret.split("_", 1)[1])
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(timestamp)) > 300:
        return False
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    offered = [s.split(",", 1) for s in headers["webhook-signature"].split(" ")]
    return any(v == "v1" and hmac.compare_digest(sig, expected) for v, sig in offered)


@dataclass(frozen=True)
class Hook:
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int  # what the server answered


@dataclass
class Receiver:
    """What the server answers (``replies``, in order, then 200) and what it received."""

    secret: str
    clock: Clock
    replies: list[int]
    url: str = ""
    received: list[Hook] = field(default_factory=list)

    def delivered(self) -> list[Hook]:
        """The requests it took (a 2xx answer), each one's signature verified."""
        return [h for h in self.received if h.verified and 200 <= h.status < 300]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            now = int(receiver.clock().timestamp())
            verified = verify_standard_webhook(receiver.secret, headers, body, now)
            status = receiver.replies.pop(0) if receiver.replies else 200
            if not verified:
                status = 401
            receiver.received.append(Hook(headers, body, verified, status))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def hook_receiver(secret: str, clock: Clock, replies: Sequence[int] = ()) -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 (an ephemeral port) in a thread."""
    receiver = Receiver(secret, clock, list(replies))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/services/T1/B1"
    # A short poll so that shutdown() returns at once.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
