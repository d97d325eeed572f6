"""GET /api/v1/analytics/export: every post of the period as CSV or JSON, streamed from a
server-side cursor, so a million rows go out in bounded memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse_query_api.deps import EngineDep, SessionDep
from pulse_query_api.routes.overview import ERRORS, build_overview
from pulse_query_api.scope import Scope, ScopeDep
from pulse_shared import formulas

router = APIRouter(prefix="/api/v1/analytics", tags=["export"])

EXPORT_ROWS = text("""
SELECT (p.published_at AT TIME ZONE :tz)::date AS day, p.platform, p.id AS post_id,
       p.platform_post_id, p.platform_post_url, p.published_at, p.content_type,
       p.content_preview, a.likes_count, a.comments_count, a.shares_count, a.reactions_count,
       a.retweets_count, a.quote_tweets_count, a.saves_count, a.impressions, a.reach,
       a.clicks, a.video_views, a.video_watch_time_s, a.engagement_rate,
       a.click_through_rate, a.fetched_at
FROM published_posts p
LEFT JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
WHERE p.business_id = :business_id AND p.published_at >= :since AND p.published_at < :until
  AND (:platform = 'all' OR p.platform = :platform)
ORDER BY p.published_at, p.id
""")

# (CSV header, row key): the columns the issue names first, then the rest of the post.
COLUMNS: Sequence[tuple[str, str]] = (
    ("Date", "day"), ("Platform", "platform"), ("Posts", "posts"), ("Likes", "likes_count"),
    ("Comments", "comments_count"), ("Shares", "shares_count"), ("Impressions", "impressions"),
    ("Reach", "reach"), ("Clicks", "clicks"), ("Engagement Rate", "engagement_rate"),
    ("Click-Through Rate", "click_through_rate"), ("Reactions", "reactions_count"),
    ("Retweets", "retweets_count"), ("Quote Tweets", "quote_tweets_count"),
    ("Saves", "saves_count"), ("Video Views", "video_views"),
    ("Video Watch Time (s)", "video_watch_time_s"), ("Post ID", "post_id"),
    ("Platform Post ID", "platform_post_id"), ("URL", "platform_post_url"),
    ("Published At", "published_at"), ("Content Type", "content_type"),
    ("Content Preview", "content_preview"), ("Fetched At", "fetched_at"),
)  # fmt: skip
CHUNK_ROWS = 2000
# A cell a spreadsheet would run as a formula starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Prefix a quote to text a spreadsheet would execute (CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _row(r: Any) -> dict[str, Any]:
    row = dict(r._mapping)
    row["posts"] = 1
    for rate in ("engagement_rate", "click_through_rate"):
        row[rate] = formulas.round2(row[rate])
    return row


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""  # not reported: empty, never 0
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return value


async def _rows(engine: AsyncEngine, scope: Scope) -> AsyncIterator[list[dict[str, Any]]]:
    since, until = scope.bounds()
    params = {
        "business_id": scope.business_id, "since": since, "until": until,
        "platform": scope.platform, "tz": scope.timezone,
    }  # fmt: skip
    # Its own connection: the response streams after the request's session has closed.
    async with engine.connect() as conn:
        result = await conn.stream(EXPORT_ROWS.execution_options(yield_per=CHUNK_ROWS), params)
        async for chunk in result.partitions(CHUNK_ROWS):
            yield [_row(r) for r in chunk]


async def _csv(engine: AsyncEngine, scope: Scope) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header for header, _ in COLUMNS])
    async for rows in _rows(engine, scope):
        for row in rows:
            writer.writerow([_csv_cell(row[key]) for _, key in COLUMNS])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


async def _json(engine: AsyncEngine, scope: Scope, overview: bytes) -> AsyncIterator[bytes]:
    yield b'{"overview": ' + overview + b', "posts": ['
    first = True
    async for rows in _rows(engine, scope):
        for row in rows:
            yield (b"" if first else b",") + json.dumps(row, default=str).encode()
            first = False
    yield b"]}"


@router.get(
    "/export",
    summary="Every post of the period, as CSV (one row per post) or JSON (with the overview)",
    response_class=StreamingResponse,
    responses={
        **ERRORS,  # type: ignore[dict-item]
        200: {
            "description": "A download named analytics_{business_id}_{date}.{format}",
            "content": {"text/csv": {}, "application/json": {}},
        },
    },
)
async def export(
    session: SessionDep,
    engine: EngineDep,
    scope: ScopeDep,
    format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
) -> StreamingResponse:
    today = datetime.now(ZoneInfo(scope.timezone)).date().isoformat()
    filename = f"analytics_{scope.business_id}_{today}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "csv":
        return StreamingResponse(_csv(engine, scope), media_type="text/csv", headers=headers)
    overview = (await build_overview(session, scope)).model_dump_json().encode()
    return StreamingResponse(
        _json(engine, scope, overview), media_type="application/json", headers=headers
    )
