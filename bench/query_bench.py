"""query-api's latency and throughput on a large database, each beside its target.

One run, in a database of its own (``pulse_qbench_<hex>``, dropped at the end):

1. generate the data with set-based SQL (deterministic: every pseudo-random value is a
   hash of a row number and ``--seed``): businesses in a mix of time zones; one "big"
   business (id 1, America/New_York) with exactly ``--big-business-posts`` posts over
   the last 89 days, the other posts spread over the other businesses (same 89 days,
   post ids ascending with publication time); ``post_analytics`` for every post (its
   latest snapshot, rates from ``pulse_shared.formulas``' SQL builders); ~S/P cumulative
   snapshots per post (denser early in its life, the last 30-60 min before "now"),
   written round by round so each business's rows are scattered over the heap as a
   stream of events would leave them; weekly follower counts per business and platform;
   then every summary (``pulse_shared.summaries``), then VACUUM ANALYZE;
2. ONE query-api process (one uvicorn worker, as deployed: ``--no-access-log``), first
   with the answer cache off (``PULSE_CACHE_ENABLED=false``, "cold": every answer is
   computed in PostgreSQL, whose buffers are warm), then on ("warm": each URL primed
   once, then answered from Redis). For the big business, ``--requests`` sequential
   requests per endpoint over one keep-alive connection (httpx): p50/p99;
3. requests/s at ``/overview`` warm: a closed loop of ``--clients`` connections for
   ``--duration`` seconds (a raw-socket HTTP/1.1 client, far lighter than httpx) that
   shares this machine's cores with the server, PostgreSQL and Redis;
4. the same overview computed the naive way: the business's rows of the period and of
   the one before (posts and every snapshot, as stored: no derived table) loaded with
   plain SELECTs and aggregated in Python; p50 of ``--naive-runs`` runs, its numbers
   checked against the API's answer. For context, the same from the aggregator's
   post_analytics rows instead of the snapshots.

No figure is asserted: the targets are printed with PASS/MISS and the exit code is 0
unless something crashed. Run: ``make bench`` (both benchmarks, full size) or
``uv run --frozen python bench/query_bench.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import redis
from common import Infra, Process, create_database, drop_database, free_port

from pulse_shared import activity, formulas, summaries
from pulse_shared.auth import mint_dev_token
from pulse_shared.events import PLATFORMS

API = "/api/v1/analytics"

TARGET_OVERVIEW_COLD_P99_MS = 50.0
TARGET_ENDPOINT_COLD_P99_MS = 100.0
TARGET_WARM_RPS = 2_000.0
# Rate limiting checked on every request but never firing may cost at most 5% of it.
TARGET_RATE_LIMIT_SHARE = 0.95
# Limits so high they never fire: the cost of checking them, nothing else.
UNREACHED_LIMITS = {
    "PULSE_RATE_LIMIT_ADDRESS": "1000000000/60",
    "PULSE_RATE_LIMIT_TOKEN": "1000000000/60",
    "PULSE_RATE_LIMIT_AUTH_FAILURES": "1000000000/60",
}
TARGET_NAIVE_SPEEDUP = 20.0

BIG_BUSINESS = 1
BIG_TIMEZONE = "America/New_York"
# The other businesses' zones, by business id.
TIMEZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Europe/London",
    "America/Sao_Paulo",
)
DAYS = 89  # posts are published over the 89 days before "now": inside 90 local days
PERIOD_DAYS = 30  # the endpoints' period (their default: the last 30 local days)


def step(what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {what}", flush=True)


# --- infrastructure ----------------------------------------------------------------


# --- data generation (set-based SQL) -------------------------------------------------


class Rand:
    """Deterministic pseudo-random SQL expressions: a uniform double in [0, 1) from
    the 53 low bits of ``hashint8extended(key, seed-and-stream)``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, key: str, stream: int) -> str:
        salt = self.seed * 1009 + stream
        return (
            f"((hashint8extended(({key})::bigint, {salt}) & 9007199254740991)::float8"
            f" / 9007199254740992.0)"
        )


TEXTS = (
    "We are hiring engineers who love data",
    "Five lessons from our first year",
    "Behind the scenes at the studio",
    "New feature: scheduled reports",
    "Customer story: how Acme doubled reach",
    "Our take on the state of social this year",
)
# Cumulative shares of the posts by platform and by content type.
PLATFORM_SHARES = (("linkedin", 0.30), ("twitter", 0.60), ("facebook", 0.85), ("instagram", 1.0))
CONTENT_SHARES = (("text", 3 / 12), ("image", 7 / 12), ("video", 9 / 12), ("link", 11 / 12))
# Engagement relative to LinkedIn's: the platforms differ, as the comparison expects.
LIKES_FACTOR = {"linkedin": 1.0, "twitter": 0.5, "facebook": 0.8, "instagram": 1.6}


def _pick(u: str, shares: Sequence[tuple[str, float]], last: str) -> str:
    whens = " ".join(f"WHEN {u} < {share} THEN '{value}'" for value, share in shares)
    return f"(CASE {whens} ELSE '{last}' END)"


def staging_sql(args: argparse.Namespace) -> str:
    """``bench_posts``: one row per post with its identity, its life (published_at ->
    end_at, n snapshots) and its final totals (doubles; the stored counts are floors)."""
    r = Rand(args.seed)
    p, k, b, s = args.posts, args.big_business_posts, args.businesses, args.snapshots
    texts = "ARRAY[" + ", ".join(f"'{t}'" for t in TEXTS) + "]"
    likes_factor = " ".join(f"WHEN '{pl}' THEN {x}" for pl, x in LIKES_FACTOR.items())
    return f"""
CREATE UNLOGGED TABLE bench_posts AS
WITH g AS (
    SELECT g AS id,
           -- exactly {k} posts, evenly spread over the ids, belong to the big business
           (g * {k}) / {p} <> ((g - 1) * {k}) / {p} AS big,
           g - (g * {k}) / {p} AS other_ordinal,
           {r("g", 1)} AS u1, {r("g", 2)} AS u2, {r("g", 3)} AS u3, {r("g", 4)} AS u4,
           {r("g", 5)} AS u5, {r("g", 6)} AS u6, {r("g", 7)} AS u7, {r("g", 8)} AS u8,
           {r("g", 9)} AS u9, {r("g", 10)} AS u10, {r("g", 11)} AS u11,
           {r("g", 12)} AS u12, {r("g", 13)} AS u13, {r("g", 14)} AS u14,
           {r("g", 15)} AS u15, {r("g", 16)} AS u16, {r("g", 17)} AS u17,
           {r("g", 18)} AS u18
    FROM generate_series(1::bigint, {p}::bigint) AS g
),
p AS (
    SELECT g.*,
           CASE WHEN big THEN {BIG_BUSINESS}
                ELSE {BIG_BUSINESS} + 1 + (other_ordinal - 1) % {b - 1} END AS business_id,
           {_pick("u15", PLATFORM_SHARES[:-1], "instagram")} AS platform,
           {_pick("u14", CONTENT_SHARES, "carousel")} AS content_type,
           -- ids ascend with publication time, as an identity does
           $1::timestamptz - interval '3 hours'
               - (interval '{DAYS} days' - interval '3 hours')
                 * (1 - (id - 1 + u17) / {p}::float8) AS published_at,
           $1::timestamptz - interval '30 minutes' * (1 + u18) AS end_at,
           {s // p} + CASE WHEN id <= {s % p} THEN 1 ELSE 0 END AS n,
           -- log-normal reach: median ~3,000 impressions
           greatest(50.0, exp(8 + 1.1 * sqrt(-2 * ln(1 - u1)) * cos(2 * pi() * u2)))
               AS impressions
    FROM g
),
q AS (
    SELECT p.*,
           impressions * (0.005 + 0.055 * u3)
               * (CASE platform {likes_factor} END) AS likes
    FROM p
)
SELECT id, business_id, platform, content_type, published_at, end_at, n,
       CASE platform
           WHEN 'linkedin' THEN 'urn:li:share:' || (7200000000000000000 + id)
           WHEN 'twitter' THEN (1850000000000000000 + id)::text
           WHEN 'facebook' THEN (100000000000 + business_id) || '_' || (10^15 + id)::bigint
           ELSE (17900000000000000 + id)::text END AS platform_post_id,
       CASE platform
           WHEN 'linkedin' THEN 'urn:li:organization:' || (1000 + business_id)
           WHEN 'twitter' THEN (2244990000 + business_id)::text
           WHEN 'facebook' THEN (100000000000 + business_id)::text
           ELSE (17841400000000000 + business_id)::text END AS account_id,
       'https://example.com/' || platform || '/posts/' || id AS url,
       ({texts})[1 + floor(u16 * {len(TEXTS)})::int] || ' (#' || id || ')' AS preview,
       CASE WHEN content_type = 'video'
            THEN round((6 + 174 * u13)::numeric, 1)::float8 END AS video_duration_s,
       impressions, likes,
       impressions * (0.55 + 0.35 * u9) AS reach,
       impressions * (0.002 + 0.028 * u8) AS clicks,
       likes * (0.03 + 0.17 * u4) AS comments,
       likes * (0.05 + 0.15 * u5) AS shares,
       likes * (0.1 + 0.2 * u6) AS retweets,
       likes * (0.02 + 0.06 * u7) AS quotes,
       likes * (0.02 + 0.13 * u10) AS saves,
       impressions * (0.3 + 0.4 * u11) AS views,
       impressions * (0.3 + 0.4 * u11) * (4 + 21 * u12) AS watch
FROM q
"""  # noqa: S608 - our own constants


def metric_exprs(f: str) -> dict[str, str]:
    """The stored metric columns of a post (``b``, a bench_posts row) at fraction ``f``
    of its final totals: floors, so non-decreasing in f; null where the platform does not
    report the metric (as the ingest services store them)."""

    def n(total: str) -> str:
        return f"floor(b.{total} * {f})::bigint"

    video = "b.content_type = 'video'"
    return {
        "likes_count": n("likes"),
        "comments_count": n("comments"),
        "shares_count": (
            f"CASE WHEN b.platform = 'twitter' THEN {n('retweets')} + {n('quotes')}"
            f" ELSE {n('shares')} END"
        ),
        "reactions_count": f"CASE WHEN b.platform = 'facebook' THEN {n('likes')} END",
        "retweets_count": f"CASE WHEN b.platform = 'twitter' THEN {n('retweets')} END",
        "quote_tweets_count": f"CASE WHEN b.platform = 'twitter' THEN {n('quotes')} END",
        "saves_count": f"CASE WHEN b.platform IN ('twitter', 'instagram') THEN {n('saves')} END",
        "impressions": n("impressions"),
        "reach": f"CASE WHEN b.platform <> 'twitter' THEN {n('reach')} END",
        "clicks": f"CASE WHEN b.platform <> 'instagram' THEN {n('clicks')} END",
        "video_views": f"CASE WHEN {video} THEN {n('views')} END",
        "video_watch_time_s": (
            f"CASE WHEN {video} AND b.platform = 'facebook'"
            f" THEN round((b.watch * {f})::numeric, 1)::float8 END"
        ),
    }


def posts_sql(seed: int) -> str:
    return f"""
INSERT INTO published_posts (business_id, id, platform, platform_post_id, account_id,
    content_preview, content_type, published_at, platform_post_url, video_duration_s, event_id)
SELECT business_id, id, platform, platform_post_id, account_id, preview, content_type,
       published_at, url, video_duration_s, md5('post:{seed}:' || id)::uuid
FROM bench_posts ORDER BY id
"""  # noqa: S608 - our own constants


def analytics_sql() -> str:
    """Every post's analytics: its latest snapshot (f = 1), rates by the shared formulas."""
    metrics = metric_exprs("1.0")
    er = formulas.sql_engagement_rate(
        "likes_count", "comments_count", "shares_count", "impressions"
    )
    ctr = formulas.sql_click_through_rate("clicks", "impressions")
    columns = ", ".join(metrics)
    values = ", ".join(f"{expr} AS {col}" for col, expr in metrics.items())
    return f"""
INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id,
    platform_post_url, {columns}, engagement_rate, click_through_rate, fetched_at)
SELECT m.business_id, m.id, m.platform, m.platform_post_id, m.url, {columns}, {er}, {ctr},
       m.end_at
FROM (SELECT b.business_id, b.id, b.platform, b.platform_post_id, b.url, b.end_at, {values}
      FROM bench_posts b) m
ORDER BY m.id
"""  # noqa: S608 - our own constants


def snapshot_round_sql(seed: int) -> str:
    """The $1-th snapshot of every post that has that many: observed at (k/n)^2 of its
    life (denser early), at growth(x) = (1 - e^(-4x)) / (1 - e^(-4)) of its final totals;
    the n-th is exactly the post's analytics (f = 1, observed at end_at = fetched_at)."""
    r = Rand(seed)
    metrics = metric_exprs("t.f")
    columns = ", ".join(metrics)
    values = ", ".join(metrics.values())
    return f"""
INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, observed_at,
    source, event_id, {columns})
SELECT b.business_id, b.platform, b.platform_post_id,
       b.published_at + (b.end_at - b.published_at) * x.x,
       CASE WHEN {r("b.id * 64 + $1", 40)} < 0.1 THEN 'webhook' ELSE 'poll' END,
       md5('snapshot:{seed}:' || b.id || ':' || $1)::uuid, {values}
FROM bench_posts b
CROSS JOIN LATERAL (SELECT ($1::float8 / b.n) ^ 2 AS x) x
CROSS JOIN LATERAL (
    SELECT CASE WHEN $1 = b.n THEN 1.0
                ELSE (1 - exp(-4 * x.x)) / (1 - exp(-4.0)) END AS f
) t
WHERE b.n >= $1
ORDER BY b.id
"""  # noqa: S608 - our own constants


FOLLOWER_WEEKS = 16


def accounts_sql(seed: int) -> str:
    """Per business and platform one account, observed weekly over 16 weeks (the last an
    hour or so ago): its followers grow by a steady weekly gain plus some noise."""
    r = Rand(seed)
    platforms = "ARRAY[" + ", ".join(f"'{p}'" for p in PLATFORMS) + "]"
    return f"""
INSERT INTO account_snapshots (business_id, platform, account_id, observed_at, followers,
    event_id)
SELECT a.business_id, a.platform, a.account_id,
       $1::timestamptz - interval '1 hour' - interval '7 days' * w.k
           - interval '12 hours' * {r("a.key * 64 + w.k", 50)},
       a.base + ({FOLLOWER_WEEKS - 1} - w.k) * a.gain
           + floor({r("a.key * 64 + w.k", 51)} * a.gain / 2)::bigint,
       md5('account:{seed}:' || a.key || ':' || w.k)::uuid
FROM (
    SELECT bs.id AS business_id, pl.platform, bs.id * 8 + pl.i AS key,
           CASE pl.platform
               WHEN 'linkedin' THEN 'urn:li:organization:' || (1000 + bs.id)
               WHEN 'twitter' THEN (2244990000 + bs.id)::text
               WHEN 'facebook' THEN (100000000000 + bs.id)::text
               ELSE (17841400000000000 + bs.id)::text END AS account_id,
           500 + floor({r("bs.id * 8 + pl.i", 52)} * 50000)::bigint AS base,
           5 + floor({r("bs.id * 8 + pl.i", 53)} * 500)::bigint AS gain
    FROM businesses bs
    CROSS JOIN unnest({platforms}) WITH ORDINALITY AS pl(platform, i)
) a
CROSS JOIN generate_series(0, {FOLLOWER_WEEKS - 1}) AS w(k)
"""  # noqa: S608 - our own constants


PENDING_MOMENTS = """
INSERT INTO summary_pending_moments (business_id, platform, at)
SELECT business_id, platform, published_at FROM published_posts
UNION
SELECT business_id, platform, observed_at FROM account_snapshots
"""


@dataclass
class Generation:
    steps: list[tuple[str, float]] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        return sum(seconds for _, seconds in self.steps)

    @contextlib.contextmanager
    def timed(self, what: str) -> Iterator[None]:
        step(f"  {what} ...")
        started = time.monotonic()
        yield
        seconds = time.monotonic() - started
        self.steps.append((what, seconds))
        step(f"  {what}: {seconds:.1f} s")


async def snapshot_indexes(conn: asyncpg.Connection) -> list[str]:
    """The statements that recreate post_metric_snapshots' primary key and indexes."""
    statements = []
    for row in await conn.fetch(
        """SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
           WHERE conrelid = 'post_metric_snapshots'::regclass AND contype = 'p'"""
    ):
        statements.append(
            f'ALTER TABLE post_metric_snapshots ADD CONSTRAINT "{row["conname"]}" {row["def"]}'
        )
    for row in await conn.fetch(
        """SELECT indexdef FROM pg_indexes
           WHERE schemaname = 'public' AND tablename = 'post_metric_snapshots'
             AND indexname NOT IN (SELECT conname FROM pg_constraint
                                   WHERE conrelid = 'post_metric_snapshots'::regclass)"""
    ):
        # pg_indexes shows a partitioned index as ON ONLY (the parent alone): build it on
        # every partition.
        statements.append(row["indexdef"].replace(" ON ONLY ", " ON "))
    return statements


async def drop_snapshot_indexes(conn: asyncpg.Connection) -> None:
    for row in await conn.fetch(
        """SELECT conname FROM pg_constraint
           WHERE conrelid = 'post_metric_snapshots'::regclass AND contype = 'p'"""
    ):
        await conn.execute(f'ALTER TABLE post_metric_snapshots DROP CONSTRAINT "{row[0]}"')
    for row in await conn.fetch(
        """SELECT indexname FROM pg_indexes
           WHERE schemaname = 'public' AND tablename = 'post_metric_snapshots'"""
    ):
        await conn.execute(f'DROP INDEX "{row[0]}"')


async def generate(infra: Infra, database: str, args: argparse.Namespace) -> Generation:
    gen = Generation()
    anchor = datetime.now(UTC).replace(second=0, microsecond=0)
    conn = await asyncpg.connect(
        infra.dsn(database),
        server_settings={"work_mem": "256MB", "maintenance_work_mem": "1GB"},
        command_timeout=None,
    )
    try:
        with gen.timed(f"businesses ({args.businesses:,})"):
            zones = "ARRAY[" + ", ".join(f"'{z}'" for z in TIMEZONES) + "]"
            await conn.execute(
                f"""INSERT INTO businesses (id, name, timezone)
                    SELECT g, 'Business ' || g,
                           CASE WHEN g = {BIG_BUSINESS} THEN '{BIG_TIMEZONE}'
                                ELSE ({zones})[1 + g % {len(TIMEZONES)}] END
                    FROM generate_series(1, {args.businesses}) AS g"""  # noqa: S608
            )
        with gen.timed("staging table of the posts (bench_posts)"):
            await conn.execute(staging_sql(args), anchor)
            await conn.execute("ANALYZE bench_posts")
        with gen.timed(f"published_posts ({args.posts:,})"):
            await conn.execute(posts_sql(args.seed))
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence('published_posts', 'id'), "
                "(SELECT max(id) FROM published_posts))"
            )
        with gen.timed(f"post_analytics ({args.posts:,})"):
            await conn.execute(analytics_sql())
        rounds = -(-args.snapshots // args.posts)
        with gen.timed(f"post_metric_snapshots ({args.snapshots:,}, {rounds} rounds)"):
            await conn.execute(
                "SELECT pulse_ensure_snapshot_partitions($1, $2)",
                anchor - timedelta(days=DAYS + 1),
                anchor,
            )
            rebuild = await snapshot_indexes(conn) if args.rebuild_indexes else []
            if args.rebuild_indexes:
                await drop_snapshot_indexes(conn)
            insert = snapshot_round_sql(args.seed)
            for k in range(1, rounds + 1):
                status = await conn.execute(insert, k)
                if k == 1 or k == rounds or k % 5 == 0:
                    step(f"    round {k}/{rounds}: {int(status.rsplit(' ', 1)[-1]):,} rows")
        if rebuild:
            with gen.timed("post_metric_snapshots: primary key and index built"):
                for statement in rebuild:
                    await conn.execute(statement)
        with gen.timed("account_snapshots (weekly, per business and platform)"):
            await conn.execute(accounts_sql(args.seed), anchor)
        await conn.execute("DROP TABLE bench_posts")
        with gen.timed(f"summaries ({args.summaries})"):
            if args.summaries == "pending":
                await conn.execute("ANALYZE")  # the refresh plans its joins on statistics
                await conn.execute(PENDING_MOMENTS)
                await conn.execute(summaries.SETUP_SQL)
                days = await summaries.refresh_pending_summaries(conn)
            else:
                days = 0
                for bid, tz in await conn.fetch("SELECT id, timezone FROM businesses ORDER BY id"):
                    await summaries.set_business_timezone(conn, bid, tz)
            rows = await conn.fetchval("SELECT count(*) FROM analytics_summaries")
            step(f"    {rows:,} summary rows ({days:,} local days refreshed)")
        with gen.timed("activity_daily (activity.REBUILD, every business)"):
            if args.summaries == "pending":
                ids = [r["id"] for r in await conn.fetch("SELECT id FROM businesses")]
                await conn.execute(activity.REBUILD, ids)
            rows = await conn.fetchval("SELECT count(*) FROM activity_daily")
            step(f"    {rows:,} activity rows")
        with gen.timed("VACUUM (ANALYZE)"):
            await conn.execute("VACUUM (ANALYZE)")
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        step(f"  database size {size}")
    finally:
        await conn.close()
    return gen


# --- the big business ----------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    business_id: int
    timezone: str
    posts: int
    post_id: int  # one of its posts, for /posts/{id}
    user: str
    token: str

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone)).date()


async def prepare_subject(infra: Infra, database: str, secret: str) -> Subject:
    conn = await asyncpg.connect(infra.dsn(database))
    try:
        user = f"bench-{secrets.token_hex(4)}@bench"
        await conn.execute(
            "INSERT INTO business_members (business_id, user_id, role) VALUES ($1, $2, 'owner')",
            BIG_BUSINESS,
            user,
        )
        tz = await conn.fetchval("SELECT timezone FROM businesses WHERE id = $1", BIG_BUSINESS)
        posts = await conn.fetchval(
            "SELECT count(*) FROM published_posts WHERE business_id = $1", BIG_BUSINESS
        )
        # One of its posts of the period (about 9 days old), for /posts/{id}.
        post_id = await conn.fetchval(
            """SELECT id FROM published_posts WHERE business_id = $1
               ORDER BY published_at DESC OFFSET $2 LIMIT 1""",
            BIG_BUSINESS,
            max(posts // 10, 0),
        )
    finally:
        await conn.close()
    return Subject(BIG_BUSINESS, tz, posts, post_id, user, mint_dev_token(secret, user))


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    params: dict[str, str]
    stream: bool = False

    def url(self, business_id: int) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"business_id": business_id, **self.params}.items())
        return f"{API}{self.path}?{query}"


def endpoints(subject: Subject) -> list[Endpoint]:
    today = subject.today()
    period = {
        "start_date": (today - timedelta(days=PERIOD_DAYS - 1)).isoformat(),
        "end_date": today.isoformat(),
    }
    ninety = {"start_date": (today - timedelta(days=89)).isoformat(), "end_date": today.isoformat()}
    return [
        Endpoint("overview", "/overview", period),
        Endpoint("trends daily/publish", "/trends", {**period, "period": "daily"}),
        Endpoint(
            "trends weekly/activity",
            "/trends",
            {**period, "period": "weekly", "basis": "activity"},
        ),
        Endpoint("platform-comparison", "/platform-comparison", period),
        Endpoint("best-times (90 days)", "/best-times", ninety),
        Endpoint("top-posts", "/top-posts", {**period, "metric": "engagement_rate"}),
        Endpoint("content-performance", "/content-performance", period),
        Endpoint("summaries daily", "/summaries", {**period, "period_type": "daily"}),
        Endpoint(f"posts/{{id}} ({subject.post_id})", f"/posts/{subject.post_id}", {}),
        Endpoint("export csv (90 days)", "/export", {**ninety, "format": "csv"}, stream=True),
    ]


# --- the service process ---------------------------------------------------------------


def query_api_env(infra: Infra, database: str, secret: str, topic_prefix: str) -> dict[str, str]:
    """query-api's environment as the benchmarks run it: the reader role on ``database``,
    the benchmark's Redis database, tokens signed with ``secret`` (``mint_dev_token``),
    rate limits checked but never reached; the cache as its default (on)."""
    return {
        **os.environ,
        "PULSE_ENVIRONMENT": "bench",
        "PULSE_DATABASE_URL": infra.url(database, reader=True),
        "PULSE_REDIS_URL": infra.redis_url,
        **infra.kafka_env(),
        "PULSE_TOPIC_PREFIX": topic_prefix,
        "PULSE_JWT_SECRET": secret,
        "PULSE_LOG_JSON": "true",
        **UNREACHED_LIMITS,
    }


def start_query_api(env: dict[str, str], log_dir: str, name: str) -> Process:
    """query-api as deployed, on a free port."""
    return Process.start(f"query-api-{name}", "pulse_query_api.app:app", env, log_dir, free_port())


# --- latency ---------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest rank."""
    index = max(0, math.ceil(p * len(sorted_values)) - 1)
    return sorted_values[index]


@dataclass
class Timing:
    samples_ms: list[float]
    cache: dict[str, int]  # X-Cache header value -> responses
    requested: int = 0
    rows: int = 0  # export: data rows per response
    first_byte_ms: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return percentile(sorted(self.samples_ms), 0.5)

    @property
    def p99(self) -> float:
        return percentile(sorted(self.samples_ms), 0.99)


def time_endpoint(
    client: httpx.Client,
    endpoint: Endpoint,
    subject: Subject,
    requests: int,
    warmup: int,
    budget_s: float,
) -> Timing:
    """``requests`` sequential GETs over one keep-alive connection, after ``warmup``
    untimed ones; a stream is timed to its last byte (and its first). Stops early, with at
    least one timed request, once ``budget_s`` has passed (a very slow endpoint)."""
    url = endpoint.url(subject.business_id)
    timing = Timing([], defaultdict(int), requested=requests)
    deadline = time.monotonic() + budget_s
    i = 0
    while len(timing.samples_ms) < requests:
        over = time.monotonic() >= deadline
        warming = i < warmup and not over
        if over and timing.samples_ms:
            break
        i += 1
        started = time.perf_counter()
        if endpoint.stream:
            newlines = 0
            first: float | None = None
            with client.stream("GET", url) as response:
                for chunk in response.iter_bytes():
                    if first is None:
                        first = time.perf_counter()
                    newlines += chunk.count(b"\n")
            elapsed = time.perf_counter() - started
            timing.rows = newlines - 1  # the header line
            if not warming:
                timing.first_byte_ms.append(((first or started) - started) * 1000)
        else:
            response = client.get(url)
            elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{endpoint.name}: HTTP {response.status_code} {response.text}")
        if not warming:
            timing.samples_ms.append(elapsed * 1000)
            timing.cache[response.headers.get("x-cache", "-")] += 1
    timing.cache = dict(timing.cache)
    return timing


def time_all(
    service: Process, subject: Subject, args: argparse.Namespace, warm: bool
) -> dict[str, Timing]:
    """Each endpoint in turn; warm: primed once right before (a cached answer lives 60 s);
    cold: a few untimed requests first all the same (connection, prepared statements)."""
    out: dict[str, Timing] = {}
    headers = {"Authorization": f"Bearer {subject.token}"}
    # A long timeout: a request given up on would leave its query running in PostgreSQL.
    with httpx.Client(base_url=service.url, headers=headers, timeout=900) as client:
        for endpoint in endpoints(subject):
            requests = args.export_requests if endpoint.stream else args.requests
            timing = time_endpoint(
                client, endpoint, subject, requests, 1 if warm else 3, args.budget
            )
            out[endpoint.name] = timing
            extra = f", {timing.rows:,} rows" if endpoint.stream else ""
            step(
                f"  {endpoint.name:<34} p50 {timing.p50:8.1f} ms  p99 {timing.p99:8.1f} ms"
                f"  n={len(timing.samples_ms)}  X-Cache {timing.cache}{extra}"
            )
    return out


# --- throughput ------------------------------------------------------------------------


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of the named processes and of every postgres / redis-server."""
    tick = os.sysconf("SC_CLK_TCK")
    by_pid = {pid: name for name, pid in pids.items()}
    out: dict[str, float] = defaultdict(float)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        pid = int(entry)
        if pid in by_pid:
            out[by_pid[pid]] += seconds
        elif comm == "postgres":
            out["postgres (all)"] += seconds
        elif comm == "redis-server":
            out["redis"] += seconds
    return dict(out)


@dataclass
class Load:
    clients: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    not_hit: int
    cpu: dict[str, float]  # cores busy on average over the window


async def closed_loop(
    service: Process, url: str, token: str, clients: int, duration: float, warmup: float
) -> Load:
    """``clients`` keep-alive connections, each sending its next request as soon as the
    last answer is in; counted over ``duration`` seconds after ``warmup``."""
    request = (
        f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{service.port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    done: list[float] = []
    not_hit = 0
    started = time.perf_counter()
    measure_from, stop_at = started + warmup, started + warmup + duration

    async def client() -> None:
        nonlocal not_hit
        reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
        try:
            while (t0 := time.perf_counter()) < stop_at:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                headers = dict(
                    (k.strip().lower(), v.strip())
                    for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
                )
                await reader.readexactly(int(headers["content-length"]))
                t1 = time.perf_counter()
                if status != 200:
                    raise RuntimeError(f"HTTP {status} under load: {head.decode('latin-1')}")
                if t0 >= measure_from:
                    latencies.append((t1 - t0) * 1000)
                    done.append(t1)
                    if headers.get("x-cache") != "hit":
                        not_hit += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    pids = {"query-api": service.popen.pid, "load generator (this process)": os.getpid()}

    async def sample() -> tuple[dict[str, float], dict[str, float], float]:
        await asyncio.sleep(warmup)
        before, at = cpu_seconds(pids), time.perf_counter()
        await asyncio.sleep(duration)
        return before, cpu_seconds(pids), time.perf_counter() - at

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(client() for _ in range(clients)))
    before, after, window = await sampler
    cpu = {k: (after.get(k, 0.0) - before.get(k, 0.0)) / window for k in after}
    latencies.sort()
    seconds = max(done) - measure_from
    return Load(
        clients,
        seconds,
        len(latencies),
        len(latencies) / seconds,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        not_hit,
        cpu,
    )


# --- the naive overview -----------------------------------------------------------------

NAIVE_POSTS = """
SELECT p.id, p.platform, p.published_at, a.likes_count, a.comments_count, a.shares_count,
       a.impressions, a.reach, a.clicks, a.engagement_rate
FROM published_posts p
LEFT JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
WHERE p.business_id = $1 AND p.published_at >= $2 AND p.published_at < $3
"""
# The raw rows instead of the aggregator's post_analytics: the posts, and every snapshot
# observed since the period before began (a post's are all after its publication); each
# post's newest snapshot and its rates are then found in Python.
NAIVE_RAW_POSTS = """
SELECT id, platform, platform_post_id, published_at FROM published_posts
WHERE business_id = $1 AND published_at >= $2 AND published_at < $3
"""
NAIVE_RAW_SNAPSHOTS = """
SELECT platform, platform_post_id, observed_at, likes_count, comments_count, shares_count,
       impressions, reach, clicks
FROM post_metric_snapshots WHERE business_id = $1 AND observed_at >= $2
"""
NAIVE_ACCOUNTS = """
SELECT platform, account_id, observed_at, followers FROM account_snapshots
WHERE business_id = $1 AND observed_at < $2
"""


def bounds(tz: ZoneInfo, start: date, end: date) -> tuple[datetime, datetime]:
    after = end + timedelta(days=1)
    return (
        datetime(start.year, start.month, start.day, tzinfo=tz).astimezone(UTC),
        datetime(after.year, after.month, after.day, tzinfo=tz).astimezone(UTC),
    )


def naive_summary(
    posts: Sequence[Any], accounts: Sequence[Any], since: datetime, until: datetime
) -> dict[str, Any]:
    """The API's summary fields, from the rows, in Python. Null means not reported: a
    total none of the posts reported is null (over no posts 0), a mean or rate over
    nothing reported is null."""
    n = len(posts)

    def total(column: str) -> int | None:
        reported = [p[column] for p in posts if p[column] is not None]
        return sum(reported) if reported or not n else None

    def mean(values: Sequence[float]) -> float | None:
        return formulas.round2(sum(values) / len(values)) if values else None

    totals = {
        "total_likes": total("likes_count"), "total_comments": total("comments_count"),
        "total_shares": total("shares_count"), "total_impressions": total("impressions"),
        "total_reach": total("reach"), "total_clicks": total("clicks"),
    }  # fmt: skip
    parts = [totals["total_likes"], totals["total_comments"], totals["total_shares"]]
    engagement = None if all(x is None for x in parts) else sum(x or 0 for x in parts)
    rated = [p for p in posts if (p["impressions"] or 0) > 0]
    with_clicks = [p for p in posts if p["clicks"] is not None]
    return {
        "total_posts": n,
        **totals,
        "total_engagement": engagement,
        "avg_engagement_rate": mean([p["engagement_rate"] for p in rated]),
        "engagement_rate": formulas.round2(
            formulas.weighted_engagement_rate(engagement or 0, totals["total_impressions"] or 0)
        )
        if any(p["impressions"] is not None for p in posts)
        else None,
        "avg_impressions": mean([p["impressions"] for p in posts if p["impressions"] is not None]),
        "avg_reach": mean([p["reach"] for p in posts if p["reach"] is not None]),
        "click_through_rate": formulas.round2(
            formulas.ratio_pct(
                sum(p["clicks"] for p in with_clicks),
                sum(p["impressions"] or 0 for p in with_clicks),
            )
        )
        if with_clicks
        else None,
        "avg_click_through_rate": mean(
            [
                formulas.click_through_rate(p["clicks"], p["impressions"])
                for p in with_clicks
                if (p["impressions"] or 0) > 0
            ]
        ),
        "follower_growth": follower_growth(accounts, since, until),
    }


def follower_growth(accounts: Sequence[Any], since: datetime, until: datetime) -> int | None:
    """Per account observed in the period: its last count in it minus its last before it
    (or, with none before, its first in it); summed; None when none was observed."""
    by_account: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    for a in accounts:
        by_account[(a["platform"], a["account_id"])].append((a["observed_at"], a["followers"]))
    total: int | None = None
    for observations in by_account.values():
        observations.sort()
        inside = [f for at, f in observations if since <= at < until]
        if not inside:
            continue
        before = [f for at, f in observations if at < since]
        total = (total or 0) + inside[-1] - (before[-1] if before else inside[0])
    return total


@dataclass
class Naive:
    overview: dict[str, Any]
    runs_ms: list[float]
    rows: int

    @property
    def p50(self) -> float:
        return percentile(sorted(self.runs_ms), 0.5)


async def raw_posts(
    conn: asyncpg.Connection, business_id: int, since: datetime, until: datetime
) -> tuple[list[dict[str, Any]], int]:
    """The period's posts with their newest snapshot's numbers, from the raw rows."""
    posts = await conn.fetch(NAIVE_RAW_POSTS, business_id, since, until)
    snapshots = await conn.fetch(NAIVE_RAW_SNAPSHOTS, business_id, since)
    newest: dict[tuple[str, str], Any] = {}
    for snap in snapshots:
        key = (snap["platform"], snap["platform_post_id"])
        if key not in newest or snap["observed_at"] > newest[key]["observed_at"]:
            newest[key] = snap
    out = []
    for post in posts:
        snap = newest.get((post["platform"], post["platform_post_id"]))
        row = {"id": post["id"], "platform": post["platform"], "published_at": post["published_at"]}
        for name in ("likes_count", "comments_count", "shares_count", "impressions", "reach",
                     "clicks"):  # fmt: skip
            row[name] = snap[name] if snap else None
        row["engagement_rate"] = (
            formulas.engagement_rate(snap["likes_count"], snap["comments_count"],
                                     snap["shares_count"], snap["impressions"])
            if snap else None
        )  # fmt: skip
        out.append(row)
    return out, len(posts) + len(snapshots)


async def naive_overview(
    conn: asyncpg.Connection, subject: Subject, start: date, end: date, source: str
) -> tuple[dict[str, Any], int]:
    """The overview's numbers the naive way: rows into Python, aggregated there. ``source``
    "raw": posts and snapshots; "analytics": posts joined to post_analytics."""
    tz = ZoneInfo(subject.timezone)
    days = (end - start).days + 1
    since, until = bounds(tz, start, end)
    prev_since, _ = bounds(tz, start - timedelta(days=days), start - timedelta(days=1))
    if source == "raw":
        everything, loaded = await raw_posts(conn, subject.business_id, prev_since, until)
        posts = [p for p in everything if p["published_at"] >= since]
        previous = [p for p in everything if p["published_at"] < since]
    else:
        posts = await conn.fetch(NAIVE_POSTS, subject.business_id, since, until)
        previous = await conn.fetch(NAIVE_POSTS, subject.business_id, prev_since, since)
        loaded = len(posts) + len(previous)
    accounts = await conn.fetch(NAIVE_ACCOUNTS, subject.business_id, until)

    by_platform = []
    for platform in PLATFORMS:
        mine = [p for p in posts if p["platform"] == platform]
        acc = [a for a in accounts if a["platform"] == platform]
        if mine or any(since <= a["observed_at"] < until for a in acc):
            by_platform.append({"platform": platform, **naive_summary(mine, acc, since, until)})

    daily: dict[date, list[int]] = {start + timedelta(days=i): [0] * 5 for i in range(days)}
    slots: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for p in posts:
        local = p["published_at"].astimezone(tz)
        d = daily[local.date()]
        d[0] += 1
        d[1] += p["likes_count"] or 0
        d[2] += p["comments_count"] or 0
        d[3] += p["shares_count"] or 0
        d[4] += p["impressions"] or 0
        if (p["impressions"] or 0) > 0:
            s = slots[(local.isoweekday() - 1, local.hour)]
            s[0] += 1
            s[1] += p["engagement_rate"]
            s[2] += p["engagement_rate"] ** 2
    trends = [
        {
            "period_start": day.isoformat(), "posts": v[0], "likes": v[1], "comments": v[2],
            "shares": v[3], "impressions": v[4], "engagement": v[1] + v[2] + v[3],
            "engagement_rate": formulas.round2(
                formulas.weighted_engagement_rate(v[1] + v[2] + v[3], v[4])),
        }
        for day, v in sorted(daily.items())
    ]  # fmt: skip
    rated = [p for p in posts if (p["impressions"] or 0) > 0]
    rated.sort(key=lambda p: (-p["engagement_rate"], p["id"]))
    best_slot = max(slots.items(), key=lambda kv: kv[1][1] / kv[1][0], default=None)
    overview = {
        "summary": naive_summary(posts, accounts, since, until),
        "previous_summary": naive_summary(previous, accounts, prev_since, since),
        "by_platform": by_platform,
        "trends": trends,
        "top_post_ids": [p["id"] for p in rated[:10]],
        "best_slot": best_slot[0] if best_slot else None,
    }
    return overview, loaded + len(accounts)


async def run_naive(
    infra: Infra, database: str, subject: Subject, runs: int, start: date, end: date,
    source: str,
) -> Naive:  # fmt: skip
    # The reader role, as the API connects; one connection, opened beforehand (as a pool's),
    # that sees the business (its row-level security; the API sets it per transaction).
    conn = await asyncpg.connect(infra.dsn(database, reader=True))
    try:
        await conn.execute(f"SET pulse.business_id = {subject.business_id:d}")
        await naive_overview(conn, subject, start, end, source)  # warm-up
        times: list[float] = []
        overview: dict[str, Any] = {}
        rows = 0
        for _ in range(runs):
            started = time.perf_counter()
            overview, rows = await naive_overview(conn, subject, start, end, source)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        await conn.close()
    return Naive(overview, times, rows)


def compare(naive: dict[str, Any], api: dict[str, Any]) -> list[tuple[str, bool]]:
    """Which parts of the naive overview equal the API's."""

    def platform_totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keep = ("platform", "total_posts", "total_engagement", "total_impressions",
                "avg_engagement_rate", "engagement_rate", "follower_growth")  # fmt: skip
        return [{k: r[k] for k in keep} for r in rows]

    keys = ("period_start", "posts", "likes", "comments", "shares", "impressions")

    def computed(mine: dict[str, Any], theirs: dict[str, Any]) -> bool:
        """The naive summary's fields (followers and coverage left to the API's tests)."""
        return mine == {k: theirs[k] for k in mine}

    return [
        ("summary", computed(naive["summary"], api["summary"])),
        ("previous_summary", computed(naive["previous_summary"], api["previous_summary"])),
        (
            "by_platform",
            platform_totals(naive["by_platform"]) == platform_totals(api["by_platform"]),
        ),
        (
            "daily trends",
            [{k: t[k] for k in keys} for t in naive["trends"]]
            == [{k: t[k] for k in keys} for t in api["trends"]],
        ),
        ("top 10 posts", naive["top_post_ids"] == [p["post_id"] for p in api["top_posts"]]),
    ]


# --- report ------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(
    args: argparse.Namespace,
    subject: Subject,
    gen: Generation | None,
    cold: dict[str, Timing],
    warm: dict[str, Timing],
    load: Load,
    naive: Naive,
    matches: list[tuple[str, bool]],
    derived: Naive,
    derived_matches: list[tuple[str, bool]],
) -> None:
    line = "=" * 100
    print("\n" + line)
    print(
        f"Query API benchmark: {args.businesses:,} businesses, {args.posts:,} posts,"
        f" {args.snapshots:,} snapshots; business {subject.business_id}: {subject.posts:,}"
        f" posts over 90 days, {subject.timezone}"
    )
    print(line)
    if gen is not None:
        print(f"generation (set-based SQL): {gen.total_s:,.1f} s")
        for what, seconds in gen.steps:
            print(f"    {what:<60} {seconds:8.1f} s")
    print(
        f"\nlatency, {args.requests} sequential requests per endpoint ({args.export_requests}"
        f" for the export), one keep-alive connection, one uvicorn worker"
    )
    print("cold = PULSE_CACHE_ENABLED=false (PostgreSQL buffers warm); warm = Redis answer cache")
    print(
        f"{'endpoint':<34} {'cold p50':>9} {'cold p99':>9} {'warm p50':>9} {'warm p99':>9}  X-Cache"
    )
    for name, c in cold.items():
        w = warm[name]
        cache = (
            f"cold {'/'.join(c.cache)}, warm {', '.join(f'{k} {v}' for k, v in w.cache.items())}"
        )
        print(f"{name:<34} {c.p50:9.1f} {c.p99:9.1f} {w.p50:9.1f} {w.p99:9.1f}  {cache}")
        if len(c.samples_ms) < c.requested or len(w.samples_ms) < w.requested:
            print(
                f"{'':<34} (over the {args.budget:.0f} s budget: only {len(c.samples_ms)} cold and"
                f" {len(w.samples_ms)} warm requests timed; p99 is then their maximum)"
            )
            for mode, t in (("cold", c), ("warm", w)):
                if len(t.samples_ms) < t.requested:
                    each = ", ".join(f"{ms / 1000:,.1f}" for ms in t.samples_ms)
                    print(f"{'':<34} {mode}, each request in order (s): {each}")
    export = next((name for name in cold if name.startswith("export")), None)
    if export:
        c, w = cold[export], warm[export]
        print(
            f"  {export}: {c.rows:,} rows per response, {c.rows / (c.p50 / 1000):,.0f} rows/s"
            f" at p50 (cold), first byte p50 {percentile(sorted(c.first_byte_ms), 0.5):.1f} ms;"
            " never cached (a stream)"
        )
    posts_name = next((name for name in cold if name.startswith("posts/")), None)
    if posts_name:
        print(f"  {posts_name}: never cached (answered from PostgreSQL cold or warm)")
    print(
        f"\nthroughput, /overview warm: {load.clients} concurrent keep-alive connections for"
        f" {load.seconds:.1f} s: {load.rps:,.0f} req/s, p50 {load.p50_ms:.1f} ms,"
        f" p99 {load.p99_ms:.1f} ms ({load.requests:,} requests, {load.not_hit} not cache hits)"
    )
    cores = os.cpu_count() or 0
    busy = ", ".join(f"{k} {v:.2f}" for k, v in sorted(load.cpu.items(), key=lambda kv: -kv[1]))
    print(f"  CPU cores busy on average ({cores} on this machine, shared by all): {busy}")
    if load.cpu.get("query-api", 0.0) > 0.9:
        print("  -> query-api's one Python thread is (nearly) saturated: the worker is the limit")
    print(
        "  the load generator runs on the same cores as the server, PostgreSQL and Redis: the"
        " server had less than the whole machine"
    )
    api_p50 = cold["overview"].p50
    speedup = naive.p50 / api_p50
    print(
        f"\nnaive overview from the raw rows ({naive.rows:,} rows into Python: the posts of the"
        f" period and the one before, every snapshot observed since, account snapshots):"
        f" p50 {naive.p50:.1f} ms of {len(naive.runs_ms)} runs;"
        f" API cold p50 {api_p50:.1f} ms -> {speedup:.1f}x"
    )
    print(
        "  naive vs API: "
        + ", ".join(f"{what} {'MATCH' if ok else 'MISMATCH'}" for what, ok in matches)
    )
    print(
        f"  context: naive over the aggregator's post_analytics instead of the snapshots"
        f" ({derived.rows:,} rows): p50 {derived.p50:.1f} ms -> {derived.p50 / api_p50:.1f}x;"
        f" {', '.join(what for what, ok in derived_matches if not ok) or 'every part'}"
        f" {'MISMATCH' if any(not ok for _, ok in derived_matches) else 'MATCH'}"
    )
    print("-" * 100)
    ov = cold["overview"].p99
    print(
        f"overview cold p99 {ov:.1f} ms (target <= {TARGET_OVERVIEW_COLD_P99_MS:.0f} ms)"
        f" {verdict(ov <= TARGET_OVERVIEW_COLD_P99_MS)}"
    )
    for name, c in cold.items():
        print(
            f"{name} cold p99 {c.p99:.1f} ms (target <= {TARGET_ENDPOINT_COLD_P99_MS:.0f} ms)"
            f" {verdict(c.p99 <= TARGET_ENDPOINT_COLD_P99_MS)}"
        )
    print(
        f"overview warm {load.rps:,.0f} req/s on one worker (target >= {TARGET_WARM_RPS:,.0f})"
        f" {verdict(load.rps >= TARGET_WARM_RPS)}"
    )
    print(
        f"overview vs naive {speedup:.1f}x faster (target >= {TARGET_NAIVE_SPEEDUP:.0f}x)"
        f" {verdict(speedup >= TARGET_NAIVE_SPEEDUP)}"
    )
    full = (args.businesses, args.posts, args.snapshots, args.big_business_posts)
    if full != (1_000, 1_000_000, 20_000_000, 10_000):
        print("(a reduced run: the targets are stated for 1,000 / 1,000,000 / 20,000,000 / 10,000)")


# --- main ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    infra = Infra.from_env(redis_db=14)
    database = args.database or f"pulse_qbench_{secrets.token_hex(4)}"
    secret = f"bench-secret-{secrets.token_hex(16)}"
    log_dir: str | None = None
    created = False
    gen: Generation | None = None
    service: Process | None = None
    try:
        if args.database:
            step(f"reusing database {database} (no generation)")
        else:
            step(f"database {database}: create and migrate")
            asyncio.run(create_database(infra, database))
            created = True
            step(
                f"generating {args.businesses:,} businesses, {args.posts:,} posts,"
                f" {args.snapshots:,} snapshots (seed {args.seed})"
            )
            gen = asyncio.run(generate(infra, database, args))
            step(f"generation took {gen.total_s:,.1f} s")
            if args.generate_only:
                return
        subject = asyncio.run(prepare_subject(infra, database, secret))
        redis.Redis.from_url(infra.redis_url).flushdb()

        env = query_api_env(infra, database, secret, f"qbench-{secrets.token_hex(4)}.")
        log_dir = tempfile.mkdtemp(prefix="pulse-qbench-")
        step("cold: query-api with PULSE_CACHE_ENABLED=false")
        service = start_query_api({**env, "PULSE_CACHE_ENABLED": "false"}, log_dir, "cold")
        cold = time_all(service, subject, args, warm=False)
        headers = {"Authorization": f"Bearer {subject.token}"}
        overview_url = endpoints(subject)[0].url(subject.business_id)
        api_overview: dict[str, Any] = httpx.get(
            service.url + overview_url, headers=headers, timeout=60
        ).json()
        service.stop()
        service = None

        step("warm: query-api with the Redis answer cache")
        warm_env = {**env, "PULSE_CACHE_ENABLED": "true"}
        service = start_query_api(warm_env, log_dir, "warm")
        warm = time_all(service, subject, args, warm=True)
        unlimited = start_query_api({**warm_env, "PULSE_RATE_LIMITS_ENABLED": "false"}, log_dir,
                                  "warm-unlimited")  # fmt: skip
        loads: dict[str, list[Load]] = {"limited": [], "unlimited": []}
        try:
            # Alternated, so both see the same machine: limits checked vs switched off.
            for _ in range(2):
                for name, target in (("limited", service), ("unlimited", unlimited)):
                    step(f"throughput: /overview warm, rate limits {name}, {args.clients}"
                         f" connections, {args.duration:.0f} s")  # fmt: skip
                    httpx.get(target.url + overview_url, headers=headers, timeout=60)  # primed
                    loads[name].append(asyncio.run(closed_loop(
                        target, overview_url, subject.token, args.clients, args.duration, 1.0
                    )))  # fmt: skip
                    step(f"  {loads[name][-1].rps:,.0f} req/s, p99 {loads[name][-1].p99_ms:.1f} ms")
        finally:
            unlimited.stop()
        load = max(loads["limited"], key=lambda x: x.rps)
        load_unlimited = max(loads["unlimited"], key=lambda x: x.rps)
        service.stop()
        service = None

        step(f"naive overview: {args.naive_runs} runs")
        start = date.fromisoformat(api_overview["period"]["start_date"])
        end = date.fromisoformat(api_overview["period"]["end_date"])
        naive = asyncio.run(run_naive(infra, database, subject, args.naive_runs, start, end, "raw"))
        step(f"  from the raw rows: p50 {naive.p50:.1f} ms")
        derived = asyncio.run(
            run_naive(infra, database, subject, args.naive_runs, start, end, "analytics")
        )
        step(f"  from post_analytics: p50 {derived.p50:.1f} ms")
        matches = compare(naive.overview, api_overview)
        derived_matches = compare(derived.overview, api_overview)
        report(args, subject, gen, cold, warm, load, naive, matches, derived, derived_matches)
        share = load.rps / load_unlimited.rps
        passed = verdict(share >= TARGET_RATE_LIMIT_SHARE)
        print(
            f"overview warm with rate limits checked (never firing) {load.rps:,.0f} req/s vs"
            f" switched off {load_unlimited.rps:,.0f} req/s (best of 2 each, alternated):"
            f" {share:.3f} (target >= {TARGET_RATE_LIMIT_SHARE}) {passed}"
        )
    finally:
        if service is not None:
            service.stop()
        if args.keep or args.database:
            print(f"(database {database} kept: rerun with --database {database})")
        elif created:
            try:
                asyncio.run(drop_database(infra, database))
            except (OSError, asyncpg.PostgresError) as exc:
                print(f"could not drop database {database}: {exc!r}", file=sys.stderr)
        if log_dir is not None:
            print(f"(query-api logs: {log_dir})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--businesses", type=int, default=1_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--snapshots", type=int, default=20_000_000)
    parser.add_argument("--big-business-posts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="per endpoint and mode")
    parser.add_argument(
        "--export-requests", type=int, default=None, help="of the export (default: --requests)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=120.0,
        help="seconds per endpoint and mode: a slower endpoint is timed on fewer requests",
    )
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--naive-runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--summaries",
        choices=("pending", "per-business"),
        default="pending",
        help="pending: every moment queued, one refresh (default, faster); per-business:"
        " set_business_timezone for each business",
    )
    parser.add_argument(
        "--no-rebuild-indexes",
        dest="rebuild_indexes",
        action="store_false",
        help="insert the snapshots with their indexes in place (default: drop, then build)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument(
        "--generate-only", action="store_true", help="stop after the generation (timings)"
    )
    parser.add_argument(
        "--database", help="reuse a database a --keep run left (no generation; kept)"
    )
    args = parser.parse_args(argv)
    if args.export_requests is None:
        args.export_requests = args.requests
    if not (
        args.businesses >= 2
        and 0 < args.big_business_posts < args.posts <= args.snapshots
        and args.requests > 0
    ):
        parser.error("need businesses >= 2 and 0 < big-business-posts < posts <= snapshots")
    run(args)


if __name__ == "__main__":
    main()
