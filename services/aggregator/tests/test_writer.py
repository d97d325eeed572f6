"""The writer alone over the real PostgreSQL: any split of a stream into batches, in any
batch sizes, ends in the same database as the reference. No Kafka here, so the batch
boundaries (the hard cases: a post and a losing same-instant snapshot in one batch, a
snapshot stored before its post, a republished post) are chosen, not left to chance."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from scenario import assert_database_matches, build_stream, reference_of

from pulse_aggregator.records import EventBatch
from pulse_aggregator.writer import PostgresAnalyticsWriter, prepare_connection
from pulse_shared import summaries
from pulse_shared.db import asyncpg_dsn
from pulse_shared.events import MetricsObserved, PostMetrics, PostPublished, PostRemoved
from pulse_testing.infra import Infra
from pulse_testing.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def writer(infra: Infra) -> AsyncIterator[PostgresAnalyticsWriter]:
    pool = await asyncpg.create_pool(
        asyncpg_dsn(infra.database_url), min_size=1, max_size=2, init=prepare_connection
    )
    try:
        yield PostgresAnalyticsWriter(pool)
    finally:
        await pool.close()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_any_batching_gives_the_reference_database(
    seed: int, writer: PostgresAnalyticsWriter, db: asyncpg.Connection
) -> None:
    rng = random.Random(seed)
    businesses = [secrets.randbelow(2**62) + 10**12 for _ in range(2)]  # fresh every run
    stream = build_stream(rng, businesses, posts_per_business=25, snapshots_per_post=4)
    events = stream.events
    position = 0
    while position < len(events):
        size = rng.choice([1, 2, 3, 7, 20, 100, 400])
        await writer.write(EventBatch.of(events[position : position + size]))
        position += size
        if rng.random() < 0.3:  # roll-ups refreshed now and then, as the consumer does
            await writer.refresh_summaries()
    await writer.refresh_summaries()
    await assert_database_matches(db, reference_of(stream), businesses)

    # Writing everything again, in one batch, changes nothing.
    await writer.write(EventBatch.of(events))
    await writer.refresh_summaries()
    await assert_database_matches(db, reference_of(stream), businesses)


async def recomputed_summaries(
    db: asyncpg.Connection, businesses: list[int]
) -> dict[tuple[object, ...], dict[str, object]]:
    """The businesses' summary rows recomputed from the source rows (the way a time-zone
    change rebuilds them), in a transaction rolled back."""
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(summaries.SETUP_SQL)
        await db.execute("DELETE FROM analytics_summaries WHERE business_id = ANY($1)", businesses)
        for business in businesses:
            await db.execute(summaries.REBUILD_MOMENTS, business)
        await summaries.refresh_summaries(db)
        return await summary_rows(db, businesses)
    finally:
        await transaction.rollback()


async def summary_rows(
    db: asyncpg.Connection, businesses: list[int]
) -> dict[tuple[object, ...], dict[str, object]]:
    rows = await db.fetch(
        "SELECT * FROM analytics_summaries WHERE business_id = ANY($1)", businesses
    )
    return {
        (r["business_id"], r["platform"], r["period_type"], r["period_start"]): dict(r)
        for r in rows
    }


def differences(
    moved: dict[tuple[object, ...], dict[str, object]],
    recomputed: dict[tuple[object, ...], dict[str, object]],
) -> list[str]:
    """What differs, rows and columns (a sum of rates moved by adding and taking back
    differs from a recomputation by rounding: compared to 1e-9)."""
    found = [f"row {k} only moved" for k in moved.keys() - recomputed.keys()]
    found += [f"row {k} only recomputed" for k in recomputed.keys() - moved.keys()]
    for key in moved.keys() & recomputed.keys():
        for column, want in recomputed[key].items():
            if column in ("created_at", "updated_at"):
                continue
            got = moved[key][column]
            close = isinstance(want, float) and isinstance(got, float)
            if (got != pytest.approx(want, rel=1e-9, abs=1e-9)) if close else got != want:
                found.append(f"{key} {column}: moved {got!r}, recomputed {want!r}")
    return found


@pytest.mark.parametrize("seed", [5, 6])
async def test_summaries_moved_by_every_batch_equal_a_recomputation(
    seed: int, writer: PostgresAnalyticsWriter, db: asyncpg.Connection
) -> None:
    """After every batch (its day rows moved, then rolled up), not only at the end: posts
    moved to other days (rows emptied), best posts that fall or leave, late snapshots and
    follower counts."""
    rng = random.Random(seed)
    businesses = [secrets.randbelow(2**62) + 10**12 for _ in range(2)]
    stream = build_stream(rng, businesses, posts_per_business=20, snapshots_per_post=4)
    events, position, batches = stream.events, 0, 0
    while position < len(events):
        size = rng.choice([1, 3, 20, 60])
        await writer.write(EventBatch.of(events[position : position + size]))
        position, batches = position + size, batches + 1
        await writer.refresh_summaries()
        moved = await summary_rows(db, businesses)
        assert not differences(moved, await recomputed_summaries(db, businesses)), (
            f"after batch {batches}",
            differences(moved, await recomputed_summaries(db, businesses))[:5],
        )
    assert batches > 10


# Backends waiting for a two-key advisory lock: the refresh's and the roll-up locks
# (summaries.LOCK_REFRESH, LOCK_ROLLUPS).
ROLLUP_LOCK_WAITERS = """
SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 2
"""


async def test_a_roll_up_refresh_holds_up_no_batch_and_the_next_one_rolls_its_days_up(
    infra: Infra, writer: PostgresAnalyticsWriter, db: asyncpg.Connection
) -> None:
    """A refresh holds its businesses' roll-up locks to its commit: a batch of the same
    business commits meanwhile (it moves day rows only), a second refresh waits for the
    first and then rolls up the batch's days, and the rows equal a recomputation."""
    businesses = [secrets.randbelow(2**62) + 10**12]
    stream = build_stream(random.Random(7), businesses, posts_per_business=10, snapshots_per_post=3)
    half = len(stream.events) // 2
    await writer.write(EventBatch.of(stream.events[:half]))
    first, second = [await asyncpg.connect(asyncpg_dsn(infra.database_url)) for _ in range(2)]
    try:
        for conn in (first, second):
            await conn.execute(summaries.SETUP_SQL)
        held = first.transaction()
        await held.start()
        taken = await summaries.refresh_pending(first, recompute_days=False)
        assert set(businesses) <= taken.businesses
        # The deadlines only guard against a hang: before, the batch waited for the refresh.
        await asyncio.wait_for(writer.write(EventBatch.of(stream.events[half:])), 60)
        waiting = asyncio.create_task(summaries.refresh_pending(second, recompute_days=False))
        await eventually(lambda: db.fetchval(ROLLUP_LOCK_WAITERS))
        assert not waiting.done()
        await held.commit()
        assert set(businesses) <= (await asyncio.wait_for(waiting, 60)).businesses
    finally:
        await first.close()
        await second.close()
    moved = await summary_rows(db, businesses)
    assert not differences(moved, await recomputed_summaries(db, businesses))


async def test_a_removed_post_keeps_its_numbers_and_the_earliest_removal(
    writer: PostgresAnalyticsWriter, db: asyncpg.Connection
) -> None:
    """posts.removed.v1 marks the post (the earliest removal wins, a replay changes
    nothing); its snapshots, analytics and summaries stay. A removal of a post not stored
    matches nothing and fails nothing. The thumbnail a discovery gives is stored."""
    business = secrets.randbelow(2**62) + 10**12
    published_at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    post = PostPublished(
        business_id=business, platform="instagram", platform_post_id="17900000000000001",
        account_id="17841400000000001", published_at=published_at, content="gone soon",
        content_type="image", thumbnail_url="https://cdn.example/17900000000000001.jpg",
    )  # fmt: skip
    reading = MetricsObserved(
        business_id=business, platform="instagram", platform_post_id=post.platform_post_id,
        observed_at=published_at + timedelta(hours=5), source="poll",
        metrics=PostMetrics(likes=7, comments=1, impressions=400, reach=350, saves=2),
    )  # fmt: skip

    def removal(hours: int, post_id: str = post.platform_post_id) -> PostRemoved:
        return PostRemoved(
            business_id=business, platform="instagram", platform_post_id=post_id,
            removed_at=published_at + timedelta(hours=hours),
        )  # fmt: skip

    await writer.write(EventBatch.of([post, reading]))
    before = await db.fetchrow(
        "SELECT * FROM analytics_summaries WHERE business_id = $1 AND platform = 'instagram' "
        "AND period_type = 'daily'",
        business,
    )
    await writer.write(EventBatch.of([removal(30), removal(20), removal(9, "17900000000000999")]))
    await writer.write(EventBatch.of([removal(40)]))  # later: the first removal stands
    await writer.write(EventBatch.of([post]))  # announced again (a replay): still removed

    row = await db.fetchrow(
        "SELECT removed_at, thumbnail_url FROM published_posts WHERE business_id = $1", business
    )
    assert row["removed_at"] == published_at + timedelta(hours=20)
    assert row["thumbnail_url"] == "https://cdn.example/17900000000000001.jpg"
    kept = await db.fetchrow(
        "SELECT likes_count, impressions FROM post_analytics WHERE business_id = $1", business
    )
    assert (kept["likes_count"], kept["impressions"]) == (7, 400)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM post_metric_snapshots WHERE business_id = $1", business
        )
        == 1
    )
    after = await db.fetchrow(
        "SELECT * FROM analytics_summaries WHERE business_id = $1 AND platform = 'instagram' "
        "AND period_type = 'daily'",
        business,
    )
    assert before is not None
    assert after is not None
    assert (after["total_posts"], after["total_likes"]) == (before["total_posts"], 7)


async def test_a_poll_with_the_same_numbers_leaves_the_day_rows_alone(
    writer: PostgresAnalyticsWriter, db: asyncpg.Connection
) -> None:
    """Most polls of an older post find the numbers it had: its analytics move to the
    newer observation, but its day row and its activity row are not rewritten and no
    roll-up is queued; a poll with new numbers moves them as before."""
    business = secrets.randbelow(2**62) + 10**12
    published_at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    post = PostPublished(
        business_id=business, platform="linkedin", platform_post_id="urn:li:share:7001",
        account_id="urn:li:organization:42", published_at=published_at, content="steady",
        content_type="text",
    )  # fmt: skip

    def poll(hours: int, likes: int) -> MetricsObserved:
        return MetricsObserved(
            business_id=business, platform="linkedin", platform_post_id=post.platform_post_id,
            observed_at=published_at + timedelta(hours=hours), source="poll",
            metrics=PostMetrics(likes=likes, comments=2, impressions=900, clicks=12),
        )  # fmt: skip

    day_row = """
        SELECT xmin::text AS version, total_likes FROM analytics_summaries
        WHERE business_id = $1 AND platform = 'linkedin' AND period_type = 'daily'"""
    activity_row = """
        SELECT xmin::text AS version, likes FROM activity_daily WHERE business_id = $1"""
    pending = "SELECT count(*) FROM summary_pending_moments WHERE business_id = $1"
    await writer.write(EventBatch.of([post, poll(5, likes=30)]))
    await writer.refresh_summaries()
    before = await db.fetchrow(day_row, business)
    activity_before = await db.fetchrow(activity_row, business)
    assert (before["total_likes"], activity_before["likes"]) == (30, 30)
    assert await db.fetchval(pending, business) == 0

    await writer.write(EventBatch.of([poll(6, likes=30)]))  # the same numbers, later
    fetched = "SELECT fetched_at FROM post_analytics WHERE business_id = $1"
    assert await db.fetchval(fetched, business) == published_at + timedelta(hours=6)
    assert await db.fetchrow(day_row, business) == before  # the same row versions
    assert await db.fetchrow(activity_row, business) == activity_before
    assert await db.fetchval(pending, business) == 0

    await writer.write(EventBatch.of([poll(7, likes=31)]))
    after = await db.fetchrow(day_row, business)
    assert (after["version"], after["total_likes"]) != (before["version"], 30)
    assert after["total_likes"] == 31
    assert await db.fetchval(activity_row, business, column=1) == 31
    assert await db.fetchval(pending, business) == 1
