"""The aggregator's unit of work: one batch of events written in one transaction, with
set-based SQL (arrays ``unnest``-ed into ``INSERT ... SELECT ... ON CONFLICT``), never
one statement per event.

Why it is exact under duplicates, reordering and replays: every metrics event is a
cumulative snapshot, stored once per (post, observed_at) in ``post_metric_snapshots``;
``post_analytics`` is then *recomputed* from the newest stored snapshot of each post the
batch touched, so an old or repeated snapshot can never overwrite a newer one, and a
snapshot that arrived before its post is picked up when the post arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from pulse_aggregator.records import EventBatch
from pulse_shared import formulas
from pulse_shared.events import METRIC_NAMES, Event, MetricsObserved, PostPublished
from pulse_shared.tables import METRIC_COLUMNS

# How much of a post's text is kept as its preview.
CONTENT_PREVIEW_CHARS = 500

METRIC_COLS = [METRIC_COLUMNS[name] for name in METRIC_NAMES]
_METRIC_ARRAY_TYPES = [
    "double precision[]" if name == "video_watch_time_s" else "bigint[]" for name in METRIC_NAMES
]


@dataclass(frozen=True)
class WriteResult:
    posts_upserted: int
    snapshots_inserted: int
    analytics_upserted: int
    accounts_inserted: int


class AnalyticsWriter(Protocol):
    async def write(self, batch: EventBatch) -> WriteResult: ...


UPSERT_BUSINESSES = """
INSERT INTO businesses (id)
SELECT DISTINCT id FROM unnest($1::bigint[]) AS t(id)
ON CONFLICT (id) DO NOTHING
"""

# The last posts.published event of a post in the batch wins (ord = position in batch).
UPSERT_POSTS = """
INSERT INTO published_posts AS p (business_id, platform, platform_post_id, account_id,
    content_preview, content_type, published_at, platform_post_url, video_duration_s, event_id)
SELECT DISTINCT ON (business_id, platform, platform_post_id)
    business_id, platform, platform_post_id, account_id, content_preview, content_type,
    published_at, platform_post_url, video_duration_s, event_id
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::timestamptz[], $8::text[], $9::double precision[], $10::uuid[])
     WITH ORDINALITY AS t(business_id, platform, platform_post_id, account_id, content_preview,
                          content_type, published_at, platform_post_url, video_duration_s,
                          event_id, ord)
ORDER BY business_id, platform, platform_post_id, ord DESC
ON CONFLICT (business_id, platform, platform_post_id) DO UPDATE SET
    account_id = EXCLUDED.account_id,
    content_preview = EXCLUDED.content_preview,
    content_type = EXCLUDED.content_type,
    published_at = EXCLUDED.published_at,
    platform_post_url = EXCLUDED.platform_post_url,
    video_duration_s = EXCLUDED.video_duration_s,
    event_id = EXCLUDED.event_id,
    updated_at = now()
WHERE p.event_id IS DISTINCT FROM EXCLUDED.event_id
"""

_snapshot_cols = ", ".join(METRIC_COLS)
_snapshot_params = ", ".join(f"${i}::{kind}" for i, kind in enumerate(_METRIC_ARRAY_TYPES, start=7))
INSERT_SNAPSHOTS = f"""
INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, observed_at,
                                   source, event_id, {_snapshot_cols})
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
                     $6::uuid[], {_snapshot_params})
ON CONFLICT DO NOTHING
"""

_engagement_rate = formulas.sql_engagement_rate(
    "s.likes_count", "s.comments_count", "s.shares_count", "s.impressions"
)
_click_through_rate = formulas.sql_click_through_rate("s.clicks", "s.impressions")
_latest_cols = ", ".join(f"s.{c}" for c in METRIC_COLS)
_set_metrics = ",\n    ".join(f"{c} = EXCLUDED.{c}" for c in METRIC_COLS)

# Recompute post_analytics for the given posts from their newest stored snapshot.
REFRESH_POST_ANALYTICS = f"""
INSERT INTO post_analytics AS a (business_id, post_id, platform, platform_post_id,
    platform_post_url, {_snapshot_cols}, engagement_rate, click_through_rate, fetched_at)
SELECT p.business_id, p.id, p.platform, p.platform_post_id, p.platform_post_url,
       {_latest_cols}, {_engagement_rate}, {_click_through_rate}, s.observed_at
FROM (SELECT DISTINCT business_id, platform, platform_post_id
      FROM unnest($1::bigint[], $2::text[], $3::text[])
           AS k(business_id, platform, platform_post_id)) k
JOIN published_posts p USING (business_id, platform, platform_post_id)
CROSS JOIN LATERAL (
    SELECT * FROM post_metric_snapshots s
    WHERE s.business_id = p.business_id AND s.platform = p.platform
      AND s.platform_post_id = p.platform_post_id
    ORDER BY s.observed_at DESC
    LIMIT 1
) s
ON CONFLICT (business_id, post_id) DO UPDATE SET
    platform_post_url = EXCLUDED.platform_post_url,
    {_set_metrics},
    engagement_rate = EXCLUDED.engagement_rate,
    click_through_rate = EXCLUDED.click_through_rate,
    fetched_at = EXCLUDED.fetched_at,
    updated_at = now()
WHERE a.fetched_at < EXCLUDED.fetched_at
   OR a.platform_post_url IS DISTINCT FROM EXCLUDED.platform_post_url
"""

INSERT_ACCOUNT_SNAPSHOTS = """
INSERT INTO account_snapshots (business_id, platform, account_id, observed_at, followers, event_id)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[],
                     $6::uuid[])
ON CONFLICT DO NOTHING
"""


def _columns(events: Sequence[Event], *fields: str) -> list[list[Any]]:
    """The events' fields as one array per field, the shape ``unnest`` takes."""
    return [[getattr(e, f) for e in events] for f in fields]


def _metric_arrays(events: list[MetricsObserved]) -> list[list[Any]]:
    return [[getattr(e.metrics, name) for e in events] for name in METRIC_NAMES]


def _rowcount(status: str) -> int:
    """asyncpg's command status, e.g. 'INSERT 0 12', as the number of rows."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresAnalyticsWriter:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def write(self, batch: EventBatch) -> WriteResult:
        async with self._pool.acquire() as conn, conn.transaction():
            return await self._write(conn, batch)

    async def _write(self, conn: asyncpg.Connection, batch: EventBatch) -> WriteResult:
        posts, metrics, accounts = batch.posts, batch.metrics, batch.accounts
        await conn.execute(UPSERT_BUSINESSES, sorted(batch.business_ids()))

        posts_upserted = 0
        if posts:
            status = await conn.execute(
                UPSERT_POSTS,
                *_columns(posts, "business_id", "platform", "platform_post_id", "account_id"),
                [e.content[:CONTENT_PREVIEW_CHARS] for e in posts],
                *_columns(
                    posts,
                    "content_type",
                    "published_at",
                    "platform_post_url",
                    "video_duration_s",
                    "event_id",
                ),
            )
            posts_upserted = _rowcount(status)

        snapshots_inserted = 0
        if metrics:
            first = min(e.observed_at for e in metrics)
            last = max(e.observed_at for e in metrics)
            await conn.execute("SELECT pulse_ensure_snapshot_partitions($1, $2)", first, last)
            status = await conn.execute(
                INSERT_SNAPSHOTS,
                *_columns(
                    metrics,
                    "business_id",
                    "platform",
                    "platform_post_id",
                    "observed_at",
                    "source",
                    "event_id",
                ),
                *_metric_arrays(metrics),
            )
            snapshots_inserted = _rowcount(status)

        analytics_upserted = 0
        touched: list[PostPublished | MetricsObserved] = [*posts, *metrics]
        if touched:
            status = await conn.execute(
                REFRESH_POST_ANALYTICS,
                *_columns(touched, "business_id", "platform", "platform_post_id"),
            )
            analytics_upserted = _rowcount(status)

        accounts_inserted = 0
        if accounts:
            status = await conn.execute(
                INSERT_ACCOUNT_SNAPSHOTS,
                *_columns(
                    accounts,
                    "business_id",
                    "platform",
                    "account_id",
                    "observed_at",
                    "followers",
                    "event_id",
                ),
            )
            accounts_inserted = _rowcount(status)

        return WriteResult(
            posts_upserted, snapshots_inserted, analytics_upserted, accounts_inserted
        )
