"""The scope of an analytics request: which business (the caller must be a member), which
local dates, which platform. Every aggregate endpoint starts from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select

from pulse_query_api.auth import UserDep, member_businesses
from pulse_query_api.deps import SessionDep
from pulse_shared.tables import businesses

PlatformParam = Literal["all", "linkedin", "twitter", "facebook", "instagram"]
MAX_DAYS = 366
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Scope:
    business_id: int
    timezone: str
    start: date
    end: date  # inclusive
    platform: str

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


async def analytics_scope(
    session: SessionDep,
    user: UserDep,
    business_id: Annotated[int, Query(gt=0, le=2**63 - 1, description="The business")],
    start_date: Annotated[
        date | None, Query(description="First local day (default: 29 days before end_date)")
    ] = None,
    end_date: Annotated[
        date | None, Query(description="Last local day, included (default: today, local)")
    ] = None,
    platform: Annotated[PlatformParam, Query(description="One platform, or all")] = "all",
) -> Scope:
    timezone = (
        await session.execute(
            select(businesses.c.timezone).where(
                businesses.c.id == business_id, businesses.c.id.in_(member_businesses(user))
            )
        )
    ).scalar_one_or_none()
    if timezone is None:
        # Another business is as absent as one that does not exist.
        raise HTTPException(404, f"business {business_id} not found")
    end = end_date or datetime.now(ZoneInfo(timezone)).date()
    start = start_date or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise _invalid("end_date", f"end_date {end} is before start_date {start}")
    if (end - start).days + 1 > MAX_DAYS:
        raise _invalid("end_date", f"the period may span at most {MAX_DAYS} days")
    return Scope(business_id, timezone, start, end, platform)


ScopeDep = Annotated[Scope, Depends(analytics_scope)]
