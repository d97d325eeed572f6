"""GET /api/v1/analytics/export: the period as CSV or JSON, in one of two shapes.

``rows=post`` (the default): every post of the period, one row each, streamed, so a million
rows go out in bounded memory. CSV is written by PostgreSQL itself (``COPY (SELECT ...) TO
STDOUT``), spreadsheet-formula neutralisation and rounding included, and relayed chunk by
chunk through small queues: formatting the rows in Python took ten times as long (330 ms
for 10,000 rows). JSON comes from a server-side cursor, in the API's names and instants.

``rows=day``: one row per local day and platform with posts, from the daily summaries (the
rows overview and trends add up, so the numbers agree): at most 366 x 4 rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse_query_api import queries
from pulse_query_api.deps import EngineDep
from pulse_query_api.post_row import POST_COLUMNS, post_fields
from pulse_query_api.routes.overview import ERRORS, build_overview
from pulse_query_api.scope import ExportScopeDep, Scope
from pulse_query_api.tenancy import (
    business_connection,
    business_session,
    driver_connection,
    set_business,
)
from pulse_shared import formulas
from pulse_shared.tables import SUMMARY_REPORTED

router = APIRouter(prefix="/api/v1/analytics", tags=["export"])

# One row per post, oldest first: its local day of publication, and the post as every
# answer reads it (post_row), in API names.
EXPORT_ROWS_SQL = f"""
SELECT (p.published_at AT TIME ZONE :tz)::date AS date, 1 AS posts, {POST_COLUMNS}
FROM {queries.PERIOD_POSTS}
ORDER BY p.published_at, p.id
"""  # noqa: S608 (our own column list; the values are bind parameters)
EXPORT_ROWS = text(EXPORT_ROWS_SQL)

# (CSV header, API name): the columns the issue names first, then the rest of the post.
COLUMNS: Sequence[tuple[str, str]] = (
    ("Date", "date"), ("Platform", "platform"), ("Posts", "posts"), ("Likes", "likes"),
    ("Comments", "comments"), ("Shares", "shares"), ("Impressions", "impressions"),
    ("Reach", "reach"), ("Clicks", "clicks"), ("Engagement Rate", "engagement_rate"),
    ("Click-Through Rate", "click_through_rate"), ("Reactions", "reactions"),
    ("Retweets", "retweets"), ("Quote Tweets", "quote_tweets"),
    ("Saves", "saves"), ("Video Views", "video_views"),
    ("Video Watch Time (s)", "video_watch_time_s"), ("Post ID", "post_id"),
    ("Platform Post ID", "platform_post_id"), ("URL", "platform_post_url"),
    ("Published At", "published_at"), ("Content Type", "content_type"),
    ("Content Preview", "content_preview"), ("Fetched At", "fetched_at"),
)  # fmt: skip
CHUNK_ROWS = 2000
QUEUED_CHUNKS = 8  # COPY output held per part while the client reads slower than the database
# A business's posts are spread over the table's pages: reading them is most of a COPY's
# time, and two COPYs over the two halves of the period, side by side, take 60% of one.
CSV_PARTS = 2
# A cell a spreadsheet would run as a formula starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SQL_STARTS = ", ".join(
    "E'" + c.replace("\t", "\\t").replace("\r", "\\r") + "'" for c in FORMULA_STARTS
)


def neutralised(column: str) -> str:
    """SQL: the text column with a quote put before what a spreadsheet would execute."""
    return f"CASE WHEN left({column}, 1) IN ({_SQL_STARTS}) THEN '''' || {column} ELSE {column} END"


def _round2(column: str) -> str:
    """SQL: formulas.round2 (half away from zero), printed as Python prints that float."""
    return f"round(CAST({column} AS numeric), 2)::double precision"


# Each CSV cell's SQL over a row ``r`` of the export query. A metric the platform did not
# report is an empty cell (COPY's CSV null), never 0. Instants are PostgreSQL's ISO form in
# UTC (``2026-10-01 23:30:00+00``: the reader connections run in UTC), which spreadsheets
# read as dates; printing them as JSON does cost an eighth of the export's time.
_CSV_CELLS = {
    "platform": neutralised("r.platform"),
    "engagement_rate": _round2("r.engagement_rate"),
    "click_through_rate": _round2("r.click_through_rate"),
    "platform_post_id": neutralised("r.platform_post_id"),
    "platform_post_url": neutralised("r.platform_post_url"),
    "content_type": neutralised("r.content_type"),
    "content_preview": neutralised("r.content_preview"),
}  # fmt: skip
# The COPY's parameters, in the order asyncpg binds them ($1..$5).
COPY_PARAMETERS = ("business_id", "since", "until", "platform", "tz")


def numbered(sql: str, names: Sequence[str]) -> str:
    """``sql`` with its :name parameters written as asyncpg's $1, $2 ... in ``names``' order
    (COPY takes no named ones), so the CSV and the JSON read one statement."""
    for number, name in enumerate(names, start=1):
        sql = re.sub(rf"(?<![:\w]):{name}\b", f"${number}", sql)
    return sql


# Built from our own constants only; the values are bind parameters ($1..$5).
EXPORT_CSV = "SELECT {cells} FROM ({rows}) r ORDER BY r.published_at, r.post_id".format(  # noqa: S608
    cells=", ".join(f'{_CSV_CELLS.get(key, "r." + key)} AS "{header}"' for header, key in COLUMNS),
    rows=numbered(EXPORT_ROWS_SQL, COPY_PARAMETERS),
)  # fmt: skip


def instant(value: datetime | None) -> str | None:
    """An instant as the API writes it: ISO 8601 in UTC with Z (2026-11-06T18:30:00Z)."""
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# What a JSON row holds of a post: the CSV's fields, the three that lead the CSV first.
_JSON_LEAD = ("date", "platform", "posts")
_JSON_FIELDS = frozenset(name for _, name in COLUMNS)


def _json_row(r: Any) -> dict[str, Any]:
    post = post_fields(r._mapping)
    row = {name: post[name] for name in _JSON_LEAD} | {
        name: value for name, value in post.items() if name in _JSON_FIELDS
    }
    row["date"] = row["date"].isoformat()
    row["published_at"] = instant(row["published_at"])
    row["fetched_at"] = instant(row["fetched_at"])
    return row


# The reader role's statements stop after seconds and its transactions may not idle (set on
# the role at install); an export streams for as long as its client reads, within these.
EXPORT_LIMITS = """
SELECT set_config('statement_timeout', '300s', true),
       set_config('idle_in_transaction_session_timeout', '300s', true)
"""


async def _rows(engine: AsyncEngine, scope: Scope) -> AsyncIterator[list[dict[str, Any]]]:
    # Its own connection: the response streams after the request's session has closed.
    async with business_connection(engine, scope.business_id) as conn:
        await conn.execute(text(EXPORT_LIMITS))
        result = await conn.stream(
            EXPORT_ROWS.execution_options(yield_per=CHUNK_ROWS), queries.scope_params(scope)
        )
        async for chunk in result.partitions(CHUNK_ROWS):
            yield [_json_row(r) for r in chunk]


def spans(since: datetime, until: datetime, parts: int) -> list[tuple[datetime, datetime]]:
    """[since, until) cut into ``parts`` consecutive spans of equal length."""
    step = (until - since) / parts
    cuts = [since + step * i for i in range(parts)] + [until]
    return list(itertools.pairwise(cuts))


async def _csv(engine: AsyncEngine, scope: Scope) -> AsyncIterator[bytes]:
    """The period cut into CSV_PARTS consecutive spans of time, each written by a COPY of
    its own, all at once on their own connections (so on several cores) and all reading
    one snapshot; each part's output is relayed in turn, the later ones held meanwhile in
    queues of at most QUEUED_CHUNKS chunks (a full queue pauses its COPY)."""
    bound = queries.scope_params(scope)
    parts = spans(bound["since"], bound["until"], CSV_PARTS)
    queues: list[asyncio.Queue[bytes | None]] = [asyncio.Queue(QUEUED_CHUNKS) for _ in parts]
    async with contextlib.AsyncExitStack() as stack:
        # Their own connections: the response streams after the request's session closed.
        raws: list[asyncpg.Connection] = []
        for _ in parts:
            conn = await stack.enter_async_context(engine.connect())
            raw = await driver_connection(conn)
            await stack.enter_async_context(
                raw.transaction(isolation="repeatable_read", readonly=True)
            )
            raws.append(raw)
        # One moment for the whole file: the other parts take the first one's snapshot.
        snapshot = await raws[0].fetchval("SELECT pg_export_snapshot()")
        for raw in raws[1:]:
            await raw.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        # After the snapshots (SET TRANSACTION SNAPSHOT must come first), with the business
        # (tenancy) in the same round trip.
        for raw in raws:
            await raw.execute(f"{EXPORT_LIMITS}; {set_business(scope.business_id)}")

        async def copy(index: int) -> None:
            queue = queues[index]

            async def keep(data: bytes | bytearray | memoryview) -> None:
                await queue.put(bytes(data))  # a copy: asyncpg may reuse its buffer

            try:
                values = {**bound, "since": parts[index][0], "until": parts[index][1]}
                await raws[index].copy_from_query(
                    EXPORT_CSV, *(values[name] for name in COPY_PARAMETERS),
                    output=keep, format="csv", header=index == 0,
                )  # fmt: skip
            finally:
                await queue.put(None)

        tasks = [asyncio.create_task(copy(i)) for i in range(len(parts))]
        try:
            for queue, task in zip(queues, tasks, strict=True):
                while (chunk := await queue.get()) is not None:
                    yield chunk
                await task  # raises what its COPY raised
        finally:
            for task in tasks:
                if not task.done():  # the client went away: stop the COPYs
                    task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


# The per-day export: the daily summary rows of each platform, the numbers every other
# answer adds up. A metric no post of the day reported (reported_<metric> = 0) is empty
# (null), not the 0 its total reads.
_day_cells = ", ".join(
    f"CASE WHEN s.reported_{name} > 0 THEN s.total_{name} END AS {name}"
    for name in SUMMARY_REPORTED
)
_day_rate = formulas.sql_weighted_engagement_rate(
    "s.total_likes + s.total_comments + s.total_shares", "s.total_impressions"
)
DAY_ROWS = text(f"""
SELECT s.period_start AS date, s.platform, s.total_posts AS posts, {_day_cells},
       CASE WHEN s.total_impressions > 0 THEN {_day_rate} END AS engagement_rate
FROM analytics_summaries s
WHERE s.business_id = :business_id AND s.platform <> 'all' AND s.period_type = 'daily'
  AND (:platform = 'all' OR s.platform = :platform)
  AND s.period_start BETWEEN :start AND :end AND s.total_posts > 0
ORDER BY s.period_start, s.platform
""")  # noqa: S608
DAY_COLUMNS: Sequence[tuple[str, str]] = (
    ("Date", "date"), ("Platform", "platform"), ("Posts", "posts"), ("Likes", "likes"),
    ("Comments", "comments"), ("Shares", "shares"), ("Impressions", "impressions"),
    ("Reach", "reach"), ("Clicks", "clicks"), ("Engagement Rate", "engagement_rate"),
)  # fmt: skip


async def day_rows(engine: AsyncEngine, scope: Scope) -> list[dict[str, Any]]:
    """The per-day rows, in API names (``date`` a local date, rates rounded)."""
    async with business_connection(engine, scope.business_id) as conn:
        result = await conn.execute(DAY_ROWS, queries.scope_params(scope))
        rows = [dict(r._mapping) for r in result]
    for row in rows:
        row["date"] = row["date"].isoformat()
        row["engagement_rate"] = formulas.round2(row["engagement_rate"])
    return rows


def _cell(value: object) -> object:
    """A number as the per-post CSV (PostgreSQL) prints it: 5, not 5.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _day_csv(rows: list[dict[str, Any]]) -> Iterator[bytes]:
    """No free text in these rows (dates, platform names, numbers): nothing to neutralise."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header for header, _ in DAY_COLUMNS)
    for row in rows:
        writer.writerow(_cell(row[name]) for _, name in DAY_COLUMNS)
    yield out.getvalue().encode()


async def _json(
    overview: bytes, key: str, chunks: AsyncIterator[list[dict[str, Any]]]
) -> AsyncIterator[bytes]:
    yield b'{"overview": ' + overview + b', "' + key.encode() + b'": ['
    first = True
    async for rows in chunks:
        for row in rows:
            yield (b"" if first else b",") + json.dumps(row).encode()
            first = False
    yield b"]}"


async def _once(rows: list[dict[str, Any]]) -> AsyncIterator[list[dict[str, Any]]]:
    yield rows


_POST_HEADERS = ", ".join(header for header, _ in COLUMNS)
_POST_NAMES = ", ".join(name for _, name in COLUMNS)
_DAY_HEADERS = ", ".join(header for header, _ in DAY_COLUMNS)
_DAY_NAMES = ", ".join(name for _, name in DAY_COLUMNS)
EXPORT_DESCRIPTION = f"""`rows=post` (the default): one row per post published in the period, \
oldest first. CSV columns: {_POST_HEADERS}. Date is the local day of publication, Posts 1, \
the rates the post's own (percent), instants in UTC. JSON: `{{"overview": <the overview \
answer>, "posts": [...]}}`, each post with the same fields in the API's names ({_POST_NAMES}), \
instants ISO 8601 in UTC with Z (2026-11-06T18:30:00Z).

`rows=day`: one row per local day and platform on which that platform published, from the \
daily summaries, by date then platform name. CSV columns: {_DAY_HEADERS}; Engagement Rate is \
the day's engagement / impressions x 100. JSON: `{{"overview": ..., "days": [...]}}`, each \
day with {_DAY_NAMES}.

A metric that no post of a row reported (the platform does not give it) is an empty cell or \
null, never 0; so is a rate without impressions (and the click-through rate without reported \
clicks). A CSV text cell that a spreadsheet would run as a formula starts with a quote."""


@router.get(
    "/export",
    summary="The period as CSV or JSON: one row per post, or per local day and platform",
    description=EXPORT_DESCRIPTION,
    response_class=StreamingResponse,
    responses={
        **ERRORS,  # type: ignore[dict-item]
        403: {"description": "A viewer: exports are for analysts, admins and owners"},
        200: {
            "description": "A download named analytics_{business_id}_{date}.{format}, or "
            "analytics_{business_id}_{date}_daily.{format} for rows=day ({date}: the "
            "business's local today)",
            "content": {"text/csv": {}, "application/json": {}},
        },
    },
)
async def export(
    engine: EngineDep,
    scope: ExportScopeDep,
    format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
    rows: Annotated[
        Literal["post", "day"],
        Query(description="post: one row per post; day: one row per local day and platform"),
    ] = "post",
) -> StreamingResponse:
    suffix = "_daily" if rows == "day" else ""
    filename = f"analytics_{scope.business_id}_{scope.today.isoformat()}{suffix}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    days = await day_rows(engine, scope) if rows == "day" else None
    if format == "csv":
        body = _day_csv(days) if days is not None else _csv(engine, scope)
        return StreamingResponse(body, media_type="text/csv", headers=headers)
    async with business_session(engine, scope.business_id) as session:
        overview = (await build_overview(session, scope)).model_dump_json().encode()
    chunks = _once(days) if days is not None else _rows(engine, scope)
    return StreamingResponse(
        _json(overview, "days" if days is not None else "posts", chunks),
        media_type="application/json",
        headers=headers,
    )
