"""GET /api/v1/analytics/overview: how did we do, and is it improving."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from pulse_query_api import queries
from pulse_query_api.cache import scope_parts
from pulse_query_api.deps import CacheDep
from pulse_query_api.schemas import OverviewOut
from pulse_query_api.scope import Scope, ScopeDep

router = APIRouter(prefix="/api/v1/analytics", tags=["overview"])

ERRORS = {
    401: {"description": "No valid bearer token"},
    404: {"description": "No such business among the caller's"},
    422: {"description": "A parameter is invalid; the message names it"},
}


@router.get(
    "/overview",
    response_model=OverviewOut,
    summary="The period at a glance, against the period before it",
    responses=ERRORS,  # type: ignore[arg-type]
)
async def overview(scope: ScopeDep, cache: CacheDep) -> Response:
    async def build(session: AsyncSession) -> OverviewOut:
        return await build_overview(session, scope)

    return await cache.answer(scope.business_id, scope_parts("overview", scope), build)


async def build_overview(session: AsyncSession, scope: Scope) -> OverviewOut:
    summary = await queries.period_summary(session, scope)
    previous = await queries.period_summary(session, scope.previous())
    data_as_of, stale = await queries.freshness(session, scope)
    return OverviewOut.model_validate(
        {
            "period": {
                "start_date": scope.start,
                "end_date": scope.end,
                "timezone": scope.timezone,
            },
            "platform": scope.platform,
            "summary": summary,
            "previous_summary": previous,
            "change_pct": queries.change_pct(summary, previous),
            "by_platform": await queries.by_platform(session, scope),
            "trends": await queries.trends(session, scope, "daily", "publish"),
            "top_posts": await queries.top_posts(session, scope, limit=10),
            "best_times": await queries.best_times(session, scope),
            "data_as_of": data_as_of,
            "stale_posts": stale,
        }
    )
