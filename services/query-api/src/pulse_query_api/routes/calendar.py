"""GET /api/v1/analytics/calendar: the business's own "today", so a client builds its date
ranges from the business's calendar rather than from its own clock and time zone; and its
name (a report's cover)."""

from __future__ import annotations

from fastapi import APIRouter

from pulse_query_api.routes.overview import ERRORS
from pulse_query_api.schemas import CalendarOut
from pulse_query_api.scope import CallerBusinessDep

router = APIRouter(prefix="/api/v1/analytics", tags=["calendar"])


@router.get(
    "/calendar",
    response_model=CalendarOut,
    summary="The business's name, time zone and local date today",
    description=(
        "Every period is a range of the business's local days. A client computes its "
        "presets (last 7 days, this month ...) from `today` here, never from the device's "
        "clock: between the device's midnight and the business's the two days differ."
    ),
    responses=ERRORS,  # type: ignore[arg-type]
)
async def calendar(business: CallerBusinessDep) -> CalendarOut:
    return CalendarOut(
        business_id=business.business_id,
        name=business.name,
        timezone=business.timezone,
        today=business.today,
    )
