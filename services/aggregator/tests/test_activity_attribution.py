"""Issue 15, item 3: what a post gathered before Pulse first saw it goes to its publish day.

One post, computed by hand, written by the real writer in every order that matters: the
post before or after its snapshots, a late snapshot older than the first one, the post
moved to another publish time and back. After each step activity_daily holds exactly the
hand-computed rows, and the rebuild (pulse_shared.activity, run by a time-zone change to
the zone it already has) makes the same rows: the incremental update and the rebuild agree.

The post (UTC business): published Mon 2 March 10:00, first observed Thu 5 March 09:00
with 100 likes and 1,000 impressions gathered by then. Before the rule all of it landed on
5 March (the spike of the issue); now it counts on 2 March, flagged as attributed."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from reference import Reference, empty_activity

from pulse_aggregator.records import EventBatch
from pulse_aggregator.writer import PostgresAnalyticsWriter, prepare_connection
from pulse_shared.db import asyncpg_dsn
from pulse_shared.events import MetricsObserved, PostMetrics, PostPublished
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration

PUBLISHED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
COLUMNS = tuple(empty_activity())


@pytest.fixture
async def writer(infra: Infra) -> AsyncIterator[PostgresAnalyticsWriter]:
    pool = await asyncpg.create_pool(
        asyncpg_dsn(infra.database_url), min_size=1, max_size=2, init=prepare_connection
    )
    try:
        yield PostgresAnalyticsWriter(pool)
    finally:
        await pool.close()


def post(business: int, at: datetime = PUBLISHED) -> PostPublished:
    return PostPublished(
        business_id=business, platform="instagram", platform_post_id="p1", account_id="a",
        published_at=at, content="hello", content_type="image",
    )  # fmt: skip


def seen(business: int, at: datetime, likes: int, impressions: int) -> MetricsObserved:
    return MetricsObserved(
        business_id=business, platform="instagram", platform_post_id="p1", observed_at=at,
        source="poll", metrics=PostMetrics(likes=likes, impressions=impressions, reach=None),
    )  # fmt: skip


FIRST = (datetime(2026, 3, 5, 9, 0, tzinfo=UTC), 100, 1000)
SAME_DAY = (datetime(2026, 3, 5, 20, 0, tzinfo=UTC), 110, 1100)
NEXT_DAY = (datetime(2026, 3, 6, 8, 0, tzinfo=UTC), 130, 1500)
LATE_EARLIER = (datetime(2026, 3, 3, 12, 0, tzinfo=UTC), 50, 400)  # arrives last, is first


def row(active: int, attributed: int, likes: int, impressions: int) -> dict[str, int]:
    """An activity row of a post reporting likes and impressions (never reach or clicks)."""
    reported = active + attributed
    return {
        **empty_activity(), "active_posts": active, "attributed_posts": attributed,
        "likes": likes, "impressions": impressions, "reported_likes": reported,
        "reported_impressions": reported,
    }  # fmt: skip


async def activity(db: asyncpg.Connection, business: int) -> dict[date, dict[str, int]]:
    rows = await db.fetch("SELECT * FROM activity_daily WHERE business_id = $1", business)
    assert {r["platform"] for r in rows} <= {"instagram"}
    return {r["day"]: {c: r[c] for c in COLUMNS} for r in rows}


async def assert_rebuild_agrees(db: asyncpg.Connection, business: int) -> None:
    kept = await activity(db, business)
    await set_business_timezone(db, business, "UTC")
    assert await activity(db, business) == kept


# After the post and its first two snapshots (5 March): 100 likes / 1,000 impressions on the
# publish day, attributed; 5 March gains only what came after the first look.
AFTER_FIRST_DAY = {
    date(2026, 3, 2): row(0, 1, 100, 1000),
    date(2026, 3, 5): row(1, 0, 10, 100),
}


@pytest.mark.parametrize("post_first", [True, False], ids=["post-first", "metrics-first"])
async def test_gains_before_the_first_snapshot_count_on_the_publish_day(
    post_first: bool, writer: PostgresAnalyticsWriter, db: asyncpg.Connection
) -> None:
    b = secrets.randbelow(2**62) + 10**12
    snapshots = [seen(b, *FIRST), seen(b, *SAME_DAY)]
    if post_first:
        await writer.write(EventBatch.of([post(b)]))
        await writer.write(EventBatch.of(snapshots))
    else:
        # Before its post is known, the post's numbers stay on the day it was first seen.
        await writer.write(EventBatch.of(snapshots))
        assert await activity(db, b) == {date(2026, 3, 5): row(1, 0, 110, 1100)}
        await writer.write(EventBatch.of([post(b)]))
    assert await activity(db, b) == AFTER_FIRST_DAY

    await writer.write(EventBatch.of([seen(b, *NEXT_DAY)]))  # in order: the fast path
    assert await activity(db, b) == {**AFTER_FIRST_DAY, date(2026, 3, 6): row(1, 0, 20, 400)}
    await assert_rebuild_agrees(db, b)


async def test_an_older_snapshot_arriving_late_becomes_the_first(
    writer: PostgresAnalyticsWriter, db: asyncpg.Connection
) -> None:
    b = secrets.randbelow(2**62) + 10**12
    await writer.write(EventBatch.of([post(b), seen(b, *FIRST), seen(b, *NEXT_DAY)]))
    await writer.write(EventBatch.of([seen(b, *LATE_EARLIER)]))
    # 2 March: the 50 / 400 seen on 3 March; 3 March: nothing more that day; 5 March: up
    # to 100 / 1,000; 6 March: up to 130 / 1,500.
    assert await activity(db, b) == {
        date(2026, 3, 2): row(0, 1, 50, 400),
        date(2026, 3, 3): row(1, 0, 0, 0),
        date(2026, 3, 5): row(1, 0, 50, 600),
        date(2026, 3, 6): row(1, 0, 30, 500),
    }
    await assert_rebuild_agrees(db, b)


async def test_a_post_moved_in_time_moves_its_attribution_and_leaves_no_empty_day(
    writer: PostgresAnalyticsWriter, db: asyncpg.Connection
) -> None:
    b = secrets.randbelow(2**62) + 10**12
    await writer.write(EventBatch.of([post(b), seen(b, *FIRST), seen(b, *SAME_DAY)]))
    assert await activity(db, b) == AFTER_FIRST_DAY

    # Republished on the day it was first seen: nothing was gathered before an earlier
    # day, so 2 March (which nothing else counts on) goes, and 5 March has it all.
    await writer.write(EventBatch.of([post(b, datetime(2026, 3, 5, 7, 0, tzinfo=UTC))]))
    assert await activity(db, b) == {date(2026, 3, 5): row(1, 0, 110, 1100)}
    await assert_rebuild_agrees(db, b)

    # Moved to 1 March: attributed there.
    await writer.write(EventBatch.of([post(b, datetime(2026, 3, 1, 23, 0, tzinfo=UTC))]))
    assert await activity(db, b) == {
        date(2026, 3, 1): row(0, 1, 100, 1000),
        date(2026, 3, 5): row(1, 0, 10, 100),
    }
    await assert_rebuild_agrees(db, b)

    # A replay of the same announcement changes nothing.
    before = await activity(db, b)
    await writer.write(EventBatch.of([post(b, datetime(2026, 3, 1, 23, 0, tzinfo=UTC))]))
    assert await activity(db, b) == before


def test_the_reference_model_follows_the_same_rule() -> None:
    """The plain-Python reference the exactness tests hold the writer to, on the same post."""
    b = 1
    ref = Reference()
    for event in (seen(b, *FIRST), post(b), seen(b, *SAME_DAY), seen(b, *NEXT_DAY)):
        ref.apply(event)
    got: dict[Any, dict[str, int]] = {k[2]: v for k, v in ref.activity({b: "UTC"}).items()}
    assert got == {**AFTER_FIRST_DAY, date(2026, 3, 6): row(1, 0, 20, 400)}
