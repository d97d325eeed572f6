"""Fixtures for tests that talk to the real PostgreSQL, Kafka and Redis.

``make test`` starts those servers (deploy/local/infra.sh up) before pytest runs. Each
test session then works in a database and on Kafka topics of its own, so it never
touches the data of a running ``make up`` stack nor of another test session:

- a fresh database ``pulse_test_<hex>``, migrated to head, dropped at the end;
- topics named ``test-<hex>.<design topic>`` (the ``PULSE_TOPIC_PREFIX`` setting).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import pytest
from alembic import command
from alembic.config import Config

from pulse_shared.db import asyncpg_dsn
from pulse_shared.kafka import cluster_answers, ensure_topics

ROOT = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    topic_prefix: str
    database_url: str  # the application role (owner), SQLAlchemy form
    reader_database_url: str  # the SELECT-only role
    redis_url: str
    database_name: str

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a service process started by a test."""
        env = {
            **os.environ,
            "PULSE_ENVIRONMENT": "test",
            "PULSE_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "PULSE_TOPIC_PREFIX": self.topic_prefix,
            "PULSE_DATABASE_URL": self.database_url,
            "PULSE_REDIS_URL": self.redis_url,
            "PULSE_LOG_JSON": "true",
        }
        env.update(extra)
        return env


def _url(user: str, password: str, port: str, database: str) -> str:
    return f"postgresql+asyncpg://{user}:{password}@127.0.0.1:{port}/{database}"


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    e = os.environ.get
    port = e("PULSE_PG_PORT", "5432")
    app_user, app_pw = e("PULSE_PG_APP_USER", "pulse"), e("PULSE_PG_APP_PASSWORD", "pulse")
    reader = e("PULSE_PG_READER_USER", "pulse_reader")
    reader_pw = e("PULSE_PG_READER_PASSWORD", "pulse_reader")
    kafka = f"127.0.0.1:{e('PULSE_KAFKA_PORT', '9092')}"
    redis_url = f"redis://127.0.0.1:{e('PULSE_REDIS_PORT', '6379')}/15"
    run_id = secrets.token_hex(4)
    database = f"pulse_test_{run_id}"

    admin_dsn = asyncpg_dsn(_url(app_user, app_pw, port, "postgres"))

    async def create_database() -> None:
        try:
            conn = await asyncpg.connect(admin_dsn, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            pytest.fail(f"PostgreSQL is not reachable ({exc}): run `make test`, which starts it")
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    async def drop_database() -> None:
        conn = await asyncpg.connect(admin_dsn, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()

    async def prepare_kafka(prefix: str) -> None:
        if not await cluster_answers(kafka, timeout_s=10):
            pytest.fail(f"Kafka is not answering on {kafka}: run `make test`, which starts it")
        await ensure_topics(kafka, prefix)

    asyncio.run(create_database())
    app_url = _url(app_user, app_pw, port, database)
    config = Config(os.path.join(ROOT, "shared", "alembic.ini"))
    config.attributes["database_url"] = app_url
    config.attributes["reader_role"] = reader
    command.upgrade(config, "head")

    prefix = f"test-{run_id}."
    asyncio.run(prepare_kafka(prefix))
    try:
        yield Infra(
            kafka_bootstrap=kafka,
            topic_prefix=prefix,
            database_url=app_url,
            reader_database_url=_url(reader, reader_pw, port, database),
            redis_url=redis_url,
            database_name=database,
        )
    finally:
        asyncio.run(drop_database())


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the session's test database as the application role."""
    conn = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    try:
        yield conn
    finally:
        await conn.close()
