"""The deliveries' log, for every member: each report sent, skipped (and why), failed (and
why) or still pending, with its attempts and times, newest first."""

# No `from __future__ import annotations`: FastAPI reads the annotations below.

from typing import Annotated

import asyncpg
from fastapi import APIRouter, HTTPException, Query

from pulse_reporter.deps import ApiDep, ReaderDep
from pulse_reporter.routes import ERRORS
from pulse_reporter.schedules import is_send_now
from pulse_reporter.schemas import MAX_ID, DeliveriesOut, DeliveryOut, PeriodOut
from pulse_reporter.store import api_connected

router = APIRouter(prefix="/v1/businesses/{business_id}/reports", tags=["deliveries"])


def delivery(row: asyncpg.Record) -> DeliveryOut:
    pending = row["status"] == "pending"
    return DeliveryOut(
        id=row["id"],
        schedule_id=row["schedule_id"],
        delivery_key=row["delivery_key"],
        send_now=is_send_now(row["delivery_key"]),
        period=PeriodOut(start=row["period_start"], end=row["period_end"]),
        status=row["status"],
        reason=row["reason"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"] if pending else None,
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


@router.get(
    "/deliveries",
    response_model=DeliveriesOut,
    responses=ERRORS,
    summary="The deliveries' log: sent, skipped and why, failed and why, pending",
)
async def deliveries(
    who: ReaderDep,
    api: ApiDep,
    schedule_id: Annotated[
        int | None, Query(gt=0, le=MAX_ID, description="Only this schedule's")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many")] = 50,
) -> DeliveriesOut:
    async with api_connected(api.pool) as store:
        if schedule_id is not None and await store.schedule(who.business_id, schedule_id) is None:
            raise HTTPException(404, f"schedule {schedule_id} not found")
        rows = await store.deliveries(who.business_id, schedule_id, limit)
    return DeliveriesOut(deliveries=[delivery(row) for row in rows])
