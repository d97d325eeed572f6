"""Issue 13, item 8: row-level security, a second wall for the reader role. Whatever a query
of query-api asks for, PostgreSQL shows the reader role only the rows of the business its
transaction set (``pulse.business_id``, made with SET LOCAL by query-api) and no row at all
without it. The owner (the aggregator, the only writer) and the ingest role are
unaffected."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from pulse_shared.db import asyncpg_dsn
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration

# Every table with business_id that the reader role reads.
ANALYTICS = (
    "published_posts", "post_analytics", "post_metric_snapshots", "account_snapshots",
    "analytics_summaries", "activity_daily", "summary_pending_moments",
)  # fmt: skip
# Rows the tests write in all of them but the summary queue: the session's aggregator, if
# one runs, takes queued moments out (and recomputes those businesses' summaries).
SEEDED = tuple(t for t in ANALYTICS if t != "summary_pending_moments")
# Which business a caller may read: looked up before any business is known.
MEMBERSHIP = ("business_members",)
OBSERVED = datetime(2026, 11, 10, 12, tzinfo=UTC)
POLICY_QUAL = (
    "(business_id = (NULLIF(current_setting('pulse.business_id'::text, true), ''::text))::bigint)"
)


class RollBack(Exception):
    pass


def role_of(url: str) -> str:
    return url.split("//", 1)[1].split(":", 1)[0]


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        yield conn
    finally:
        await conn.close()


async def seed(conn: asyncpg.Connection, business: int, member: str) -> None:
    """One row of the business in every table of SEEDED, and a member."""
    await conn.execute("INSERT INTO businesses (id) VALUES ($1)", business)
    await conn.execute(
        "INSERT INTO business_members (business_id, user_id, role) VALUES ($1, $2, 'owner')",
        business,
        member,
    )
    post = await conn.fetchval(
        "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
        "content_type, published_at, event_id) VALUES ($1, 'twitter', $2, 'acct', 'text', $3, $4) "
        "RETURNING id",
        business, f"rls-{business}", OBSERVED, uuid.uuid4(),
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id, "
        "likes_count, impressions, fetched_at) VALUES ($1, $2, 'twitter', $3, 5, 100, $4)",
        business, post, f"rls-{business}", OBSERVED,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, "
        "observed_at, source, event_id, likes_count) VALUES ($1, 'twitter', $2, $3, 'poll', $4, 5)",
        business, f"rls-{business}", OBSERVED, uuid.uuid4(),
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO account_snapshots (business_id, platform, account_id, observed_at, "
        "followers, event_id) VALUES ($1, 'twitter', 'acct', $2, 10, $3)",
        business, OBSERVED, uuid.uuid4(),
    )  # fmt: skip
    day = OBSERVED.date()
    await conn.execute(
        "INSERT INTO analytics_summaries (business_id, platform, period_type, period_start, "
        "period_end, total_posts) VALUES ($1, 'twitter', 'daily', $2, $2, 1)",
        business, day,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO activity_daily (business_id, platform, day, active_posts, likes, comments, "
        "shares, impressions, clicks) VALUES ($1, 'twitter', $2, 1, 5, 0, 0, 100, 0)",
        business, day,
    )  # fmt: skip


@pytest.fixture(scope="module")
async def businesses(infra: Infra) -> dict[int, str]:
    """Three businesses, each with rows in the analytics tables and a member."""
    members = {secrets.randbelow(2**62) + 10**12: f"rls-{secrets.token_hex(4)}@test"
               for _ in range(3)}  # fmt: skip
    async with connected(infra.database_url) as conn:
        await conn.execute("SELECT pulse_ensure_snapshot_partitions($1, $1)", OBSERVED)
        for business, member in members.items():
            await seed(conn, business, member)
    return members


async def counts(conn: asyncpg.Connection, table: str) -> dict[int, int]:
    """Rows per business, of every business the connection may see."""
    rows = await conn.fetch(f"SELECT business_id, count(*) AS n FROM {table} GROUP BY 1")
    return {r["business_id"]: r["n"] for r in rows}


async def test_without_the_setting_the_reader_sees_no_row_of_any_analytics_table(
    infra: Infra, businesses: dict[int, str]
) -> None:
    async with connected(infra.database_url) as owner:
        for table in SEEDED:
            seen = await counts(owner, table)
            assert all(seen.get(b) for b in businesses), (table, "the rows exist")
    async with connected(infra.reader_database_url) as reader:
        for table in ANALYTICS:
            # Not a business filter in sight: every row of every business is asked for.
            assert await reader.fetchval(f"SELECT count(*) FROM {table}") == 0, table
        async with reader.transaction():
            assert await reader.fetchval("SELECT count(*) FROM published_posts") == 0


async def test_with_the_setting_the_reader_sees_exactly_that_business(
    infra: Infra, businesses: dict[int, str]
) -> None:
    async with connected(infra.database_url) as owner, connected(infra.reader_database_url) as r:
        for business in businesses:
            async with r.transaction():
                await r.execute(f"SET LOCAL pulse.business_id = {business}")
                for table in SEEDED:
                    expected = {business: (await counts(owner, table))[business]}
                    assert await counts(r, table) == expected, (table, business)


async def test_one_business_per_transaction_and_none_after_it(
    infra: Infra, businesses: dict[int, str]
) -> None:
    """The setting is an ordinary configuration parameter: SQL run as the reader role may
    set it to any business, so this wall stops a query that forgets or loses its business,
    not someone who can run SQL as the reader (the token, the membership check and bound
    parameters are the wall there). Within that, SET LOCAL names one business at a time: a
    second setting replaces the first (never both businesses' rows), a savepoint rolled
    back takes its setting back, a value that is not one business id shows nothing, and
    nothing outlives the transaction, so a pooled connection hands no business on."""
    first, second, third = businesses
    mine = list(businesses)
    seen = "SELECT array_agg(DISTINCT business_id) FROM published_posts WHERE business_id = ANY($1)"
    async with connected(infra.reader_database_url) as reader:
        async with reader.transaction():
            await reader.execute(f"SET LOCAL pulse.business_id = {first}")
            assert await reader.fetchval(seen, mine) == [first]
            await reader.execute(f"SELECT set_config('pulse.business_id', '{second}', true)")
            assert await reader.fetchval(seen, mine) == [second]
            with contextlib.suppress(RollBack):
                async with reader.transaction():  # a savepoint
                    await reader.execute(f"SET LOCAL pulse.business_id = {third}")
                    assert await reader.fetchval(seen, mine) == [third]
                    raise RollBack
            assert await reader.fetchval(seen, mine) == [second]
        # The same connection, as the pool hands it to the next request.
        assert await reader.fetchval("SELECT current_setting('pulse.business_id', true)") == ""
        assert await reader.fetchval(seen, mine) is None
        for value in (f"{first},{second}", f"{first} OR true", "*"):
            async with reader.transaction():
                await reader.execute("SELECT set_config('pulse.business_id', $1, true)", value)
                with pytest.raises(asyncpg.InvalidTextRepresentationError):
                    await reader.fetchval(seen, mine)


async def test_a_partition_read_directly_shows_the_reader_nothing(
    infra: Infra, businesses: dict[int, str]
) -> None:
    """Through the parent its policy applies; a partition named directly would skip it, so
    each has row-level security with no policy, a partition made after the migration too."""
    business = next(iter(businesses))
    later = datetime(2031, 3, 5, tzinfo=UTC)
    async with connected(infra.database_url) as owner:
        await owner.execute("SELECT pulse_ensure_snapshot_partitions($1, $1)", later)
        await owner.execute(
            "INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, "
            "observed_at, source, event_id) VALUES ($1, 'twitter', 'later', $2, 'poll', $3)",
            business, later, uuid.uuid4(),
        )  # fmt: skip
        partitions = [
            r["relname"]
            for r in await owner.fetch(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'post_metric_snapshots'::regclass"
            )
        ]
    assert "post_metric_snapshots_y2031m03" in partitions
    async with connected(infra.reader_database_url) as reader, reader.transaction():
        await reader.execute(f"SET LOCAL pulse.business_id = {business}")
        through_parent = "SELECT count(*) FROM post_metric_snapshots WHERE observed_at = $1"
        assert await reader.fetchval(through_parent, later) == 1
        for partition in partitions:
            assert await reader.fetchval(f'SELECT count(*) FROM "{partition}"') == 0, partition


async def test_every_table_the_reader_may_read_by_business_is_behind_the_policy(
    infra: Infra, db: asyncpg.Connection
) -> None:
    """Tables of later revisions included: a table with business_id that the reader role may
    read has the policy (a partition: row-level security and no policy), not forced, so the
    owner reads everything."""
    reader = role_of(infra.reader_database_url)
    tables = await db.fetch(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, c.relispartition,
               array_agg(p.polname) FILTER (WHERE p.polname IS NOT NULL) AS policies
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'business_id'
        LEFT JOIN pg_policy p ON p.polrelid = c.oid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
          AND has_table_privilege($1, c.oid, 'SELECT')
        GROUP BY c.oid
        """,
        reader,
    )
    names = {t["relname"] for t in tables}
    assert set(ANALYTICS) | set(MEMBERSHIP) <= names
    for t in tables:
        if t["relname"] in MEMBERSHIP:
            continue
        assert t["relrowsecurity"], t["relname"]
        assert not t["relforcerowsecurity"], t["relname"]
        assert t["policies"] == (None if t["relispartition"] else ["reader_sees_one_business"])
    policies = await db.fetch("SELECT tablename, roles, cmd, qual FROM pg_policies")
    assert {p["tablename"] for p in policies} == set(ANALYTICS)
    for p in policies:
        assert (p["roles"], p["cmd"], p["qual"]) == ([reader], "SELECT", POLICY_QUAL), p


async def test_the_owner_and_the_ingest_role_are_unaffected(
    infra: Infra, businesses: dict[int, str]
) -> None:
    async with connected(infra.database_url) as owner:
        for table in SEEDED:
            assert set(businesses) <= set(await counts(owner, table)), table
    accounts = {b: f"rls-{b}" for b in businesses}
    async with connected(infra.ingest_database_url) as ingest:
        for business, account in accounts.items():
            await ingest.execute(
                "INSERT INTO connected_accounts (business_id, platform, account_id, "
                "encrypted_token) VALUES ($1, 'twitter', $2, 'x')",
                business, account,
            )  # fmt: skip
        found = await ingest.fetch(
            "SELECT business_id FROM connected_accounts WHERE account_id = ANY($1)",
            list(accounts.values()),
        )
    assert {r["business_id"] for r in found} == set(businesses)


async def test_a_posts_business_is_told_to_its_members_only(
    infra: Infra, businesses: dict[int, str]
) -> None:
    """posts/{id} knows the post, not its business: the reader role may ask which business
    a post is of, and is answered only for a member of that business."""
    (first, member), (_, other) = list(businesses.items())[:2]
    ask = "SELECT pulse_member_post_business($1, $2)"
    async with connected(infra.database_url) as owner:
        post = await owner.fetchval("SELECT id FROM published_posts WHERE business_id = $1", first)
    async with connected(infra.reader_database_url) as reader:
        assert await reader.fetchval(ask, post, member) == first
        assert await reader.fetchval(ask, post, other) is None
        assert await reader.fetchval(ask, post, "nobody@test") is None
        assert await reader.fetchval(ask, post + 10**15, member) is None
    async with connected(infra.ingest_database_url) as ingest:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await ingest.fetchval(ask, post, member)
