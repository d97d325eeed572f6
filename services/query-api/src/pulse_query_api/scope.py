"""The scope of an analytics request: which business (the caller must be a member), which
local dates, which platform. Every aggregate endpoint starts from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError

from pulse_query_api.auth import BearerDep, authenticate

PlatformParam = Literal["all", "linkedin", "twitter", "facebook", "instagram"]
BusinessIdParam = Annotated[int, Query(gt=0, le=2**63 - 1, description="The business")]
MAX_DAYS = 366
DEFAULT_DAYS = 30

Clock = Callable[[], datetime]
"""What query-api takes as now (an aware datetime): the wall clock, or a fixed instant."""


def wall_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    return lambda: at


@dataclass(frozen=True)
class CallerBusiness:
    """A business the caller is a member of, and its local calendar day at the request."""

    business_id: int
    timezone: str
    today: date


@dataclass(frozen=True)
class Scope:
    business_id: int
    timezone: str
    start: date
    end: date  # inclusive
    platform: str
    today: date  # the business's local day when the request came

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Scope:
        """The period of the same length just before."""
        return Scope(
            self.business_id,
            self.timezone,
            self.start - timedelta(days=self.days),
            self.start - timedelta(days=1),
            self.platform,
            self.today,
        )

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC instants: [local start midnight, local midnight after end)."""
        tz = ZoneInfo(self.timezone)
        after = self.end + timedelta(days=1)
        return (
            datetime(self.start.year, self.start.month, self.start.day, tzinfo=tz).astimezone(UTC),
            datetime(after.year, after.month, after.day, tzinfo=tz).astimezone(UTC),
        )


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", field), "msg": message, "type": "value_error", "input": None}]
    )


# The caller's business and its time zone; no row for a business the caller is not a
# member of, exactly as for one that does not exist.
MEMBER_TIMEZONE = """
SELECT b.timezone FROM businesses b
JOIN business_members m ON m.business_id = b.id
WHERE b.id = $1 AND m.user_id = $2
"""


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


async def _caller_business(
    request: Request, credentials: BearerDep, business_id: int
) -> CallerBusiness:
    user = await authenticate(request, credentials)
    lookups: asyncpg.Pool = request.app.state.lookups
    timezone: str | None = await lookups.fetchval(MEMBER_TIMEZONE, business_id, user)
    if timezone is None:
        # Another business is as absent as one that does not exist.
        raise HTTPException(404, f"business {business_id} not found")
    clock: Clock = request.app.state.clock
    return CallerBusiness(business_id, timezone, local_today(clock(), timezone))


async def caller_business(
    request: Request, credentials: BearerDep, business_id: BusinessIdParam
) -> CallerBusiness:
    return await _caller_business(request, credentials, business_id)


async def analytics_scope(
    request: Request,
    credentials: BearerDep,
    business_id: BusinessIdParam,
    start_date: Annotated[
        date | None, Query(description="First local day (default: 29 days before end_date)")
    ] = None,
    end_date: Annotated[
        date | None, Query(description="Last local day, included (default: today, local)")
    ] = None,
    platform: Annotated[PlatformParam, Query(description="One platform, or all")] = "all",
) -> Scope:
    # The caller's business is looked up here rather than as a dependency of its own:
    # FastAPI's work per dependency per request was ~40 µs of a ~550 µs cached answer.
    business = await _caller_business(request, credentials, business_id)
    end = end_date or business.today
    start = start_date or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise _invalid("end_date", f"end_date {end} is before start_date {start}")
    if (end - start).days + 1 > MAX_DAYS:
        raise _invalid("end_date", f"the period may span at most {MAX_DAYS} days")
    return Scope(business_id, business.timezone, start, end, platform, business.today)


ScopeDep = Annotated[Scope, Depends(analytics_scope)]
CallerBusinessDep = Annotated[CallerBusiness, Depends(caller_business)]
