"""Migration 0011 on data: upgraded rows equal what the code computes, and a downgrade
goes back to the old activity rule. In a database of its own (a downgrade must not touch
the session's), on the session's server."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from pulse_shared.db import asyncpg_dsn
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import ROOT, Infra

pytestmark = pytest.mark.integration

BUSINESS = 42
NEW_SUMMARY_COLUMNS = {
    "reported_likes", "reported_comments", "reported_shares", "reported_impressions",
    "reported_reach", "reported_clicks", "ctr_impressions", "ctr_rated_posts",
    "click_through_rate_sum",
}  # fmt: skip


@pytest.fixture
async def database(infra: Infra) -> AsyncIterator[tuple[Config, str]]:
    name = f"{infra.database_name}_m{secrets.token_hex(3)}"
    server = make_url(infra.database_url)
    admin = await asyncpg.connect(asyncpg_dsn(server.set(database="postgres").render_as_string(
        hide_password=False)))  # fmt: skip
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    config = Config(os.path.join(ROOT, "shared", "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["reader_role"] = make_url(infra.reader_database_url).username
    config.attributes["ingest_role"] = make_url(infra.ingest_database_url).username
    try:
        await asyncio.to_thread(command.upgrade, config, "head")
        yield config, url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def add_post(
    db: asyncpg.Connection, platform: str, published: datetime,
    snapshots: list[tuple[datetime, int, int, int | None]],
) -> None:  # fmt: skip
    """A post and its snapshots (at, likes, impressions, clicks); its analytics the last."""
    post = uuid.uuid4().hex
    await db.execute(
        "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
        "content_type, published_at, event_id) VALUES ($1, $2, $3, 'a', 'text', $4, $5)",
        BUSINESS, platform, post, published, uuid.uuid4(),
    )  # fmt: skip
    for observed, likes, impressions, clicks in snapshots:
        await db.execute(
            "INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, "
            "observed_at, source, event_id, likes_count, impressions, clicks) "
            "VALUES ($1, $2, $3, $4, 'poll', $5, $6, $7, $8)",
            BUSINESS, platform, post, observed, uuid.uuid4(), likes, impressions, clicks,
        )  # fmt: skip
    _, likes, impressions, clicks = snapshots[-1]
    await db.execute(
        "INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id, "
        "likes_count, impressions, clicks, engagement_rate, click_through_rate, fetched_at) "
        "SELECT business_id, id, platform, platform_post_id, $3::bigint, $4::bigint, "
        "$5::bigint, $3 * 100.0 / $4, COALESCE($5, 0) * 100.0 / $4, $6 FROM published_posts "
        "WHERE business_id = $1 AND platform_post_id = $2",
        BUSINESS, post, likes, impressions, clicks, snapshots[-1][0],
    )  # fmt: skip


async def rows(db: asyncpg.Connection, table: str) -> list[dict[str, Any]]:
    found = await db.fetch(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4")
    return [{k: v for k, v in r.items() if k not in ("created_at", "updated_at")} for r in found]


async def test_upgraded_rows_equal_the_code_and_a_downgrade_restores_the_old_rule(
    database: tuple[Config, str],
) -> None:
    config, url = database
    db = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await db.execute("INSERT INTO businesses (id) VALUES ($1)", BUSINESS)
        await db.execute("SELECT pulse_ensure_snapshot_partitions('2026-03-01', '2026-03-31')")
        # Published Mon 2 March, first seen Thu 5 March (an account connected late).
        await add_post(db, "linkedin", datetime(2026, 3, 2, 10, tzinfo=UTC), [
            (datetime(2026, 3, 5, 9, tzinfo=UTC), 100, 1000, 5),
            (datetime(2026, 3, 6, 9, tzinfo=UTC), 130, 1500, 7),
        ])  # fmt: skip
        await add_post(db, "twitter", datetime(2026, 3, 3, 10, tzinfo=UTC), [
            (datetime(2026, 3, 3, 12, tzinfo=UTC), 5, 50, None),
        ])  # fmt: skip
        for day, followers in ((1, 1000), (8, 1100)):
            await db.execute(
                "INSERT INTO account_snapshots (business_id, platform, account_id, "
                "observed_at, followers, event_id) VALUES ($1, 'linkedin', 'p', $2, $3, $4)",
                BUSINESS, datetime(2026, 3, day, 12, tzinfo=UTC), followers, uuid.uuid4(),
            )  # fmt: skip
        await set_business_timezone(db, BUSINESS, "Europe/Berlin")  # as the code computes
        summaries = await rows(db, "analytics_summaries")
        activity = await rows(db, "activity_daily")
        assert any(r["attributed_posts"] for r in activity)
        assert any(0 < r["reported_clicks"] < r["total_posts"] for r in summaries)

        await db.close()
        await asyncio.to_thread(command.downgrade, config, "0010")
        db = await asyncpg.connect(asyncpg_dsn(url))
        columns = {
            r["column_name"]
            for r in await db.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'analytics_summaries'"
            )
        }
        assert not columns & NEW_SUMMARY_COLUMNS
        # The old rule: everything the post had when first seen lands on that day.
        old = {
            (r["platform"], r["day"]): (r["active_posts"], r["likes"], r["impressions"])
            for r in await db.fetch("SELECT * FROM activity_daily")
        }
        assert old == {
            ("linkedin", date(2026, 3, 5)): (1, 100, 1000),
            ("linkedin", date(2026, 3, 6)): (1, 30, 500),
            ("twitter", date(2026, 3, 3)): (1, 5, 50),
        }

        await db.close()
        await asyncio.to_thread(command.upgrade, config, "head")
        db = await asyncpg.connect(asyncpg_dsn(url))
        assert await rows(db, "analytics_summaries") == summaries
        assert await rows(db, "activity_daily") == activity
    finally:
        await db.close()
