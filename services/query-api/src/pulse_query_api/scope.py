"""The scope of an analytics request: which business (the caller must be a member), which
local dates, which platform. Every aggregate endpoint starts from it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator, WithJsonSchema

from pulse_query_api.membership import Memberships
from pulse_shared.http_auth import Caller, CallerDep
from pulse_shared.roles import Permission, may

PlatformParam = Literal["all", "linkedin", "twitter", "facebook", "instagram"]
# What a period is compared against: the period of the same length just before it, or the
# same days a year earlier.
Compare = Literal["previous", "year"]
COMPARE_DESCRIPTION = (
    "What the period is compared against: `previous`, the period of the same length just "
    "before it; `year`, the same days a year earlier (29 February as the 28th)"
)
WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")


def _written_as_whole_number(value: object) -> object:
    """Pydantic would also read "1.0" (and, in JSON, true) as 1."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and WHOLE_NUMBER.fullmatch(value):
        return value
    raise ValueError("must be a whole number written with digits only")


IdDigits = BeforeValidator(_written_as_whole_number)
# IdDigits after the bounds: before them, pydantic cannot place the bounds on the integer
# and OpenAPI would carry them as "gt" and "le", which JSON Schema does not know (the
# schema then allowed 0 and any negative number).
BusinessIdParam = Annotated[int, Query(gt=0, le=2**63 - 1, description="The business"), IdDigits]
MAX_DAYS = 366
DEFAULT_DAYS = 30
# The days a period may name: no analytics before 2000, and at most a year past today (the
# driver reads year 1 and year 9999 as infinities, whose day series never ends).
EARLIEST_DAY = date(2000, 1, 1)
DAYS_AHEAD = 366
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _written_as_iso_day(value: object) -> object:
    """Pydantic would also read a number as a date ("0.0" as 1970-01-01)."""
    if (
        value is None
        or isinstance(value, date)
        or (isinstance(value, str) and ISO_DAY.fullmatch(value))
    ):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


LocalDayParam = BeforeValidator(_written_as_iso_day)
# The schema of a day parameter states what it can: a date written YYYY-MM-DD, in the year
# 2000 or later. A string, not "date or null": a query string has no null.
LOCAL_DAY_SCHEMA = WithJsonSchema(
    {"type": "string", "format": "date", "pattern": "^[2-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"}
)
# What it cannot (the window moves with the business's today, and the two days constrain
# each other): said in each day's description, refused with 422 naming the parameter.
# services/query-api/tests/schemathesis.toml declares these 422s as expected.
_DAY_RULES = (
    f"Refused with 422: a day after the business's local today plus {DAYS_AHEAD} days, "
    f"an end_date before the start_date, a period of more than {MAX_DAYS} days."
)
START_DATE_DESCRIPTION = (
    f"First local day, YYYY-MM-DD, from {EARLIEST_DAY} (default: {DEFAULT_DAYS - 1} days "
    f"before end_date). {_DAY_RULES}"
)
END_DATE_DESCRIPTION = (
    f"Last local day, included, YYYY-MM-DD, from {EARLIEST_DAY} (default: the business's "
    f"local today, GET /api/v1/analytics/calendar). {_DAY_RULES}"
)

Clock = Callable[[], datetime]
"""What query-api takes as now (an aware datetime): the wall clock, or a fixed instant."""


def wall_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    return lambda: at


@dataclass(frozen=True)
class CallerBusiness:
    """A business the caller is a member of (or a service's token is for), and its local
    calendar day at the request."""

    business_id: int
    timezone: str
    today: date
    role: str | None  # None for a service's token: no member
    now: datetime  # the request's instant, on query-api's one clock
    name: str | None = None  # the business's, if it has one


@dataclass(frozen=True)
class Scope:
    business_id: int
    timezone: str
    start: date
    end: date  # inclusive
    platform: str
    today: date  # the business's local day when the request came
    now: datetime  # the request's instant (what is stale is judged against it)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Scope:
        """The period of the same length just before."""
        return self.compared("previous")

    def compared(self, compare: Compare) -> Scope:
        """The period ``compare`` names: each of its days is :meth:`back` of one of ours."""
        return replace(self, start=self.back(compare, self.start), end=self.back(compare, self.end))

    def back(self, compare: Compare, day: date) -> date:
        """The day of the compared period that ``day`` of this one is set beside."""
        return year_before(day) if compare == "year" else day - timedelta(days=self.days)

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC instants: [local start midnight, local midnight after end)."""
        tz = ZoneInfo(self.timezone)
        after = self.end + timedelta(days=1)
        return (
            datetime(self.start.year, self.start.month, self.start.day, tzinfo=tz).astimezone(UTC),
            datetime(after.year, after.month, after.day, tzinfo=tz).astimezone(UTC),
        )


def year_before(day: date) -> date:
    """The same day a year earlier; 29 February is set beside the 28th."""
    if (day.month, day.day) == (2, 29):
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def _not_found(business_id: int) -> HTTPException:
    # Another business is as absent as one that does not exist.
    return HTTPException(404, f"business {business_id} not found")


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", field), "msg": message, "type": "value_error", "input": None}]
    )


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


async def member_business(
    request: Request, caller: Caller, business_id: int, needs: Permission = Permission.READ
) -> CallerBusiness:
    """The business, when the caller is one of its members (and its API token, if it holds
    one, is for it); 404 otherwise. 403 when the member's role (pulse_shared.roles) does
    not allow ``needs``."""
    if caller.service is not None:
        return await service_business(request, caller, business_id, needs)
    memberships: Memberships = request.app.state.memberships
    found = None
    if caller.may_see(business_id):
        found = await memberships.membership(business_id, caller.user)
    if found is None:
        raise _not_found(business_id)
    if not may(found.role, needs, api_token=caller.api_token):
        held = "a read-only API token" if caller.api_token else f"the role {found.role}"
        raise HTTPException(403, f"{held} may not {needs.value} in business {business_id}")
    if found.vouched:  # PostgreSQL unreachable: cached answers only, said so (app.py)
        request.state.database_away = True
    now = _now(request)
    today = local_today(now, found.timezone)
    return CallerBusiness(business_id, found.timezone, today, found.role, now, found.name)


async def service_business(
    request: Request, caller: Caller, business_id: int, needs: Permission
) -> CallerBusiness:
    """The business a Pulse service's token is for (the reporter's: pulse_shared.http_auth);
    404 for any other, 403 beyond read and export. No membership is looked up: a service
    is no member."""
    memberships: Memberships = request.app.state.memberships
    found = await memberships.business(business_id) if caller.may_see(business_id) else None
    if found is None:
        raise _not_found(business_id)
    if not caller.service_may(needs):
        detail = f"the {caller.service} service may not {needs.value} in business {business_id}"
        raise HTTPException(403, detail)
    now = _now(request)
    today = local_today(now, found.timezone)
    return CallerBusiness(business_id, found.timezone, today, None, now, found.name)


def _now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock()


async def caller_business(
    request: Request, caller: CallerDep, business_id: BusinessIdParam
) -> CallerBusiness:
    return await member_business(request, caller, business_id)


async def analytics_scope(
    request: Request,
    caller: CallerDep,
    business_id: BusinessIdParam,
    start_date: Annotated[
        date | None, Query(description=START_DATE_DESCRIPTION), LocalDayParam, LOCAL_DAY_SCHEMA
    ] = None,
    end_date: Annotated[
        date | None, Query(description=END_DATE_DESCRIPTION), LocalDayParam, LOCAL_DAY_SCHEMA
    ] = None,
    platform: Annotated[PlatformParam, Query(description="One platform, or all")] = "all",
) -> Scope:
    return await _scope(request, caller, business_id, start_date, end_date, platform)


async def export_scope(
    request: Request,
    caller: CallerDep,
    business_id: BusinessIdParam,
    start_date: Annotated[
        date | None, Query(description=START_DATE_DESCRIPTION), LocalDayParam, LOCAL_DAY_SCHEMA
    ] = None,
    end_date: Annotated[
        date | None, Query(description=END_DATE_DESCRIPTION), LocalDayParam, LOCAL_DAY_SCHEMA
    ] = None,
    platform: Annotated[PlatformParam, Query(description="One platform, or all")] = "all",
) -> Scope:
    """:func:`analytics_scope` of a caller who may export (analysts and up)."""
    return await _scope(
        request, caller, business_id, start_date, end_date, platform, Permission.EXPORT
    )


async def _scope(
    request: Request,
    caller: Caller,
    business_id: int,
    start_date: date | None,
    end_date: date | None,
    platform: str,
    needs: Permission = Permission.READ,
) -> Scope:
    # The caller's business is looked up here rather than as a dependency of its own:
    # FastAPI's work per dependency per request was ~40 µs of a ~550 µs cached answer.
    business = await member_business(request, caller, business_id, needs)
    latest = business.today + timedelta(days=DAYS_AHEAD)
    for field, day in (("start_date", start_date), ("end_date", end_date)):
        if day is not None and not EARLIEST_DAY <= day <= latest:
            raise _invalid(field, f"{field} must be between {EARLIEST_DAY} and {latest}")
    end = end_date or business.today
    start = start_date or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise _invalid("end_date", f"end_date {end} is before start_date {start}")
    if (end - start).days + 1 > MAX_DAYS:
        raise _invalid("end_date", f"the period may span at most {MAX_DAYS} days")
    return Scope(business_id, business.timezone, start, end, platform, business.today, business.now)


ScopeDep = Annotated[Scope, Depends(analytics_scope)]
ExportScopeDep = Annotated[Scope, Depends(export_scope)]
CallerBusinessDep = Annotated[CallerBusiness, Depends(caller_business)]
