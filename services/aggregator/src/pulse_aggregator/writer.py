"""The aggregator's unit of work: one batch of events written in one transaction, with
set-based SQL (the snapshots copied into a staging table, the other events' arrays
``unnest``-ed, then ``INSERT ... SELECT ... ON CONFLICT``), never one statement per event.

Why it is exact under duplicates, reordering and replays: every metrics event is a
cumulative snapshot, stored once per (post, observed_at) in ``post_metric_snapshots``
(the first one wins); ``post_analytics`` only ever moves to a *newer* snapshot, and a
post that arrives after its snapshots takes the newest stored one. Every change of what
a post contributes to the summaries (its publish day, its post_analytics row) records its
moves, and every new follower observation its days, in the same transaction; the batch's
last statements move the platforms' day rows by them and queue their roll-ups
(``summaries.move_daily_summaries``), so a reader of day rows sees a batch's numbers from
its commit; the weeks, months, years and ``all`` rows follow from the day rows in
``refresh_summaries``, which the consumer runs every few seconds and whenever it is idle.
``activity_daily`` too is moved in the batch's own transaction by what the batch changes
(``pulse_shared.activity``).

A batch's statements, in order (each one round trip, skipped when the batch has nothing
for it): :data:`CREATE_NEW_BUSINESSES` and the time-zone lock; :data:`UPSERT_POSTS`;
``activity.MOVE_ATTRIBUTION`` for the posts stored or moved; :data:`MARK_POSTS_REMOVED`;
:data:`STORE_SNAPSHOTS` (snapshots, post_analytics and activity_daily in one statement:
the hot path); :data:`REFRESH_ANALYTICS_OF_POSTS` for the posts stored or changed;
:data:`STORE_ACCOUNT_SNAPSHOTS`; then ``summaries.move_daily_summaries`` (its lock, the
day changes, the day rows, the roll-ups queued).
"""

from __future__ import annotations

import operator
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from pulse_aggregator import metrics
from pulse_aggregator.records import EventBatch, Snapshot
from pulse_shared import activity, formulas, summaries
from pulse_shared.events import METRIC_NAMES, Event, PostPublished
from pulse_shared.tables import METRIC_COLUMNS

# How much of a post's text is kept as its preview.
CONTENT_PREVIEW_CHARS = 500

METRIC_COLS = [METRIC_COLUMNS[name] for name in METRIC_NAMES]
_POST = "business_id, platform, platform_post_id"


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

    async def refresh_summaries(self, recompute_days: bool = False) -> frozenset[int]: ...


# --- businesses --------------------------------------------------------------------------

# A business an event names for the first time is created then (with the default zone).
CREATE_NEW_BUSINESSES = """
INSERT INTO businesses (id)
SELECT DISTINCT t.id FROM unnest($1::bigint[]) AS t(id)
WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = t.id)
ON CONFLICT (id) DO NOTHING
"""

# --- posts -------------------------------------------------------------------------------

# The last posts.published event of a post in the batch wins (ord = position in batch).
_LAST_POST_EVENTS = f"""last_post_events AS (
    SELECT DISTINCT ON ({_POST}) *
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::timestamptz[], $8::text[], $9::double precision[], $10::text[],
                $11::uuid[])
         WITH ORDINALITY AS t(business_id, platform, platform_post_id, account_id,
                              content_preview, content_type, published_at, platform_post_url,
                              video_duration_s, thumbnail_url, event_id, ord)
    ORDER BY {_POST}, ord DESC
)"""

_STORED_PUBLISH_TIMES = f"""stored_publish_times AS (
    SELECT p.business_id, p.platform, p.platform_post_id, p.published_at
    FROM published_posts p JOIN last_post_events i USING ({_POST})
)"""

# A post is rewritten only by an event it has not taken yet (a replay changes nothing).
_POSTS_CHANGED = f"""posts_changed AS (
    INSERT INTO published_posts AS p ({_POST}, account_id, content_preview, content_type,
        published_at, platform_post_url, video_duration_s, thumbnail_url, event_id)
    SELECT {_POST}, account_id, content_preview, content_type, published_at,
           platform_post_url, video_duration_s, thumbnail_url, event_id
    FROM last_post_events
    ON CONFLICT ({_POST}) DO UPDATE SET
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
    RETURNING p.id, p.business_id, p.platform, p.platform_post_id, p.published_at
)"""

# A post whose publish time moved (or a new one) leaves its old day and joins its new one,
# with the numbers it has (step 1 of the batch's summary moves).
_PUBLISH_MOVES = summaries.record_moves(
    "publish_moves",
    f"""
    SELECT u.business_id, u.platform, {formulas.sql_local_day("v.published_at", "b.timezone")},
           u.id, 1, v.sign, {summaries.state_of("a")}
    FROM posts_changed u
    LEFT JOIN stored_publish_times o USING ({_POST})
    JOIN businesses b ON b.id = u.business_id
    LEFT JOIN post_analytics a ON a.business_id = u.business_id AND a.post_id = u.id
    CROSS JOIN LATERAL (VALUES (-1, o.published_at), (1, u.published_at)) v(sign, published_at)
    WHERE v.published_at IS NOT NULL AND o.published_at IS DISTINCT FROM u.published_at
""",
)

# Stores the batch's posts; answers the posts it stored or changed, with their publish
# time before (null: a new post) and now.
UPSERT_POSTS = f"""
WITH {_LAST_POST_EVENTS},
{_STORED_PUBLISH_TIMES},
{_POSTS_CHANGED},
{_PUBLISH_MOVES}
SELECT u.business_id, u.platform, u.platform_post_id, u.published_at,
       o.published_at AS old_published_at
FROM posts_changed u LEFT JOIN stored_publish_times o USING ({_POST})
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

# --- post_analytics ----------------------------------------------------------------------


def _analytics_values(alias: str) -> str:
    """A snapshot's numbers in table ``alias`` as post_analytics' values: the metrics, the
    rates (pulse_shared.formulas) and ``fetched_at``."""
    rate = formulas.sql_engagement_rate(
        f"{alias}.likes_count", f"{alias}.comments_count", f"{alias}.shares_count",
        f"{alias}.impressions",
    )  # fmt: skip
    ctr = formulas.sql_click_through_rate(f"{alias}.clicks", f"{alias}.impressions")
    cols = ", ".join(f"{alias}.{c}" for c in METRIC_COLS)
    return f"{cols}, {rate}, {ctr}, {alias}.observed_at"


_METRICS = ", ".join(METRIC_COLS)
_INSERT_ANALYTICS = f"""
    INSERT INTO post_analytics AS a (business_id, post_id, platform, platform_post_id,
        platform_post_url, {_METRICS}, engagement_rate, click_through_rate, fetched_at)"""

# post_analytics only moves forward: to a newer snapshot (or a new url).
_SET_METRICS = ",\n        ".join(f"{c} = EXCLUDED.{c}" for c in METRIC_COLS)
_TAKE_NEWER_ANALYTICS = f"""
    ON CONFLICT (business_id, post_id) DO UPDATE SET
        platform_post_url = EXCLUDED.platform_post_url,
        {_SET_METRICS},
        engagement_rate = EXCLUDED.engagement_rate,
        click_through_rate = EXCLUDED.click_through_rate,
        fetched_at = EXCLUDED.fetched_at,
        updated_at = now()
    WHERE a.fetched_at < EXCLUDED.fetched_at
       OR a.platform_post_url IS DISTINCT FROM EXCLUDED.platform_post_url
    RETURNING a.business_id, a.platform, a.post_id, {summaries.state_of("a")}
"""


def _posts_before(keys: str) -> str:
    """The CTE ``posts_before``: each post of ``keys`` (post keys, a relation ``k``) as
    stored before the statement, read once: its business's zone, the post (no ``post_id``:
    not announced yet) and its post_analytics row (no ``fetched_at``: none yet). A CTE
    reads the tables as they were before its statement, so these are the numbers each
    move starts from, whatever the statement's own writes."""
    return f"""posts_before AS (
    SELECT k.business_id, k.platform, k.platform_post_id, b.timezone,
           p.id AS post_id, p.published_at, p.platform_post_url,
           a.fetched_at, {summaries.state_of("a")}
    FROM {keys}
    JOIN businesses b ON b.id = k.business_id
    LEFT JOIN published_posts p
      ON p.business_id = k.business_id AND p.platform = k.platform
     AND p.platform_post_id = k.platform_post_id
    LEFT JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
)"""


def _analytics_moves(step: int) -> str:
    """A post whose analytics moved changes its publish day by its numbers before
    (``posts_before``) and after."""
    before, after = summaries.state_of("o"), summaries.state_of("u")
    return summaries.record_moves(
        "analytics_moves",
        f"""
    SELECT u.business_id, u.platform, {formulas.sql_local_day("o.published_at", "o.timezone")},
           u.post_id, {step}, v.*
    FROM analytics_moved u
    JOIN posts_before o ON o.business_id = u.business_id AND o.post_id = u.post_id
    CROSS JOIN LATERAL (VALUES (-1, {before}), (1, {after})) v
""",
    )


# Posts that are new or changed take their newest stored snapshot (which may have come
# before the post did).
_ANALYTICS_OF_CHANGED_POSTS = f"""analytics_moved AS ({_INSERT_ANALYTICS}
    SELECT p.business_id, p.post_id, p.platform, p.platform_post_id, p.platform_post_url,
           {_analytics_values("s")}
    FROM posts_before p
    CROSS JOIN LATERAL (
        SELECT * FROM post_metric_snapshots s
        WHERE s.business_id = p.business_id AND s.platform = p.platform
          AND s.platform_post_id = p.platform_post_id
        ORDER BY s.observed_at DESC
        LIMIT 1
    ) s
    WHERE p.post_id IS NOT NULL
    {_TAKE_NEWER_ANALYTICS}
)"""

REFRESH_ANALYTICS_OF_POSTS = f"""
WITH {_posts_before(f"unnest($1::bigint[], $2::text[], $3::text[]) AS k({_POST})")},
{_ANALYTICS_OF_CHANGED_POSTS},
{_analytics_moves(3)}
SELECT count(*) FROM analytics_moved
"""

# --- snapshots: the hot path ---------------------------------------------------------------

# The batch's snapshots arrive by binary COPY into this per-connection table (emptied at
# every commit), each with its position in the batch (``ord``): encoded, sent and read in
# a third of the time of the same rows as sixteen arrays to unnest.
_STAGED_COLUMNS = [*_POST.split(", "), "observed_at", "source", "event_id", *METRIC_COLS, "ord"]
# Its columns are post_metric_snapshots' own (their types read from the table), and ord.
STAGING_SETUP_SQL = f"""
CREATE TEMP TABLE IF NOT EXISTS staged_snapshots ON COMMIT DELETE ROWS AS
SELECT {", ".join(_STAGED_COLUMNS[:-1])}, 0::bigint AS ord FROM post_metric_snapshots
WITH NO DATA
"""

# Snapshots are appended; of two events for one post and instant the first (lowest
# position in the batch, or already stored) wins.
_NEW_SNAPSHOTS = f"""new_snapshots AS (
    INSERT INTO post_metric_snapshots ({_POST}, observed_at, source, event_id, {_METRICS})
    SELECT DISTINCT ON ({_POST}, observed_at)
           {_POST}, observed_at, source, event_id, {_METRICS}
    FROM staged_snapshots
    ORDER BY {_POST}, observed_at, ord
    ON CONFLICT DO NOTHING
    RETURNING {_POST}, observed_at, {_METRICS}
)"""

# post_analytics of known posts moves to the newest snapshot this batch *stored*, if it is
# newer than the one it shows: a batch snapshot that lost to a stored one at the same
# instant must not be shown.
_ANALYTICS_OF_NEWEST_SNAPSHOTS = f"""newest_new_snapshots AS (
    SELECT DISTINCT ON ({_POST}) *
    FROM new_snapshots
    ORDER BY {_POST}, observed_at DESC
),
analytics_moved AS ({_INSERT_ANALYTICS}
    SELECT p.business_id, p.post_id, p.platform, p.platform_post_id, p.platform_post_url,
           {_analytics_values("l")}
    FROM newest_new_snapshots l JOIN posts_before p USING ({_POST})
    WHERE p.post_id IS NOT NULL
    {_TAKE_NEWER_ANALYTICS}
)"""

_FOLLOW_INTO_ACTIVITY = ",\n".join(activity.FOLLOW_NEW_SNAPSHOTS)

# Stores the batch's snapshots and follows them into post_analytics, the pending moments
# and activity_daily, in one round trip; answers what it stored and moved.
STORE_SNAPSHOTS = f"""
WITH {_posts_before(f"(SELECT DISTINCT {_POST} FROM staged_snapshots) k")},
{_NEW_SNAPSHOTS},
{_ANALYTICS_OF_NEWEST_SNAPSHOTS},
{_analytics_moves(2)},
{_FOLLOW_INTO_ACTIVITY}
SELECT (SELECT count(*) FROM new_snapshots) AS snapshots,
       (SELECT count(*) FROM analytics_moved) AS analytics,
       (SELECT count(*) FILTER (WHERE emptied) FROM activity_added) AS emptied
"""

# --- follower counts -----------------------------------------------------------------------

# Of two observations of one account and instant, the first (in the batch, or already
# stored) wins.
_NEW_ACCOUNT_SNAPSHOTS = """first_follower_events AS (
    SELECT DISTINCT ON (business_id, platform, account_id, observed_at) *
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[],
                $6::uuid[])
         WITH ORDINALITY AS t(business_id, platform, account_id, observed_at, followers,
                              event_id, ord)
    ORDER BY business_id, platform, account_id, observed_at, ord
),
new_account_snapshots AS (
    INSERT INTO account_snapshots (business_id, platform, account_id, observed_at, followers,
                                   event_id)
    SELECT business_id, platform, account_id, observed_at, followers, event_id
    FROM first_follower_events
    ON CONFLICT DO NOTHING
    RETURNING business_id, platform, account_id, observed_at
)"""

# A new follower observation changes the growth of its own day and of the day of the
# account's next observation, which is measured from it.
_FOLLOWER_DAYS = f"""follower_days_touched AS (
    INSERT INTO follower_days (business_id, platform, day)
    SELECT m.business_id, m.platform, {formulas.sql_local_day("m.at", "b.timezone")}
    FROM (
        SELECT business_id, platform, observed_at AS at FROM new_account_snapshots
        UNION ALL
        SELECT i.business_id, i.platform, n.observed_at
        FROM new_account_snapshots i
        CROSS JOIN LATERAL (
            SELECT s.observed_at FROM account_snapshots s
            WHERE s.business_id = i.business_id AND s.platform = i.platform
              AND s.account_id = i.account_id AND s.observed_at > i.observed_at
            ORDER BY s.observed_at LIMIT 1
        ) n
    ) m
    JOIN businesses b ON b.id = m.business_id
)"""

STORE_ACCOUNT_SNAPSHOTS = f"""
WITH {_NEW_ACCOUNT_SNAPSHOTS},
{_FOLLOWER_DAYS}
SELECT count(*) FROM new_account_snapshots
"""


# --- the unit of work ----------------------------------------------------------------------


def _columns(events: Sequence[Event], *fields: str) -> list[list[Any]]:
    """The events' fields as one array per field, the shape ``unnest`` takes."""
    return [[getattr(e, f) for e in events] for f in fields]


_metric_values = operator.attrgetter(*METRIC_NAMES)


def _snapshot_rows(events: Sequence[Snapshot]) -> list[tuple[Any, ...]]:
    """The snapshots as staged_snapshots' rows, each with its position in the batch."""
    return [
        (e.business_id, e.platform, e.platform_post_id, e.observed_at, e.source, e.event_id,
         *_metric_values(e.metrics), position)
        for position, e in enumerate(events)
    ]  # fmt: skip


def _post_arrays(posts: Sequence[PostPublished]) -> list[list[Any]]:
    return [
        *_columns(posts, "business_id", "platform", "platform_post_id", "account_id"),
        [e.content[:CONTENT_PREVIEW_CHARS] for e in posts],
        *_columns(
            posts, "content_type", "published_at", "platform_post_url", "video_duration_s",
            "thumbnail_url", "event_id",
        ),
    ]  # fmt: skip


async def prepare_connection(conn: asyncpg.Connection) -> None:
    """Per-connection set-up: the scratch tables of the summaries' refresh and moves, and
    the batch's staged snapshots."""
    await conn.execute(summaries.SETUP_SQL)
    await conn.execute(STAGING_SETUP_SQL)


class _Stage:
    """Times one step of the write into the stage histogram."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        metrics.STAGE_SECONDS.labels(self._name).observe(time.perf_counter() - self._started)


@dataclass(frozen=True)
class _StoredSnapshots:
    snapshots: int = 0
    analytics: int = 0
    emptied: int = 0  # activity rows a move left without a post


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
        """The batch's statements in their order (the module docstring)."""
        business_ids = sorted(batch.business_ids())
        await self._create_businesses_and_hold_zones(conn, business_ids)
        changed_posts = await self._upsert_posts(conn, batch.posts)
        emptied = await self._move_attribution(conn, changed_posts)
        await self._mark_removed(conn, batch)
        stored = await self._store_snapshots(conn, batch.metrics)
        if emptied + stored.emptied:  # rare: an attribution moved off a day nothing else counts on
            await conn.execute(activity.DELETE_EMPTY, business_ids)
        analytics = stored.analytics + await self._refresh_analytics(conn, changed_posts)
        accounts = await self._store_accounts(conn, batch)
        with _Stage("summaries"):
            await summaries.move_daily_summaries(conn)
        return WriteResult(len(changed_posts), stored.snapshots, analytics, accounts)

    @staticmethod
    async def _create_businesses_and_hold_zones(
        conn: asyncpg.Connection, business_ids: list[int]
    ) -> None:
        """Businesses first named now are created; their time zones are held still until
        the commit (``summaries.LOCK_TIMEZONES_SHARED``)."""
        with _Stage("businesses"):
            await conn.execute(CREATE_NEW_BUSINESSES, business_ids)
            await conn.execute(summaries.LOCK_TIMEZONES_SHARED, business_ids)

    @staticmethod
    async def _upsert_posts(
        conn: asyncpg.Connection, posts: list[PostPublished]
    ) -> list[asyncpg.Record]:
        if not posts:
            return []
        with _Stage("posts"):
            changed: list[asyncpg.Record] = await conn.fetch(UPSERT_POSTS, *_post_arrays(posts))
            return changed

    @staticmethod
    async def _move_attribution(conn: asyncpg.Connection, changed: list[asyncpg.Record]) -> int:
        """activity_daily after posts stored or moved; returns the rows it left empty."""
        if not changed:
            return 0
        fields = ("business_id", "platform", "platform_post_id", "old_published_at",
                  "published_at")  # fmt: skip
        with _Stage("attribution"):
            emptied: int = await conn.fetchval(
                activity.MOVE_ATTRIBUTION, *([r[f] for r in changed] for f in fields)
            )
            return emptied

    @staticmethod
    async def _mark_removed(conn: asyncpg.Connection, batch: EventBatch) -> None:
        if not batch.removals:
            return
        fields = ("business_id", "platform", "platform_post_id", "removed_at")
        with _Stage("removals"):
            await conn.execute(MARK_POSTS_REMOVED, *_columns(batch.removals, *fields))

    @staticmethod
    async def _store_snapshots(
        conn: asyncpg.Connection, snapshots: list[Snapshot]
    ) -> _StoredSnapshots:
        if not snapshots:
            return _StoredSnapshots()
        first = min(e.observed_at for e in snapshots)
        last = max(e.observed_at for e in snapshots)
        with _Stage("snapshots"):
            await conn.execute("SELECT pulse_ensure_snapshot_partitions($1, $2)", first, last)
            await conn.copy_records_to_table(
                "staged_snapshots", records=_snapshot_rows(snapshots), columns=_STAGED_COLUMNS
            )
            counts = await conn.fetchrow(STORE_SNAPSHOTS)
        return _StoredSnapshots(counts["snapshots"], counts["analytics"], counts["emptied"])

    @staticmethod
    async def _refresh_analytics(conn: asyncpg.Connection, changed: list[asyncpg.Record]) -> int:
        if not changed:
            return 0
        with _Stage("analytics"):
            moved: int = await conn.fetchval(
                REFRESH_ANALYTICS_OF_POSTS,
                *([r[f] for r in changed] for f in ("business_id", "platform", "platform_post_id")),
            )
            return moved

    @staticmethod
    async def _store_accounts(conn: asyncpg.Connection, batch: EventBatch) -> int:
        if not batch.accounts:
            return 0
        fields = ("business_id", "platform", "account_id", "observed_at", "followers", "event_id")
        with _Stage("accounts"):
            stored: int = await conn.fetchval(
                STORE_ACCOUNT_SNAPSHOTS, *_columns(batch.accounts, *fields)
            )
            return stored

    async def refresh_summaries(self, recompute_days: bool = False) -> frozenset[int]:
        """Roll up the day rows of the pending moments (``recompute_days``: recompute the
        day rows from the source rows first, for moments an aggregator queued before the
        batches moved day rows); returns the businesses whose summaries changed."""
        with _Stage("rollups"):
            async with self._pool.acquire() as conn:
                return (await summaries.refresh_pending(conn, recompute_days)).businesses
