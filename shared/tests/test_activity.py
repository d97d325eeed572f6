"""activity_daily as rebuilt from the snapshots (a time-zone change) against a plain-Python
computation, in a time zone whose offset is not a whole hour. The aggregator's
batch-by-batch upkeep is checked against the same definition in its exactness tests."""

from __future__ import annotations

import random
import secrets
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from pulse_shared import summaries

pytestmark = pytest.mark.integration

TZ = "Asia/Kathmandu"  # UTC+05:45
START = datetime(2026, 3, 1, tzinfo=UTC)
Snapshot = tuple[str, str, datetime, int, int | None]  # platform, post, at, likes, impressions


def expected_activity(
    snapshots: list[Snapshot],
) -> dict[tuple[str, date], dict[str, int]]:
    """Per (platform, local day): posts observed, and per post the day's last likes and
    impressions minus the last ones before that day (zero before the first)."""
    tz = ZoneInfo(TZ)
    by_post: dict[tuple[str, str], dict[date, tuple[int, int]]] = defaultdict(dict)
    for platform, post, at, likes, impressions in sorted(snapshots, key=lambda s: s[2]):
        by_post[(platform, post)][at.astimezone(tz).date()] = (likes or 0, impressions or 0)
    rows: dict[tuple[str, date], dict[str, int]] = {}
    for (platform, _), days in by_post.items():
        before = (0, 0)
        for day in sorted(days):
            row = rows.setdefault(
                (platform, day), {"active_posts": 0, "likes": 0, "impressions": 0}
            )
            row["active_posts"] += 1
            row["likes"] += days[day][0] - before[0]
            row["impressions"] += days[day][1] - before[1]
            before = days[day]
    return rows


async def stored_activity(db: asyncpg.Connection, business: int) -> dict[Any, dict[str, int]]:
    rows = await db.fetch(
        "SELECT platform, day, active_posts, likes, impressions, comments, shares, clicks "
        "FROM activity_daily WHERE business_id = $1",
        business,
    )
    for r in rows:  # metrics the snapshots never carried stay zero
        assert (r["comments"], r["shares"], r["clicks"]) == (0, 0, 0)
    return {
        (r["platform"], r["day"]): {
            "active_posts": r["active_posts"], "likes": r["likes"], "impressions": r["impressions"],
        }
        for r in rows
    }  # fmt: skip


async def test_rebuild_equals_the_definition(db: asyncpg.Connection) -> None:
    rng = random.Random(5)
    business = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", business)
    await db.execute(
        "SELECT pulse_ensure_snapshot_partitions($1, $2)", START, START + timedelta(40)
    )
    snapshots: list[Snapshot] = []
    for platform in ("linkedin", "twitter"):
        for n in range(12):
            post = f"{platform}-{n}"
            likes, impressions = 0, 0
            # Around local midnights (18:15 UTC) and across days, some days skipped;
            # a metric sometimes unreported (null).
            for _ in range(rng.randint(1, 9)):
                likes += rng.randint(0, 30)
                impressions += rng.randint(0, 400)
                at = START + timedelta(
                    days=rng.randint(0, 20), hours=18, minutes=rng.choice((0, 14, 15, 16, 59))
                )
                snapshots.append(
                    (platform, post, at, likes, None if rng.random() < 0.1 else impressions)
                )
    # One snapshot per post and instant, as stored.
    snapshots = list({(s[0], s[1], s[2]): s for s in snapshots}.values())
    await db.executemany(
        "INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, "
        "observed_at, source, event_id, likes_count, impressions) "
        "VALUES ($1, $2, $3, $4, 'poll', $5, $6, $7)",
        [
            (business, p, post, at, uuid.uuid4(), likes, imp)
            for p, post, at, likes, imp in snapshots
        ],
    )
    want = expected_activity(snapshots)
    assert len(want) > 10

    await summaries.set_business_timezone(db, business, TZ)
    assert await stored_activity(db, business) == want
