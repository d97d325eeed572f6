"""Alerts in the app: every member lists them (each marked read or not for the caller) and
marks them read for themselves; every member previews what would have fired; those who
may manage reports set how the business is alerted.

The webhook's URL is a credential (Slack's carry their token in the path) and its signing
secret is one too: the URL is shown back only as a hint, the secret only in the answer
that made it (a new URL, or a rotation), never again.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations below.

import asyncio
from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from fastapi import APIRouter, Depends, HTTPException, Query, Response

from pulse_reporter.alert_store import numbers_of
from pulse_reporter.alert_text import anomaly_text
from pulse_reporter.analytics import AnalyticsError
from pulse_reporter.anomalies import (
    BASELINE_WEEKS,
    DEFAULT_SENSITIVITY,
    Anomaly,
    Sensitivity,
    SeriesByPlatformMetric,
)
from pulse_reporter.anomalies import preview as preview_alerts
from pulse_reporter.deps import (
    MANAGER,
    Api,
    ApiDep,
    IdPath,
    ManagerDep,
    PreviewAllowance,
    ReaderDep,
    body_after,
)
from pulse_reporter.routes import ERRORS, HEAVY_ERRORS, analytics_refused, invalid, too_slow
from pulse_reporter.schemas import (
    MAX_ID,
    AlertOut,
    AlertPreviewOut,
    AlertSettingsIn,
    AlertSettingsOut,
    AlertSettingsSaved,
    AlertsOut,
    MarkedOut,
    PreviewAlert,
    WebhookOut,
)
from pulse_reporter.store import api_connected
from pulse_reporter.webhooks import new_secret, url_problem
from pulse_shared.http_body import json_body_openapi

router = APIRouter(prefix="/v1/businesses/{business_id}/alerts", tags=["alerts"])
# The unread count is told up to this ("99+" beyond), and read-all marks at most this many
# (the newest) at once: a statement's work stays bounded however many alerts a business has.
UNREAD_COUNTED = 100
MARKED_AT_ONCE = 10_000
BASELINE_DAYS = BASELINE_WEEKS * 7


# --- the alerts ------------------------------------------------------------------------


def alert(row: asyncpg.Record) -> AlertOut:
    return AlertOut(**{**dict(row), "numbers": numbers_of(row)})


@router.get(
    "",
    response_model=AlertsOut,
    responses=ERRORS,
    summary="The business's alerts, newest first, each read or not by the caller",
)
async def alerts(
    who: ReaderDep,
    api: ApiDep,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many")] = 50,
    before: Annotated[
        int | None, Query(gt=0, le=MAX_ID, description="Only alerts older than this id")
    ] = None,
) -> AlertsOut:
    async with api_connected(api.pool) as store:
        rows = await store.alerts(who.business_id, who.user, before, limit + 1)
        unread = await store.unread_alerts(who.business_id, who.user, UNREAD_COUNTED)
    page = [alert(row) for row in rows[:limit]]
    next_before = page[-1].id if len(rows) > limit else None
    return AlertsOut(alerts=page, next_before=next_before, unread=unread)


@router.post(
    "/{alert_id}/read",
    status_code=204,
    responses=ERRORS,
    summary="Mark an alert read, for the caller",
)
async def mark_read(who: ReaderDep, alert_id: IdPath, api: ApiDep) -> Response:
    async with api_connected(api.pool) as store:
        if not await store.mark_read(who.business_id, alert_id, who.user, api.clock()):
            raise HTTPException(404, f"alert {alert_id} not found")
    return Response(status_code=204)


@router.post(
    "/read-all",
    response_model=MarkedOut,
    responses=ERRORS,
    summary="Mark every alert of the business read, for the caller",
)
async def mark_all_read(who: ReaderDep, api: ApiDep) -> MarkedOut:
    async with api_connected(api.pool) as store:
        marked = await store.mark_all_read(who.business_id, who.user, api.clock(), MARKED_AT_ONCE)
    return MarkedOut(marked=marked)


# --- settings --------------------------------------------------------------------------


def url_hint(url: str) -> str:
    """``https://hooks.slack.com/…X1y2``: enough to recognise it, not enough to use it."""
    parsed = httpx.URL(url)
    tail = parsed.raw_path.decode("ascii", "replace")
    shown = tail[-4:] if len(tail) >= 16 else ""
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii', 'replace')}/…{shown}"


def settings_out(row: asyncpg.Record | None) -> AlertSettingsOut:
    if row is None:
        return AlertSettingsOut(
            sensitivity=DEFAULT_SENSITIVITY, email_recipients=[], webhook=None, updated_at=None
        )
    url = row["webhook_url"]
    webhook = None if url is None else WebhookOut(url_hint=url_hint(url), signed=row["signed"])
    return AlertSettingsOut(
        sensitivity=row["sensitivity"],
        email_recipients=list(row["email_recipients"]),
        webhook=webhook,
        updated_at=row["updated_at"],
    )


@router.get(
    "/settings",
    response_model=AlertSettingsOut,
    responses=ERRORS,
    summary="How the business is alerted (the webhook shown as a hint only)",
)
async def get_settings(who: ReaderDep, api: ApiDep) -> AlertSettingsOut:
    async with api_connected(api.pool) as store:
        return settings_out(await store.alert_settings(who.business_id))


def webhook_change(api: Api, body: AlertSettingsIn, current: str | None) -> tuple[bool, str | None]:
    """Whether the webhook stays as it is, and the URL it is to have otherwise (422 naming
    the field for a URL that may not be one, with the reason)."""
    given = "webhook_url" in body.model_fields_set
    url = body.webhook_url if given else current
    if given and url is not None:
        problem = url_problem(url, api.settings.webhook_policy())
        if problem is not None:
            invalid(("body", "webhook_url"), problem)
    if body.rotate_webhook_secret and url is None:
        invalid(("body", "rotate_webhook_secret"), "there is no webhook to sign for")
    return not given and not body.rotate_webhook_secret, url


@router.put(
    "/settings",
    response_model=AlertSettingsSaved,
    responses=ERRORS,
    summary="Set the sensitivity, the alert mail's recipients and the webhook",
    openapi_extra=json_body_openapi(AlertSettingsIn),
)
async def save_settings(
    who: ManagerDep,
    body: Annotated[AlertSettingsIn, Depends(body_after(MANAGER, AlertSettingsIn))],
    api: ApiDep,
) -> AlertSettingsSaved:
    secret = new_secret()
    async with api_connected(api.pool) as store:
        current = await store.alert_settings(who.business_id)
        keep, url = webhook_change(api, body, current["webhook_url"] if current else None)
        row = await store.save_alert_settings(
            who.business_id, sensitivity=body.sensitivity, email_recipients=body.email_recipients,
            keep_webhook=keep, webhook_url=url, secret=secret, rotate=body.rotate_webhook_secret,
            now=api.clock(),
        )  # fmt: skip
    shown = settings_out(row).model_dump()
    return AlertSettingsSaved(**shown, webhook_secret=secret if row["new_secret"] else None)


# --- preview ---------------------------------------------------------------------------


def preview_alert(a: Anomaly, dashboard_url: str) -> PreviewAlert:
    text = anomaly_text(a, dashboard_url)
    return PreviewAlert(
        day=a.day, platform=a.platform, metric=a.metric, direction=a.direction, value=a.value,
        baseline_median=a.baseline_median, percent_change=a.percent_change, title=text.title,
        sentence=text.sentence, link=text.link,
    )  # fmt: skip


async def series(api: Api, business_id: int, first: date, last: date) -> SeriesByPlatformMetric:
    try:
        async with asyncio.timeout(api.settings.preview_timeout_s):
            return await api.analytics.alert_series(business_id, first, last)
    except TimeoutError:
        raise too_slow("alerts preview") from None
    except AnalyticsError as exc:
        raise analytics_refused(exc, business_id) from None


async def business_sensitivity(api: Api, business_id: int) -> tuple[str, Sensitivity]:
    async with api_connected(api.pool) as store:
        timezone = await store.business_timezone(business_id)
        saved = await store.alert_settings(business_id)
    if timezone is None:
        raise HTTPException(404, f"business {business_id} not found")
    return timezone, saved["sensitivity"] if saved else DEFAULT_SENSITIVITY


@router.get(
    "/preview",
    response_model=AlertPreviewOut,
    responses=HEAVY_ERRORS,
    summary="What would have fired over the last days with a sensitivity",
)
async def preview(
    _: PreviewAllowance,
    who: ReaderDep,
    api: ApiDep,
    sensitivity: Annotated[
        Sensitivity | None, Query(description="low, medium or high; unset, the business's")
    ] = None,
    days: Annotated[int, Query(ge=1, le=90, description="Completed local days")] = 90,
) -> AlertPreviewOut:
    timezone, saved = await business_sensitivity(api, who.business_id)
    chosen = sensitivity or saved
    last = api.clock().astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    values = await series(api, who.business_id, first - timedelta(days=BASELINE_DAYS), last)
    fired = await asyncio.to_thread(
        preview_alerts, values, chosen, first, last, business_id=who.business_id
    )
    url = api.settings.dashboard_url
    return AlertPreviewOut(
        sensitivity=chosen,
        first_day=first,
        last_day=last,
        alerts=[preview_alert(a, url) for a in fired],
    )
