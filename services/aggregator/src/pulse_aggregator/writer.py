"""The aggregator's unit of work: one batch of events written in one transaction, with
set-based SQL (arrays ``unnest``-ed into ``INSERT ... SELECT ... ON CONFLICT``), never
one statement per event.

Why it is exact under duplicates, reordering and replays: every metrics event is a
cumulative snapshot, stored once per (post, observed_at) in ``post_metric_snapshots``
(the first one wins); ``post_analytics`` only ever moves to a *newer* snapshot, and a
post that arrives after its snapshots takes the newest stored one. Every change records
the moments it touched in ``summary_pending_moments``, in the same transaction; the
summaries of those periods are recomputed from the source rows by
``refresh_pending_summaries``, which the consumer runs every few seconds and whenever it
is idle (``pulse_shared.summaries``). ``activity_daily`` is moved in the batch's own
transaction, by what the batch changes to each post's day-ends and to where its first
snapshot counts (the attribution rule of ``pulse_shared.summaries``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from pulse_aggregator import metrics
from pulse_aggregator.records import EventBatch
from pulse_shared import formulas, summaries
from pulse_shared.events import METRIC_NAMES, Event
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

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(
            self.posts_upserted + other.posts_upserted,
            self.snapshots_inserted + other.snapshots_inserted,
            self.analytics_upserted + other.analytics_upserted,
            self.accounts_inserted + other.accounts_inserted,
        )


class EventsRefused(Exception):
    """The database refused the batch's data itself (not a failure of the database): the
    same events would fail again, so the batch is split to find the one to dead-letter."""


class AnalyticsWriter(Protocol):
    async def write(self, batch: EventBatch) -> WriteResult: ...

    async def refresh_summaries(self) -> frozenset[int]: ...


UPSERT_BUSINESSES = """
INSERT INTO businesses (id)
SELECT DISTINCT t.id FROM unnest($1::bigint[]) AS t(id)
WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = t.id)
ON CONFLICT (id) DO NOTHING
"""

# The last posts.published event of a post in the batch wins (ord = position in batch).
# A post whose publish time moved touches both its old and its new periods.
UPSERT_POSTS = """
WITH input AS (
    SELECT DISTINCT ON (business_id, platform, platform_post_id) *
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::timestamptz[], $8::text[], $9::double precision[], $10::text[],
                $11::uuid[])
         WITH ORDINALITY AS t(business_id, platform, platform_post_id, account_id,
                              content_preview, content_type, published_at, platform_post_url,
                              video_duration_s, thumbnail_url, event_id, ord)
    ORDER BY business_id, platform, platform_post_id, ord DESC
),
old AS (
    SELECT p.business_id, p.platform, p.platform_post_id, p.published_at
    FROM published_posts p JOIN input i USING (business_id, platform, platform_post_id)
),
up AS (
    INSERT INTO published_posts AS p (business_id, platform, platform_post_id, account_id,
        content_preview, content_type, published_at, platform_post_url, video_duration_s,
        thumbnail_url, event_id)
    SELECT business_id, platform, platform_post_id, account_id, content_preview,
           content_type, published_at, platform_post_url, video_duration_s, thumbnail_url,
           event_id
    FROM input
    ON CONFLICT (business_id, platform, platform_post_id) DO UPDATE SET
        account_id = EXCLUDED.account_id,
        content_preview = EXCLUDED.content_preview,
        content_type = EXCLUDED.content_type,
        published_at = EXCLUDED.published_at,
        platform_post_url = EXCLUDED.platform_post_url,
        video_duration_s = EXCLUDED.video_duration_s,
        thumbnail_url = EXCLUDED.thumbnail_url,
        event_id = EXCLUDED.event_id,
        updated_at = now()
    WHERE p.event_id IS DISTINCT FROM EXCLUDED.event_id
    RETURNING p.business_id, p.platform, p.platform_post_id, p.published_at
),
moments AS (
    INSERT INTO summary_pending_moments (business_id, platform, at)
    SELECT business_id, platform, published_at FROM up
    UNION ALL
    SELECT o.business_id, o.platform, o.published_at
    FROM old o JOIN up u USING (business_id, platform, platform_post_id)
    WHERE o.published_at <> u.published_at
)
SELECT u.business_id, u.platform, u.platform_post_id, u.published_at,
       o.published_at AS old_published_at
FROM up u LEFT JOIN old o USING (business_id, platform, platform_post_id)
"""

# A post gone from the platform keeps its history; the earliest removal seen wins, so a
# replay or a duplicate changes nothing. Ingest announces a removal only for a post it
# tracked from posts.published.v1 and then polled, so the post is normally stored first;
# a removal read before its post (a rebuild reading both topics from offset zero) matches
# no row and the post stays unmarked (its polling has stopped either way).
MARK_POSTS_REMOVED = """
UPDATE published_posts p SET removed_at = r.removed_at, updated_at = now()
FROM (
    SELECT business_id, platform, platform_post_id, min(removed_at) AS removed_at
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[])
         AS t(business_id, platform, platform_post_id, removed_at)
    GROUP BY business_id, platform, platform_post_id
) r
WHERE p.business_id = r.business_id AND p.platform = r.platform
  AND p.platform_post_id = r.platform_post_id
  AND (p.removed_at IS NULL OR p.removed_at > r.removed_at)
"""

_snapshot_cols = ", ".join(METRIC_COLS)
_snapshot_params = ", ".join(f"${i}::{kind}" for i, kind in enumerate(_METRIC_ARRAY_TYPES, start=7))
_unnest_metrics = f"""unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[],
                      $5::text[], $6::uuid[], {_snapshot_params})
         WITH ORDINALITY AS t(business_id, platform, platform_post_id, observed_at, source,
                              event_id, {_snapshot_cols}, ord)"""


def _analytics_values(alias: str) -> str:
    rate = formulas.sql_engagement_rate(
        f"{alias}.likes_count", f"{alias}.comments_count", f"{alias}.shares_count",
        f"{alias}.impressions",
    )  # fmt: skip
    ctr = formulas.sql_click_through_rate(f"{alias}.clicks", f"{alias}.impressions")
    cols = ", ".join(f"{alias}.{c}" for c in METRIC_COLS)
    return f"{cols}, {rate}, {ctr}, {alias}.observed_at"


_set_metrics = ",\n        ".join(f"{c} = EXCLUDED.{c}" for c in METRIC_COLS)
_ANALYTICS_UPSERT_TAIL = f"""
    ON CONFLICT (business_id, post_id) DO UPDATE SET
        platform_post_url = EXCLUDED.platform_post_url,
        {_set_metrics},
        engagement_rate = EXCLUDED.engagement_rate,
        click_through_rate = EXCLUDED.click_through_rate,
        fetched_at = EXCLUDED.fetched_at,
        updated_at = now()
    WHERE a.fetched_at < EXCLUDED.fetched_at
       OR a.platform_post_url IS DISTINCT FROM EXCLUDED.platform_post_url
    RETURNING a.business_id, a.platform, a.post_id
"""
_ANALYTICS_INSERT = f"""
    INSERT INTO post_analytics AS a (business_id, post_id, platform, platform_post_id,
        platform_post_url, {_snapshot_cols}, engagement_rate, click_through_rate, fetched_at)"""
_TOUCH_CHANGED_POSTS = """,
moments AS (
    INSERT INTO summary_pending_moments (business_id, platform, at)
    SELECT u.business_id, u.platform, p.published_at
    FROM up u JOIN published_posts p ON p.business_id = u.business_id AND p.id = u.post_id
)
SELECT count(*) FROM up
"""

# activity_daily (pulse_shared.summaries) moves by what the stored snapshots (``ins``)
# change to each post's day-ends, summed per platform and local day: directly from the new
# snapshots when they all follow the newest stored one (polls in order, the usual case),
# otherwise as the difference of the post's contributions after and before the batch.
_values = summaries.ACTIVITY_VALUES
_gains = tuple(summaries.ACTIVITY_GAINS.values())
_reported = summaries.ACTIVITY_REPORTED
_activity_sums = ", ".join(f"sum({c})::bigint" for c in summaries.ACTIVITY_COUNTS)
_activity_add = ", ".join(f"{c} = a.{c} + EXCLUDED.{c}" for c in summaries.ACTIVITY_COUNTS)
_signed = ",\n           ".join(f"CASE WHEN after THEN {c} ELSE -{c} END" for c in _values)
_key = "business_id, platform, platform_post_id"
_known_gains = ",\n           ".join(
    [f"d.{c} - COALESCE(lag(d.{c}) OVER w, t.{c}) AS {c}" for c in _gains]
    + [f"d.{c} - CASE WHEN d.day = t.stored_day THEN t.{c} ELSE 0 END AS {c}" for c in _reported]
)
_day_gains = summaries.activity_gains("d", "COALESCE(lag(d.{c}) OVER w, 0)")

# Adds the rows of ``moves`` (business_id, platform, day, then ACTIVITY_COUNTS) to
# activity_daily, in one order for every writer so that two never wait on each other's rows
# in a cycle; the rows it leaves empty are counted (DELETE_EMPTY_ACTIVITY).
_ADD_MOVES = f"""activity AS (
    INSERT INTO activity_daily AS a (business_id, platform, day,
                                     {", ".join(summaries.ACTIVITY_COUNTS)})
    SELECT business_id, platform, day, {_activity_sums}
    FROM moves
    GROUP BY business_id, platform, day
    ORDER BY business_id, platform, day
    ON CONFLICT (business_id, platform, day) DO UPDATE SET {_activity_add}
    RETURNING a.active_posts = 0 AND a.attributed_posts = 0 AS emptied
)"""

_ACTIVITY_CTES = f"""local AS (
    SELECT i.business_id, i.platform, i.platform_post_id, i.observed_at, b.timezone,
           (i.observed_at AT TIME ZONE b.timezone)::date AS day,
           {summaries.activity_values("i")}
    FROM ins i JOIN businesses b ON b.id = i.business_id
),
-- The common case needs no snapshot read (``known``): the batch's snapshots of the post
-- are all newer than the newest stored one, which post_analytics shows (``fetched_at``
-- and its numbers). Each new day then gains its day-end minus the day-end before it, the
-- first one minus post_analytics' numbers, whatever the stored snapshots before were; the
-- post becomes active on every new day but the stored newest one's (it already is), whose
-- reported counts move from the old day-end's to the new one's. The first snapshot, and
-- so what it counts on the publish day, is stored already and does not change.
-- So a post polled every 15 minutes costs no re-read of the day's snapshots at each poll.
window_of AS (
    SELECT w.*, COALESCE(a.fetched_at < w.first_new, false) AS known,
           (a.fetched_at AT TIME ZONE w.timezone)::date AS stored_day,
           {summaries.activity_values("a")}
    FROM (
        SELECT {_key}, timezone, min(day)::timestamp AT TIME ZONE timezone AS starts,
               min(observed_at) AS first_new
        FROM local GROUP BY {_key}, timezone
    ) w
    LEFT JOIN post_analytics a
      ON a.business_id = w.business_id AND a.platform = w.platform
     AND a.platform_post_id = w.platform_post_id
),
new_day_ends AS (
    SELECT DISTINCT ON ({_key}, day) *
    FROM local
    ORDER BY {_key}, day, observed_at DESC
),
known_gains AS (
    SELECT d.business_id, d.platform, d.day,
           CASE WHEN d.day = t.stored_day THEN 0 ELSE 1 END AS active_posts,
           0 AS attributed_posts,
           {_known_gains}
    FROM new_day_ends d
    JOIN window_of t USING ({_key})
    WHERE t.known
    WINDOW w AS (PARTITION BY d.business_id, d.platform, d.platform_post_id ORDER BY d.day)
),
-- Otherwise (snapshots older than a stored one, or a post without post_analytics yet):
-- per post, from the local day of its earliest new snapshot on, its day-ends and gains
-- *before* the batch (the stored snapshots, which every CTE of the statement sees without
-- this batch's rows) and *after* it (those plus the new ones), each day's gain measured
-- from the previous day-end or from the last snapshot before the window.
stored AS (
    SELECT s.business_id, s.platform, s.platform_post_id,
           (s.observed_at AT TIME ZONE t.timezone)::date AS day, s.observed_at,
           {summaries.activity_values("s")}
    FROM window_of t
    JOIN post_metric_snapshots s
      ON s.business_id = t.business_id AND s.platform = t.platform
     AND s.platform_post_id = t.platform_post_id AND s.observed_at >= t.starts
    WHERE NOT t.known
),
-- The last snapshot before the window, as a day-end on day -infinity of both versions, so
-- that lag() measures the window's first day from it (none: from zero).
baseline AS (
    SELECT t.business_id, t.platform, t.platform_post_id, '-infinity'::date AS day,
           '-infinity'::timestamptz AS observed_at, b.*
    FROM window_of t
    CROSS JOIN LATERAL (
        SELECT {summaries.activity_values("s")} FROM post_metric_snapshots s
        WHERE s.business_id = t.business_id AND s.platform = t.platform
          AND s.platform_post_id = t.platform_post_id AND s.observed_at < t.starts
        ORDER BY s.observed_at DESC LIMIT 1
    ) b
    WHERE NOT t.known
),
observed AS (
    SELECT false AS after, * FROM stored
    UNION ALL
    SELECT true, * FROM stored
    UNION ALL
    SELECT true, l.business_id, l.platform, l.platform_post_id, l.day, l.observed_at,
           {", ".join(f"l.{c}" for c in _values)}
    FROM local l JOIN window_of t USING ({_key})
    WHERE NOT t.known
),
-- Without a baseline the window holds the post's first snapshot (of each version): it
-- also counts as a day-end of the post's publish day when that is earlier (the
-- attribution rule, pulse_shared.summaries). With one, the first snapshot is older than
-- the window and stays as it was.
origins AS (
    SELECT f.after, f.business_id, f.platform, f.platform_post_id,
           {summaries.origin_day("p.published_at", "t.timezone")} AS day,
           '-infinity'::timestamptz AS observed_at, {", ".join(f"f.{c}" for c in _values)}
    FROM (
        SELECT DISTINCT ON (after, {_key}) * FROM observed
        ORDER BY after, {_key}, observed_at
    ) f
    JOIN window_of t USING ({_key})
    JOIN published_posts p USING ({_key})
    WHERE {summaries.origin_day("p.published_at", "t.timezone")} < f.day
      AND NOT EXISTS (SELECT 1 FROM baseline b WHERE (b.business_id, b.platform,
                      b.platform_post_id) = (f.business_id, f.platform, f.platform_post_id))
),
versions AS (
    SELECT *, 0 AS attributed FROM observed
    UNION ALL
    SELECT *, 1 FROM origins
    UNION ALL
    SELECT false, *, 0 FROM baseline
    UNION ALL
    SELECT true, *, 0 FROM baseline
),
day_ends AS (
    SELECT DISTINCT ON (after, {_key}, day) *
    FROM versions
    ORDER BY after, {_key}, day, observed_at DESC
),
gains AS (
    SELECT * FROM (
        SELECT d.after, d.business_id, d.platform, d.day, d.attributed,
               {_day_gains}
        FROM day_ends d
        WINDOW w AS (PARTITION BY d.after, d.business_id, d.platform, d.platform_post_id
                     ORDER BY d.day)
    ) g
    WHERE g.day <> '-infinity'
),
-- What the batch adds per platform and day: the known posts' gains, and the others'
-- after-minus-before.
moves AS (
    SELECT * FROM known_gains
    UNION ALL
    SELECT business_id, platform, day,
           CASE WHEN after THEN 1 - attributed ELSE attributed - 1 END,
           CASE WHEN after THEN attributed ELSE -attributed END,
           {_signed}
    FROM gains
),
{_ADD_MOVES}"""

# A post stored, or moved to another publish time, moves what its first stored snapshot
# counts on its publish day (the attribution rule): off the old publish day (-1) and onto
# the new one (+1), the day of that first snapshot then gaining the difference. Runs after
# the posts are written and before the batch's snapshots are (which see the new times).
_moved_values = ", ".join(f"sign * {c} AS {c}" for c in _values)
_first_day_back = ", ".join([f"-sign * {c}" for c in _gains] + ["0" for _ in _reported])
MOVE_ATTRIBUTION_OF_POSTS = f"""
WITH moved AS (
    SELECT c.business_id, c.platform, c.platform_post_id, v.sign, b.timezone,
           {summaries.origin_day("v.published_at", "b.timezone")} AS origin
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
         AS c(business_id, platform, platform_post_id, old_at, new_at)
    JOIN businesses b ON b.id = c.business_id
    CROSS JOIN LATERAL (VALUES (-1, c.old_at), (1, c.new_at)) v(sign, published_at)
    WHERE v.published_at IS NOT NULL AND c.old_at IS DISTINCT FROM c.new_at
),
firsts AS (
    SELECT m.business_id, m.platform, m.origin, m.sign, f.*
    FROM moved m
    CROSS JOIN LATERAL (
        SELECT (s.observed_at AT TIME ZONE m.timezone)::date AS first_day,
               {summaries.activity_values("s")}
        FROM post_metric_snapshots s
        WHERE s.business_id = m.business_id AND s.platform = m.platform
          AND s.platform_post_id = m.platform_post_id
        ORDER BY s.observed_at LIMIT 1
    ) f
    WHERE m.origin < f.first_day
),
moves AS (
    SELECT business_id, platform, origin AS day, 0 AS active_posts, sign AS attributed_posts,
           {_moved_values}
    FROM firsts
    UNION ALL
    SELECT business_id, platform, first_day, 0, 0, {_first_day_back}
    FROM firsts
),
{_ADD_MOVES}
SELECT count(*) FILTER (WHERE emptied) FROM activity
"""

# Snapshots are appended; of two events for one post and instant the first (lowest
# position in the batch, or already stored) wins. post_analytics of known posts then moves
# to the newest snapshot this batch *stored*, if it is newer than the one it shows: a
# batch snapshot that lost to a stored one at the same instant must not be shown.
INSERT_SNAPSHOTS_AND_UPSERT_ANALYTICS = f"""
WITH ins AS (
    INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, observed_at,
                                       source, event_id, {_snapshot_cols})
    SELECT DISTINCT ON (business_id, platform, platform_post_id, observed_at)
           business_id, platform, platform_post_id, observed_at, source, event_id,
           {_snapshot_cols}
    FROM {_unnest_metrics}
    ORDER BY business_id, platform, platform_post_id, observed_at, ord
    ON CONFLICT DO NOTHING
    RETURNING business_id, platform, platform_post_id, observed_at, {_snapshot_cols}
),
latest AS (
    SELECT DISTINCT ON (business_id, platform, platform_post_id) *
    FROM ins
    ORDER BY business_id, platform, platform_post_id, observed_at DESC
),
up AS ({_ANALYTICS_INSERT}
    SELECT p.business_id, p.id, p.platform, p.platform_post_id, p.platform_post_url,
           {_analytics_values("l")}
    FROM latest l JOIN published_posts p USING (business_id, platform, platform_post_id)
    {_ANALYTICS_UPSERT_TAIL}
),
moments AS (
    INSERT INTO summary_pending_moments (business_id, platform, at)
    SELECT u.business_id, u.platform, p.published_at
    FROM up u JOIN published_posts p ON p.business_id = u.business_id AND p.id = u.post_id
),
{_ACTIVITY_CTES}
SELECT (SELECT count(*) FROM ins) AS snapshots, (SELECT count(*) FROM up) AS analytics,
       (SELECT count(*) FILTER (WHERE emptied) FROM activity) AS emptied
"""

# Posts that are new or changed take their newest stored snapshot (which may have come
# before the post did).
REFRESH_ANALYTICS_OF_POSTS = f"""
WITH up AS ({_ANALYTICS_INSERT}
    SELECT p.business_id, p.id, p.platform, p.platform_post_id, p.platform_post_url,
           {_analytics_values("s")}
    FROM unnest($1::bigint[], $2::text[], $3::text[]) AS k(business_id, platform, platform_post_id)
    JOIN published_posts p USING (business_id, platform, platform_post_id)
    CROSS JOIN LATERAL (
        SELECT * FROM post_metric_snapshots s
        WHERE s.business_id = p.business_id AND s.platform = p.platform
          AND s.platform_post_id = p.platform_post_id
        ORDER BY s.observed_at DESC
        LIMIT 1
    ) s
    {_ANALYTICS_UPSERT_TAIL}
)
{_TOUCH_CHANGED_POSTS}"""

# A new follower observation touches its own period and the period of the account's next
# observation, whose growth is measured from it.
INSERT_ACCOUNT_SNAPSHOTS = """
WITH input AS (
    SELECT DISTINCT ON (business_id, platform, account_id, observed_at) *
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[],
                $6::uuid[])
         WITH ORDINALITY AS t(business_id, platform, account_id, observed_at, followers,
                              event_id, ord)
    ORDER BY business_id, platform, account_id, observed_at, ord
),
ins AS (
    INSERT INTO account_snapshots (business_id, platform, account_id, observed_at, followers,
                                   event_id)
    SELECT business_id, platform, account_id, observed_at, followers, event_id FROM input
    ON CONFLICT DO NOTHING
    RETURNING business_id, platform, account_id, observed_at
),
moments AS (
    INSERT INTO summary_pending_moments (business_id, platform, at)
    SELECT business_id, platform, observed_at FROM ins
    UNION ALL
    SELECT i.business_id, i.platform, n.observed_at
    FROM ins i
    CROSS JOIN LATERAL (
        SELECT s.observed_at FROM account_snapshots s
        WHERE s.business_id = i.business_id AND s.platform = i.platform
          AND s.account_id = i.account_id AND s.observed_at > i.observed_at
        ORDER BY s.observed_at LIMIT 1
    ) n
)
SELECT count(*) FROM ins
"""


def _columns(events: Sequence[Event], *fields: str) -> list[list[Any]]:
    """The events' fields as one array per field, the shape ``unnest`` takes."""
    return [[getattr(e, f) for e in events] for f in fields]


def _metric_arrays(events: Sequence[Event]) -> list[list[Any]]:
    return [[getattr(e.metrics, name) for e in events] for name in METRIC_NAMES]  # type: ignore[attr-defined]


async def prepare_connection(conn: asyncpg.Connection) -> None:
    """Per-connection set-up: the scratch tables of the summary refresh."""
    await conn.execute(summaries.SETUP_SQL)


class _Stage:
    """Times one step of the write into the stage histogram."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        metrics.STAGE_SECONDS.labels(self._name).observe(time.perf_counter() - self._started)


class PostgresAnalyticsWriter:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def write(self, batch: EventBatch) -> WriteResult:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                return await self._write(conn, batch)
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
            raise EventsRefused(f"{type(exc).__name__}: {exc}") from exc

    async def _write(self, conn: asyncpg.Connection, batch: EventBatch) -> WriteResult:
        posts, snapshots, accounts = batch.posts, batch.metrics, batch.accounts
        business_ids = sorted(batch.business_ids())
        with _Stage("businesses"):
            await conn.execute(UPSERT_BUSINESSES, business_ids)
            await conn.execute(summaries.LOCK_TIMEZONES_SHARED, business_ids)

        changed_posts: list[asyncpg.Record] = []
        if posts:
            with _Stage("posts"):
                changed_posts = await conn.fetch(
                    UPSERT_POSTS,
                    *_columns(posts, "business_id", "platform", "platform_post_id", "account_id"),
                    [e.content[:CONTENT_PREVIEW_CHARS] for e in posts],
                    *_columns(
                        posts,
                        "content_type",
                        "published_at",
                        "platform_post_url",
                        "video_duration_s",
                        "thumbnail_url",
                        "event_id",
                    ),
                )

        emptied = 0
        if changed_posts:
            with _Stage("attribution"):
                emptied += await conn.fetchval(
                    MOVE_ATTRIBUTION_OF_POSTS,
                    *(
                        [r[c] for r in changed_posts]
                        for c in (
                            "business_id",
                            "platform",
                            "platform_post_id",
                            "old_published_at",
                            "published_at",
                        )
                    ),
                )

        if batch.removals:
            with _Stage("removals"):
                await conn.execute(
                    MARK_POSTS_REMOVED,
                    *_columns(
                        batch.removals,
                        "business_id",
                        "platform",
                        "platform_post_id",
                        "removed_at",
                    ),
                )

        snapshots_inserted = analytics_upserted = 0
        if snapshots:
            arrays = [
                *_columns(
                    snapshots,
                    "business_id",
                    "platform",
                    "platform_post_id",
                    "observed_at",
                    "source",
                    "event_id",
                ),
                *_metric_arrays(snapshots),
            ]
            first = min(e.observed_at for e in snapshots)
            last = max(e.observed_at for e in snapshots)
            with _Stage("snapshots"):
                await conn.execute("SELECT pulse_ensure_snapshot_partitions($1, $2)", first, last)
                counts = await conn.fetchrow(INSERT_SNAPSHOTS_AND_UPSERT_ANALYTICS, *arrays)
                snapshots_inserted, analytics_upserted = counts["snapshots"], counts["analytics"]
                emptied += counts["emptied"]
        if emptied:  # rare: an attribution moved off a day nothing else counts on
            await conn.execute(summaries.DELETE_EMPTY_ACTIVITY, business_ids)

        if changed_posts:
            with _Stage("analytics"):
                analytics_upserted += await conn.fetchval(
                    REFRESH_ANALYTICS_OF_POSTS,
                    [r["business_id"] for r in changed_posts],
                    [r["platform"] for r in changed_posts],
                    [r["platform_post_id"] for r in changed_posts],
                )

        accounts_inserted = 0
        if accounts:
            with _Stage("accounts"):
                accounts_inserted = await conn.fetchval(
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

        return WriteResult(
            len(changed_posts), snapshots_inserted, analytics_upserted, accounts_inserted
        )

    async def refresh_summaries(self) -> frozenset[int]:
        """Recompute the summaries of every pending moment; returns the businesses whose
        summaries were recomputed."""
        with _Stage("summaries"):
            async with self._pool.acquire() as conn:
                return (await summaries.refresh_pending(conn)).businesses
