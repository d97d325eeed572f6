"""Report schedules: listed by every member; made, changed, deleted and sent now by those
who may manage reports (owners and admins); previewed as the PDF by every member.

Nothing here is written to the audit log: the log is the workspace's (its only writer),
and it has no route for another service's entries yet."""

# No `from __future__ import annotations`: FastAPI reads the annotations below.

import asyncio
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from pulse_reporter.analytics import MAX_PERIOD_DAYS, AnalyticsError
from pulse_reporter.deliveries import branding_of
from pulse_reporter.deps import (
    MANAGER,
    Api,
    ApiDep,
    IdPath,
    ManagerDep,
    PreviewAllowance,
    ReaderDep,
    body_after,
    hit,
)
from pulse_reporter.mail import attachment_stem
from pulse_reporter.rendering import Branding, render_pdf
from pulse_reporter.report_data import Period, PeriodKind, Report
from pulse_reporter.routes import ERRORS, HEAVY_ERRORS, analytics_refused, invalid, too_slow
from pulse_reporter.schedules import latest_period
from pulse_reporter.schemas import (
    PeriodIn,
    PeriodOut,
    ScheduleIn,
    ScheduleOut,
    SchedulePatch,
    SendNowIn,
    SendNowOut,
)
from pulse_reporter.store import ScheduleToDeliver, api_connected, connected
from pulse_reporter.worker import request_send_now
from pulse_shared.http_body import json_body_openapi

router = APIRouter(prefix="/v1/businesses/{business_id}/reports/schedules", tags=["schedules"])
# Schedules a business may have: plenty for any team, few enough to list in one answer.
MAX_SCHEDULES = 50
# No report covers days before this (social media analytics of the 1990s are not asked for).
FIRST_DAY = date(2000, 1, 1)


def not_found(schedule_id: int) -> HTTPException:
    return HTTPException(404, f"schedule {schedule_id} not found")


def local_today(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


@router.get(
    "",
    response_model=list[ScheduleOut],
    responses=ERRORS,
    summary="The business's report schedules",
)
async def schedules(who: ReaderDep, api: ApiDep) -> list[ScheduleOut]:
    async with api_connected(api.pool) as store:
        rows = await store.schedules(who.business_id, MAX_SCHEDULES)
    return [ScheduleOut(**dict(row)) for row in rows]


@router.post(
    "",
    status_code=201,
    response_model=ScheduleOut,
    responses={**ERRORS, 409: {"description": f"The business has {MAX_SCHEDULES} schedules"}},
    summary="A new schedule: weekly (Mondays) or monthly (the 2nd), from the next one due",
    openapi_extra=json_body_openapi(ScheduleIn),
)
async def create(
    who: ManagerDep,
    body: Annotated[ScheduleIn, Depends(body_after(MANAGER, ScheduleIn))],
    api: ApiDep,
) -> ScheduleOut:
    async with api_connected(api.pool) as store:
        row = await store.create_schedule(
            who.business_id, body.kind, body.recipients, body.include_csv, who.user,
            api.clock(), MAX_SCHEDULES,
        )  # fmt: skip
    if row is None:
        raise HTTPException(409, f"a business has at most {MAX_SCHEDULES} schedules")
    return ScheduleOut(**dict(row))


@router.patch(
    "/{schedule_id}",
    response_model=ScheduleOut,
    responses=ERRORS,
    summary="Change a schedule's recipients, CSV attachment or pause",
    openapi_extra=json_body_openapi(SchedulePatch),
)
async def change(
    who: ManagerDep,
    schedule_id: IdPath,
    body: Annotated[SchedulePatch, Depends(body_after(MANAGER, SchedulePatch))],
    api: ApiDep,
) -> ScheduleOut:
    async with api_connected(api.pool) as store:
        row = await store.update_schedule(
            who.business_id, schedule_id, recipients=body.recipients,
            include_csv=body.include_csv, paused=body.paused, now=api.clock(),
        )  # fmt: skip
    if row is None:
        raise not_found(schedule_id)
    return ScheduleOut(**dict(row))


@router.delete(
    "/{schedule_id}",
    status_code=204,
    responses=ERRORS,
    summary="Delete a schedule (its deliveries' log with it)",
)
async def delete(who: ManagerDep, schedule_id: IdPath, api: ApiDep) -> Response:
    async with api_connected(api.pool) as store:
        if not await store.delete_schedule(who.business_id, schedule_id):
            raise not_found(schedule_id)
    return Response(status_code=204)


# --- send now ----------------------------------------------------------------------------


def send_now_period(
    kind: PeriodKind, timezone: str, asked: PeriodIn | None, now: datetime
) -> Period:
    """The asked period (complete local days, at most a year), or the last complete one of
    the schedule's kind."""
    today = local_today(timezone, now)
    if asked is None:
        return latest_period(kind, today)
    if asked.end >= today:
        invalid(
            ("body", "period", "end"),
            f"must be before {today.isoformat()} (today in {timezone}): complete days only",
        )
    if asked.start < FIRST_DAY:
        invalid(("body", "period", "start"), f"must be {FIRST_DAY.isoformat()} or later")
    if (asked.end - asked.start).days + 1 > MAX_PERIOD_DAYS:
        invalid(("body", "period"), f"a period is at most {MAX_PERIOD_DAYS} days")
    return Period(asked.start, asked.end)


@router.post(
    "/{schedule_id}/send-now",
    status_code=202,
    response_model=SendNowOut,
    responses={**ERRORS, 202: {"description": "Queued: a replica delivers it within a minute"}},
    summary="Send a schedule's report now, to its recipients",
    openapi_extra=json_body_openapi(SendNowIn),
)
async def send_now(
    who: ManagerDep,
    schedule_id: IdPath,
    body: Annotated[SendNowIn, Depends(body_after(MANAGER, SendNowIn))],
    api: ApiDep,
) -> SendNowOut:
    async with api_connected(api.pool) as store:
        schedule = await store.schedule(who.business_id, schedule_id)
        timezone = await store.business_timezone(who.business_id)
    if schedule is None or timezone is None:
        raise not_found(schedule_id)
    period = send_now_period(schedule["kind"], timezone, body.period, api.clock())
    # Each one mails every recipient: a business gets a few an hour.
    await hit(api, api.send_now_limit, f"send-now:{who.business_id}")
    key = await request_send_now(
        api.pool, api.settings, business_id=who.business_id, schedule_id=schedule_id,
        period=period, now=api.clock(),
    )  # fmt: skip
    return SendNowOut(
        delivery_key=key,
        schedule_id=schedule_id,
        period=PeriodOut(start=period.start, end=period.end),
    )


# --- preview -----------------------------------------------------------------------------


def preview_period(kind: PeriodKind, timezone: str, start: date | None, now: datetime) -> Period:
    """The complete week (from a Monday) or month (from the 1st) starting at ``start``; the
    last complete one by default."""
    today = local_today(timezone, now)
    if start is None:
        return latest_period(kind, today)
    if start < FIRST_DAY:
        invalid(("query", "period_start"), f"must be {FIRST_DAY.isoformat()} or later")
    if kind == "weekly" and start.weekday() != 0:
        invalid(("query", "period_start"), "a weekly report's period starts on a Monday")
    if kind == "monthly" and start.day != 1:
        invalid(("query", "period_start"), "a monthly report's period starts on the 1st")
    period = period_from(kind, start)
    if period.end >= today:
        invalid(("query", "period_start"), f"the period must have ended before {today.isoformat()}")
    return period


def period_from(kind: PeriodKind, start: date) -> Period:
    """The week or month beginning on ``start`` (a Monday, a 1st)."""
    if kind == "weekly":
        return Period(start, date.fromordinal(start.toordinal() + 6))
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return Period(start, date.fromordinal(following.toordinal() - 1))


async def rendered(api: Api, report: Report, branding: Branding) -> bytes:
    """The PDF, rendered in a thread while at most ``preview_concurrency`` others are: a
    request that gives up (its time is over) leaves the slot taken until its thread ends."""
    await api.renders.acquire()
    try:
        job = asyncio.get_running_loop().run_in_executor(None, render_pdf, report, branding)
    except BaseException:
        api.renders.release()
        raise

    def done(finished: asyncio.Future[bytes]) -> None:
        api.renders.release()
        if not finished.cancelled():
            finished.exception()  # retrieved: a render nobody waits for any more logs nothing

    job.add_done_callback(done)
    return await asyncio.shield(job)


async def preview_pdf(
    api: Api, schedule: ScheduleToDeliver, period: Period
) -> tuple[bytes, Report]:
    try:
        async with asyncio.timeout(api.settings.preview_timeout_s):
            report = await api.analytics.report(schedule.business_id, schedule.kind, period)
            return await rendered(api, report, branding_of(schedule, report)), report
    except TimeoutError:
        raise too_slow("preview") from None
    except AnalyticsError as exc:
        raise analytics_refused(exc, schedule.business_id) from None


@router.get(
    "/{schedule_id}/preview.pdf",
    response_class=Response,
    responses={
        **HEAVY_ERRORS,
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
    },
    summary="The schedule's report as a PDF, rendered now (for the browser to show)",
)
async def preview(
    _: PreviewAllowance,
    who: ReaderDep,
    schedule_id: IdPath,
    api: ApiDep,
    period_start: Annotated[
        date | None,
        Query(description="A Monday (weekly) or a 1st (monthly); unset, the last complete one"),
    ] = None,
) -> Response:
    async with connected(api.pool) as store:
        schedule = await store.schedule_to_deliver(schedule_id)
    if schedule is None or schedule.business_id != who.business_id:
        raise not_found(schedule_id)
    period = preview_period(schedule.kind, schedule.timezone, period_start, api.clock())
    pdf, report = await preview_pdf(api, schedule, period)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{attachment_stem(report)}.pdf"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
