"""Issue 13, item 7: the servers let each service in with credentials of its own and allow
it only what pulse_shared.permissions (the one table of every service's permissions) gives
it. Proven against the PostgreSQL and Redis that `make test` starts (deploy/local) and on
the deployment files:

- Redis: no command without a password; each ACL user is refused keys outside its
  patterns and commands outside its list, and can do what its service's code does;
- PostgreSQL: the well-known passwords are refused; each role has exactly its grants;
- the servers run as no root, and their logs are readable by no other user;
- docker-compose.yml publishes no server port; the Kubernetes manifests deny by default.
"""

from __future__ import annotations

import fnmatch
import os
import re
import secrets
import stat
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
import yaml
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from pulse_aggregator.consumer import CONSUMED_TOPICS
from pulse_aggregator.settings import Settings as AggregatorSettings
from pulse_query_api.cache import AnswerCache
from pulse_shared import tables, topics
from pulse_shared.cache import bump_cache_versions, cache_version_key
from pulse_shared.db import asyncpg_dsn
from pulse_shared.ingest.contracts import TrackedPost
from pulse_shared.ingest.dedupe import WebhookDeduplicator
from pulse_shared.ingest.ratelimit import Budget, RateLimiter, rate_limit_app
from pulse_shared.ingest.tracking import PollSchedule
from pulse_shared.permissions import (
    DATABASE_ROLES,
    READER_ROLE,
    REDIS_ADMIN,
    REDIS_USERS,
    REPORTER_ROLE,
    REPORTER_TABLES,
    SERVICES,
    SUPERUSER,
    RedisUser,
    credentials_file,
    read_credentials,
)
from pulse_shared.topics import TOPICS
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("PULSE_RUN_DIR") or ROOT / ".run")
REDIS_PORT = int(os.environ.get("PULSE_REDIS_PORT", "6379"))
PG_PORT = int(os.environ.get("PULSE_PG_PORT", "5432"))
TEST_DB = 15  # the test sessions' Redis database (conftest)
SERVERS = ("postgres", "redis", "kafka")

# Commands no service may run: what spans the whole server or every key.
FORBIDDEN: tuple[tuple[str, ...], ...] = (
    ("FLUSHALL",),
    ("FLUSHDB",),
    ("CONFIG", "GET", "maxmemory"),
    ("KEYS", "*"),
    ("ACL", "LIST"),
    ("DEBUG", "SLEEP", "0"),
    ("SHUTDOWN", "NOSAVE"),
)
# Sent to the server only after ACL DRYRUN said the user may not: never risked for real.
NEVER_SENT = {"SHUTDOWN", "DEBUG"}


async def command(client: Redis, *args: str) -> Any:
    """A raw command (redis-py's execute_command is untyped)."""
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]


def credentials() -> dict[str, str]:
    try:
        return read_credentials(credentials_file(RUN))
    except FileNotFoundError as exc:
        pytest.fail(str(exc))


def redis_as(user: RedisUser, db: int = TEST_DB) -> Redis:
    password = credentials()[user.password_var]
    return Redis(host="127.0.0.1", port=REDIS_PORT, db=db, username=user.name, password=password)


@pytest.fixture
async def admin() -> AsyncIterator[Redis]:
    client = redis_as(REDIS_ADMIN)
    yield client
    await client.aclose()


def sample_key(pattern: str) -> str:
    """A key the pattern matches, never one a running stack or a test session uses."""
    return pattern.replace("*", f"least-privilege-{secrets.token_hex(4)}")


def matches(user: RedisUser, key: str) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in (*user.keys, *user.read_keys))


# --- Redis ----------------------------------------------------------------------------------


async def test_redis_runs_no_command_without_a_password() -> None:
    anonymous = Redis(host="127.0.0.1", port=REDIS_PORT, db=TEST_DB)
    try:
        with pytest.raises((AuthenticationError, ResponseError), match=r"(?i)auth"):
            await anonymous.ping()
        with pytest.raises((AuthenticationError, ResponseError)):
            await command(anonymous, "AUTH", "default", "")
    finally:
        await anonymous.aclose()


async def test_redis_has_exactly_the_tables_users(admin: Redis) -> None:
    users = {u.decode() for u in await command(admin, "ACL", "USERS")}
    assert users == {"default", REDIS_ADMIN.name, *REDIS_USERS}
    default = cast(dict[str, Any], await admin.acl_getuser("default"))
    assert "off" in default["flags"], default


@pytest.mark.parametrize("name", sorted(REDIS_USERS))
async def test_each_redis_user_is_refused_every_key_outside_its_patterns(name: str) -> None:
    user = REDIS_USERS[name]
    others = {sample_key(p) for u in REDIS_USERS.values() for p in (*u.keys, *u.read_keys)}
    outside = sorted({k for k in others if not matches(user, k)} | {sample_key("other:*")})
    assert outside
    may = {"get"} if user.categories else set(user.commands)
    name_of = next(c for c in ("get", "incrby", "zscore") if c in may)
    args = {"get": (), "incrby": ("0",), "zscore": ("member",)}[name_of]
    client = redis_as(user)
    try:
        for key in outside:
            with pytest.raises(NoPermissionError, match="keys"):
                await command(client, name_of.upper(), key, *args)
        for pattern in user.read_keys:
            with pytest.raises(NoPermissionError, match="keys"):
                await command(client, "SET", sample_key(pattern), "0")
    finally:
        await client.aclose()


@pytest.mark.parametrize("name", sorted(REDIS_USERS))
async def test_each_redis_user_is_refused_the_commands_that_span_the_server(
    name: str, admin: Redis
) -> None:
    client = redis_as(REDIS_USERS[name])
    try:
        for forbidden in FORBIDDEN:
            verdict = await command(admin, "ACL", "DRYRUN", name, *forbidden)
            assert b"no permissions" in verdict, f"{name} may run {' '.join(forbidden)}"
            if forbidden[0] not in NEVER_SENT:
                with pytest.raises(NoPermissionError):
                    await command(client, *forbidden)
    finally:
        await client.aclose()


async def test_the_aggregator_bumps_cache_versions_and_nothing_else() -> None:
    client = redis_as(REDIS_USERS["aggregator"])
    business = secrets.randbelow(2**62) + 10**15
    try:
        await bump_cache_versions(client, [business])
        with pytest.raises(NoPermissionError):
            await client.get(cache_version_key(business))
        with pytest.raises(NoPermissionError):
            await client.set(f"pulse:answer:{business}:1:x", b"forged")
    finally:
        await client.aclose()
        cleaner = redis_as(REDIS_USERS["tests"])
        await cleaner.delete(cache_version_key(business))
        await cleaner.aclose()


class _Answer(BaseModel):
    value: int


async def test_query_api_caches_answers_and_only_reads_cache_versions(infra: Infra) -> None:
    client = redis_as(REDIS_USERS["query-api"])
    engine = create_async_engine(infra.reader_database_url)
    business = secrets.randbelow(2**62) + 10**15

    async def compute(session: AsyncSession) -> BaseModel:
        return _Answer(value=business)

    try:
        cache = AnswerCache(client, engine)
        parts = {"route": "least-privilege", "nonce": secrets.token_hex(4)}
        first = await cache.answer(business, parts, compute)
        second = await cache.answer(business, parts, compute)
        assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
        # Rate limits shared by replicas (pulse_shared.http_ratelimit).
        key = sample_key("pulse:http-rl:*")
        async with client.pipeline(transaction=False) as pipe:
            pipe.incrby(key, 1)
            pipe.expire(key, 5)
            assert await pipe.execute() == [1, True]
        # The versions are the aggregator's: query-api may not move one back (which would
        # serve an answer stored before the data under it changed), even from a script.
        for write in (
            client.set(cache_version_key(business), b"0"),
            client.incrby(cache_version_key(business), 1),
            client.eval("return redis.call('SET', KEYS[1], '0')", 1, cache_version_key(business)),
        ):
            with pytest.raises(NoPermissionError):
                await write
    finally:
        await client.aclose()
        await engine.dispose()


async def test_the_reporter_counts_its_rate_limits_and_nothing_else() -> None:
    """Its one use of Redis: the request rate limits shared by its replicas
    (pulse_shared.http_ratelimit); not the memberships the workspace forgets, nor a read."""
    client = redis_as(REDIS_USERS["reporter"])
    key = sample_key("pulse:http-rl:*")
    try:
        async with client.pipeline(transaction=False) as pipe:
            pipe.incrby(key, 1)
            pipe.expire(key, 5)
            assert await pipe.execute() == [1, True]
        for refused in (
            client.get(key),
            client.set(key, b"0"),
            client.delete(sample_key("pulse:member:*")),
            client.incrby(sample_key("pulse:cache-version:*"), 1),
        ):
            with pytest.raises(NoPermissionError):
                await refused
    finally:
        await client.aclose()


INGEST: dict[str, tuple[str, ...]] = {
    "ingest-linkedin": ("linkedin",),
    "ingest-twitter": ("twitter",),
    "ingest-meta": ("facebook", "instagram"),
}


@pytest.mark.parametrize("service", sorted(INGEST))
async def test_each_ingest_service_keeps_its_schedule_budgets_and_webhooks(service: str) -> None:
    """The service's own code, under its user and the keys a running stack uses (in the
    test sessions' database): schedule, rate limits and deduplication work; another
    platform's schedule is refused."""
    client = redis_as(REDIS_USERS[service])
    schedule = PollSchedule(client, key_prefix="pulse:track")
    platforms = INGEST[service]
    now = datetime.now(UTC)
    try:
        for platform in platforms:
            post = _post(platform, now)
            # Its first poll an hour away: a running stack's poller (these are its keys)
            # never claims it.
            assert await schedule.track(post, now=now + timedelta(hours=1))
            assert await schedule.tracked_post(platform, post.platform_post_id) == post
            assert await schedule.reschedule(post, now) is not None
            assert await schedule.untrack(post)
        app = rate_limit_app(platforms[0])
        endpoint = f"/least-privilege-{secrets.token_hex(4)}"
        budget = Budget(scope="app", endpoint=endpoint, limit=5, window_s=60)
        limiter = RateLimiter(client, app, [budget], max_wait_s=0)
        assert await limiter.acquire(endpoint, "account-1") == 0.0
        await limiter.block("account", "account-1", 0.5, endpoint=endpoint)
        dedupe = WebhookDeduplicator(client, service, key_prefix="pulse")
        delivery = f"least-privilege-{secrets.token_hex(8)}"
        assert await dedupe.first_time(delivery)
        assert not await dedupe.first_time(delivery)
        await dedupe.release(delivery)
        other = next(p for s, ps in INGEST.items() if s != service for p in ps)
        with pytest.raises(NoPermissionError):
            await schedule.track(_post(other, now), now=now)
    finally:
        await client.aclose()


def _post(platform: str, now: datetime) -> TrackedPost:
    return TrackedPost(
        business_id=secrets.randbelow(2**62) + 10**15,
        platform=platform,  # type: ignore[arg-type]
        platform_post_id=f"least-privilege-{secrets.token_hex(6)}",
        account_id="account-1",
        published_at=(now - timedelta(hours=1)).replace(microsecond=0),
    )


# --- Kafka (documentation until it has ACLs) -------------------------------------------------


def test_the_kafka_columns_are_the_designs_topics_and_groups() -> None:
    design = {spec.name for spec in TOPICS}
    for name, row in SERVICES.items():
        for topic in (*row.kafka.consumes, *row.kafka.produces):
            assert topic in design or topic.removesuffix(".dlq") in design, (name, topic)
    produced = {t for row in SERVICES.values() for t in row.kafka.produces}
    consumed = {t for row in SERVICES.values() for t in row.kafka.consumes}
    assert design <= produced, f"topics no service produces: {design - produced}"
    assert design <= consumed, f"topics no service consumes: {design - consumed}"
    assert set(SERVICES["aggregator"].kafka.consumes) == set(CONSUMED_TOPICS)
    assert SERVICES["aggregator"].kafka.group == AggregatorSettings().consumer_group
    for service in INGEST:
        app = (
            ROOT / f"services/{service}/src/pulse_{service.replace('-', '_')}/app.py"
        ).read_text()
        assert f'build_ingest_app("{SERVICES[service].kafka.group}"' in app, service


def test_each_ingest_service_may_produce_and_consume_every_topic_its_code_names() -> None:
    """The topics pulse_shared.ingest publishes to (``publish(..., prefix + TOPIC, ...)``)
    and subscribes to are in every ingest row: the test session's services log in as the
    tests' principal, so a topic missing from a row shows only in `make up`'s logs."""
    code = "\n".join(p.read_text() for p in (ROOT / "shared/src/pulse_shared/ingest").glob("*.py"))
    published = {
        getattr(topics, name)
        for name in re.findall(r"publish\(\s*[\w.]+,\s*[\w.]*prefix \+ ([A-Z_]+)", code)
    }
    subscribed = {
        getattr(topics, name)
        for name in re.findall(r"^\s+prefix \+ ([A-Z_]+),$", code, flags=re.MULTILINE)
    }
    assert {topics.POSTS_PUBLISHED, topics.POSTS_REMOVED, topics.METRICS_OBSERVED} <= published
    assert topics.REFRESH_REQUESTED in subscribed
    for service in INGEST:
        assert published <= set(SERVICES[service].kafka.produces), service
        assert subscribed <= set(SERVICES[service].kafka.consumes), service


# --- PostgreSQL -----------------------------------------------------------------------------

WELL_KNOWN = [(SUPERUSER, "postgres"), *((role, role) for role in DATABASE_ROLES)]


@pytest.mark.parametrize(("user", "password"), WELL_KNOWN)
async def test_postgres_refuses_the_well_known_passwords(user: str, password: str) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(
            host="127.0.0.1", port=PG_PORT, user=user, password=password, database="postgres"
        )


PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


async def test_each_database_role_has_exactly_its_grants(infra: Infra) -> None:
    """In a database migrated to head (the session's): the owner owns every table, every
    other role holds exactly the privileges of its row, on every table (partitions too)."""
    conn = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    try:
        tables: dict[str, str] = dict(
            await conn.fetch(
                "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
            )
        )
        assert "connected_accounts" in tables
        assert "post_analytics" in tables
        for role in DATABASE_ROLES.values():
            for table, owner in sorted(tables.items()):
                if role.owner:
                    assert owner == role.name, f"{table} is owned by {owner}, not {role.name}"
                    continue
                held = {
                    p
                    for p in PRIVILEGES
                    if await conn.fetchval(
                        "SELECT has_table_privilege($1, $2, $3)", role.name, f"public.{table}", p
                    )
                }
                assert held == role.privileges_on(table), (role.name, table)
            attributes = await conn.fetchrow(
                "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = $1", role.name
            )
            assert attributes is not None
            assert not any(attributes.values()), role.name
    finally:
        await conn.close()


def test_the_reporters_row_names_its_tables_and_the_reader_is_kept_from_them() -> None:
    """permissions.py reads no SQLAlchemy, so it names the reporter's tables itself: they
    are pulse_shared.tables', and the reader role is refused every secret table."""
    assert set(REPORTER_TABLES) == set(tables.REPORTER_TABLES)
    assert set(DATABASE_ROLES[READER_ROLE].except_tables) == set(tables.SECRET_TABLES)


# Whatever the reporter is refused: the analytics (query-api answers it), the teams' tables
# (the workspace does), the token vault, a business's name or time zone, a table of its own.
REPORTER_REFUSED = (
    "SELECT count(*) FROM published_posts",
    "SELECT count(*) FROM post_analytics",
    "SELECT count(*) FROM post_metric_snapshots",
    "SELECT count(*) FROM analytics_summaries",
    "SELECT count(*) FROM activity_daily",
    "SELECT count(*) FROM account_snapshots",
    "SELECT count(*) FROM business_members",
    "SELECT count(*) FROM users",
    "SELECT count(*) FROM api_tokens",
    "SELECT count(*) FROM connected_accounts",
    "SELECT count(*) FROM audit_log",
    "UPDATE businesses SET timezone = 'Europe/Berlin'",
    "INSERT INTO businesses (id) VALUES (1)",
    "DELETE FROM businesses",
    "CREATE TABLE intruder (id int)",
)


async def test_the_reporter_role_writes_its_tables_and_only_reads_businesses(
    infra: Infra,
) -> None:
    """As the reporter connects (its own role and generated password), in the session's
    database: schedules, deliveries and alerts written, read and deleted (their ids from
    identity columns, which need no grant of their own); nothing else."""
    owner = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    business = secrets.randbelow(2**62) + 10**15
    await owner.execute("INSERT INTO businesses (id, name) VALUES ($1, 'Reporter test')", business)
    password = credentials()[DATABASE_ROLES[REPORTER_ROLE].password_var]
    conn = await asyncpg.connect(
        host="127.0.0.1",
        port=PG_PORT,
        user=REPORTER_ROLE,
        password=password,
        database=infra.database_name,
    )
    try:
        assert await conn.fetchval("SELECT timezone FROM businesses WHERE id = $1", business)
        schedule = await conn.fetchval(
            "INSERT INTO report_schedules (business_id, kind, recipients, created_by) "
            "VALUES ($1, 'weekly', ARRAY['boss@example.com'], 'u') RETURNING id",
            business,
        )
        await conn.execute(
            "INSERT INTO report_deliveries (business_id, schedule_id, delivery_key, "
            "period_start, period_end, message_id) VALUES ($1, $2, $3, '2026-11-02', "
            "'2026-11-08', '<m@pulse.local>')",
            business,
            schedule,
            f"{schedule}:2026-11-02",
        )
        await conn.execute(
            "UPDATE report_deliveries SET status = 'sent' WHERE schedule_id = $1", schedule
        )
        alert = await conn.fetchval(
            "INSERT INTO alerts (business_id, alert_key, kind, platform, day, title, sentence, "
            "link) VALUES ($1, $2, 'anomaly', 'linkedin', '2026-11-03', 't', 's', '/') "
            "RETURNING id",
            business,
            f"least-privilege-{business}",
        )
        await conn.execute("INSERT INTO alert_reads (alert_id, user_id) VALUES ($1, 'u')", alert)
        await conn.execute("DELETE FROM alerts WHERE id = $1", alert)
        await conn.execute("DELETE FROM report_schedules WHERE id = $1", schedule)
        for statement in REPORTER_REFUSED:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()
        await owner.execute("DELETE FROM businesses WHERE id = $1", business)
        await owner.close()


# --- processes and files --------------------------------------------------------------------


def _pid_owner(pidfile: Path) -> int:
    pid = pidfile.read_text().split()[0]
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))


@pytest.mark.skipif(os.geteuid() != 0, reason="started by a user, the servers run as that user")
def test_the_servers_do_not_run_as_root() -> None:
    for pidfile in (
        RUN / "pg/data/postmaster.pid",
        RUN / "redis/redis.pid",
        RUN / "kafka/kafka.pid",
    ):
        assert pidfile.exists(), f"{pidfile}: not running? (`make test` starts the servers)"
        assert _pid_owner(pidfile) != 0, f"{pidfile.parent.name} runs as root"


def test_logs_and_credentials_are_readable_by_their_owners_only() -> None:
    logs = [
        *RUN.glob("logs/*"),
        *RUN.glob("pg/*.log"),
        *RUN.glob("redis/*.log"),
        *RUN.glob("kafka/logs/*"),
    ]
    assert logs, f"no log files under {RUN}: `make test` starts the servers"
    for path in logs:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert not mode & 0o007, f"{path} is {oct(mode)}: others may read it"
        assert not mode & 0o020, f"{path} is {oct(mode)}: its group may write it"
    for secret in (credentials_file(RUN), RUN / "redis/users.acl"):
        mode = stat.S_IMODE(secret.stat().st_mode)
        assert mode == 0o600, f"{secret} is {oct(mode)}"


# --- the deployment files -------------------------------------------------------------------


def test_compose_publishes_no_server_port_and_binds_the_others_to_loopback() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    networks = compose.get("networks") or {}
    for name, service in compose["services"].items():
        ports = [str(p) for p in service.get("ports") or []]
        if name in SERVERS:
            assert not ports, f"{name} publishes {ports}"
            joined = service.get("networks") or ["default"]
            assert all((networks.get(n) or {}).get("internal") for n in joined), (
                f"{name} is on a network that is not internal: {joined}"
            )
        for port in ports:
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_kubernetes_denies_every_connection_by_default() -> None:
    kustomize = RUN / "tools" / "bin" / "kustomize"
    if not kustomize.exists():
        pytest.fail(f"{kustomize} is missing: `make test` installs it")
    built = subprocess.run(
        [str(kustomize), "build", str(ROOT / "deploy" / "k8s" / "base")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    policies = [d for d in yaml.safe_load_all(built.stdout) if d and d["kind"] == "NetworkPolicy"]
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "no NetworkPolicy selects every pod and allows nothing"


def test_every_principal_has_a_long_password_of_its_own() -> None:
    values = credentials()
    for name, value in values.items():
        assert len(value) >= 32, f"{name} is short"
    assert len(set(values.values())) == len(values), "two principals share a password"
