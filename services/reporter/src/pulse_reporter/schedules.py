"""Which report a schedule owes at an instant, and the names its delivery goes by. Pure: no
clock, no I/O (the instant is passed in).

- **weekly**: sent on Mondays from ``send_hour`` local time, covering the last complete
  Monday-Sunday week; **monthly**: sent on the 2nd from ``send_hour``, covering the last
  complete calendar month (report_data.last_complete_period, on the business's calendar).
- A period is owed from its send moment on, until the next period's send moment: a replica
  that was down on Monday sends the week's report when it is back, and only the latest
  period is ever owed (no backlog of stale reports after a long outage).
- A schedule owes nothing whose send moment came before it was created: a schedule made on
  a Wednesday sends its first report the next Monday ("send now" is there for the rest).
- Local times are the business's wall clock through zoneinfo, so the send moment moves
  with daylight saving time (08:00 is 08:00 in summer and in winter). A send hour that a
  spring-forward skips on that day (rare: DST changes on a Sunday almost everywhere) is
  read with the offset before the change, one hour later on the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from pulse_reporter.report_data import Period, PeriodKind, last_complete_period

NOW_MARK = ":now:"  # what a send-now's delivery key carries after the period


@dataclass(frozen=True)
class Due:
    period: Period
    send_at: datetime  # the moment it became owed (UTC)


def send_day(kind: PeriodKind, period: Period) -> date:
    """The local day a period's report is sent: the Monday after the week, the 2nd of the
    month after the month."""
    after = period.end + timedelta(days=1)
    return after if kind == "weekly" else after.replace(day=2)


def send_at(kind: PeriodKind, period: Period, timezone: str, send_hour: int) -> datetime:
    local = datetime.combine(send_day(kind, period), time(send_hour), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def latest_period(kind: PeriodKind, today_local: date) -> Period:
    return Period(*last_complete_period(kind, today_local))


def previous_period(kind: PeriodKind, period: Period) -> Period:
    return latest_period(kind, period.start)


def due(
    kind: PeriodKind,
    timezone: str,
    now: datetime,
    *,
    send_hour: int,
    not_before: datetime | None = None,
) -> Due | None:
    """The period a schedule owes at ``now`` (aware), if any: the latest one whose send
    moment has come, unless that moment is before ``not_before`` (the schedule's creation)."""
    period = latest_period(kind, now.astimezone(ZoneInfo(timezone)).date())
    moment = send_at(kind, period, timezone, send_hour)
    if moment > now:  # today is its send day, before the hour: the one before is owed
        period = previous_period(kind, period)
        moment = send_at(kind, period, timezone, send_hour)
    if not_before is not None and moment < not_before:
        return None
    return Due(period, moment)


# --- names ----------------------------------------------------------------------------


def delivery_key(schedule_id: int, period: Period) -> str:
    """Unique per schedule and period: the scheduled delivery happens once."""
    return f"{schedule_id}:{period.start.isoformat()}"


def send_now_key(schedule_id: int, period: Period, request: UUID) -> str:
    """A "send now" of a period: its own delivery, beside the scheduled one."""
    return f"{delivery_key(schedule_id, period)}{NOW_MARK}{request}"


def is_send_now(key: str) -> bool:
    return NOW_MARK in key


def message_id(key: str, domain: str) -> str:
    """The delivery's Message-ID, the same on every attempt (derived from the key alone):
    ``<report-12-2026-11-23@pulse.example>``, a send-now's with ``-now-<uuid>``."""
    return f"<report-{key.replace(':', '-')}@{domain}>"


def backoff(attempts: int, base_s: float, cap_s: float) -> timedelta:
    """How long after its ``attempts``-th failed attempt (1, 2, ...) a delivery is tried
    again: base, 2 x base, 4 x base, ... at most ``cap_s``."""
    if attempts < 1:
        raise ValueError("attempts counts from 1")
    return timedelta(seconds=min(cap_s, base_s * 2 ** min(attempts - 1, 62)))
