"""analytics_summaries: the platforms' day rows moved by each batch, their roll-ups
recomputed from them a few seconds later, and everything recomputable from the source rows.

How the aggregator keeps them (the *incremental update*, at the end of this module):

1. in a batch's transaction, every statement that changes what a post contributes records
   its moves, and a new follower observation its days; last, :func:`move_daily_summaries`
   adds each touched day's change to the platform's day row, so a reader of day rows (the
   overview, trends, the export) sees a batch's numbers from its commit, and queues the
   day as a moment in ``summary_pending_moments``;
2. every few seconds under load, at once when the stream pauses,
   :func:`refresh_pending` with ``recompute_days=False`` takes the pending moments out
   (one refresh at a time), takes their businesses' roll-up lock (so a time-zone change
   never interleaves with it; the batches go on meanwhile), turns them into local days,
   and recomputes from the committed day rows their roll-ups: ``all`` platforms, weeks
   (starting Monday) and months, and months into years. A batch that commits during a
   refresh has queued its days, so the next refresh takes them.

A time-zone change (:func:`set_business_timezone`) and ``pulse summaries rebuild``
recompute a business's day rows from the source rows too (:func:`refresh_summaries`), as
the refresh of moments queued by an aggregator before this scheme does once at start.

``activity_daily`` (what the posts gained each local day) is not recomputed here: it has
its own module, :mod:`pulse_shared.activity` (its definition, its rebuild, which a
time-zone change runs here, and the aggregator's per-batch update).

Deferring the roll-ups is what keeps them cheap at high throughput: a busy stream touches
most days of a business in every batch, and each week, month and year is recomputed once
per refresh instead of moved by every batch. A crash between the steps loses nothing,
the moments stay queued.

Every roll-up is exact: totals add up, ``avg_engagement_rate`` is carried as
``engagement_rate_sum`` / ``rated_posts``, the best post is the maximum of the parts
(ties to the lowest post id), and follower growth telescopes (see ``INSERT_DAILY``).

Definitions, per business x platform x period (local calendar days, ``all`` = every
platform):
- posts are those *published* in the period; their metrics are their latest snapshot;
- ``avg_engagement_rate``: mean per-post engagement rate of the posts with impressions;
- ``engagement_rate``: total engagement / total impressions x 100;
- ``avg_impressions``: total impressions / total posts;
- best post: highest engagement rate among posts with impressions (lowest id on a tie);
- ``follower_growth``: per account, its last observation in the period minus its last
  observation before the period (or, with none before, its first in the period), summed
  over the accounts observed in the period; null when none was;
- ``reported_<metric>``: the posts whose latest snapshot reports the metric (not null), so
  a reader tells a total of 0 from a total no post reported (``total_<metric>`` adds the
  reported values only);
- ``ctr_impressions``: the impressions of the posts that report clicks (a click-through
  rate over all impressions would count, as 0 clicks, the posts of a platform that does
  not report clicks); ``click_through_rate_sum`` / ``ctr_rated_posts``: the mean per-post
  click-through rate of the posts that report clicks and have impressions;
- a row exists when the period has a post or a follower observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from pulse_shared import activity, formulas, tables
from pulse_shared.tables import METRIC_COLUMNS, PLATFORM_ALL, SUMMARY_REPORTED

# The refresh's per-connection scratch tables, emptied at every commit (SETUP_SQL creates
# them with the moves').
_REFRESH_SCRATCH = """
CREATE TEMP TABLE IF NOT EXISTS touched_moments (
    business_id bigint NOT NULL, platform text NOT NULL, at timestamptz NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS touched_days (
    business_id bigint NOT NULL, platform text NOT NULL, day date NOT NULL,
    timezone text NOT NULL, starts timestamptz NOT NULL, ends timestamptz NOT NULL,
    PRIMARY KEY (business_id, platform, day)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS touched_periods (
    business_id bigint NOT NULL, platform text NOT NULL, period_type text NOT NULL,
    period_start date NOT NULL, period_end date NOT NULL,
    PRIMARY KEY (business_id, platform, period_type, period_start)
) ON COMMIT DELETE ROWS;
"""

# The refreshed businesses, in order: two transactions locking them never deadlock.
_TOUCHED_BUSINESSES = "(SELECT DISTINCT business_id FROM touched_moments ORDER BY business_id) b"

# Serialise summary work per business.
LOCK_BUSINESSES = f"""
SELECT count(pg_advisory_xact_lock(business_id))
FROM {_TOUCHED_BUSINESSES}
"""


# One recomputation of a business's roll-ups at a time (two would delete and insert the
# same weeks). A batch moves day rows only and does not take it: a roll-up refresh reads
# the committed day rows, and a batch committing meanwhile has queued its days for the
# next one. Its key is the business id's two halves, the two-key advisory locks Pulse uses
# for nothing else (the summary lock is the id, the time zone's minus the id).
def _rollup_lock(business_id: str) -> str:
    return f"pg_advisory_xact_lock(({business_id} >> 32)::int, {business_id}::bit(32)::int)"


LOCK_ROLLUPS = f"""
SELECT count({_rollup_lock("business_id")})
FROM {_TOUCHED_BUSINESSES}
"""

# Only after the lock is the time zone read: a concurrent change has committed by then.
_touched_day = formulas.sql_local_day("m.at", "b.timezone")
TOUCHED_DAYS = f"""
INSERT INTO touched_days (business_id, platform, day, timezone, starts, ends)
SELECT DISTINCT m.business_id, m.platform, {_touched_day}, b.timezone,
       {formulas.sql_day_start(_touched_day, "b.timezone")},
       {formulas.sql_day_start(f"{_touched_day} + 1", "b.timezone")}
FROM touched_moments m JOIN businesses b ON b.id = m.business_id
ON CONFLICT DO NOTHING
"""

_rate = formulas.sql_mean("engagement_rate_sum", "rated_posts")
_weighted = formulas.sql_weighted_engagement_rate(
    "total_likes + total_comments + total_shares", "total_impressions"
)
_avg_impressions = formulas.sql_mean("total_impressions", "total_posts")

# The columns that add up across the days of a period and the platforms of 'all' (the
# float ones are sums of per-post rates).
_REPORTED = tuple(f"reported_{name}" for name in SUMMARY_REPORTED)
ADDITIVE = (
    "total_posts", "total_likes", "total_comments", "total_shares", "total_impressions",
    "total_reach", "total_clicks", "rated_posts", "engagement_rate_sum", *_REPORTED,
    "ctr_impressions", "ctr_rated_posts", "click_through_rate_sum",
)  # fmt: skip
FLOAT_SUMS = ("engagement_rate_sum", "click_through_rate_sum")

COLUMNS = f"""business_id, platform, period_type, period_start, period_end,
    {", ".join(ADDITIVE)}, follower_growth, best_post_id, best_post_engagement_rate,
    avg_engagement_rate, engagement_rate, avg_impressions"""

# The derived columns, computed from the additive ones of a subquery ``t``.
_DERIVED = f"{_rate}, {_weighted}, {_avg_impressions}"

DELETE_TOUCHED_DAILY = """
DELETE FROM analytics_summaries s USING touched_days d
WHERE s.business_id = d.business_id AND s.platform = d.platform
  AND s.period_type = 'daily' AND s.period_start = d.day
"""

# A post's rank among a period's posts as one value, the array [rate, -id]: the larger
# array is the better post, ties to the lowest id (ids are far below 2^53, exact as
# floats), so the best is max(), an aggregate without a sort (a hash aggregate can take it).
_RANK = "ARRAY[{rate}, -{id}]"


def _ranked_post_id(rank: str) -> str:
    """The post id of a ``_RANK`` value."""
    return f"-({rank})[2]::bigint"


def _best_post_id(rate: str, post_id: str, when: str) -> str:
    """An aggregate: the id of the best post (highest ``rate``, the lowest id on a tie) of
    the rows where ``when``."""
    return _ranked_post_id(f"max({_RANK.format(rate=rate, id=post_id)}) FILTER (WHERE {when})")


_has_impressions = "COALESCE(a.impressions, 0) > 0"
_has_ctr = f"a.clicks IS NOT NULL AND {_has_impressions}"
_reported_counts = ",\n           ".join(
    f"count(a.{METRIC_COLUMNS[name]}) AS reported_{name}" for name in SUMMARY_REPORTED
)


def growth_of_days(days: str) -> str:
    """The CTE ``growth``: each day's follower growth (business_id, platform, day, growth)
    for the days of the relation ``days`` (business_id, platform, day, starts, ends) that
    have an observation."""
    return f"""growth AS (
    SELECT d.business_id, d.platform, d.day, sum(last.followers - base.followers) AS growth
    FROM {days} d
    CROSS JOIN LATERAL (
        SELECT DISTINCT s.account_id FROM account_snapshots s
        WHERE s.business_id = d.business_id AND s.platform = d.platform
          AND s.observed_at >= d.starts AND s.observed_at < d.ends
    ) acc
    CROSS JOIN LATERAL (
        SELECT s.followers FROM account_snapshots s
        WHERE s.business_id = d.business_id AND s.platform = d.platform
          AND s.account_id = acc.account_id AND s.observed_at < d.ends
        ORDER BY s.observed_at DESC LIMIT 1
    ) last
    CROSS JOIN LATERAL (
        SELECT followers FROM (
            (SELECT s.followers, 0 AS pick FROM account_snapshots s
             WHERE s.business_id = d.business_id AND s.platform = d.platform
               AND s.account_id = acc.account_id AND s.observed_at < d.starts
             ORDER BY s.observed_at DESC LIMIT 1)
            UNION ALL
            (SELECT s.followers, 1 AS pick FROM account_snapshots s
             WHERE s.business_id = d.business_id AND s.platform = d.platform
               AND s.account_id = acc.account_id AND s.observed_at >= d.starts
             ORDER BY s.observed_at LIMIT 1)
        ) candidates ORDER BY pick LIMIT 1
    ) base
    GROUP BY d.business_id, d.platform, d.day
)"""


# Follower growth of one day per account (see the module docstring). Summing these over
# the days of a month gives the month's growth exactly: each day's baseline is the
# previous observed day's last value, so the sum telescopes to last-in-month minus the
# month's baseline.
INSERT_DAILY = f"""
INSERT INTO analytics_summaries ({COLUMNS})
WITH totals AS (
    SELECT d.business_id, d.platform, d.day, count(*) AS total_posts,
           sum(COALESCE(a.likes_count, 0)) AS total_likes,
           sum(COALESCE(a.comments_count, 0)) AS total_comments,
           sum(COALESCE(a.shares_count, 0)) AS total_shares,
           sum(COALESCE(a.impressions, 0)) AS total_impressions,
           sum(COALESCE(a.reach, 0)) AS total_reach,
           sum(COALESCE(a.clicks, 0)) AS total_clicks,
           count(*) FILTER (WHERE {_has_impressions}) AS rated_posts,
           COALESCE(sum(a.engagement_rate) FILTER (WHERE {_has_impressions}), 0)
               AS engagement_rate_sum,
           max(a.engagement_rate) FILTER (WHERE {_has_impressions})
               AS best_post_engagement_rate,
           {_best_post_id("a.engagement_rate", "p.id", _has_impressions)} AS best_post_id,
           {_reported_counts},
           COALESCE(sum(a.impressions) FILTER (WHERE a.clicks IS NOT NULL), 0)
               AS ctr_impressions,
           count(*) FILTER (WHERE {_has_ctr}) AS ctr_rated_posts,
           COALESCE(sum(a.click_through_rate) FILTER (WHERE {_has_ctr}), 0)
               AS click_through_rate_sum
    FROM published_posts p
    JOIN businesses b ON b.id = p.business_id
    -- The equality on the post's local day lets a large refresh hash-join every post of
    -- the touched businesses once; the range lets a small one probe the index.
    JOIN touched_days d
      ON d.business_id = p.business_id AND d.platform = p.platform
     AND d.day = (p.published_at AT TIME ZONE b.timezone)::date
     AND p.published_at >= d.starts AND p.published_at < d.ends
    LEFT JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
    GROUP BY d.business_id, d.platform, d.day
),
{growth_of_days("touched_days")}
SELECT t.business_id, t.platform, 'daily', t.day, t.day,
       {", ".join(f"t.{c}" for c in ADDITIVE)},
       t.growth, t.best_post_id, t.best_post_engagement_rate, {_DERIVED}
FROM (
    SELECT d.business_id, d.platform, d.day,
           {", ".join(f"COALESCE(x.{c}, 0) AS {c}" for c in ADDITIVE)},
           g.growth, x.best_post_id, x.best_post_engagement_rate
    FROM touched_days d
    LEFT JOIN totals x USING (business_id, platform, day)
    LEFT JOIN growth g USING (business_id, platform, day)
) t
WHERE t.total_posts > 0 OR t.growth IS NOT NULL
"""

# The advisory lock guarding a business's time zone is keyed on minus its id (never the
# summary refresh's per-business lock on the id itself). Writers that turn instants into
# its local days hold it shared until commit, so a time-zone change (exclusive) waits for
# them, and they read the zone only after a change in flight has committed.
LOCK_TIMEZONES_SHARED = """
SELECT count(pg_advisory_xact_lock_shared(key))
FROM (SELECT DISTINCT -id AS key FROM unnest($1::bigint[]) AS t(id) ORDER BY 1) k
"""
LOCK_TIMEZONE = "SELECT pg_advisory_xact_lock(-$1::bigint)"


# The periods to roll up: 'all' for each touched day, then the week, month and year of
# every touched day, for its platform and for 'all'.
TOUCHED_PERIODS = f"""
INSERT INTO touched_periods (business_id, platform, period_type, period_start, period_end)
SELECT DISTINCT d.business_id, p.platform, k.period_type, k.period_start, k.period_end
FROM touched_days d
CROSS JOIN LATERAL (VALUES (d.platform), ('{PLATFORM_ALL}')) p(platform)
CROSS JOIN LATERAL (VALUES
    ('daily', d.day, d.day),
    ('weekly', date_trunc('week', d.day)::date, date_trunc('week', d.day)::date + 6),
    ('monthly', date_trunc('month', d.day)::date,
        (date_trunc('month', d.day) + interval '1 month - 1 day')::date),
    ('yearly', date_trunc('year', d.day)::date,
        (date_trunc('year', d.day) + interval '1 year - 1 day')::date)
) k(period_type, period_start, period_end)
WHERE NOT (p.platform <> '{PLATFORM_ALL}' AND k.period_type = 'daily')
"""


_ADDITIVE_SUMS = ",\n           ".join(
    f"sum(s.{c}) AS {c}" if c in FLOAT_SUMS else f"sum(s.{c})::bigint AS {c}" for c in ADDITIVE
)

_TRUNC = {
    "daily": "s.period_start",
    "weekly": "date_trunc('week', s.period_start)::date",
    "monthly": "date_trunc('month', s.period_start)::date",
    "yearly": "date_trunc('year', s.period_start)::date",
}


# A period's best post: the best of its parts' (days, or months of a year).
_BEST_OF_PARTS = _best_post_id(
    "s.best_post_engagement_rate", "s.best_post_id", "s.best_post_id IS NOT NULL"
)


def _rollup(target_type: str, source_type: str, all_platforms: bool) -> tuple[str, str]:
    """DELETE and INSERT statements recomputing ``target_type`` rows of the touched
    periods from the ``source_type`` rows inside them (every platform into ``all`` when
    ``all_platforms``, else platform by platform)."""
    if all_platforms:
        keys = f"t.period_type = '{target_type}' AND t.platform = '{PLATFORM_ALL}'"
        platform_match = f"s.platform <> '{PLATFORM_ALL}'"
    else:
        keys = f"t.period_type = '{target_type}'"
        platform_match = "s.platform = t.platform"
    delete = f"""
DELETE FROM analytics_summaries s USING touched_periods t
WHERE {keys} AND s.business_id = t.business_id AND s.platform = t.platform
  AND s.period_type = t.period_type AND s.period_start = t.period_start
"""
    insert = f"""
INSERT INTO analytics_summaries ({COLUMNS})
SELECT t.*, {_DERIVED}
FROM (
    SELECT t.business_id, t.platform, t.period_type, t.period_start, t.period_end,
           {_ADDITIVE_SUMS},
           sum(s.follower_growth)::bigint AS follower_growth,
           {_BEST_OF_PARTS} AS best_post_id,
           max(s.best_post_engagement_rate) AS best_post_engagement_rate
    FROM touched_periods t
    JOIN analytics_summaries s
      ON s.business_id = t.business_id AND {platform_match}
     AND s.period_type = '{source_type}'
     AND {_TRUNC[target_type]} = t.period_start
     AND s.period_start >= t.period_start AND s.period_start <= t.period_end
    WHERE {keys}
    GROUP BY t.business_id, t.platform, t.period_type, t.period_start, t.period_end
) t
WHERE t.total_posts > 0 OR t.follower_growth IS NOT NULL
"""
    return delete, insert


# In dependency order: 'all' days from platform days; weeks and months from days (of the
# same platform, 'all' included); years from months.
ROLLUPS: tuple[tuple[str, str], ...] = (
    _rollup("daily", "daily", all_platforms=True),
    _rollup("weekly", "daily", all_platforms=False),
    _rollup("monthly", "daily", all_platforms=False),
    _rollup("yearly", "monthly", all_platforms=False),
)


# One refresh at a time takes the pending moments (two aggregators' refreshes run one
# after the other, as their roll-up locks would make them anyway), so taking them is a
# plain DELETE: no row lock of its own on each moment first, a third of the time. Its key,
# two ints the first of them negative, is no business's roll-up lock (whose first is the
# id's high half).
LOCK_REFRESH = "SELECT pg_advisory_xact_lock(-1, 0)"

TAKE_PENDING = """
WITH taken AS (
    DELETE FROM summary_pending_moments RETURNING business_id, platform, at
)
INSERT INTO touched_moments (business_id, platform, at)
SELECT DISTINCT business_id, platform, at FROM taken
"""


@dataclass(frozen=True)
class Refreshed:
    """What a refresh recomputed: local days, and the businesses they belong to (whose
    readers' cached answers it retires, pulse_shared.cache)."""

    days: int = 0
    businesses: frozenset[int] = frozenset()


async def refresh_pending(conn: asyncpg.Connection, recompute_days: bool = True) -> Refreshed:
    """Take every pending moment and recompute its periods, in one transaction, after a
    refresh in flight (``recompute_days``: :func:`refresh_summaries`)."""
    async with conn.transaction():
        await conn.execute(LOCK_REFRESH)
        status = await conn.execute(TAKE_PENDING)
        if status.endswith(" 0"):
            return Refreshed()
        businesses = await conn.fetch("SELECT DISTINCT business_id FROM touched_moments")
        days = await refresh_summaries(conn, recompute_days)
        return Refreshed(days, frozenset(r["business_id"] for r in businesses))


async def refresh_pending_summaries(conn: asyncpg.Connection) -> int:
    """:func:`refresh_pending`, answering the number of local days recomputed."""
    return (await refresh_pending(conn)).days


async def refresh_summaries(conn: asyncpg.Connection, recompute_days: bool = True) -> int:
    """Recompute every summary row that ``touched_moments`` reaches; returns the number
    of touched local days. Must run inside the transaction that filled the moments. Without
    ``recompute_days`` the platforms' day rows are taken as they are (the aggregator's
    batches move them) and only their roll-ups are recomputed, without holding up the
    batches (:data:`LOCK_ROLLUPS`)."""
    if recompute_days:
        await conn.execute(LOCK_BUSINESSES)
    await conn.execute(LOCK_ROLLUPS)
    status = await conn.execute(TOUCHED_DAYS)
    days = int(status.rsplit(" ", 1)[-1])
    if not days:
        return 0
    # Fresh statistics let the planner pick per batch between probing the indexes for a
    # few keys and hash-joining whole tables for many.
    await conn.execute("ANALYZE touched_days")
    if recompute_days:
        await conn.execute(DELETE_TOUCHED_DAILY)
        await conn.execute(INSERT_DAILY)
    await conn.execute(TOUCHED_PERIODS)
    await conn.execute("ANALYZE touched_periods")
    for delete, insert in ROLLUPS:
        await conn.execute(delete)
        await conn.execute(insert)
    return days


REBUILD_MOMENTS = """
INSERT INTO touched_moments (business_id, platform, at)
SELECT business_id, platform, published_at FROM published_posts WHERE business_id = $1
UNION
SELECT business_id, platform, observed_at FROM account_snapshots WHERE business_id = $1
"""


async def set_business_timezone(conn: asyncpg.Connection, business_id: int, timezone: str) -> None:
    """Change a business's time zone and rebuild all its summaries, in one transaction.

    Its periods are local calendar days, so every row moves: the old rows are deleted and
    the new ones computed from the source rows. Raises ``asyncpg.InvalidParameterValueError``
    for an unknown zone and ``LookupError`` for an unknown business.
    """
    async with conn.transaction():
        await conn.execute(SETUP_SQL)
        await conn.execute(LOCK_TIMEZONE, business_id)
        await conn.execute("SELECT pg_advisory_xact_lock($1)", business_id)
        # Before anything is deleted: a roll-up refresh in flight commits first.
        await conn.execute(f"SELECT {_rollup_lock('$1::bigint')}", business_id)
        status = await conn.execute(
            "UPDATE businesses SET timezone = $2, updated_at = now() WHERE id = $1",
            business_id,
            timezone,
        )
        if status == "UPDATE 0":
            raise LookupError(f"business {business_id} does not exist")
        await conn.execute("DELETE FROM analytics_summaries WHERE business_id = $1", business_id)
        await conn.execute(REBUILD_MOMENTS, business_id)
        await refresh_summaries(conn)
        await activity.rebuild(conn, [business_id])


# --- the incremental update ----------------------------------------------------------------
#
# The aggregator moves the platforms' day rows in each batch's own transaction, by what
# the batch changed, so that a new observation is in the overview as soon as its batch
# commits:
#
# - every statement that changes what a post contributes (its publish day, or its
#   post_analytics row) records *moves* in ``summary_moves``: the post's state before
#   (sign -1, on its day then) and after (+1, on its day now), a state being its
#   post_analytics numbers (all null: a post with no analytics yet, which counts as a
#   post). ``step`` orders the statements of a batch: a post's last move on a day says
#   whether it is there after the batch, and with what;
# - a new follower observation records its day and the day of the account's next
#   observation in ``follower_days``; their growth is recomputed (a handful of rows);
# - last in the transaction, :func:`move_daily_summaries` turns them into each touched
#   day's change (``day_changes``: what adds up, the growth, the day's best post), adds it
#   to the day's row and queues the day for the roll-up refresh (a day the batch leaves as
#   it was, its posts polled with the same numbers, is neither). Adding is exact for every
#   count and total; a best post that fell (its rate went down, or it left the day) is
#   looked for again among the day's posts, only then.
#
# Both ways keep the same rows: ``test_writer.py`` compares the rows moved by every batch
# (and rolled up) with a recomputation from the definitions above.

# The post_analytics columns a summary reads: a post's state.
STATE_COLUMNS = (
    *(METRIC_COLUMNS[name] for name in SUMMARY_REPORTED),
    "engagement_rate",
    "click_through_rate",
)
_STATE = ", ".join(STATE_COLUMNS)
# The scratch tables' columns have the types of the tables they are read from and added to.
_STATE_TYPES = tables.column_types(tables.post_analytics, STATE_COLUMNS)
# A day's change: what adds up, the growth and the best post after (``day_changes``).
CHANGE_COLUMNS = (*ADDITIVE, "follower_growth", "best_post_id", "best_post_engagement_rate")
_CHANGE_TYPES = tables.column_types(tables.analytics_summaries, CHANGE_COLUMNS)

_MOVES_SCRATCH = f"""
CREATE TEMP TABLE IF NOT EXISTS summary_moves (
    business_id bigint NOT NULL, platform text NOT NULL, day date NOT NULL,
    post_id bigint NOT NULL, step int NOT NULL, sign int NOT NULL, {_STATE_TYPES}
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS follower_days (
    business_id bigint NOT NULL, platform text NOT NULL, day date NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS day_changes (
    business_id bigint NOT NULL, platform text NOT NULL, day date NOT NULL, {_CHANGE_TYPES},
    PRIMARY KEY (business_id, platform, day)
) ON COMMIT DELETE ROWS;
"""

# Every scratch table of the summaries, the refresh's and the moves': what a connection
# that refreshes or moves summaries runs once.
SETUP_SQL = _REFRESH_SCRATCH + _MOVES_SCRATCH


def state_of(alias: str) -> str:
    """A post's state, from the post_analytics columns of ``alias``."""
    return ", ".join(f"{alias}.{c}" for c in STATE_COLUMNS)


def record_moves(name: str, rows: str) -> str:
    """The CTE ``name`` recording ``rows`` as moves: (business_id, platform, day, post_id,
    step, sign, then :data:`STATE_COLUMNS`)."""
    return f"""{name} AS (
    INSERT INTO summary_moves (business_id, platform, day, post_id, step, sign, {_STATE})
    {rows.strip()}
)"""


# What one post's state adds to each additive column: (when it counts, what it adds).
_HAS_IMPRESSIONS = "COALESCE(m.impressions, 0) > 0"
_HAS_CTR = f"m.clicks IS NOT NULL AND {_HAS_IMPRESSIONS}"
_CONTRIBUTIONS = {
    "total_posts": ("true", "1"),
    **{
        f"total_{name}": ("true", f"COALESCE(m.{METRIC_COLUMNS[name]}, 0)")
        for name in ("likes", "comments", "shares", "impressions", "reach", "clicks")
    },
    "rated_posts": (_HAS_IMPRESSIONS, "1"),
    "engagement_rate_sum": (_HAS_IMPRESSIONS, "COALESCE(m.engagement_rate, 0)"),
    **{f"reported_{n}": (f"m.{METRIC_COLUMNS[n]} IS NOT NULL", "1") for n in SUMMARY_REPORTED},
    "ctr_impressions": ("m.clicks IS NOT NULL", "COALESCE(m.impressions, 0)"),
    "ctr_rated_posts": (_HAS_CTR, "1"),
    "click_through_rate_sum": (_HAS_CTR, "COALESCE(m.click_through_rate, 0)"),
}
_MOVED_SUMS = ",\n           ".join(
    f"sum(CASE WHEN {when} THEN m.sign * {value} ELSE 0 END) AS {c}"
    for c, (when, value) in _CONTRIBUTIONS.items()
)

# Serialises the summary work on a business (sorted: two writers never deadlock); a
# rebuild or a time-zone change takes the same lock.
LOCK_MOVED_BUSINESSES = """
SELECT count(pg_advisory_xact_lock(business_id))
FROM (SELECT business_id FROM summary_moves UNION SELECT business_id FROM follower_days
      ORDER BY 1) b
"""

_MOVED_DAYS = f"""moved_days AS (
    SELECT m.business_id, m.platform, m.day, {_MOVED_SUMS}
    FROM summary_moves m
    GROUP BY m.business_id, m.platform, m.day
)"""

# Each moved post's state on a day after the batch: its last move there (-1: it left).
_FINAL_STATES = """final_states AS (
    SELECT DISTINCT ON (business_id, platform, day, post_id) *
    FROM summary_moves
    ORDER BY business_id, platform, day, post_id, step DESC, sign DESC
)"""

_BEST_MOVED = f"""best_moved AS (
    SELECT business_id, platform, day,
           max({_RANK.format(rate="engagement_rate", id="post_id")})
               FILTER (WHERE sign = 1 AND COALESCE(impressions, 0) > 0) AS best
    FROM final_states
    GROUP BY business_id, platform, day
)"""

_TOUCHED_DAY_BOUNDS = f"""touched_day_bounds AS (
    SELECT d.business_id, d.platform, d.day, d.follower_day, b.timezone,
           {formulas.sql_day_start("d.day", "b.timezone")} AS starts,
           {formulas.sql_day_start("d.day + 1", "b.timezone")} AS ends
    FROM (SELECT business_id, platform, day, bool_or(follower_day) AS follower_day
          FROM (SELECT business_id, platform, day, false AS follower_day FROM moved_days
                UNION ALL
                SELECT business_id, platform, day, true FROM follower_days) u
          GROUP BY business_id, platform, day) d
    JOIN businesses b ON b.id = d.business_id
)"""

# Each touched day with its row before the batch, and whether that row's best post fell:
# it moved, and is gone from the day, or no longer has impressions, or rates lower now.
_DAYS_BEFORE = f"""days_before AS (
    SELECT d.*, o.business_id IS NOT NULL AS has_row, o.follower_growth AS old_growth,
           CASE WHEN o.best_post_id IS NOT NULL
                THEN {_RANK.format(rate="o.best_post_engagement_rate", id="o.best_post_id")}
           END AS old_best,
           COALESCE(f.sign = -1 OR COALESCE(f.impressions, 0) = 0
                    OR f.engagement_rate < o.best_post_engagement_rate, false) AS best_fell
    FROM touched_day_bounds d
    LEFT JOIN analytics_summaries o
      ON o.business_id = d.business_id AND o.platform = d.platform
     AND o.period_type = 'daily' AND o.period_start = d.day
    LEFT JOIN final_states f
      ON f.business_id = d.business_id AND f.platform = d.platform AND f.day = d.day
     AND f.post_id = o.best_post_id
)"""

# A day's best post: the better of the one before and the best moved post, unless the one
# before fell; then the best of the day's posts, looked for only then.
_DAY_BEST = f"""CASE WHEN d.best_fell THEN (
        SELECT {_RANK.format(rate="a.engagement_rate", id="p.id")}
        FROM published_posts p
        JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
        WHERE p.business_id = d.business_id AND p.platform = d.platform
          AND p.published_at >= d.starts AND p.published_at < d.ends
          AND COALESCE(a.impressions, 0) > 0
        ORDER BY a.engagement_rate DESC, p.id LIMIT 1)
    ELSE GREATEST(d.old_best, c.best) END"""

# A day the batch leaves as it was (every post on it polled with the same numbers, the
# common case for older posts): no change to add, no roll-up to queue.
_UNCHANGED = " AND ".join(
    [
        "t.has_row",
        "t.best IS NOT DISTINCT FROM t.old_best",
        "(t.follower_growth IS NULL OR (t.follower_growth = 0 AND t.old_growth IS NOT NULL))",
        *(f"t.{c} = 0" for c in ADDITIVE),
    ]
)

# The batch's change to each touched day it changes: what adds up, the growth (null:
# unchanged; new minus before on a follower day) and the best post after.
DAY_CHANGES = f"""
INSERT INTO day_changes
WITH {_MOVED_DAYS},
{_FINAL_STATES},
{_BEST_MOVED},
{_TOUCHED_DAY_BOUNDS},
{_DAYS_BEFORE},
{growth_of_days("(SELECT * FROM touched_day_bounds WHERE follower_day)")}
SELECT {", ".join(f"t.{c}" for c in ("business_id", "platform", "day", *ADDITIVE))},
       t.follower_growth, {_ranked_post_id("t.best")}, t.best[1]
FROM (
    SELECT d.business_id, d.platform, d.day,
           {", ".join(f"COALESCE(m.{c}, 0) AS {c}" for c in ADDITIVE)},
           CASE WHEN d.follower_day THEN g.growth - COALESCE(d.old_growth, 0) END
               AS follower_growth,
           {_DAY_BEST} AS best, d.has_row, d.old_best, d.old_growth
    FROM days_before d
    LEFT JOIN moved_days m USING (business_id, platform, day)
    LEFT JOIN best_moved c USING (business_id, platform, day)
    LEFT JOIN growth g USING (business_id, platform, day)
    OFFSET 0  -- kept a subquery: pulled up, its best would be looked for twice
) t
WHERE NOT ({_UNCHANGED})
"""


def _sum_of(c: str) -> str:
    """A column's new value, the row's plus the change; a float sum with nothing left to
    average is 0 exactly (adding and taking back rates leaves rounding behind)."""
    counts = {"engagement_rate_sum": "rated_posts", "click_through_rate_sum": "ctr_rated_posts"}
    if c in counts:
        n = counts[c]
        return f"CASE WHEN s.{n} + EXCLUDED.{n} = 0 THEN 0 ELSE s.{c} + EXCLUDED.{c} END"
    return f"s.{c} + EXCLUDED.{c}"


_ADD_CHANGE = ",\n    ".join(
    [f"{c} = {_sum_of(c)}" for c in ADDITIVE]
    + [
        "follower_growth = CASE WHEN EXCLUDED.follower_growth IS NULL THEN s.follower_growth"
        " ELSE COALESCE(s.follower_growth, 0) + EXCLUDED.follower_growth END",
        "best_post_id = EXCLUDED.best_post_id",
        "best_post_engagement_rate = EXCLUDED.best_post_engagement_rate",
        "updated_at = now()",
        "avg_engagement_rate = "
        + formulas.sql_mean(
            _sum_of("engagement_rate_sum"), "(s.rated_posts + EXCLUDED.rated_posts)"
        ),
        "engagement_rate = "
        + formulas.sql_weighted_engagement_rate(
            " + ".join(
                f"s.{c} + EXCLUDED.{c}" for c in ("total_likes", "total_comments", "total_shares")
            ),
            "(s.total_impressions + EXCLUDED.total_impressions)",
        ),
        "avg_impressions = "
        + formulas.sql_mean(
            "(s.total_impressions + EXCLUDED.total_impressions)",
            "(s.total_posts + EXCLUDED.total_posts)",
        ),
    ]
)


def _add_changes(rows: str) -> str:
    """Adds ``rows`` (every summary column but the derived ones, the changes: what adds
    up, growth, and the best post after) to analytics_summaries, in one order for every
    writer; answers how many rows it left with neither a post nor an observation."""
    return f"""
WITH added AS (
    INSERT INTO analytics_summaries AS s ({COLUMNS})
    SELECT t.*, {_DERIVED}
    FROM ({rows.strip()}) t
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (business_id, platform, period_type, period_start) DO UPDATE SET
    {_ADD_CHANGE}
    RETURNING s.total_posts = 0 AND s.follower_growth IS NULL AS emptied
)
SELECT count(*) FILTER (WHERE emptied) FROM added
"""


MOVE_DAILY_SUMMARIES = _add_changes(
    f"SELECT business_id, platform, 'daily', day, day, {', '.join(CHANGE_COLUMNS)} FROM day_changes"
)

# The changed days' moments, queued for the roll-up refresh (their weeks, months, years
# and 'all' rows), in the batch's transaction: a crash between loses nothing.
QUEUE_ROLLUPS = f"""
INSERT INTO summary_pending_moments (business_id, platform, at)
SELECT c.business_id, c.platform, {formulas.sql_day_start("c.day", "b.timezone")}
FROM day_changes c JOIN businesses b ON b.id = c.business_id
"""

# A day row neither a post nor an observation is in any more (a post moved to another
# day); the roll-up refresh deletes the periods' rows it empties.
DELETE_EMPTIED_DAYS = """
DELETE FROM analytics_summaries s USING day_changes c
WHERE s.business_id = c.business_id AND s.platform = c.platform
  AND s.period_type = 'daily' AND s.period_start = c.day
  AND s.total_posts = 0 AND s.follower_growth IS NULL
"""


async def move_daily_summaries(conn: asyncpg.Connection) -> None:
    """Move the day rows by the batch's recorded moves and follower days, and queue their
    periods' roll-up: the last work of the batch's transaction (it holds its businesses'
    summary lock until the commit)."""
    if not await conn.fetchval(LOCK_MOVED_BUSINESSES):
        return
    await conn.execute(DAY_CHANGES)
    if await conn.fetchval(MOVE_DAILY_SUMMARIES):
        await conn.execute(DELETE_EMPTIED_DAYS)
    await conn.execute(QUEUE_ROLLUPS)
