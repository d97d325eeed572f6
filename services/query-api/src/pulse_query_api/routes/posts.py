"""GET /api/v1/analytics/posts/{post_id}: one post, its latest metrics and its history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from pulse_query_api.deps import EngineDep, LookupsDep
from pulse_query_api.post_row import (
    POST_COLUMNS,
    POSTS_WITH_NUMBERS,
    Row,
    metrics_as_api_names,
    post_detail_fields,
    snapshot_fields,
)
from pulse_query_api.schemas import PostDetailOut
from pulse_query_api.scope import IdDigits, member_business
from pulse_query_api.tenancy import business_session
from pulse_shared.http_auth import CallerDep

router = APIRouter(prefix="/api/v1/analytics", tags=["posts"])

# A post polled on the ingest schedule collects a few hundred snapshots in 90 days.
HISTORY_LIMIT = 2000

# The post's business, told to a member of that business only: this endpoint's membership
# check. A function of the owner's (migration 0008), as the post stays behind the reader
# role's row-level security until its business is set.
MEMBER_POST_BUSINESS = "SELECT pulse_member_post_business($1, $2)"

# The post as every answer reads it, with its video's length (for the completion rate).
POST_WITH_NUMBERS = text(f"""
SELECT {POST_COLUMNS}, p.video_duration_s
FROM {POSTS_WITH_NUMBERS}
WHERE p.business_id = :business_id AND p.id = :post_id
""")  # noqa: S608 (our own column list; the values are bind parameters)

# The post's stored snapshots, newest first (the answer lists them oldest first).
POST_SNAPSHOTS_NEWEST_FIRST = text(f"""
SELECT s.observed_at, s.source, {metrics_as_api_names("s")}
FROM post_metric_snapshots s
WHERE s.business_id = :business_id AND s.platform = :platform
  AND s.platform_post_id = :platform_post_id
ORDER BY s.observed_at DESC
LIMIT :limit
""")  # noqa: S608 (our own column list; the values are bind parameters)


async def _post_and_history(
    session: AsyncSession, business_id: int, post_id: int
) -> tuple[Row | None, Sequence[Row]]:
    """The post with its latest numbers (None if absent), and its snapshots newest first."""
    params = {"business_id": business_id, "post_id": post_id}
    row = (await session.execute(POST_WITH_NUMBERS, params)).mappings().first()
    if row is None:
        return None, []
    history = await session.execute(
        POST_SNAPSHOTS_NEWEST_FIRST,
        {**params, "platform": row["platform"], "platform_post_id": row["platform_post_id"],
         "limit": HISTORY_LIMIT},
    )  # fmt: skip
    return row, history.mappings().all()


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

    return PostDetailOut.model_validate(
        {
            **post_detail_fields(row),
            "timezone": business.timezone,
            "history": [snapshot_fields(h) for h in reversed(history_rows)],
        }
    )
