"""``pulse summaries rebuild``: recompute a business's summaries from the source rows.

The whole business (no range): :func:`pulse_shared.summaries.set_business_timezone` with
the zone it already has. That is the one complete rebuild the shared package has: in one
transaction, under the business's time-zone and summary locks, every summary row deleted
and recomputed, and ``activity_daily`` rebuilt from the snapshots
(:data:`~pulse_shared.activity.REBUILD`). The zone is read under the time-zone
lock, so a concurrent ``pulse business set-timezone`` is never undone.

A range of local days: every day of the range, for every platform, is put into the
refresh's ``touched_moments`` (one instant at local noon, which exists on every day,
DST included) and :func:`~pulse_shared.summaries.refresh_summaries` recomputes those days
and rolls them up into ``all``, their weeks, months and years. A moment per day, rather
than the source rows' moments, also clears a day whose stale row has no source left.
The moments go straight into the refresh's own transaction (not into
``summary_pending_moments``, which the aggregator drains: queuing there would make this
command also do, or wait for, other businesses' pending work). The range is done a month
per transaction, so a long range shows progress and never holds the locks for long.
``activity_daily`` is not touched by a range rebuild (its rebuild is per business).

Either way the business's cache version is bumped afterwards, so no answer computed from
the summaries before is served after (:func:`retire_answers`).
"""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
from redis.exceptions import RedisError

from pulse_cli.connections import (
    CommandFailed,
    connect_database,
    connect_redis,
    err,
    progress_bar,
    require_business,
)
from pulse_shared.cache import bump_cache_versions
from pulse_shared.events import PLATFORMS
from pulse_shared.settings import PulseSettings
from pulse_shared.summaries import (
    LOCK_TIMEZONE,
    LOCK_TIMEZONES_SHARED,
    SETUP_SQL,
    refresh_summaries,
    set_business_timezone,
)

CHUNK_DAYS = 31

# One moment per local day and platform: noon of the day in the business's zone.
DAY_MOMENTS = """
INSERT INTO touched_moments (business_id, platform, at)
SELECT b.id, p.platform, ($3::date + n.days + time '12:00') AT TIME ZONE b.timezone
FROM businesses b
CROSS JOIN unnest($2::text[]) AS p(platform)
CROSS JOIN generate_series(0, $4::date - $3::date) AS n(days)
WHERE b.id = $1
"""


async def summary_rows(conn: asyncpg.Connection, business_id: int) -> int:
    rows: int = await conn.fetchval(
        "SELECT count(*) FROM analytics_summaries WHERE business_id = $1", business_id
    )
    return rows


async def rebuild_business(settings: PulseSettings, business_id: int) -> int:
    """Every summary and activity row of the business; returns the summary rows now."""
    conn = await connect_database(settings)
    try:
        await require_business(conn, business_id)
        with progress_bar() as progress:
            progress.add_task(f"rebuilding business {business_id}", total=None)
            async with conn.transaction():
                # The zone is read under the lock a zone change takes, so the rebuild
                # keeps a change that committed just before and blocks one in flight.
                await conn.execute(LOCK_TIMEZONE, business_id)
                timezone = await require_business(conn, business_id)
                await set_business_timezone(conn, business_id, timezone)
        return await summary_rows(conn, business_id)
    finally:
        await conn.close()


async def rebuild_range(settings: PulseSettings, business_id: int, since: date, until: date) -> int:
    """The summaries of the local days ``since``..``until``; returns the days recomputed."""
    conn = await connect_database(settings)
    days = 0
    try:
        await require_business(conn, business_id)
        chunks: list[tuple[date, date]] = []
        start = since
        while start <= until:
            end = min(start + timedelta(days=CHUNK_DAYS - 1), until)
            chunks.append((start, end))
            start = end + timedelta(days=1)
        with progress_bar() as progress:
            task = progress.add_task(
                f"rebuilding business {business_id}", total=(until - since).days + 1
            )
            for start, end in chunks:
                async with conn.transaction():
                    await conn.execute(SETUP_SQL)
                    # As every writer turning instants into local days: the zone cannot
                    # change under this transaction.
                    await conn.execute(LOCK_TIMEZONES_SHARED, [business_id])
                    await conn.execute(DAY_MOMENTS, business_id, list(PLATFORMS), start, end)
                    await refresh_summaries(conn)
                days += (end - start).days + 1
                progress.advance(task, (end - start).days + 1)
        return days
    finally:
        await conn.close()


async def retire_answers(settings: PulseSettings, business_id: int) -> None:
    """Bump the business's cache version: query-api's answers computed before the change
    are not served again (``pulse_shared.cache``). The change itself is done: Redis out of
    reach is said, not a failure (cached answers then expire within a minute)."""
    try:
        redis = await connect_redis(settings)
    except CommandFailed as exc:
        err.print(f"[yellow]{exc}: answers cached before may be served for up to a minute[/]")
        return
    try:
        await bump_cache_versions(redis, [business_id])
    except (RedisError, OSError) as exc:
        err.print(f"[yellow]cache not retired ({exc}): answers cached before may be served "
                  "for up to a minute[/]")  # fmt: skip
    finally:
        await redis.aclose()
