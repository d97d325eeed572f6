"""What the reporter asks of the outside, as protocols: analytics (query-api, as a client
with the reporter's service credential, so no formula is written twice) and mail. The
service wires the real ones (analytics.py, pulse_shared.mail); unit tests pass fakes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from typing import Protocol

from pulse_reporter.anomalies import Reconnection, SeriesByPlatformMetric
from pulse_reporter.report_data import Period, PeriodKind, Report


@dataclass(frozen=True)
class BusinessInfo:
    business_id: int
    name: str
    timezone: str  # IANA


class Analytics(Protocol):
    async def business(self, business_id: int) -> BusinessInfo:
        """Its name and time zone."""
        ...

    async def report(self, business_id: int, kind: PeriodKind, period: Period) -> Report:
        """The report of ``period`` (report_data.build_report over query-api's answers)."""
        ...

    async def export_csv(self, business_id: int, period: Period) -> bytes:
        """The per-post CSV of ``period`` (query-api's /export), for the optional attachment."""
        ...

    async def alert_series(
        self, business_id: int, first_day: date, last_day: date
    ) -> SeriesByPlatformMetric:
        """Per platform, the activity-day engagement, impressions and follower growth of
        each completed local day in [first_day, last_day] (query-api's daily trends on the
        activity basis, estimated days flagged)."""
        ...

    async def reconnections(self, business_id: int) -> list[Reconnection]:
        """Its accounts that need reconnecting (query-api's /accounts)."""
        ...


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hands ``message`` to the mail server; raises pulse_shared.mail.MailFailed (with
        ``refused``: the recipients the server refused) when it does not take it."""
        ...
