# ruff: noqa: S608 -- SQL assembled from this module's own constants, never from input
"""``activity_daily``: what a business's posts gained on each local day, whatever day they
were published. Its one home: the definition, the rebuild from the snapshots, and the
incremental update the aggregator makes in each batch's transaction.

Definition, per business x platform x local day (the business's time zone):

- per post, each local day on which it was observed gains its *day-end* (the last snapshot
  of the day) minus its previous observed day's day-end (none before: from zero);
- ``active_posts`` counts the posts observed that day;
- the attribution rule: what a post gathered before its first snapshot cannot be placed in
  time; when the post's local publish day is earlier than the day of its first snapshot,
  that snapshot also counts as a day-end of the publish day (so its numbers land there and
  the first observed day gains only what came after them), and ``attributed_posts``
  counts the posts so placed on a day, whose numbers are therefore an estimate. A post not
  yet announced (metrics before the post) keeps them on its first observed day until it
  is;
- a metric the platform does not report counts as zero on both sides of a gain, and
  ``reported_<metric>`` counts the day-ends that report it.

Two ways to the same rows:

- :func:`rebuild` (:data:`REBUILD`): from every snapshot of some businesses, after their
  rows are deleted (a time-zone change or ``pulse summaries rebuild``, through
  :func:`pulse_shared.summaries.set_business_timezone`; the query bench's load);
- the incremental update, in the aggregator's batch transaction, whose cost grows with the
  batch where recomputing a day grows with the day's snapshots: :data:`FOLLOW_NEW_SNAPSHOTS`
  (the parts of the statement that stores a batch's snapshots),
  :data:`MOVE_ATTRIBUTION` (posts stored, or moved to another publish time) and
  :data:`DELETE_EMPTY` (rows a move left without a post). Each adds *moves*: rows of
  (business_id, platform, day, then :data:`ACTIVITY_COUNTS`) to add to activity_daily.

``shared/tests/test_activity.py`` holds the rebuild to a plain-Python computation; the
aggregator's exactness and attribution tests hold the incremental update to the same
definition, and to the rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from pulse_shared import formulas
from pulse_shared.tables import METRIC_COLUMNS, SUMMARY_REPORTED

# Its gain columns, by the snapshot column each is measured on.
ACTIVITY_GAINS = {METRIC_COLUMNS[name]: name for name in SUMMARY_REPORTED}
ACTIVITY_REPORTED = tuple(f"reported_{name}" for name in ACTIVITY_GAINS.values())
# What one post adds to a day: its gains, and whether it reported each metric.
ACTIVITY_VALUES = (*ACTIVITY_GAINS.values(), *ACTIVITY_REPORTED)
# Every column a move adds to (and a rebuild sums into).
ACTIVITY_COUNTS = ("active_posts", "attributed_posts", *ACTIVITY_VALUES)

_GAINS = tuple(ACTIVITY_GAINS.values())
_POST = "business_id, platform, platform_post_id"


def activity_values(alias: str) -> str:
    """A snapshot's (or post_analytics') numbers as activity values, from table ``alias``."""
    gains = [f"COALESCE({alias}.{c}, 0) AS {name}" for c, name in ACTIVITY_GAINS.items()]
    reported = [
        f"({alias}.{c} IS NOT NULL)::int AS reported_{name}" for c, name in ACTIVITY_GAINS.items()
    ]
    return ", ".join(gains + reported)


def activity_gains(alias: str, before: str) -> str:
    """Each gain of the day-ends in ``alias`` over ``before`` (an expression with ``{c}``
    for the column), and the day's reported counts as they are."""
    gains = [f"{alias}.{c} - {before.format(c=c)} AS {c}" for c in _GAINS]
    return ",\n           ".join(gains + [f"{alias}.{c}" for c in ACTIVITY_REPORTED])


def origin_day(published_at: str, timezone: str) -> str:
    """The attribution rule's day: the post's local publish day."""
    return formulas.sql_local_day(published_at, timezone)


def _listed(alias: str) -> str:
    """The activity values of ``alias``, as they are."""
    return ", ".join(f"{alias}.{c}" for c in ACTIVITY_VALUES)


# --- the rebuild -------------------------------------------------------------------------

# Per post of the businesses ``$1``, its day-ends (attributed 0) ...
_DAY_ENDS_OF_SNAPSHOTS = f"""
        (SELECT DISTINCT ON (s.business_id, s.platform, s.platform_post_id, day)
                s.business_id, s.platform, s.platform_post_id,
                (s.observed_at AT TIME ZONE b.timezone)::date AS day, 0 AS attributed,
                {activity_values("s")}
         FROM businesses b JOIN post_metric_snapshots s ON s.business_id = b.id
         WHERE b.id = ANY($1::bigint[])
         ORDER BY s.business_id, s.platform, s.platform_post_id, day, s.observed_at DESC)"""

# ... and its first snapshot again, as a day-end of an earlier publish day (attributed 1).
_FIRST_SNAPSHOTS_ON_PUBLISH_DAYS = f"""
        SELECT f.business_id, f.platform, f.platform_post_id,
               {origin_day("p.published_at", "f.timezone")}, 1, {activity_values("f")}
        FROM (
            SELECT DISTINCT ON (s.business_id, s.platform, s.platform_post_id) s.*, b.timezone
            FROM businesses b JOIN post_metric_snapshots s ON s.business_id = b.id
            WHERE b.id = ANY($1::bigint[])
            ORDER BY s.business_id, s.platform, s.platform_post_id, s.observed_at
        ) f
        JOIN published_posts p USING ({_POST})
        WHERE {origin_day("p.published_at", "f.timezone")}
              < (f.observed_at AT TIME ZONE f.timezone)::date"""

# Each day gains its day-end minus the previous one, summed per platform and day. Two
# ordered passes over the snapshots' primary key.
REBUILD = f"""
INSERT INTO activity_daily (business_id, platform, day, {", ".join(ACTIVITY_COUNTS)})
SELECT g.business_id, g.platform, g.day, count(*) - sum(g.attributed),
       sum(g.attributed), {", ".join(f"sum(g.{c})::bigint" for c in ACTIVITY_VALUES)}
FROM (
    SELECT e.business_id, e.platform, e.day, e.attributed,
           {activity_gains("e", "COALESCE(lag(e.{c}) OVER w, 0)")}
    FROM ({_DAY_ENDS_OF_SNAPSHOTS}
        UNION ALL{_FIRST_SNAPSHOTS_ON_PUBLISH_DAYS}
    ) e
    WINDOW w AS (PARTITION BY e.business_id, e.platform, e.platform_post_id ORDER BY e.day)
) g
GROUP BY g.business_id, g.platform, g.day
"""


async def rebuild(conn: asyncpg.Connection, business_ids: Sequence[int]) -> None:
    """Replace the businesses' activity rows by the ones their snapshots make. Run it in
    the caller's transaction, under the lock that keeps their time zones still."""
    ids = list(business_ids)
    await conn.execute("DELETE FROM activity_daily WHERE business_id = ANY($1::bigint[])", ids)
    await conn.execute(REBUILD, ids)


# --- the incremental update ----------------------------------------------------------------

# Adds the rows of ``moves`` (business_id, platform, day, then ACTIVITY_COUNTS) to
# activity_daily, in one order for every writer so that two never wait on each other's rows
# in a cycle; says which rows it left empty (DELETE_EMPTY removes them). A day the moves
# add nothing to (a post polled again with the numbers it had, the common case for older
# posts) is left alone: its row is not rewritten.
_ADDED = ", ".join(f"{c} = a.{c} + EXCLUDED.{c}" for c in ACTIVITY_COUNTS)
ADD_MOVES = f"""activity_added AS (
    INSERT INTO activity_daily AS a (business_id, platform, day,
                                     {", ".join(ACTIVITY_COUNTS)})
    SELECT business_id, platform, day, {", ".join(f"sum({c})::bigint" for c in ACTIVITY_COUNTS)}
    FROM moves
    GROUP BY business_id, platform, day
    HAVING {" OR ".join(f"sum({c}) <> 0" for c in ACTIVITY_COUNTS)}
    ORDER BY business_id, platform, day
    ON CONFLICT (business_id, platform, day) DO UPDATE SET {_ADDED}
    RETURNING a.active_posts = 0 AND a.attributed_posts = 0 AS emptied
)"""

# A batch's moves can leave a day that no post contributes to any more (an attribution
# that moved away): such rows are deleted, as a rebuild would not make them.
DELETE_EMPTY = """
DELETE FROM activity_daily
WHERE business_id = ANY($1::bigint[]) AND active_posts = 0 AND attributed_posts = 0
"""

# FOLLOW_NEW_SNAPSHOTS reads two CTEs of the statement it is part of: ``new_snapshots``,
# the snapshots the batch stored (business_id, platform, platform_post_id, observed_at and
# the metric columns), and ``posts_before``, each of the batch's posts as stored before
# the statement (its publish time, its post_analytics' ``fetched_at`` and metric columns;
# nulls where there is none). Every other CTE of the statement sees the snapshots stored
# before it.

# Each new snapshot with its local day and its activity values.
_NEW_SNAPSHOT_DAYS = f"""new_snapshot_days AS (
    SELECT i.business_id, i.platform, i.platform_post_id, i.observed_at, b.timezone,
           (i.observed_at AT TIME ZONE b.timezone)::date AS day,
           {activity_values("i")}
    FROM new_snapshots i JOIN businesses b ON b.id = i.business_id
)"""

# Per post, its window (from the local day of its earliest new snapshot on) and whether it
# is ``known``: all its new snapshots follow the newest stored one, which post_analytics
# shows (``fetched_at`` and its numbers) — polls in order, the common case; and its
# publish time (null: not announced yet).
_POST_WINDOWS = f"""post_windows AS (
    SELECT w.*, COALESCE(a.fetched_at < w.first_new, false) AS known,
           (a.fetched_at AT TIME ZONE w.timezone)::date AS stored_day, a.published_at,
           {activity_values("a")}
    FROM (
        SELECT {_POST}, timezone, {formulas.sql_day_start("min(day)", "timezone")} AS starts,
               min(observed_at) AS first_new
        FROM new_snapshot_days GROUP BY {_POST}, timezone
    ) w
    JOIN posts_before a USING ({_POST})
)"""

_NEW_DAY_ENDS = f"""new_day_ends AS (
    SELECT DISTINCT ON ({_POST}, day) *
    FROM new_snapshot_days
    ORDER BY {_POST}, day, observed_at DESC
)"""

# Gains of a known post's new day-ends ``d`` over the day-end before or ``t``'s numbers.
_KNOWN_POST_GAINS = ",\n           ".join(
    [f"d.{c} - COALESCE(lag(d.{c}) OVER w, t.{c}) AS {c}" for c in _GAINS]
    + [
        f"d.{c} - CASE WHEN d.day = t.stored_day THEN t.{c} ELSE 0 END AS {c}"
        for c in ACTIVITY_REPORTED
    ]
)

# A known post needs no snapshot read: each new day gains its day-end minus the day-end
# before it, the first one minus post_analytics' numbers, whatever the stored snapshots
# before were; the post becomes active on every new day but the stored newest one's (it
# already is), whose reported counts move from the old day-end's to the new one's. Its
# first snapshot, and so what counts on its publish day, is stored already and stays. So a
# post polled every 15 minutes costs no re-read of the day's snapshots at each poll.
_KNOWN_GAINS = f"""known_gains AS (
    SELECT d.business_id, d.platform, d.day,
           CASE WHEN d.day = t.stored_day THEN 0 ELSE 1 END AS active_posts,
           0 AS attributed_posts,
           {_KNOWN_POST_GAINS}
    FROM new_day_ends d
    JOIN post_windows t USING ({_POST})
    WHERE t.known
    WINDOW w AS (PARTITION BY d.business_id, d.platform, d.platform_post_id ORDER BY d.day)
)"""

# Any other post (snapshots older than a stored one, or no post_analytics yet) is measured
# twice over its window, *before* the batch (the stored snapshots) and *after* it (those
# plus the new ones), each day's gain from the previous day-end or from the last snapshot
# before the window; the batch adds after minus before. First, the stored snapshots ...
_STORED_IN_WINDOW = f"""stored_in_window AS (
    SELECT s.business_id, s.platform, s.platform_post_id,
           (s.observed_at AT TIME ZONE t.timezone)::date AS day, s.observed_at,
           {activity_values("s")}
    FROM post_windows t
    JOIN post_metric_snapshots s
      ON s.business_id = t.business_id AND s.platform = t.platform
     AND s.platform_post_id = t.platform_post_id AND s.observed_at >= t.starts
    WHERE NOT t.known
)"""

# ... the last snapshot before the window, as a day-end on day -infinity of both versions,
# so that lag() measures the window's first day from it (none: from zero) ...
_BASELINE = f"""baseline AS (
    SELECT t.business_id, t.platform, t.platform_post_id, '-infinity'::date AS day,
           '-infinity'::timestamptz AS observed_at, b.*
    FROM post_windows t
    CROSS JOIN LATERAL (
        SELECT {activity_values("s")} FROM post_metric_snapshots s
        WHERE s.business_id = t.business_id AND s.platform = t.platform
          AND s.platform_post_id = t.platform_post_id AND s.observed_at < t.starts
        ORDER BY s.observed_at DESC LIMIT 1
    ) b
    WHERE NOT t.known
)"""

# ... the window's snapshots in both versions (``after``: with the new ones) ...
_WINDOW_VERSIONS = f"""window_versions AS (
    SELECT false AS after, * FROM stored_in_window
    UNION ALL
    SELECT true, * FROM stored_in_window
    UNION ALL
    SELECT true, l.business_id, l.platform, l.platform_post_id, l.day, l.observed_at,
           {_listed("l")}
    FROM new_snapshot_days l JOIN post_windows t USING ({_POST})
    WHERE NOT t.known
)"""

# ... and, without a baseline, the window holds the post's first snapshot (of each
# version): it also counts as a day-end of the post's publish day when that is earlier
# (the attribution rule). With one, the first snapshot is older than the window and stays.
_PUBLISH_DAY_ORIGINS = f"""publish_day_origins AS (
    SELECT f.after, f.business_id, f.platform, f.platform_post_id,
           {origin_day("t.published_at", "t.timezone")} AS day,
           '-infinity'::timestamptz AS observed_at, {_listed("f")}
    FROM (
        SELECT DISTINCT ON (after, {_POST}) * FROM window_versions
        ORDER BY after, {_POST}, observed_at
    ) f
    JOIN post_windows t USING ({_POST})
    WHERE {origin_day("t.published_at", "t.timezone")} < f.day
      AND NOT EXISTS (SELECT 1 FROM baseline b WHERE (b.business_id, b.platform,
                      b.platform_post_id) = (f.business_id, f.platform, f.platform_post_id))
)"""

_VERSION_DAY_ENDS = f"""versions AS (
    SELECT *, 0 AS attributed FROM window_versions
    UNION ALL
    SELECT *, 1 FROM publish_day_origins
    UNION ALL
    SELECT false, *, 0 FROM baseline
    UNION ALL
    SELECT true, *, 0 FROM baseline
),
day_ends AS (
    SELECT DISTINCT ON (after, {_POST}, day) *
    FROM versions
    ORDER BY after, {_POST}, day, observed_at DESC
)"""

_VERSION_GAINS = f"""version_gains AS (
    SELECT * FROM (
        SELECT d.after, d.business_id, d.platform, d.day, d.attributed,
               {activity_gains("d", "COALESCE(lag(d.{c}) OVER w, 0)")}
        FROM day_ends d
        WINDOW w AS (PARTITION BY d.after, d.business_id, d.platform, d.platform_post_id
                     ORDER BY d.day)
    ) g
    WHERE g.day <> '-infinity'
)"""

# What the batch adds per platform and day: the known posts' gains, and the others'
# after-minus-before.
_AFTER_MINUS_BEFORE = ",\n           ".join(
    f"CASE WHEN after THEN {c} ELSE -{c} END" for c in ACTIVITY_VALUES
)
_SNAPSHOT_MOVES = f"""moves AS (
    SELECT * FROM known_gains
    UNION ALL
    SELECT business_id, platform, day,
           CASE WHEN after THEN 1 - attributed ELSE attributed - 1 END,
           CASE WHEN after THEN attributed ELSE -attributed END,
           {_AFTER_MINUS_BEFORE}
    FROM version_gains
)"""

# The CTEs, in order, that move activity_daily by a batch's new snapshots; the last,
# ``activity_added``, returns ``emptied`` per row it moved.
FOLLOW_NEW_SNAPSHOTS: tuple[str, ...] = (
    _NEW_SNAPSHOT_DAYS,
    _POST_WINDOWS,
    _NEW_DAY_ENDS,
    _KNOWN_GAINS,
    _STORED_IN_WINDOW,
    _BASELINE,
    _WINDOW_VERSIONS,
    _PUBLISH_DAY_ORIGINS,
    _VERSION_DAY_ENDS,
    _VERSION_GAINS,
    _SNAPSHOT_MOVES,
    ADD_MOVES,
)

# --- a post stored, or moved to another publish time ---------------------------------------

# ``$1``..``$5``: the posts' keys, old publish time (null: new post) and new one. Each move
# takes its first stored snapshot off the old publish day (sign -1) and onto the new one
# (+1), when that day is earlier than the snapshot's ...
_ATTRIBUTIONS_MOVED = f"""moved AS (
    SELECT c.business_id, c.platform, c.platform_post_id, v.sign, b.timezone,
           {origin_day("v.published_at", "b.timezone")} AS origin
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
               {activity_values("s")}
        FROM post_metric_snapshots s
        WHERE s.business_id = m.business_id AND s.platform = m.platform
          AND s.platform_post_id = m.platform_post_id
        ORDER BY s.observed_at LIMIT 1
    ) f
    WHERE m.origin < f.first_day
)"""

# ... and the day of that first snapshot gains the difference (its reported counts stay).
_ATTRIBUTION_MOVES = f"""moves AS (
    SELECT business_id, platform, origin AS day, 0 AS active_posts, sign AS attributed_posts,
           {", ".join(f"sign * {c} AS {c}" for c in ACTIVITY_VALUES)}
    FROM firsts
    UNION ALL
    SELECT business_id, platform, first_day, 0, 0,
           {", ".join([f"-sign * {c}" for c in _GAINS] + ["0" for _ in ACTIVITY_REPORTED])}
    FROM firsts
)"""

# Runs after the posts are written and before the batch's snapshots are (which see the new
# publish times); answers how many rows it left empty.
MOVE_ATTRIBUTION = f"""
WITH {_ATTRIBUTIONS_MOVED},
{_ATTRIBUTION_MOVES},
{ADD_MOVES}
SELECT count(*) FILTER (WHERE emptied) FROM activity_added
"""
