"""GET /api/v1/analytics/overview: how did we do, and is it improving."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from pulse_query_api import queries
from pulse_query_api.cache import scope_parts
from pulse_query_api.deps import CacheDep
from pulse_query_api.schemas import OverviewOut
from pulse_query_api.scope import COMPARE_DESCRIPTION, Compare, Scope, ScopeDep
from pulse_query_api.tenancy import business_session

router = APIRouter(prefix="/api/v1/analytics", tags=["overview"])
T = TypeVar("T")

ERRORS = {
    401: {"description": "No valid bearer token"},
    404: {"description": "No such business among the caller's"},
    422: {"description": "A parameter is invalid; the message names it"},
    429: {"description": "Too many requests from this token or address (see Retry-After)"},
}


@router.get(
    "/overview",
    response_model=OverviewOut,
    summary="The period at a glance, against the period before it or a year before",
    description=(
        "The summary of the period (of `platform`, or all) and of the period it is compared "
        "with (`compare`: by default the period of the same length just before it, or the "
        "same days a year earlier; `previous_period` names its days), the change between "
        "them, each platform's summary (only `platform`'s when one is named), the daily "
        "trend, the top posts and the best times. Null means not reported: a total that no "
        "post of the period reported is null, and `coverage` says which platforms each "
        "total adds up."
    ),
    responses=ERRORS,  # type: ignore[arg-type]
)
async def overview(
    scope: ScopeDep,
    cache: CacheDep,
    compare: Annotated[Compare, Query(description=COMPARE_DESCRIPTION)] = "previous",
) -> Response:
    async def build(session: AsyncSession) -> OverviewOut:
        return await build_overview(session, scope, compare)

    parts = scope_parts("overview", scope, compare=compare)
    return await cache.answer(scope.business_id, parts, build)


async def build_overview(
    session: AsyncSession, scope: Scope, compare: Compare = "previous"
) -> OverviewOut:
    """The summaries come from a few summary rows; freshness, the top posts and the best
    times each read the period's posts. Those three run beside the rest, each on its own
    connection (in a transaction of its own that sees the business: tenancy), so
    PostgreSQL works on them on several cores at once."""
    bind = session.bind
    assert isinstance(bind, AsyncConnection)

    async def on_own_connection(query: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with business_session(bind.engine, scope.business_id) as own:
            return await query(own)

    compared = scope.compared(compare)

    async def from_summaries() -> dict[str, Any]:
        summary, platforms, previous = await queries.period_summaries(session, scope, compared)
        assert previous is not None
        return {
            "summary": summary,
            "compare": compare,
            "previous_period": {
                "start_date": compared.start,
                "end_date": compared.end,
                "timezone": scope.timezone,
            },
            "previous_summary": previous,
            "change_pct": queries.change_pct(summary, previous),
            "by_platform": platforms,
            "trends": (await queries.trends(session, scope, "daily", "publish"))["trends"],
        }

    summaries, (data_as_of, stale), top_posts, best_times = await asyncio.gather(
        from_summaries(),
        on_own_connection(lambda own: queries.freshness(own, scope)),
        on_own_connection(lambda own: queries.top_posts(own, scope, limit=10)),
        on_own_connection(lambda own: queries.best_times(own, scope)),
    )
    return OverviewOut.model_validate(
        {
            "period": {
                "start_date": scope.start,
                "end_date": scope.end,
                "timezone": scope.timezone,
            },
            "platform": scope.platform,
            **summaries,
            "top_posts": top_posts,
            "best_times": best_times,
            "data_as_of": data_as_of,
            "stale_posts": stale,
        }
    )
