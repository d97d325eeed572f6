"""The loop each replica runs (app.py starts it in the lifespan): every
``report_poll_every_s``, each schedule that runs gets its owed delivery (once: the key is
unique, so replicas doing the same at once make one row), then this replica claims and
delivers what is due until nothing is; then the alerts' turn (alerting.py: a batch of
businesses judged, the alerts' due mail and webhooks sent). Any number of replicas may run
it; each delivery is sent by the one holding its lease (deliveries.py says what remains of
"exactly once")."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from uuid import uuid4
from zoneinfo import ZoneInfoNotFoundError

import asyncpg

from pulse_reporter.alerting import Alerting
from pulse_reporter.deliveries import Clock, Deliverer
from pulse_reporter.report_data import Period
from pulse_reporter.schedules import delivery_key, due, message_id, send_now_key
from pulse_reporter.settings import Settings
from pulse_reporter.store import ActiveSchedule, Store, connected
from pulse_shared.logs import get_logger

log = get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Worker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        deliverer: Deliverer,
        settings: Settings,
        clock: Clock = utc_now,
        alerting: Alerting | None = None,
    ) -> None:
        self.pool, self.deliverer, self.settings, self.clock = pool, deliverer, settings, clock
        self.stopping = asyncio.Event()
        # Unless given: the alerts with the reports' analytics and mail server.
        self.alerting = alerting or Alerting(
            pool, deliverer.analytics, deliverer.mailer, settings, clock
        )

    async def tick(self) -> int:
        """One round: owed deliveries made, then every due one delivered, then the alerts'
        step. How many reports were delivered."""
        await self.make_owed_deliveries()
        delivered = await self.deliver_due()
        await self.alerting.tick(self.stopping)
        return delivered

    async def make_owed_deliveries(self) -> int:
        now = self.clock()
        async with connected(self.pool) as store:
            made = 0
            for schedule in await store.active_schedules():
                made += await self._make_owed(store, schedule, now)
            return made

    async def _make_owed(self, store: Store, schedule: ActiveSchedule, now: datetime) -> int:
        try:
            owed = due(
                schedule.kind,
                schedule.timezone,
                now,
                send_hour=self.settings.report_send_hour_local,
                not_before=schedule.created_at,
            )
        except (ZoneInfoNotFoundError, ValueError) as exc:
            log.warning("schedule left out: bad time zone", schedule=schedule.id, error=str(exc))
            return 0
        if owed is None or (
            schedule.last_period_start is not None
            and schedule.last_period_start >= owed.period.start
        ):
            return 0
        key = delivery_key(schedule.id, owed.period)
        mid = message_id(key, self.settings.message_id_domain)
        made = await store.insert_delivery(
            schedule.business_id, schedule.id, key, owed.period, mid, now
        )
        return int(made)

    async def deliver_due(self) -> int:
        """Claims and delivers due deliveries, one at a time, until none is left (or the
        replica is stopping)."""
        delivered = 0
        while not self.stopping.is_set():
            now = self.clock()
            until = now + self.deliverer.policy.lease
            async with connected(self.pool) as store:
                claimed = await store.claim_next_due(now, self.deliverer.owner, until)
            if claimed is None:
                break
            await self.deliverer.deliver(claimed)
            delivered += 1
        return delivered

    async def run(self) -> None:
        """Ticks every ``report_poll_every_s`` until :meth:`stop`; a round that fails (the
        database away, a fault of ours) is logged and the next one tries again."""
        while not self.stopping.is_set():
            try:
                await self.tick()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("reporter round failed", error=repr(exc)[:300])
            except Exception as exc:  # a fault of ours must not end the replica's deliveries
                log.error("reporter round failed", exc_info=exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.settings.report_poll_every_s)

    def stop(self) -> None:
        """Ends the loop after the delivery in hand (if any) is recorded."""
        self.stopping.set()


async def request_send_now(
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    business_id: int,
    schedule_id: int,
    period: Period,
    now: datetime,
) -> str:
    """A "send now" of ``period``: its own delivery (a key and Message-ID of its own),
    due at once, delivered by whichever replica claims it first. Its key."""
    key = send_now_key(schedule_id, period, uuid4())
    mid = message_id(key, settings.message_id_domain)
    async with connected(pool) as store:
        await store.insert_delivery(business_id, schedule_id, key, period, mid, now)
    return key
