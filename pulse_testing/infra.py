"""The session's servers: where they listen, the credentials deploy/local generated for
them, and the cleanup of what a session leaves on Kafka."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from cryptography.fernet import Fernet

from pulse_shared.auth import mint_dev_token
from pulse_shared.kafka import KafkaConnection
from pulse_shared.permissions import credentials_file, read_credentials

# The repository's root (this package sits in it).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where deploy/local keeps its state, the generated credentials among it.
RUN_DIR = os.environ.get("PULSE_RUN_DIR") or os.path.join(ROOT, ".run")


@dataclass(frozen=True)
class Infra:
    """The session's servers. What holds a password is left out of the repr, which pytest
    prints beside every failure."""

    kafka: KafkaConnection  # as the tests' user: anything on topics and groups named test-*
    topic_prefix: str
    database_url: str = field(repr=False)  # the application role (owner), SQLAlchemy form
    reader_database_url: str = field(repr=False)  # the SELECT-only role
    ingest_database_url: str = field(repr=False)  # the ingest services' role (its accounts)
    redis_url: str = field(repr=False)
    database_name: str
    jwt_secret: str = field(repr=False)
    # The Fernet key service processes encrypt platform access tokens with (ingest).
    token_encryption_key: str = field(
        default_factory=lambda: Fernet.generate_key().decode(), repr=False
    )
    # The workspace service's role (the teams' tables: pulse_shared.permissions).
    workspace_database_url: str = field(default="", repr=False)
    # The session's workspace, the one writer of members, and the operator's key to it.
    workspace_url: str = ""
    operator_token: str = field(default="", repr=False)
    # The reporter's key to the session workspace's service-token route.
    reporter_service_token: str = field(default="", repr=False)

    async def token_for(
        self, business_id: int, user: str | None = None, role: str = "owner"
    ) -> tuple[str, str]:
        """A user who is a member of ``business_id`` with ``role`` (the business created if
        needed), made so through the workspace's operator route as ``pulse token`` does, and
        a token of the session's secret for it."""
        user = user or f"user-{secrets.token_hex(4)}@test"
        async with httpx.AsyncClient(base_url=self.workspace_url, timeout=60) as workspace:
            made = await workspace.post(
                "/v1/operator/members",
                json={"business_id": business_id, "user_id": user, "role": role},
                headers={"Authorization": f"Bearer {self.operator_token}"},
            )
        assert made.status_code == 200, made.text
        return user, mint_dev_token(self.jwt_secret, user)

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a service process started by a test."""
        env = {
            **os.environ,
            "PULSE_ENVIRONMENT": "test",
            # The services a test starts use its topics as the tests' Kafka user (each
            # service's own ACLs: tests/security/test_least_privilege.py).
            "PULSE_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "PULSE_KAFKA_SECURITY_PROTOCOL": self.kafka.security_protocol,
            "PULSE_KAFKA_USERNAME": self.kafka.username,
            "PULSE_KAFKA_PASSWORD": self.kafka.password,
            "PULSE_TOPIC_PREFIX": self.topic_prefix,
            "PULSE_DATABASE_URL": self.database_url,
            "PULSE_REDIS_URL": self.redis_url,
            "PULSE_LOG_JSON": "true",
            "PULSE_JWT_SECRET": self.jwt_secret,
            "PULSE_TOKEN_ENCRYPTION_KEYS": self.token_encryption_key,
            # A test's service never calls a real platform (accounts other tests connected
            # share the database): the discard port refuses at once; tests that poll pass
            # the simulator's URL.
            "PULSE_API_BASE_URL": "http://127.0.0.1:9",
            # A service that hangs on SIGTERM dumps every thread's stack (stop() below).
            "PYTHONFAULTHANDLER": "1",
            # Every test calls the services from 127.0.0.1, schemathesis thousands of times:
            # limits that never fire (tests/security/test_rate_limits.py sets its own).
            "PULSE_RATE_LIMIT_ADDRESS": "1000000/60",
            "PULSE_RATE_LIMIT_TOKEN": "1000000/60",
            "PULSE_RATE_LIMIT_AUTH_FAILURES": "1000000/60",
            "PULSE_RATE_LIMIT_WEBHOOKS": "1000000/60",
        }
        env.update(extra)
        return env


def postgres_url(user: str, password: str, port: str, database: str) -> str:
    return f"postgresql+asyncpg://{user}:{password}@127.0.0.1:{port}/{database}"


def local_credentials() -> dict[str, str]:
    """The passwords deploy/local generated (``PULSE_*_PASSWORD`` in the environment wins)."""
    try:
        return read_credentials(credentials_file(RUN_DIR))
    except FileNotFoundError as exc:
        pytest.fail(f"{exc}: run `make test`, which starts the servers")


async def delete_topics(kafka: KafkaConnection, prefix: str) -> None:
    """Delete every topic of the session (each test's topics live under its prefix): a
    broker that keeps the topics of every run fills its heap with their partitions."""
    admin = AIOKafkaAdminClient(**kafka.options(), request_timeout_ms=30000)
    try:
        await admin.start()
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        for start in range(0, len(mine), 100):
            await admin.delete_topics(mine[start : start + 100])
    except (KafkaError, OSError) as exc:  # cleanup must not fail the run
        print(f"could not delete the session's topics: {exc!r}")
    finally:
        await admin.close()
