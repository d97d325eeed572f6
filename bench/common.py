"""What both benchmarks need from the local infrastructure: where deploy/local's servers
listen (the environment names of conftest), and a database of their own, created and
migrated to head, dropped at the end."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient
from alembic import command
from alembic.config import Config

from pulse_shared.db import DATABASE_LOCALE, asyncpg_dsn
from pulse_shared.kafka import KafkaConnection
from pulse_shared.permissions import (
    APP_ROLE,
    DATABASE_ROLES,
    KAFKA_ADMIN,
    READER_ROLE,
    REDIS_ADMIN,
    credentials_file,
    kafka_password_var,
    read_credentials,
)
from pulse_shared.topics import TOPICS, dlq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Infra:
    port: str
    user: str
    password: str
    reader: str
    reader_password: str
    kafka: KafkaConnection
    redis_url: str

    @classmethod
    def from_env(cls, redis_db: int) -> Infra:
        """``redis_db``: a Redis database index of the benchmark's own (the tests use 15),
        reached as Redis's admin user (a benchmark flushes its database); Kafka as its
        admin too (topics and groups of the run's own prefix). Passwords: the ones
        deploy/local generated (``.run/credentials.env``)."""
        e = os.environ.get
        run_dir = e("PULSE_RUN_DIR") or os.path.join(ROOT, ".run")
        secret = read_credentials(credentials_file(run_dir))
        redis_password = secret[REDIS_ADMIN.password_var]
        return cls(
            port=e("PULSE_PG_PORT", "5432"),
            user=e("PULSE_PG_APP_USER", APP_ROLE),
            password=secret[DATABASE_ROLES[APP_ROLE].password_var],
            reader=e("PULSE_PG_READER_USER", READER_ROLE),
            reader_password=secret[DATABASE_ROLES[READER_ROLE].password_var],
            kafka=KafkaConnection(
                f"127.0.0.1:{e('PULSE_KAFKA_PORT', '9092')}",
                KAFKA_ADMIN,
                secret[kafka_password_var(KAFKA_ADMIN)],
                "SASL_PLAINTEXT",
            ),
            redis_url=f"redis://{REDIS_ADMIN.name}:{redis_password}@127.0.0.1:"
            f"{e('PULSE_REDIS_PORT', '6379')}/{redis_db}",
        )

    def kafka_env(self) -> dict[str, str]:
        """A service process's Kafka settings."""
        return {
            "PULSE_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "PULSE_KAFKA_SECURITY_PROTOCOL": self.kafka.security_protocol,
            "PULSE_KAFKA_USERNAME": self.kafka.username,
            "PULSE_KAFKA_PASSWORD": self.kafka.password,
        }

    def url(self, database: str, reader: bool = False) -> str:
        """SQLAlchemy form, as PULSE_DATABASE_URL takes it."""
        user, password = (
            (self.reader, self.reader_password) if reader else (self.user, self.password)
        )
        return f"postgresql+asyncpg://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str, reader: bool = False) -> str:
        return asyncpg_dsn(self.url(database, reader))


def data_parser(doc: str | None, events_help: str = "metrics events") -> argparse.ArgumentParser:
    """A benchmark's command line with the options of the data it generates (events,
    posts, businesses, the seed); :func:`parse_data_args` checks them."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    parser.add_argument("--events", type=int, default=1_000_000, help=events_help)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--businesses", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    return parser


def parse_data_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if not 0 < args.posts <= args.events or args.businesses <= 0:
        parser.error("need 0 < posts <= events and businesses > 0")
    return args


def free_port() -> int:
    """A port on 127.0.0.1 no one listens on now, for a service a benchmark starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def create_database(infra: Infra, name: str) -> None:
    """CREATE DATABASE as the app role, then migrate it to head with Alembic."""
    conn = await asyncpg.connect(infra.dsn("postgres"), timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" {DATABASE_LOCALE}')
    finally:
        await conn.close()
    config = Config(os.path.join(ROOT, "shared", "alembic.ini"))
    config.attributes["database_url"] = infra.url(name)
    config.attributes["reader_role"] = infra.reader
    # Alembic's env.py runs its own event loop: give it a thread of its own.
    await asyncio.to_thread(command.upgrade, config, "head")


async def drop_database(infra: Infra, name: str) -> None:
    """Plain DROP first (retried while the service's connections close): it also stops an
    autovacuum worker busy in that database, which WITH (FORCE) may not do for a role
    that is not a superuser. FORCE only as the last attempt."""
    conn = await asyncpg.connect(infra.dsn("postgres"), timeout=5)
    try:
        for attempt in range(10):
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                return
            except asyncpg.ObjectInUseError:
                if attempt == 9:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    return
                await asyncio.sleep(1)
    finally:
        await conn.close()


@dataclass
class Process:
    """A service as deployed (``uvicorn <app>``, one worker, no access log), on ``port``."""

    name: str
    url: str
    port: int
    popen: subprocess.Popen[bytes]
    log: str

    @classmethod
    def start(cls, name: str, app: str, env: dict[str, str], logs: str, port: int) -> Process:
        """Spawned and answering its health check."""
        process = cls.spawn(name, app, env, logs, port)
        process.wait_ready()
        return process

    @classmethod
    def spawn(cls, name: str, app: str, env: dict[str, str], logs: str, port: int) -> Process:
        """Started, not waited for (a benchmark that times the start itself)."""
        log = os.path.join(logs, f"{name}.log")
        with open(log, "wb") as out:
            popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port",
                 str(port), "--no-access-log", "--no-proxy-headers"],
                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
            )  # fmt: skip
        return cls(name, f"http://127.0.0.1:{port}", port, popen, log)

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}): see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout_s:.0f} s: see {self.log}")

    def log_tail(self, lines: int = 40) -> str:
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


async def delete_topics(kafka: KafkaConnection, prefix: str) -> None:
    """Every topic of a run (``prefix``), dead-letter topics included."""
    names = [f"{prefix}{n}" for spec in TOPICS for n in (spec.name, dlq(spec.name))]
    admin = AIOKafkaAdminClient(**kafka.options())
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()
