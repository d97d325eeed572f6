"""Fixtures for tests that talk to the real PostgreSQL, Kafka and Redis.

``make test`` starts those servers (deploy/local/infra.sh up) before pytest runs. Each
test session then works in a database and on Kafka topics of its own, so it never
touches the data of a running ``make up`` stack nor of another test session:

- a fresh database ``pulse_test_<hex>``, migrated to head, dropped at the end;
- topics named ``test-<hex>.<design topic>`` (the ``PULSE_TOPIC_PREFIX`` setting).
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from alembic import command
from alembic.config import Config
from redis.asyncio import Redis

from pulse_reporter.analytics import QueryApiAnalytics
from pulse_shared.db import DATABASE_LOCALE, asyncpg_dsn
from pulse_shared.ingest.tracking import PollSchedule, schedule_key_prefix
from pulse_shared.kafka import KafkaConnection, cluster_answers, ensure_topics
from pulse_shared.permissions import (
    APP_ROLE,
    DATABASE_ROLES,
    INGEST_ROLE,
    READER_ROLE,
    REDIS_USERS,
    WORKSPACE_ROLE,
    kafka_password_var,
)

# The helpers assert as tests do: pytest rewrites their asserts to show what a failing one
# compared, as it does a conftest's (registered before they are imported).
pytest.register_assert_rewrite("pulse_testing")

from pulse_testing.infra import ROOT, Infra, delete_topics, local_credentials, postgres_url  # noqa: E402
from pulse_testing.processes import QUERY_API_NOW, ServiceProcess, start_service  # noqa: E402


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    e = os.environ.get
    secret = local_credentials()
    port = e("PULSE_PG_PORT", "5432")

    def role(name: str) -> tuple[str, str]:
        user_var = DATABASE_ROLES[name].password_var.replace("_PASSWORD", "_USER")
        return e(user_var, name), secret[DATABASE_ROLES[name].password_var]

    (app_user, app_pw), (reader, reader_pw) = role(APP_ROLE), role(READER_ROLE)
    ingest, ingest_pw = role(INGEST_ROLE)
    workspace, workspace_pw = role(WORKSPACE_ROLE)
    kafka = KafkaConnection(
        f"127.0.0.1:{e('PULSE_KAFKA_PORT', '9092')}",
        "tests",
        secret[kafka_password_var("tests")],
        "SASL_PLAINTEXT",
    )
    # The test suite's own Redis user (its key prefixes, nothing that spans the server), db 15.
    tests_password = secret[REDIS_USERS["tests"].password_var]
    redis_url = f"redis://tests:{tests_password}@127.0.0.1:{e('PULSE_REDIS_PORT', '6379')}/15"
    run_id = secrets.token_hex(4)
    database = f"pulse_test_{run_id}"

    admin_dsn = asyncpg_dsn(postgres_url(app_user, app_pw, port, "postgres"))

    async def create_database() -> None:
        try:
            conn = await asyncpg.connect(admin_dsn, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            pytest.fail(f"PostgreSQL is not reachable ({exc}): run `make test`, which starts it")
        try:
            await conn.execute(f'CREATE DATABASE "{database}" {DATABASE_LOCALE}')
        finally:
            await conn.close()

    async def drop_database() -> None:
        # Service processes may still be closing their connections (some as the reader
        # role, which the app role may not terminate): wait for them, FORCE only at last.
        conn = await asyncpg.connect(admin_dsn, timeout=5)
        try:
            for _ in range(50):
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
                    return
                except asyncpg.ObjectInUseError:
                    await asyncio.sleep(0.2)
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()

    async def prepare_kafka(prefix: str) -> None:
        if not await cluster_answers(kafka, timeout_s=10):
            pytest.fail(
                f"Kafka is not answering {kafka.username} on {kafka.bootstrap_servers}: "
                "run `make test`, which starts it and gives the tests' user its ACLs"
            )
        await ensure_topics(kafka, prefix)

    asyncio.run(create_database())
    app_url = postgres_url(app_user, app_pw, port, database)
    config = Config(os.path.join(ROOT, "shared", "alembic.ini"))
    config.attributes["database_url"] = app_url
    config.attributes["reader_role"] = reader
    config.attributes["ingest_role"] = ingest
    config.attributes["workspace_role"] = workspace
    command.upgrade(config, "head")

    prefix = f"test-{run_id}."
    asyncio.run(prepare_kafka(prefix))
    session = Infra(
        kafka=kafka,
        topic_prefix=prefix,
        database_url=app_url,
        reader_database_url=postgres_url(reader, reader_pw, port, database),
        ingest_database_url=postgres_url(ingest, ingest_pw, port, database),
        workspace_database_url=postgres_url(workspace, workspace_pw, port, database),
        redis_url=redis_url,
        database_name=database,
        jwt_secret=f"test-secret-{secrets.token_hex(16)}",
        operator_token=secrets.token_hex(32),
        reporter_service_token=secrets.token_hex(32),
    )
    # The session's workspace: members are made through it, as `pulse token` makes them.
    members = start_service(
        "workspace", "pulse_workspace.app:app",
        session.env(
            PULSE_DATABASE_URL=session.workspace_database_url,
            PULSE_WORKSPACE_SIGNING_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            PULSE_WORKSPACE_OPERATOR_TOKEN=session.operator_token,
            PULSE_REPORTER_SERVICE_TOKEN=session.reporter_service_token,
            PULSE_SMTP_TLS="none",
        ),
        str(tmp_path_factory.mktemp("workspace")), ready_path="/readyz",
    )  # fmt: skip
    try:
        yield replace(session, workspace_url=members.url)
    finally:
        members.stop()
        asyncio.run(drop_database())
        asyncio.run(delete_topics(kafka, prefix))


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the session's test database as the application role."""
    conn = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def schedule(infra: Infra) -> AsyncIterator[PollSchedule]:
    """The ingest services' poll schedule in Redis, as this test session's keys."""
    redis = Redis.from_url(infra.redis_url)
    try:
        yield PollSchedule(redis, key_prefix=schedule_key_prefix(infra.topic_prefix))
    finally:
        await redis.aclose()


@pytest.fixture(scope="session")
def aggregator(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The aggregator as a real process, consuming this session's topics."""
    env = infra.env(PULSE_CONSUMER_GROUP=f"{infra.topic_prefix}aggregator")
    service = start_service(
        "aggregator", "pulse_aggregator.app:app", env, str(tmp_path_factory.mktemp("logs"))
    )
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def query_api(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """query-api as a real process, connected as the SELECT-only role, its calendar held
    at ``QUERY_API_NOW``."""
    env = infra.env(
        PULSE_DATABASE_URL=infra.reader_database_url,
        PULSE_CLOCK_AT=QUERY_API_NOW.isoformat(),
    )
    service = start_service(
        "query-api", "pulse_query_api.app:app", env, str(tmp_path_factory.mktemp("logs"))
    )
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def service_query_api(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """:func:`query_api` trusting the session workspace's tokens (its JWKS) instead of the
    session's secret, as deployed: the reporter's service tokens are verified there."""
    env = infra.env(
        PULSE_DATABASE_URL=infra.reader_database_url,
        PULSE_CLOCK_AT=QUERY_API_NOW.isoformat(),
        PULSE_JWT_JWKS_URL=f"{infra.workspace_url}/.well-known/jwks.json",
        PULSE_JWT_ISSUER="pulse-workspace",
    )
    service = start_service(
        "query-api", "pulse_query_api.app:app", env, str(tmp_path_factory.mktemp("logs"))
    )
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
async def reporter_analytics(
    infra: Infra, service_query_api: ServiceProcess
) -> AsyncIterator[QueryApiAnalytics]:
    """The reporter's analytics client on the session's workspace and query-api (built
    the same way with other options: ``QueryApiAnalytics(service_query_api.url,
    infra.workspace_url, infra.reporter_service_token, ...)``)."""
    async with QueryApiAnalytics(
        service_query_api.url, infra.workspace_url, infra.reporter_service_token
    ) as analytics:
        yield analytics


@pytest.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    """A plain producer sending bytes, the way a non-Python producer would."""
    p = AIOKafkaProducer(**infra.kafka.options(), acks="all")
    await p.start()
    try:
        yield p
    finally:
        await p.stop()
