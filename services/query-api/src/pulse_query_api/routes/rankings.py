"""Which posts work, when to post, and the stored rolling summaries."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from pulse_query_api import queries
from pulse_query_api.cache import scope_parts
from pulse_query_api.deps import CacheDep
from pulse_query_api.routes.overview import ERRORS
from pulse_query_api.schemas import (
    BestTimesAnswerOut,
    ContentPerformanceOut,
    PlatformComparisonOut,
    SummariesOut,
    TopPostsOut,
    TrendsOut,
)
from pulse_query_api.scope import Scope, ScopeDep

router = APIRouter(prefix="/api/v1/analytics", tags=["rankings"])


def _period(scope: Scope) -> dict[str, Any]:
    return {"start_date": scope.start, "end_date": scope.end, "timezone": scope.timezone}


@router.get(
    "/top-posts",
    response_model=TopPostsOut,
    summary="The period's best posts by a metric (posts with impressions)",
    responses=ERRORS,  # type: ignore[arg-type]
)
async def top_posts(
    scope: ScopeDep,
    cache: CacheDep,
    metric: Annotated[
        Literal["engagement_rate", "likes_count", "impressions", "total_engagement"],
        Query(description="What to rank by; ties go to the older post id"),
    ] = "engagement_rate",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
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


@router.get(
    "/best-times",
    response_model=BestTimesAnswerOut,
    summary="When to post: by day of week and hour, in the business's time zone",
    description=(
        "Over the posts published in the last `days` local days (with impressions): each "
        "slot's raw mean engagement rate (`avg_engagement_rate`) and its `score`, the mean "
        f"shrunk toward the overall mean as if {queries.PRIOR_POSTS:g} posts at the overall "
        "mean had also been published there, so a slot with one lucky post cannot win. "
        "Recommendations rank (day, hour) slots by score. `confidence_score` (0-100) is "
        f"n / (n + {queries.CONFIDENCE_HALF_AT:g}) for n posts, times how many standard "
        "errors the best slot's score stands above the overall mean (capped at 1)."
    ),
    responses=ERRORS,  # type: ignore[arg-type]
)
async def best_times(
    scope: ScopeDep,
    cache: CacheDep,
    days: Annotated[int, Query(ge=7, le=90, description="How many local days back")] = 30,
) -> Response:
    async def build(session: AsyncSession) -> BestTimesAnswerOut:
        end = scope.today
        window = Scope(
            scope.business_id, scope.timezone, end - timedelta(days=days - 1), end,
            scope.platform, scope.today,
        )  # fmt: skip
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

    # The window ends today, whatever dates the request named.
    parts = scope_parts("best-times", scope, days=days, today=scope.today)
    return await cache.answer(scope.business_id, parts, build)


@router.get(
    "/summaries",
    response_model=SummariesOut,
    summary="The stored rolling summaries whose periods start in the date range",
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
    summary="Engagement, impressions and posts per period, gaps filled with zeros",
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
) -> Response:
    async def build(session: AsyncSession) -> TrendsOut:
        data_as_of, stale = await queries.freshness(session, scope)
        return TrendsOut.model_validate(
            {
                "period": _period(scope),
                "platform": scope.platform,
                "period_type": period,
                "basis": basis,
                "trends": await queries.trends(session, scope, period, basis),
                "data_as_of": data_as_of,
                "stale_posts": stale,
            }
        )

    parts = scope_parts("trends", scope, period=period, basis=basis)
    return await cache.answer(scope.business_id, parts, build)


NAMES = {"linkedin": "LinkedIn", "twitter": "X", "facebook": "Facebook", "instagram": "Instagram"}


def insights(platforms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plain sentences computed from the numbers, each carrying the numbers."""
    out: list[dict[str, Any]] = []
    rated = [p for p in platforms if p["total_impressions"] > 0]
    if len(rated) >= 2:
        best, worst = rated[0], rated[-1]
        if worst["engagement_rate"] > 0:
            ratio = best["engagement_rate"] / worst["engagement_rate"]
            out.append({
                "text": f"{NAMES[best['platform']]} posts earn {ratio:.1f}× the engagement "  # noqa: RUF001
                        f"rate of {NAMES[worst['platform']]} posts",
                "numbers": {"best": best["platform"], "best_rate": best["engagement_rate"],
                            "worst": worst["platform"], "worst_rate": worst["engagement_rate"],
                            "ratio": round(ratio, 2)},
            })  # fmt: skip
        else:
            out.append({
                "text": f"{NAMES[worst['platform']]} posts earned no engagement on their "
                        f"{worst['total_impressions']:,} impressions",
                "numbers": {"platform": worst["platform"],
                            "impressions": worst["total_impressions"]},
            })  # fmt: skip
    posted = [p for p in platforms if p["total_posts"] > 0]
    if posted:
        most = max(posted, key=lambda p: (p["total_posts"], p["platform"]))
        out.append({
            "text": f"{most['share_of_posts']:.0f}% of posts went to {NAMES[most['platform']]} "
                    f"and earned {most['share_of_engagement']:.0f}% of the engagement",
            "numbers": {"platform": most["platform"], "posts": most["total_posts"],
                        "share_of_posts": most["share_of_posts"],
                        "share_of_engagement": most["share_of_engagement"]},
        })  # fmt: skip
        reach = max(posted, key=lambda p: (p["avg_impressions"], p["platform"]))
        out.append({
            "text": f"{NAMES[reach['platform']]} posts are seen most: "
                    f"{reach['avg_impressions']:,.0f} impressions per post",
            "numbers": {"platform": reach["platform"],
                        "avg_impressions": reach["avg_impressions"]},
        })  # fmt: skip
    return out


@router.get(
    "/platform-comparison",
    response_model=PlatformComparisonOut,
    summary="Platforms ranked by engagement rate, with plain-language insights",
    responses=ERRORS,  # type: ignore[arg-type]
)
async def platform_comparison(scope: ScopeDep, cache: CacheDep) -> Response:
    async def build(session: AsyncSession) -> PlatformComparisonOut:
        platforms = await queries.by_platform(session, scope)
        platforms.sort(key=lambda p: (-p["engagement_rate"], -p["total_posts"], p["platform"]))
        rated = [p for p in platforms if p["total_impressions"] > 0]
        data_as_of, stale = await queries.freshness(session, scope)
        return PlatformComparisonOut.model_validate(
            {
                "period": _period(scope),
                "platforms": platforms,
                "best": rated[0]["platform"] if rated else None,
                "worst": rated[-1]["platform"] if len(rated) > 1 else None,
                "insights": insights(platforms),
                "data_as_of": data_as_of,
                "stale_posts": stale,
            }
        )

    parts = scope_parts("platform-comparison", scope)
    return await cache.answer(scope.business_id, parts, build)
