"""The paths of the original API, redirected (307, query string kept) to their successors,
so old clients keep working while they move."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse

router = APIRouter(prefix="/api/v1/analytics", tags=["legacy"], include_in_schema=True)

# legacy name -> the endpoint that answers it now
LEGACY = {
    "overview": "overview",
    "content": "content-performance",
    "platforms": "platform-comparison",
    "trends": "trends",
    "insights": "platform-comparison",
}


def _redirect(request: Request, target: str, business_id: int) -> RedirectResponse:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "business_id"]
    query = urlencode([("business_id", str(business_id)), *params])
    return RedirectResponse(f"/api/v1/analytics/{target}?{query}", status_code=307)


def _route(legacy: str, target: str) -> None:
    @router.get(
        f"/{legacy}/{{business_id}}",
        summary=f"Deprecated: use /api/v1/analytics/{target}",
        deprecated=True,
        status_code=307,
        response_class=RedirectResponse,
        responses={307: {"description": f"Moved to /api/v1/analytics/{target}"}},
        name=f"legacy_{legacy}",
    )
    async def redirect(request: Request, business_id: int = Path(gt=0)) -> RedirectResponse:
        return _redirect(request, target, business_id)


for _legacy, _target in LEGACY.items():
    _route(_legacy, _target)
