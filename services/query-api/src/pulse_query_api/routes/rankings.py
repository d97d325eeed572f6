"""Which posts work, when to post, and the stored rolling summaries."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncSession

from pulse_query_api import best_times as bt
from pulse_query_api import queries
from pulse_query_api.cache import scope_parts
from pulse_query_api.deps import CacheDep
from pulse_query_api.insights import platform_insights
from pulse_query_api.routes.overview import ERRORS
from pulse_query_api.schemas import (
    BestTimesAnswerOut,
    ContentPerformanceOut,
    PlatformComparisonOut,
    SummariesOut,
    TopPostsOut,
    TrendsOut,
)
from pulse_query_api.scope import COMPARE_DESCRIPTION, Compare, Scope, ScopeDep

router = APIRouter(prefix="/api/v1/analytics", tags=["rankings"])


def _period(scope: Scope) -> dict[str, Any]:
    return {"start_date": scope.start, "end_date": scope.end, "timezone": scope.timezone}


@router.get(
    "/top-posts",
    response_model=TopPostsOut,
    summary="The period's best posts by a metric",
    description=(
        "The posts published in the period, best first by `metric`. Ranked by a count (or "
        "`engagement`), every post of the period is ranked, whatever its impressions; a post "
        "whose platform did not report that count comes after every post that did (never "
        "as 0). Ranked by `engagement_rate` or `click_through_rate`, only the posts that "
        "have the rate are ranked (impressions, and for the click-through rate reported "
        "clicks). Ties go to the lower post id."
    ),
    responses=ERRORS,  # type: ignore[arg-type]
)
async def top_posts(
    scope: ScopeDep,
    cache: CacheDep,
    metric: Annotated[
        queries.TopPostMetric, Query(description="What to rank by (a post's field name)")
    ] = "engagement_rate",
    limit: Annotated[int, Query(ge=1, le=100, description="How many posts, 1-100")] = 10,
) -> Response:
    async def build(session: AsyncSession) -> TopPostsOut:
        data_as_of, stale = await queries.freshness(session, scope)
        return TopPostsOut.model_validate(
            {
                "period": _period(scope),
                "platform": scope.platform,
                "metric": metric,
                "top_posts": await queries.top_posts(session, scope, limit=limit, metric=metric),
                "data_as_of": data_as_of,
                "stale_posts": stale,
            }
        )

    parts = scope_parts("top-posts", scope, metric=metric, limit=limit)
    return await cache.answer(scope.business_id, parts, build)


BEST_TIMES_DESCRIPTION = f"""
When to post, from the period's posts with impressions; days and hours are the business's
local ones. The period is `start_date`..`end_date` as on every analytics endpoint (default:
the last 30 local days), or the last `days` local days up to `end_date`.

**Scores.** Each post's engagement rate counts at most up to the period's outlier fence,
Q3 + {bt.OUTLIER_FENCE_IQR:g} x IQR of its rates, so one viral post counts as one very good
post. A (day, hour)'s `score` = the overall mean (`baseline_score`) + a day effect + an hour
effect + a slot effect. The day and hour effects are fitted together, each shrunk toward
the mean as if {bt.DAY_PRIOR_POSTS:g} (day) or {bt.HOUR_PRIOR_POSTS:g} (hour) more posts
at the mean had gone out then; an hour also counts its neighbours' posts at
{bt.NEIGHBOUR_WEIGHT:g} weight (23:00 and 00:00 are neighbours). What a slot's posts show
beyond its day and hour is kept shrunk as if {bt.SLOT_PRIOR_POSTS:g} more posts had matched
them. `by_day` and `by_hour` give mean + effect; `by_slot` gives all 168 cells with the
score the recommendations rank by (the heatmap); `avg_engagement_rate` is always the raw
mean of the posts there.

**Recommendations.** Windows of {" or ".join(map(str, bt.WINDOW_HOURS))} consecutive hours
of one day, each scored by the mean score of the posts published in it. Only a window of at
least {bt.MIN_WINDOW_POSTS} posts scoring above the mean is recommended: the
{bt.RECOMMENDATIONS} best that do not overlap, each with `start_hour`, `end_hour` (included)
and its best `hour`. When no window has enough posts, `recommendations` is empty,
`posts_needed` says how many more posts the busiest window needs and `message` says it in a
sentence ("Not enough posts yet (N more needed): ...").

**Confidence** (0-100) = 100 x erf(z / sqrt 2) x n / (n + {bt.CONFIDENCE_HALF_AT:g}), for the
first recommendation's n posts and z = (score - mean) / (sd / sqrt n), sd the spread of every
post's capped rate; 0 without a recommendation or when it is not above the mean.
"""


def best_times_period(scope: Scope, days: int | None, start_named: bool) -> Scope:
    """The scope's period, or the last ``days`` local days up to its end."""
    if days is None:
        return scope
    if start_named:
        raise RequestValidationError(
            [{"loc": ("query", "days"), "type": "value_error", "input": days,
              "msg": "days and start_date both name the period's start: give one"}]
        )  # fmt: skip
    start = scope.end - timedelta(days=days - 1)
    return replace(scope, start=start)


@router.get(
    "/best-times",
    response_model=BestTimesAnswerOut,
    summary="When to post: by day of week and hour, in the business's time zone",
    description=BEST_TIMES_DESCRIPTION,
    responses=ERRORS,  # type: ignore[arg-type]
)
async def best_times(
    request: Request,
    scope: ScopeDep,
    cache: CacheDep,
    days: Annotated[
        int | None,
        Query(
            ge=7,
            le=90,
            description="The last `days` local days up to end_date (default today), instead "
            "of start_date. Refused with 422 (naming days) together with start_date.",
        ),
        WithJsonSchema({"type": "integer", "minimum": 7, "maximum": 90}),  # no null in a query
    ] = None,
) -> Response:
    window = best_times_period(scope, days, "start_date" in request.query_params)

    async def build(session: AsyncSession) -> BestTimesAnswerOut:
        data_as_of, stale = await queries.freshness(session, window)
        return BestTimesAnswerOut.model_validate(
            {
                **await queries.best_times(session, window),
                "period": _period(window),
                "platform": window.platform,
                "data_as_of": data_as_of,
                "stale_posts": stale,
            }
        )

    return await cache.answer(scope.business_id, scope_parts("best-times", window), build)


@router.get(
    "/summaries",
    response_model=SummariesOut,
    summary="The stored rolling summaries whose periods start in the date range",
    description=(
        "Each stored period whole (its own first and last day, which may lie outside the "
        "range), with the summary fields: null means not reported (`coverage` names the "
        "platforms each total adds up), follower growth absolute and relative to the "
        "followers at the period's start."
    ),
    responses=ERRORS,  # type: ignore[arg-type]
)
async def summaries(
    scope: ScopeDep,
    cache: CacheDep,
    period_type: Annotated[Literal["daily", "weekly", "monthly", "yearly"], Query()] = "daily",
) -> Response:
    async def build(session: AsyncSession) -> SummariesOut:
        return SummariesOut.model_validate(
            {
                "period": _period(scope),
                "platform": scope.platform,
                "period_type": period_type,
                "summaries": await queries.stored_summaries(session, scope, period_type),
            }
        )

    parts = scope_parts("summaries", scope, period_type=period_type)
    return await cache.answer(scope.business_id, parts, build)


@router.get(
    "/content-performance",
    response_model=ContentPerformanceOut,
    summary="Text, image, video, link and carousel: posts and average metrics",
    description=(
        "Each average is over the posts of the type that reported the metric: null when none "
        "did (or there are none), never 0 for a metric the platform does not report."
    ),
    responses=ERRORS,  # type: ignore[arg-type]
)
async def content_performance(scope: ScopeDep, cache: CacheDep) -> Response:
    async def build(session: AsyncSession) -> ContentPerformanceOut:
        data_as_of, stale = await queries.freshness(session, scope)
        return ContentPerformanceOut.model_validate(
            {
                "period": _period(scope),
                "platform": scope.platform,
                "content_types": await queries.content_performance(session, scope),
                "data_as_of": data_as_of,
                "stale_posts": stale,
            }
        )

    parts = scope_parts("content-performance", scope)
    return await cache.answer(scope.business_id, parts, build)


@router.get(
    "/trends",
    response_model=TrendsOut,
    summary="Posts, engagement, reach, clicks and followers per period, and per platform",
    description=(
        "The range in local days, weeks (from Monday) or months. A week or month the range "
        "cuts is clipped to it and marked `partial`, with the `days` it covers. A period "
        "without posts counts 0; a metric that none of its posts reported is null. With "
        "`basis=activity`, what a post gathered before Pulse first observed it counts on the "
        "post's publish day when that is earlier (where else it happened is unknown), and a "
        "period holding such gains is marked `estimated`. `by_platform` splits the series "
        "by platform. With `compare`, `compared_trends` (and each platform's) is the same "
        "series over the compared period (`compared_period`): each bucket's days moved back "
        "by the period's length or by a year, so item i of both series covers days set "
        "beside each other; without it, neither is given."
    ),
    responses=ERRORS,  # type: ignore[arg-type]
)
async def trends(
    scope: ScopeDep,
    cache: CacheDep,
    period: Annotated[Literal["daily", "weekly", "monthly"], Query()] = "daily",
    basis: Annotated[
        Literal["publish", "activity"],
        Query(description="publish: by the day posts went out; activity: by the day it happened"),
    ] = "publish",
    compare: Annotated[
        Compare | None,
        Query(description=f"{COMPARE_DESCRIPTION}. Without it, no compared series"),
        WithJsonSchema({"type": "string", "enum": ["previous", "year"]}),  # no null in a query
    ] = None,
) -> Response:
    async def build(session: AsyncSession) -> TrendsOut:
        data_as_of, stale = await queries.freshness(session, scope)
        return TrendsOut.model_validate(
            {
                "period": _period(scope),
                "platform": scope.platform,
                "period_type": period,
                "basis": basis,
                **await queries.trends(session, scope, period, basis, compare),
                "data_as_of": data_as_of,
                "stale_posts": stale,
            }
        )

    parts = scope_parts("trends", scope, period=period, basis=basis, compare=compare)
    return await cache.answer(scope.business_id, parts, build)


def _ranked(p: dict[str, Any]) -> tuple[bool, float, int, str]:
    """By engagement rate, highest first; a platform without one (no impressions reported)
    after those with one."""
    rate = p["engagement_rate"]
    return (rate is None, -(rate or 0.0), -p["total_posts"], p["platform"])


@router.get(
    "/platform-comparison",
    response_model=PlatformComparisonOut,
    summary="Platforms ranked by engagement rate, with plain-language insights",
    description=(
        "Each platform with posts or follower counts in the period (`platform`: that one "
        "alone), ranked by engagement rate. Null means not reported: a metric a platform does "
        "not report is null there, never 0, and so is a rate over it."
    ),
    responses=ERRORS,  # type: ignore[arg-type]
)
async def platform_comparison(scope: ScopeDep, cache: CacheDep) -> Response:
    async def build(session: AsyncSession) -> PlatformComparisonOut:
        platforms = await queries.by_platform(session, scope)
        platforms.sort(key=_ranked)
        rated = [p for p in platforms if (p["total_impressions"] or 0) > 0]
        data_as_of, stale = await queries.freshness(session, scope)
        return PlatformComparisonOut.model_validate(
            {
                "period": _period(scope),
                "platform": scope.platform,
                "platforms": platforms,
                "best": rated[0]["platform"] if rated else None,
                "worst": rated[-1]["platform"] if len(rated) > 1 else None,
                "insights": platform_insights(platforms),
                "data_as_of": data_as_of,
                "stale_posts": stale,
            }
        )

    parts = scope_parts("platform-comparison", scope)
    return await cache.answer(scope.business_id, parts, build)
