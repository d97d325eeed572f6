"""GET /api/v1/analytics/posts/{post_id}: one post, its latest metrics and its history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pulse_query_api.deps import EngineDep, LookupsDep
from pulse_query_api.schemas import MetricSnapshotOut, PostDetailOut
from pulse_query_api.scope import IdDigits, member_business
from pulse_query_api.tenancy import business_session
from pulse_shared import formulas
from pulse_shared.events import METRIC_NAMES
from pulse_shared.http_auth import CallerDep
from pulse_shared.tables import (
    METRIC_COLUMNS,
    post_analytics,
    post_metric_snapshots,
    published_posts,
)

router = APIRouter(prefix="/api/v1/analytics", tags=["posts"])

# A post polled on the ingest schedule collects a few hundred snapshots in 90 days.
HISTORY_LIMIT = 2000

# The post's business, told to a member of that business only: this endpoint's membership
# check. A function of the owner's (migration 0008), as the post stays behind the reader
# role's row-level security until its business is set.
MEMBER_POST_BUSINESS = "SELECT pulse_member_post_business($1, $2)"


def _rate(impressions: int | None, rate: float | None, *over: int | None) -> float | None:
    """A rate, rounded; null without impressions or when what it counts is not reported."""
    if not impressions or rate is None or any(value is None for value in over):
        return None
    return formulas.round2(rate)


def _metrics(row: Any) -> dict[str, Any]:
    return {name: row[METRIC_COLUMNS[name]] for name in METRIC_NAMES}


async def _post_and_history(
    session: AsyncSession, business_id: int, post_id: int
) -> tuple[Any, Sequence[Any]]:
    """The post with its latest metrics (None if absent), and its snapshots newest first."""
    pp, pa = published_posts, post_analytics
    metric_cols = [pa.c[METRIC_COLUMNS[n]] for n in METRIC_NAMES]
    stmt = (
        select(pp, *metric_cols, pa.c.engagement_rate, pa.c.click_through_rate, pa.c.fetched_at)
        .select_from(
            pp.outerjoin(pa, and_(pa.c.business_id == pp.c.business_id, pa.c.post_id == pp.c.id))
        )
        .where(pp.c.business_id == business_id, pp.c.id == post_id)
    )
    row = (await session.execute(stmt)).mappings().first()
    if row is None:
        return None, []
    s = post_metric_snapshots
    history_stmt = (
        select(s)
        .where(
            s.c.business_id == business_id,
            s.c.platform == row["platform"],
            s.c.platform_post_id == row["platform_post_id"],
        )
        .order_by(s.c.observed_at.desc())
        .limit(HISTORY_LIMIT)
    )
    return row, (await session.execute(history_stmt)).mappings().all()


@router.get(
    "/posts/{post_id}",
    response_model=PostDetailOut,
    summary="One post: every metric, its rates and its metric history",
    responses={
        401: {"description": "No valid bearer token"},
        404: {"description": "No such post among the caller's businesses"},
        429: {"description": "Too many requests from this token or address (see Retry-After)"},
    },
)
async def get_post(
    engine: EngineDep,
    lookups: LookupsDep,
    caller: CallerDep,
    request: Request,
    post_id: Annotated[int, Path(gt=0, le=2**63 - 1, description="Pulse's post id"), IdDigits],
) -> PostDetailOut:
    # Another business's post is as absent as a post that does not exist.
    not_found = HTTPException(status_code=404, detail=f"post {post_id} not found")
    if caller.service is not None:  # no member: its one business is searched for the post
        business_id = caller.api_token_business
    else:
        business_id = await lookups.fetchval(MEMBER_POST_BUSINESS, post_id, caller.user)
    if business_id is None or not caller.may_see(business_id):
        raise not_found
    business = await member_business(request, caller, business_id)
    async with business_session(engine, business_id) as session:
        row, history_rows = await _post_and_history(session, business_id, post_id)
    if row is None:
        raise not_found

    metrics = _metrics(row)
    likes, comments, shares = metrics["likes"], metrics["comments"], metrics["shares"]
    impressions = metrics["impressions"]
    history = []
    for h in reversed(history_rows):
        m = _metrics(h)
        history.append(
            MetricSnapshotOut(
                observed_at=h["observed_at"],
                source=h["source"],
                engagement=formulas.engagement(m["likes"], m["comments"], m["shares"]),
                engagement_rate=_rate(
                    m["impressions"],
                    formulas.engagement_rate(
                        m["likes"], m["comments"], m["shares"], m["impressions"]
                    ),
                ),
                **m,
            )
        )
    return PostDetailOut(
        timezone=business.timezone,
        post_id=row["id"],
        business_id=row["business_id"],
        platform=row["platform"],
        platform_post_id=row["platform_post_id"],
        platform_post_url=row["platform_post_url"],
        published_at=row["published_at"],
        content_type=row["content_type"],
        content_preview=row["content_preview"],
        thumbnail_url=row["thumbnail_url"],
        removed_at=row["removed_at"],
        engagement=formulas.engagement(likes, comments, shares),
        engagement_rate=_rate(impressions, row["engagement_rate"]),
        click_through_rate=_rate(impressions, row["click_through_rate"], metrics["clicks"]),
        virality=_rate(impressions, formulas.virality(shares, impressions), shares),
        video_completion=formulas.round2(
            formulas.video_completion(
                metrics["video_watch_time_s"], metrics["video_views"], row["video_duration_s"]
            )
        ),
        fetched_at=row["fetched_at"],
        history=history,
        **metrics,
    )
