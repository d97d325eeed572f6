"""The daily alert job, a step of the worker's round (worker.py): each business's last
completed local day judged once it is over, its alerts written once, their deliveries
queued (alert_deliveries.py sends them).

    list the businesses -> the ones due (past the hour, day not judged here yet)
    -> per business, a batch at most: its series and reconnections (query-api)
    -> the detector (anomalies.daily_alerts) -> nothing? done, no write
    -> lock the business, read its recent alerts (the cooldown), insert what is new
       with its deliveries, in one transaction

- **Which businesses**: every business. One that nobody configured is alerted at the
  default sensitivity (medium) in the app only (no mail, no webhook): alerts are meant to
  arrive by themselves. A business without data costs two query-api reads a day and no
  write (nothing is found).
- **When**: from ``alert_hour_local`` (07:00) in the business's time zone, for the day
  before (the last completed local day, whose numbers have come in overnight). A replica
  down at that hour judges the day when it is back; only the latest day is judged (no
  backlog after an outage: an alert days late is not news).
- **Anomalies**: the day and the 8 weeks before it (the baseline), at the business's
  sensitivity; the cooldown reads the business's alerts of the days before from the
  table. Key: ``<business>:anomaly:<platform>:<metric>:<day>``.
- **Reconnection**: one alert per account and episode, not one per day: the key names the
  account and the instant Pulse last read it (``since``), which stays the same for as
  long as the account cannot be read. Once reconnected and read again, a new failure has
  a new ``since``, so a new alert. Its ``day`` is the local day of ``since``. Key:
  ``<business>:reconnection:<platform>:<account>:<since, UTC>``. An account unread for
  less than ``alert_reconnection_grace_s`` is not news yet (a platform's restart, a person
  reconnecting it right now): the business is judged again once the grace has passed,
  and alerted only if the account still needs it.
- **Once**: ``alert_key`` is unique and the judging transaction holds the business's
  advisory lock, so two replicas judging one business at once make each alert once (the
  second waits for the first, then finds its alerts in the cooldown and the keys taken).
  What is not shared: which days a replica has judged (``judged``, in memory; the
  database has no table of runs), so each replica reads query-api once per business and
  day (and again after a restart) and writes nothing new. A table of runs would make
  that once in all.
- **Bounded**: at most ``alert_batch_size`` businesses a round; a business whose
  analytics fail is tried again after ``alert_judge_retry_s``, not every round, and
  query-api unavailable (after its client's retries) ends the round's judging, so an
  outage costs each round one business's retries, not a batch's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
from prometheus_client import Counter

from pulse_reporter.alert_deliveries import AlertSender, Sleep
from pulse_reporter.alert_store import (
    BusinessToJudge,
    NewAlert,
    alert_connected,
    alert_transaction,
    anomaly_numbers,
)
from pulse_reporter.alert_text import anomaly_text, reconnection_text
from pulse_reporter.analytics import AnalyticsError, AnalyticsUnavailable
from pulse_reporter.anomalies import (
    BASELINE_WEEKS,
    PRESETS,
    Anomaly,
    Reconnection,
    daily_alerts,
    in_cooldown,
)
from pulse_reporter.ports import Analytics, MailSender
from pulse_reporter.settings import Settings
from pulse_shared.logs import get_logger

log = get_logger(__name__)
Clock: TypeAlias = Callable[[], datetime]

ALERTS = Counter("pulse_reporter_alerts_total", "Alerts made, by kind", ["kind"])
JUDGED = Counter("pulse_reporter_alert_days_total", "Business-days judged, by outcome", ["outcome"])


# --- pure: when, and the alerts' keys and rows ----------------------------------------


def due_day(timezone: str, now: datetime, hour: int) -> date:
    """The latest local day whose alerts are due at ``now``: yesterday from ``hour``
    o'clock (wall clock, so the hour moves with daylight saving time), the day before
    yesterday until then."""
    local = now.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    return (local - timedelta(hours=hour)).date() - timedelta(days=1)


def anomaly_key(a: Anomaly) -> str:
    return f"{a.business_id}:anomaly:{a.platform}:{a.metric}:{a.day.isoformat()}"


def reconnection_key(r: Reconnection) -> str:
    since = r.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{r.business_id}:reconnection:{r.platform}:{r.account_name}:{since}"


def anomaly_alert(a: Anomaly, dashboard_url: str) -> NewAlert:
    text = anomaly_text(a, dashboard_url)
    return NewAlert(
        key=anomaly_key(a),
        kind="anomaly",
        platform=a.platform,
        metric=a.metric,
        day=a.day,
        title=text.title,
        sentence=text.sentence,
        link=text.link,
        numbers=anomaly_numbers(a),
    )


def reconnection_alert(r: Reconnection, timezone: ZoneInfo, dashboard_url: str) -> NewAlert:
    text = reconnection_text(r, dashboard_url, timezone)
    since = r.since.astimezone(UTC)
    return NewAlert(
        key=reconnection_key(r),
        kind="reconnection",
        platform=r.platform,
        metric=None,
        day=since.astimezone(timezone).date(),
        title=text.title,
        sentence=text.sentence,
        link=text.link,
        numbers={"account": r.account_name, "since": since.isoformat()},
    )


@dataclass(frozen=True)
class Found:
    """What the detector and query-api found for one business-day, before the cooldown."""

    anomalies: Sequence[Anomaly]
    reconnections: Sequence[Reconnection]

    def __bool__(self) -> bool:
        return bool(self.anomalies or self.reconnections)


def reconnections_by_age(
    reconnections: Sequence[Reconnection], now: datetime, grace: timedelta
) -> tuple[list[Reconnection], list[Reconnection]]:
    """Those unread for at least ``grace`` at ``now`` (news), and those more recent."""
    settled = [r for r in reconnections if now - r.since >= grace]
    return settled, [r for r in reconnections if now - r.since < grace]


# --- the job ---------------------------------------------------------------------------


class AlertJob:
    """Judges the businesses due, a batch a round. One per replica: ``judged`` is its
    memory of the days done."""

    def __init__(
        self, pool: asyncpg.Pool, analytics: Analytics, settings: Settings, clock: Clock
    ) -> None:
        self.pool, self.analytics, self.settings, self.clock = pool, analytics, settings, clock
        self.judged: dict[int, date] = {}
        self.retry_at: dict[int, datetime] = {}

    async def judge_due(self, stopping: asyncio.Event | None = None) -> int:
        """One round: up to ``alert_batch_size`` businesses judged. How many alerts were made."""
        now = self.clock()
        async with alert_connected(self.pool) as store:
            businesses = await store.businesses()
        made = 0
        for business, day in self.due(businesses, now)[: self.settings.alert_batch_size]:
            if stopping is not None and stopping.is_set():
                break
            try:
                made += await self.judge(business, day, now)
            except AnalyticsUnavailable:
                break  # query-api away: the others wait for the next round, not its retries
        return made

    def due(
        self, businesses: Sequence[BusinessToJudge], now: datetime
    ) -> list[tuple[BusinessToJudge, date]]:
        """The businesses with a day to judge at ``now`` (its latest due day not judged
        by this replica, and no failure waiting to be retried), in id order."""
        self.forget_all_but({b.id for b in businesses})
        out: list[tuple[BusinessToJudge, date]] = []
        for b in businesses:
            if self.retry_at.get(b.id, now) > now:
                continue
            try:
                day = due_day(b.timezone, now, self.settings.alert_hour_local)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                log.warning("alerts left out: bad time zone", business=b.id, error=str(exc))
                self.retry_later(b.id, now)
                continue
            if b.id not in self.judged or self.judged[b.id] < day:
                out.append((b, day))
        return out

    def forget_all_but(self, ids: set[int]) -> None:
        """The memory holds the businesses that exist, no more."""
        for memory in (self.judged, self.retry_at):
            for gone in memory.keys() - ids:
                del memory[gone]

    def retry_later(self, business_id: int, now: datetime) -> None:
        self.retry_at[business_id] = now + timedelta(seconds=self.settings.alert_judge_retry_s)

    async def judge(self, b: BusinessToJudge, day: date, now: datetime) -> int:
        """One business-day: found, then recorded. Analytics failing (or a fault of ours
        in the detector) leaves the day to a later round, and AnalyticsUnavailable (after
        the client's retries) is raised on; the database failing ends the round (the
        worker logs it)."""
        try:
            found = await self.find(b, day)
        except Exception as exc:
            self.not_judged(b, now, exc)
            if isinstance(exc, AnalyticsUnavailable):
                raise
            return 0
        grace = timedelta(seconds=self.settings.alert_reconnection_grace_s)
        settled, recent = reconnections_by_age(found.reconnections, now, grace)
        found = Found(found.anomalies, settled)
        made = await self.record(b, day, found, now) if found else 0
        if recent:  # judged again once those have been unread for the grace
            self.retry_at[b.id] = min(r.since for r in recent) + grace
        else:
            self.judged[b.id] = day
            self.retry_at.pop(b.id, None)
        JUDGED.labels("alerted" if made else "quiet").inc()
        if made:
            log.info("alerts made", business=b.id, day=day.isoformat(), alerts=made)
        return made

    def not_judged(self, b: BusinessToJudge, now: datetime, exc: Exception) -> None:
        self.retry_later(b.id, now)
        JUDGED.labels("failed").inc()
        if isinstance(exc, AnalyticsError):
            log.warning("alerts not judged yet", business=b.id, error=str(exc)[:300])
        else:
            log.error("alerts not judged yet", business=b.id, exc_info=exc)

    async def find(self, b: BusinessToJudge, day: date) -> Found:
        """The day's anomalies (no cooldown yet) and the accounts needing reconnection."""
        first = day - timedelta(weeks=BASELINE_WEEKS)
        series = await self.analytics.alert_series(b.id, first, day)
        reconnections = await self.analytics.reconnections(b.id)
        anomalies = daily_alerts(series, b.sensitivity, day, business_id=b.id)
        return Found(anomalies, reconnections)

    async def record(self, b: BusinessToJudge, day: date, found: Found, now: datetime) -> int:
        """Under the business's lock: what the cooldown lets through, inserted with its
        deliveries (the channels set now). How many alerts were new."""
        preset = PRESETS[b.sensitivity]
        zone, url = ZoneInfo(b.timezone), self.settings.dashboard_url
        async with alert_transaction(self.pool) as store:
            await store.lock_business(b.id)
            channels = (await store.channels(b.id)).names()
            first = day - timedelta(days=preset.cooldown_days)
            recent = await store.recent_anomalies(b.id, first, day)
            fresh = [a for a in found.anomalies if not in_cooldown(a, recent, preset)]
            alerts = [
                *(anomaly_alert(a, url) for a in fresh),
                *(reconnection_alert(r, zone, url) for r in found.reconnections),
            ]
            made = 0
            for alert in alerts:
                if await store.insert_alert(b.id, alert, channels, now) is not None:
                    ALERTS.labels(alert.kind).inc()
                    made += 1
            return made


class Alerting:
    """The worker's alert step: a batch of businesses judged, then the alerts' due
    deliveries sent (at most ``alert_batch_size`` of each per round)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        analytics: Analytics,
        mailer: MailSender,
        settings: Settings,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.job = AlertJob(pool, analytics, settings, clock)
        self.sender = AlertSender(pool, mailer, settings, clock, sleep)

    async def tick(self, stopping: asyncio.Event | None = None) -> int:
        """One round; how many alerts were made."""
        made = await self.job.judge_due(stopping)
        await self.sender.deliver_due(stopping)
        return made
