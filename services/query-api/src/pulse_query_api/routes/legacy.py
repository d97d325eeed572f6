"""The paths of the original API, redirected (307) to where the original design sent them,
so old clients keep working while they move. The query string is kept; the original
``days`` (the last N local days, today included) becomes the successor's own parameters.
A redirect is answered only to a member of the business, as the successor would be: it
needs the business's local today."""

# No ``from __future__ import annotations``: each route's `days` is described for its own
# successor, which a string annotation could not reach.
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from pydantic import WithJsonSchema

from pulse_query_api.routes.overview import ERRORS
from pulse_query_api.scope import MAX_DAYS, CallerBusiness, IdDigits, member_business
from pulse_shared.http_auth import CallerDep

router = APIRouter(prefix="/api/v1/analytics", tags=["legacy"])

# legacy name -> the endpoint that answers it now
LEGACY = {
    "overview": "overview",
    "content": "top-posts",
    "platforms": "platform-comparison",
    "trends": "trends",
    "insights": "best-times",
}
# Successors with a `days` of their own (the last N local days): it is passed on as it is.
# The others take a period as start_date and end_date.
TAKES_DAYS = {"best-times"}
PERIOD = ("start_date", "end_date")
# A whole number, not "integer or null": a query string has no null.
DAYS_SCHEMA = WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_DAYS})


def _query(request: Request, target: str, business: CallerBusiness, days: int | None) -> str:
    params = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k != "business_id" and (k != "days" or target in TAKES_DAYS)
    ]
    if days is not None and target not in TAKES_DAYS:
        if any(k in PERIOD for k, _ in params):
            raise RequestValidationError([{
                "loc": ("query", "days"), "type": "value_error", "input": days,
                "msg": "days cannot be combined with start_date or end_date",
            }])  # fmt: skip
        start = business.today - timedelta(days=days - 1)
        params += [("start_date", start.isoformat()), ("end_date", business.today.isoformat())]
    return urlencode([("business_id", str(business.business_id)), *params])


def _days_description(target: str) -> str:
    if target in TAKES_DAYS:
        return f"The last `days` local days: passed on as the `days` of {target}, its bounds apply"
    return (
        "The last `days` local days, today included: sent on as start_date and end_date (the "
        "business's local today); refused with 422 beside either of them"
    )


def _route(legacy: str, target: str) -> None:
    @router.get(
        f"/{legacy}/{{business_id}}",
        summary=f"Deprecated: use /api/v1/analytics/{target}",
        description=(
            f"Redirects to /api/v1/analytics/{target}?business_id=..., the rest of the query "
            "string passed on unchanged but for `days` (below)."
        ),
        deprecated=True,
        status_code=307,
        response_class=RedirectResponse,
        responses={
            **ERRORS,  # type: ignore[dict-item]
            307: {"description": f"Moved to /api/v1/analytics/{target}"},
        },
        name=f"legacy_{legacy}",
    )
    async def redirect(
        request: Request,
        caller: CallerDep,
        business_id: Annotated[int, Path(gt=0, le=2**63 - 1), IdDigits],
        days: Annotated[
            int | None,
            Query(ge=1, le=MAX_DAYS, description=_days_description(target)),
            IdDigits,
            DAYS_SCHEMA,
        ] = None,
    ) -> RedirectResponse:
        business = await member_business(request, caller, business_id)
        query = _query(request, target, business, days)
        return RedirectResponse(f"/api/v1/analytics/{target}?{query}", status_code=307)


for _legacy, _target in LEGACY.items():
    _route(_legacy, _target)
