"""The operator chores (demo, backfill, replay-dlq, summaries rebuild) against the real
PostgreSQL, Kafka and Redis, and the platform simulator as a process."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from redis.asyncio import Redis
from typer.testing import CliRunner, Result

from pulse_cli.app import app
from pulse_cli.connections import topic_partitions
from pulse_cli.dead_letters import REPLAYED_FROM_HEADER
from pulse_shared.cache import cache_version
from pulse_shared.db import asyncpg_dsn
from pulse_shared.events import MetricsObserved, PostMetrics
from pulse_shared.ingest.contracts import TrackedPost
from pulse_shared.ingest.tracking import PollSchedule
from pulse_shared.ingest.vault import TokenVault
from pulse_shared.settings import PulseSettings
from pulse_shared.summaries import set_business_timezone
from pulse_shared.topics import (
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_REASON,
    DLQ_HEADER_TOPIC,
    METRICS_OBSERVED,
    POSTS_PUBLISHED,
    dlq,
    post_key,
)
from pulse_testing.infra import Infra
from pulse_testing.processes import free_port, ingest_services_on, start_service
from services.workspace.tests.support import Workspace

pytestmark = pytest.mark.integration
pytest_plugins = ["services.workspace.tests.fixtures"]

runner = CliRunner()


def cli_env(infra: Infra, **extra: str) -> dict[str, str]:
    return {
        "PULSE_ENVIRONMENT": "test",
        "PULSE_DATABASE_URL": infra.database_url,
        "PULSE_KAFKA_BOOTSTRAP_SERVERS": infra.kafka.bootstrap_servers,
        "PULSE_KAFKA_SECURITY_PROTOCOL": infra.kafka.security_protocol,
        "PULSE_KAFKA_USERNAME": infra.kafka.username,
        "PULSE_KAFKA_PASSWORD": infra.kafka.password,
        "PULSE_TOPIC_PREFIX": infra.topic_prefix,
        "PULSE_REDIS_URL": infra.redis_url,
        "PULSE_TOKEN_ENCRYPTION_KEYS": infra.token_encryption_key,
        "PULSE_JWT_SECRET": infra.jwt_secret,
        **extra,
    }


async def pulse(infra: Infra, *args: str, **extra_env: str) -> Result:
    """Run the command as a user would (in a thread: it runs its own event loop)."""
    environment = cli_env(infra, **extra_env)
    return await asyncio.to_thread(lambda: runner.invoke(app, list(args), env=environment))


def cli_settings(infra: Infra) -> PulseSettings:
    return PulseSettings(
        kafka_bootstrap_servers=infra.kafka.bootstrap_servers,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_username=infra.kafka.username,
        kafka_password=infra.kafka.password,
    )


def flat(text: str) -> str:
    """Help text with the terminal's line breaks and box borders taken out."""
    return " ".join(text.replace("│", " ").split())


def new_business() -> int:
    return secrets.randbelow(2**62) + 10**12


# --- help and failures -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "explains"),
    [
        (["demo"], ["Load demo data through the real pipeline", "post ids on the last line"]),
        (["backfill"], ["poll schedule in Redis", "older than 90 days are skipped"]),
        (["replay-dlq"], ["--apply", "running it twice does not send anything twice"]),
        (["summaries", "rebuild"], ["Without a range", "activity_daily"]),
    ],
)
def test_each_command_explains_itself(command: list[str], explains: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for phrase in explains:
        assert phrase in flat(result.output)


async def test_unreachable_servers_give_a_red_line_not_a_traceback(infra: Infra) -> None:
    no_kafka = await pulse(
        infra, "replay-dlq", "--topic", METRICS_OBSERVED,
        PULSE_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
    )  # fmt: skip
    assert no_kafka.exit_code == 1
    assert "cannot reach Kafka" in no_kafka.output
    assert "Traceback" not in no_kafka.output
    dead_db = "postgresql+asyncpg://pulse:pulse@127.0.0.1:1/pulse"
    for args in (
        ["summaries", "rebuild", "--business-id", "1"],
        ["backfill", "--business-id", "1", "--since", "2026-01-01", "--until", "2026-01-02"],
    ):
        result = await pulse(infra, *args, PULSE_DATABASE_URL=dead_db)
        assert result.exit_code == 1, result.output
        assert "cannot reach the database" in result.output
    missing = await pulse(infra, "summaries", "rebuild", "--business-id", str(new_business()))
    assert missing.exit_code == 1
    assert "does not exist" in missing.output


# --- replay-dlq ------------------------------------------------------------------------


async def records_with_key(infra: Infra, topic: str, key: bytes) -> list[ConsumerRecord[Any, Any]]:
    """Every record of the topic with this key, read from the beginning to the end."""
    numbers = await topic_partitions(cli_settings(infra), topic)
    assert numbers, f"no topic {topic}"
    partitions = [TopicPartition(topic, p) for p in numbers]
    consumer = AIOKafkaConsumer(**infra.kafka.options())
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found = []
        behind = set(partitions)
        while behind:
            batches = await consumer.getmany(*behind, timeout_ms=1000)
            found += [r for records in batches.values() for r in records if r.key == key]
            behind = {tp for tp in behind if await consumer.position(tp) < ends[tp]}
        return found
    finally:
        await consumer.stop()


async def test_replay_dlq_lists_then_republishes_once(
    infra: Infra, producer: AIOKafkaProducer
) -> None:
    marker = f"replay-test-{secrets.token_hex(4)}"
    event = MetricsObserved(
        business_id=new_business(), platform="twitter", platform_post_id=marker,
        observed_at=datetime.now(UTC), source="poll", metrics=PostMetrics(likes=3),
    )  # fmt: skip
    key = post_key("twitter", marker)
    await producer.send_and_wait(
        infra.topic_prefix + dlq(METRICS_OBSERVED),
        event.model_dump_json().encode(),
        key=key,
        headers=[
            ("content-type", b"application/json"),
            (DLQ_HEADER_REASON, f"{marker}: database refused the event".encode()),
            (DLQ_HEADER_TOPIC, METRICS_OBSERVED.encode()),
            (DLQ_HEADER_PARTITION, b"4"),
            (DLQ_HEADER_OFFSET, b"1234"),
        ],
    )
    source_topic = infra.topic_prefix + METRICS_OBSERVED
    wide = {"COLUMNS": "250"}

    listed = await pulse(infra, "replay-dlq", "--topic", METRICS_OBSERVED, **wide)
    assert listed.exit_code == 0, listed.output
    assert f"{marker}: database refused the event" in listed.output
    assert f"{METRICS_OBSERVED} 4:1234" in listed.output
    assert "dry run" in listed.output
    assert await records_with_key(infra, source_topic, key) == []

    args = ["replay-dlq", "--topic", METRICS_OBSERVED, "--filter-reason", marker.upper()]
    applied = await pulse(infra, *args, "--apply", **wide)
    assert applied.exit_code == 0, applied.output
    assert "1 record(s) re-published" in applied.output
    replayed = await records_with_key(infra, source_topic, key)
    assert len(replayed) == 1
    assert MetricsObserved.model_validate_json(replayed[0].value) == event
    headers = dict(replayed[0].headers)
    assert DLQ_HEADER_REASON not in headers
    assert headers["content-type"] == b"application/json"
    assert REPLAYED_FROM_HEADER in headers

    again = await pulse(infra, *args, "--apply", **wide)
    assert again.exit_code == 0, again.output
    assert "0 record(s) re-published" in again.output
    assert len(await records_with_key(infra, source_topic, key)) == 1


# --- summaries rebuild -----------------------------------------------------------------


async def add_post(
    db: asyncpg.Connection, business: int, platform: str, published_at: datetime, likes: int
) -> int:
    post_id: int = await db.fetchval(
        "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
        "content_type, published_at, event_id) VALUES ($1, $2, $3, 'acct-1', 'text', $4, $5) "
        "RETURNING id",
        business, platform, secrets.token_hex(6), published_at, uuid.uuid4(),
    )  # fmt: skip
    await db.execute(
        "INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id, "
        "likes_count, impressions, fetched_at) "
        "SELECT business_id, id, platform, platform_post_id, $3, 100, now() "
        "FROM published_posts WHERE business_id = $1 AND id = $2",
        business, post_id, likes,
    )  # fmt: skip
    return post_id


async def summary_rows(db: asyncpg.Connection, business: int) -> list[tuple[Any, ...]]:
    rows = await db.fetch(
        "SELECT platform, period_type, period_start, total_posts, total_likes, "
        "total_impressions, best_post_id FROM analytics_summaries WHERE business_id = $1 "
        "ORDER BY platform, period_type, period_start",
        business,
    )
    return [tuple(r) for r in rows]


async def test_summaries_rebuild_restores_deleted_rows(
    infra: Infra, db: asyncpg.Connection
) -> None:
    business = new_business()
    await db.execute("INSERT INTO businesses (id, timezone) VALUES ($1, 'Europe/Berlin')", business)
    await add_post(db, business, "twitter", datetime(2026, 3, 2, 23, 30, tzinfo=UTC), 5)
    await add_post(db, business, "linkedin", datetime(2026, 3, 4, 9, 0, tzinfo=UTC), 7)
    await set_business_timezone(db, business, "Europe/Berlin")
    before = await summary_rows(db, business)
    # 23:30 UTC on the 2nd is the 3rd in Berlin.
    assert ("twitter", "daily", date(2026, 3, 3), 1, 5, 100) in [row[:6] for row in before]

    redis = Redis.from_url(infra.redis_url)
    versions = [await cache_version(redis, business)]
    await db.execute(
        "DELETE FROM analytics_summaries WHERE business_id = $1 AND period_start >= '2026-03-03'",
        business,
    )
    ranged = await pulse(
        infra, "summaries", "rebuild", "--business-id", str(business),
        "--since", "2026-03-03", "--until", "2026-03-04",
    )  # fmt: skip
    assert ranged.exit_code == 0, ranged.output
    assert "2 local days recomputed" in ranged.output
    assert await summary_rows(db, business) == before

    await db.execute("DELETE FROM analytics_summaries WHERE business_id = $1", business)
    await db.execute("DELETE FROM activity_daily WHERE business_id = $1", business)
    whole = await pulse(infra, "summaries", "rebuild", "--business-id", str(business))
    assert whole.exit_code == 0, whole.output
    assert await summary_rows(db, business) == before
    assert await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", business) == (
        "Europe/Berlin"
    )
    versions.append(await cache_version(redis, business))
    moved = await pulse(infra, "business", "set-timezone", str(business), "Asia/Tokyo")
    assert moved.exit_code == 0, moved.output
    versions.append(await cache_version(redis, business))
    await redis.aclose()
    # Each change a reader could see retired the answers computed before it: the range
    # rebuild, the whole rebuild, the zone change.
    assert versions == [versions[0], versions[0] + 2, versions[0] + 3]


# --- backfill --------------------------------------------------------------------------


async def test_backfill_makes_the_range_due_now(
    infra: Infra, db: asyncpg.Connection, schedule: PollSchedule
) -> None:
    business = new_business()
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", business)
    now = datetime.now(UTC)
    published = {
        "untracked": now - timedelta(days=2),
        "tracked": now - timedelta(days=3),
        "too_old": now - timedelta(days=100),
        "outside": now - timedelta(days=20),
    }
    posts: dict[str, TrackedPost] = {}
    for name, at in published.items():
        await db.execute(
            "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
            "content_type, published_at, event_id) VALUES ($1, 'twitter', $2, 'a1', 'image', "
            "$3, $4)",
            business, f"{business}-{name}", at, uuid.uuid4(),
        )  # fmt: skip
        posts[name] = TrackedPost(business, "twitter", f"{business}-{name}", "a1", at, "image")
    # Already tracked and polled a moment ago: its next poll is an hour away.
    await schedule.track(posts["tracked"])
    await schedule.reschedule(posts["tracked"], now)
    next_poll = await schedule.due_at(posts["tracked"])
    assert next_poll is not None
    assert next_poll > now + timedelta(minutes=30)

    result = await pulse(
        infra, "backfill", "--business-id", str(business), "--platform", "twitter",
        "--since", (now - timedelta(days=120)).date().isoformat(),
        "--until", (now - timedelta(days=1)).date().isoformat(),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 posts in the range; 3 due now" in flat(result.output)
    assert "1 older than 90 days skipped" in flat(result.output)
    after = datetime.now(UTC)
    for name in ("untracked", "tracked", "outside"):
        due = await schedule.due_at(posts[name])
        assert due is not None, name
        assert due <= after, name
    assert await schedule.due_at(posts["too_old"]) is None

    narrow = await pulse(
        infra, "backfill", "--business-id", str(business),
        "--since", (now - timedelta(days=3)).date().isoformat(),
        "--until", (now - timedelta(days=2)).date().isoformat(),
    )  # fmt: skip
    assert narrow.exit_code == 0, narrow.output
    assert "2 posts in the range" in flat(narrow.output)


# --- demo ------------------------------------------------------------------------------


async def test_demo_connects_through_oauth_publishes_and_waits_for_numbers(
    infra: Infra, db: asyncpg.Connection, tmp_path: Any, workspace: Workspace
) -> None:
    offset = secrets.randbelow(2**40) + 10**13
    ports = {name: free_port() for name in ("linkedin", "twitter", "meta")}
    callbacks = {n: f"http://127.0.0.1:{p}/connect/callback" for n, p in ports.items()}
    sim = await asyncio.to_thread(
        start_service,
        "platform-sim",
        "pulse_platform_sim.app:app",
        infra.env(
            PULSE_SIM_BUSINESSES="1",
            PULSE_SIM_POSTS_PER_ACCOUNT="2",
            PULSE_SIM_DAYS="3",
            PULSE_SIM_BUSINESS_ID_OFFSET=str(offset),
            **{
                f"PULSE_SIM_{n.upper()}_REDIRECT_URIS": json.dumps([c])
                for n, c in callbacks.items()
            },
        ),
        str(tmp_path),
    )
    try:
        async with httpx.AsyncClient(base_url=sim.url) as client:
            population = (await client.get("/_sim/population")).json()
        apps = population["oauth"]
        common = {
            "PULSE_API_BASE_URL": sim.url,
            "PULSE_OAUTH_WEB_BASE_URL": sim.url,
            "PULSE_OAUTH_RETURN_URLS": json.dumps(["http://dashboard.test/connections"]),
            # The demo's member holds a token of the workspace, as a signed-in one would.
            "PULSE_JWT_JWKS_URL": f"{workspace.url}/.well-known/jwks.json",
            "PULSE_JWT_ISSUER": "pulse-workspace",
        }
        per_platform = {
            name: {
                "PULSE_OAUTH_CLIENT_ID": apps[name]["client_id"],
                "PULSE_OAUTH_CLIENT_SECRET": apps[name]["client_secret"],
                "PULSE_OAUTH_REDIRECT_URI": callbacks[name],
            }
            for name in ports
        }
        with ingest_services_on(infra, str(tmp_path), common, per_platform, ports) as ingest:
            urls = {f"PULSE_INGEST_{n.upper()}_URL": s.url for n, s in ingest.items()}
            business = offset + 1
            # The accounts are connected and the posts published; then the wait gives up
            # with a clear message, unless the session's aggregator stored every number
            # within the second.
            waited = await pulse(
                infra, "demo", "--sim", sim.url, "--timeout", "1",
                PULSE_DASHBOARD_URL="http://dashboard.test", **urls,
                PULSE_WORKSPACE_URL=workspace.url,
                PULSE_WORKSPACE_OPERATOR_TOKEN=workspace.operator_token,
            )  # fmt: skip
            assert "4 accounts connected" in flat(waited.output)
            assert waited.exit_code == 0 or "polled in time" in waited.output, waited.output
            rows = await db.fetch(
                "SELECT platform, account_id, display_name, connected_by FROM "
                "connected_accounts WHERE business_id = $1 ORDER BY platform",
                business,
            )
            expected = sorted((a["platform"], a["account_id"])
                              for a in population["businesses"][0]["accounts"])  # fmt: skip
            assert [(r["platform"], r["account_id"]) for r in rows] == expected
            assert {r["connected_by"] for r in rows} == {"demo@pulse.local"}
            owner = await db.fetchval(
                "SELECT role FROM business_members WHERE business_id = $1 AND user_id = $2",
                business,
                "demo@pulse.local",
            )
            assert owner == "owner"
            assert all(r["display_name"] for r in rows)
            sim_posts = population["businesses"][0]["posts"]
            sent = await records_with_key(
                infra,
                infra.topic_prefix + POSTS_PUBLISHED,
                post_key(sim_posts[0]["platform"], sim_posts[0]["post_id"]),
            )
            assert sent
            assert json.loads(sent[0].value)["business_id"] == business

            # Once every post has numbers (as the aggregator would store them), the demo
            # prints one of their ids last.
            post_ids = []
            for post in sim_posts:
                published_at = datetime.fromisoformat(post["published_at"])
                post_ids.append(
                    await db.fetchval(
                        "INSERT INTO published_posts (business_id, platform, platform_post_id, "
                        "account_id, content_type, published_at, event_id) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7) "
                        "ON CONFLICT (business_id, platform, platform_post_id) "
                        "DO UPDATE SET updated_at = now() RETURNING id",
                        business,
                        post["platform"],
                        post["post_id"],
                        post["account_id"],
                        post["content_type"],
                        published_at,
                        uuid.uuid4(),
                    )
                )
            await db.execute(
                "INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id, "
                "fetched_at) SELECT business_id, id, platform, platform_post_id, now() "
                "FROM published_posts WHERE business_id = $1 ON CONFLICT DO NOTHING",
                business,
            )
            loaded = await pulse(
                infra, "demo", "--sim", sim.url, "--timeout", "5",
                PULSE_DASHBOARD_URL="http://dashboard.test", **urls,
                PULSE_WORKSPACE_URL=workspace.url,
                PULSE_WORKSPACE_OPERATOR_TOKEN=workspace.operator_token,
            )  # fmt: skip
            assert loaded.exit_code == 0, loaded.output
            assert int(loaded.stdout.strip().splitlines()[-1]) in post_ids
    finally:
        await asyncio.to_thread(sim.stop)


def test_bad_ranges_and_names_are_refused_before_anything_runs() -> None:
    backfill = ["backfill", "--business-id", "1", "--since", "2026-02-01"]
    reversed_range = runner.invoke(app, [*backfill, "--until", "2026-01-01"])
    assert reversed_range.exit_code == 2
    assert "is after --until" in flat(reversed_range.output)
    bad_platform = runner.invoke(app, [*backfill, "--until", "2026-03-01", "--platform", "x"])
    assert bad_platform.exit_code == 2
    assert "'x' is not one of" in flat(bad_platform.output)
    half_range = runner.invoke(
        app, ["summaries", "rebuild", "--business-id", "1", "--since", "2026-01-01"]
    )
    assert half_range.exit_code == 2
    assert "give both --since and --until" in flat(half_range.output)


# --- accounts --------------------------------------------------------------------------


async def test_accounts_list_then_disconnect_keeps_the_numbers_and_stops_the_polls(
    infra: Infra, db: asyncpg.Connection, schedule: PollSchedule
) -> None:
    business = new_business()
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", business)
    pool = await asyncpg.create_pool(asyncpg_dsn(infra.database_url), min_size=1, max_size=1)
    try:
        vault = TokenVault(pool, [infra.token_encryption_key])
        await vault.connect(business, "twitter", str(business), "the-access-token")
    finally:
        await pool.close()
    now = datetime.now(UTC)
    mine = TrackedPost(business, "twitter", f"{business}1", str(business), now, "text")
    other = TrackedPost(business, "twitter", f"{business}2", "783214", now, "text")
    for post in (mine, other):
        await schedule.track(post)

    listed = await pulse(infra, "accounts", "list", str(business))
    assert listed.exit_code == 0, listed.output
    assert f"twitter\t{business}\t\tactive\t0 posts\tsynced never" in listed.stdout

    gone = await pulse(infra, "accounts", "disconnect", str(business), "twitter", str(business))
    assert gone.exit_code == 0, gone.output
    assert "1 posts no longer polled" in flat(gone.output)
    row = await db.fetchrow(
        "SELECT status, encrypted_token, encrypted_refresh_token FROM connected_accounts "
        "WHERE business_id = $1",
        business,
    )
    assert row is not None
    assert dict(row) == {"status": "disconnected", "encrypted_token": None,
                         "encrypted_refresh_token": None}  # fmt: skip
    assert await schedule.due_at(mine) is None
    assert await schedule.due_at(other) is not None  # another account's post stays
    again = await pulse(infra, "accounts", "disconnect", str(business), "twitter", str(business))
    assert again.exit_code == 1
    assert "has no connected twitter account" in flat(again.output)
    wrong = await pulse(infra, "accounts", "disconnect", str(business), "myspace", "1")
    assert wrong.exit_code == 2
