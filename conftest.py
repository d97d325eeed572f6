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
import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from alembic import command
from alembic.config import Config
from cryptography.fernet import Fernet
from redis.asyncio import Redis

from pulse_reporter.analytics import QueryApiAnalytics
from pulse_shared.auth import mint_dev_token
from pulse_shared.db import asyncpg_dsn
from pulse_shared.ingest.tracking import PollSchedule, schedule_key_prefix
from pulse_shared.kafka import KafkaConnection, cluster_answers, ensure_topics
from pulse_shared.permissions import (
    APP_ROLE,
    DATABASE_ROLES,
    INGEST_ROLE,
    READER_ROLE,
    REDIS_USERS,
    SUPERUSER,
    SUPERUSER_PASSWORD_VAR,
    WORKSPACE_ROLE,
    credentials_file,
    kafka_password_var,
    read_credentials,
)

ROOT = os.path.dirname(os.path.abspath(__file__))
# Where deploy/local keeps its state, the generated credentials among it.
RUN_DIR = os.environ.get("PULSE_RUN_DIR") or os.path.join(ROOT, ".run")
T = TypeVar("T")
# The session query-api's now: half past midnight on 20 Nov in Berlin, still 19 Nov in UTC
# and New York, so a test sees which calendar a date came from.
QUERY_API_NOW = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)


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


def _url(user: str, password: str, port: str, database: str) -> str:
    return f"postgresql+asyncpg://{user}:{password}@127.0.0.1:{port}/{database}"


def local_credentials() -> dict[str, str]:
    """The passwords deploy/local generated (``PULSE_*_PASSWORD`` in the environment wins)."""
    try:
        return read_credentials(credentials_file(RUN_DIR))
    except FileNotFoundError as exc:
        pytest.fail(f"{exc}: run `make test`, which starts the servers")


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
    app_url = _url(app_user, app_pw, port, database)
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
        reader_database_url=_url(reader, reader_pw, port, database),
        ingest_database_url=_url(ingest, ingest_pw, port, database),
        workspace_database_url=_url(workspace, workspace_pw, port, database),
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


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL server of one test's own, on another port, set up by deploy/local's
    own script (its roles, generated passwords and database) and migrated to head: a test
    may stop and start it (a real shutdown: in-flight queries get the server's FATAL
    57P01) without touching the session's or `make up`'s server."""

    run_dir: str
    port: int
    app_url: str = field(repr=False)
    reader_url: str = field(repr=False)
    superuser_url: str = field(repr=False, default="")

    def _script(self, action: str) -> None:
        env = {**os.environ, "PULSE_RUN_DIR": self.run_dir, "PULSE_PG_PORT": str(self.port)}
        script = os.path.join(ROOT, "deploy", "local", "postgres.sh")
        done = subprocess.run(
            ["bash", script, action],  # noqa: S607 - bash from PATH, as make runs it
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"postgres.sh {action} failed: {done.stderr[-2000:]}")

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        """A fast shutdown (``pg_ctl -m fast``): sessions are ended, in-flight queries told."""
        self._script("stop")


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    # Under /tmp itself: the server runs as the postgres user, which must reach its data
    # directory (pytest's own temporary directories are the test user's alone).
    run_dir = tempfile.mkdtemp(prefix="pulse-pg-")
    os.chmod(run_dir, 0o755)  # noqa: S103 - the postgres user enters; the data dir is 0700
    port = free_port()
    server = ThrowawayPostgres(run_dir, port, "", "")
    try:
        server.start()
        secret = read_credentials(credentials_file(run_dir))
        app_user, reader = APP_ROLE, READER_ROLE
        app_pw = secret[DATABASE_ROLES[APP_ROLE].password_var]
        reader_pw = secret[DATABASE_ROLES[READER_ROLE].password_var]
        server.app_url = _url(app_user, app_pw, str(port), "pulse")
        server.reader_url = _url(reader, reader_pw, str(port), "pulse")
        superuser_pw = secret[SUPERUSER_PASSWORD_VAR]
        server.superuser_url = _url(SUPERUSER, superuser_pw, str(port), "pulse")
        config = Config(os.path.join(ROOT, "shared", "alembic.ini"))
        config.attributes["database_url"] = server.app_url
        config.attributes["reader_role"] = reader
        config.attributes["ingest_role"] = INGEST_ROLE
        command.upgrade(config, "head")
        yield server
    finally:
        with contextlib.suppress(RuntimeError):
            server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


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


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the session's test database as the application role."""
    conn = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    try:
        yield conn
    finally:
        await conn.close()


# --- service processes ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: str

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                # SIGABRT makes faulthandler write each thread's stack to the log first.
                self.process.send_signal(signal.SIGABRT)
                try:
                    self.process.wait(5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        return self.process.returncode


def start_service(
    name: str,
    app: str,
    env: dict[str, str],
    tmp_dir: str,
    ready_path: str = "/healthz",
    port: int | None = None,
) -> ServiceProcess:
    """Start ``uvicorn <app>`` as a real process on ``port`` (a free one by default); wait
    until it answers."""
    port = port or free_port()
    log_path = os.path.join(tmp_dir, f"{name}-{port}.log")
    log_file = open(log_path, "wb")  # noqa: SIM115 - handed to the child process
    # As deployed: X-Forwarded-For is the service's own to judge (its trusted proxies).
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--no-proxy-headers"],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    service = ServiceProcess(name, f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{service.log()}")
        try:
            if httpx.get(service.url + ready_path, timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    service.stop()
    raise RuntimeError(f"{name} did not answer {ready_path} within 60 s:\n{service.log()}")


@contextlib.contextmanager
def ingest_services(
    infra: Infra, logs: str, common: dict[str, str], per_platform: dict[str, dict[str, str]]
) -> Iterator[dict[str, ServiceProcess]]:
    """The ingest services named in ``per_platform`` as processes (each with ``common`` and
    its own settings), stopped at the end. Each is waited for until ready: Kafka and Redis
    answer, so a webhook delivery is taken, not refused (503)."""
    with ingest_services_on(infra, logs, common, per_platform, {}) as services:
        yield services


@contextlib.contextmanager
def ingest_services_on(
    infra: Infra,
    logs: str,
    common: dict[str, str],
    per_platform: dict[str, dict[str, str]],
    ports: dict[str, int],
) -> Iterator[dict[str, ServiceProcess]]:
    """:func:`ingest_services` on the ``ports`` given (an OAuth redirect URI registered at
    the simulator names the port before the service starts)."""
    services: dict[str, ServiceProcess] = {}
    try:
        for name, extra in per_platform.items():
            services[name] = start_service(
                f"ingest-{name}", f"pulse_ingest_{name}.app:app",
                infra.env(**common, **extra), logs, ready_path="/readyz", port=ports.get(name),
            )  # fmt: skip
        yield services
    finally:
        for service in services.values():
            service.stop()


# --- the dashboard's server, and the stand-ins in front of which it runs ------------------


@dataclass
class Seen:
    """A request as it reached a stand-in."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


# What a stand-in answers a request: status, headers, body; None hangs up.
Respond = Callable[[Seen], "tuple[int, dict[str, str], bytes] | None"]


class RecordingServer:
    """A real HTTP server standing in for an upstream of the dashboard's server: records
    every request reaching it, answers as ``respond`` says."""

    def __init__(self, respond: Respond) -> None:
        self.seen: list[Seen] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.answer(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.respond = respond
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        seen = Seen(handler.command, handler.path, headers, body)
        self.seen.append(seen)
        answer = self.respond(seen)
        if answer is None:
            return
        status, extra, content = answer
        handler.send_response(status)
        for name, value in {"Content-Length": str(len(content)), **extra}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(content)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# Headers every stand-in adds of its own: the dashboard's server must pass none on.
LOOSE_HEADERS = {
    "Content-Type": "application/json",
    "Content-Security-Policy": "default-src *",
    "X-Frame-Options": "ALLOWALL",
}


def dashboard_sign_in_env(port: int) -> dict[str, str]:
    """What the dashboard's server on 127.0.0.1:``port`` needs for sign-in: the local
    Keycloak's client (it accepts a loopback redirect on any port), Redis as the
    ``dashboard`` ACL user (the tests' database 15), a session key of its own, and a
    workspace URL where nothing answers."""
    secret = local_credentials()
    e = os.environ.get
    redis_password = secret[REDIS_USERS["dashboard"].password_var]
    return {
        "PULSE_OIDC_ISSUER": f"http://127.0.0.1:{e('PULSE_KEYCLOAK_PORT', '8300')}/realms/pulse",
        "PULSE_OIDC_CLIENT_ID": "pulse-dashboard",
        "PULSE_OIDC_CLIENT_SECRET": secret["PULSE_KEYCLOAK_DASHBOARD_CLIENT_SECRET"],
        "PULSE_DASHBOARD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PULSE_REDIS_URL": (
            f"redis://dashboard:{redis_password}@127.0.0.1:{e('PULSE_REDIS_PORT', '6379')}/15"
        ),
        "PULSE_DASHBOARD_SESSION_KEYS": Fernet.generate_key().decode(),
        "PULSE_WORKSPACE_URL": f"http://127.0.0.1:{free_port()}",
    }


def start_dashboard_server(
    tmp_path_factory: pytest.TempPathFactory,
    env: dict[str, str],
    assets: dict[str, bytes] | None = None,
) -> ServiceProcess:
    """The dashboard's server as `make up` runs it, on a small built page of its own (and
    ``assets`` beside its app.js), with ``env`` over the environment (PULSE_QUERY_API_URL,
    PULSE_INGEST_<SERVICE>_URL) and over :func:`dashboard_sign_in_env`."""
    port = free_port()
    dist = tmp_path_factory.mktemp("dist")
    (dist / "assets").mkdir()
    (dist / "index.html").write_text(
        '<!doctype html><script type="module" src="/assets/app.js"></script><div id="root">'
    )
    (dist / "assets" / "app.js").write_text("document.title = 'Pulse';\n")
    for name, content in (assets or {}).items():
        (dist / "assets" / name).write_bytes(content)
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PULSE_INGEST_")},
        "PULSE_QUERY_API_URL": f"http://127.0.0.1:{free_port()}",  # nothing answers there
        "PULSE_DASHBOARD_DIST": str(dist),
        # What `--app-dir services/dashboard` does for `make up`.
        "PYTHONPATH": os.path.join(ROOT, "services", "dashboard"),
        # Limits that never fire, counted under keys of its own (a test sets its own).
        "PULSE_RATE_LIMIT_ADDRESS": "1000000/60",
        "PULSE_RATE_LIMIT_SIGN_IN": "1000000/60",
        "PULSE_RATE_LIMIT_AUTH_FAILURES": "1000000/60",
        "PULSE_TOPIC_PREFIX": f"test-{secrets.token_hex(4)}.",
        **dashboard_sign_in_env(port),
        **env,
    }
    logs = str(tmp_path_factory.mktemp("logs"))
    return start_service("dashboard", "server.app:app", full, logs, port=port)


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]

    def json(self) -> dict[str, object]:
        parsed: dict[str, object] = json.loads(self.body)
        return parsed


def call(
    service: ServiceProcess,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | Iterable[bytes] | None = None,
) -> Answer:
    """One request with its path sent exactly as given (http.client sends a path byte for
    byte; httpx would resolve its dot segments first)."""
    host, port = service.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        chunked = body is not None and not isinstance(body, bytes)
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        return Answer(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


# The OAuth app each ingest service is registered as at the simulator (its settings' names).
SIM_OAUTH_APP = {
    "twitter": ("PULSE_SIM_TWITTER_CLIENT_ID", "PULSE_SIM_TWITTER_CLIENT_SECRET"),
    "linkedin": ("PULSE_SIM_LINKEDIN_CLIENT_ID", "PULSE_SIM_LINKEDIN_CLIENT_SECRET"),
    "meta": ("PULSE_SIM_META_APP_ID", "PULSE_SIM_META_APP_SECRET"),
}
CONNECT_RETURN_TO = "http://dashboard.test/connections"


@dataclass
class ConnectStack:
    """The simulator and one ingest service, its OAuth app registered there: the path a
    member's browser takes to connect an account."""

    sim: ServiceProcess
    ingest: ServiceProcess
    offset: int  # simulator business i is Pulse business offset + i
    client_id: str
    client_secret: str

    @property
    def callback(self) -> str:
        return f"{self.ingest.url}/connect/callback"

    async def authorize(self, token: str, business: int, **body: object) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.ingest.url) as client:
            return await client.post(
                "/connect/authorize",
                json={"business_id": business, "return_to": CONNECT_RETURN_TO, **body},
                headers={"Authorization": f"Bearer {token}"},
            )


@contextlib.contextmanager
def connect_stack(
    infra: Infra, logs: str, service: str, **ingest_env: str
) -> Iterator[ConnectStack]:
    """A simulator of its own (its businesses offset so no other test shares its accounts)
    and ``ingest-<service>`` with connecting configured against it."""
    offset = secrets.randbelow(2**40) + 10**12
    client_id, client_secret = f"pulse-{service}-client", secrets.token_urlsafe(24)
    ingest_port = free_port()
    callback = f"http://127.0.0.1:{ingest_port}/connect/callback"
    id_name, secret_name = SIM_OAUTH_APP[service]
    sim = start_service(
        "platform-sim", "pulse_platform_sim.app:app",
        infra.env(**{
            "PULSE_SIM_BUSINESS_ID_OFFSET": str(offset), id_name: client_id,
            secret_name: client_secret,
            f"PULSE_SIM_{service.upper()}_REDIRECT_URIS": json.dumps([callback]),
        }),
        logs,
    )  # fmt: skip
    try:
        ingest = start_service(
            f"ingest-{service}", f"pulse_ingest_{service}.app:app",
            infra.env(**{
                "PULSE_API_BASE_URL": sim.url, "PULSE_OAUTH_WEB_BASE_URL": sim.url,
                "PULSE_OAUTH_CLIENT_ID": client_id, "PULSE_OAUTH_CLIENT_SECRET": client_secret,
                "PULSE_OAUTH_REDIRECT_URI": callback,
                "PULSE_OAUTH_RETURN_URLS": json.dumps([CONNECT_RETURN_TO]),
                "PULSE_POLL_IDLE_S": "0.3", **ingest_env,
            }),
            logs, ready_path="/readyz", port=ingest_port,
        )  # fmt: skip
    except BaseException:
        sim.stop()
        raise
    try:
        yield ConnectStack(sim, ingest, offset, client_id, client_secret)
    finally:
        ingest.stop()
        sim.stop()


async def browse_to_pulse(location: str) -> httpx.Response:
    """The browser following the platform's redirect to ingest's callback."""
    async with httpx.AsyncClient() as browser:
        return await browser.get(location)


def connect_outcome(response: httpx.Response) -> dict[str, list[str]]:
    """The outcome in the query of the dashboard page a connect ends on."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(CONNECT_RETURN_TO), location
    return parse_qs(urlsplit(location).query)


@pytest.fixture
async def schedule(infra: Infra) -> AsyncIterator[PollSchedule]:
    """The ingest services' poll schedule in Redis, as this test session's keys."""
    redis = Redis.from_url(infra.redis_url)
    try:
        yield PollSchedule(redis, key_prefix=schedule_key_prefix(infra.topic_prefix))
    finally:
        await redis.aclose()


async def raw_post(
    service: ServiceProcess, path: str, headers: dict[str, str], body_start: bytes
) -> bytes:
    """Send a POST's head and the start of its body only, and read what comes back: an
    answer that comes proves the server did not wait for the rest."""
    host, port = service.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host, **headers}.items())
        writer.write(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + body_start)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), timeout=60)
    finally:
        writer.close()


async def eventually(
    check: Callable[[], Awaitable[T | None]], timeout: float = 60.0, interval: float = 0.2
) -> T:
    """Await ``check`` until it returns something other than None/False; fail on timeout,
    which only guards against a hang (long enough for a loaded machine)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


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


async def assert_operational_endpoints(service: ServiceProcess, checks: set[str]) -> None:
    """/healthz answers, /readyz reports every named dependency ok, /metrics is Prometheus."""
    async with httpx.AsyncClient(base_url=service.url) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == dict.fromkeys(checks, "ok")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE process_cpu_seconds_total counter" in metrics.text
