"""Service processes as tests start them: the services under uvicorn, the dashboard's
server, a PostgreSQL server of a test's own, and the free ports they listen on."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from alembic import command
from alembic.config import Config
from cryptography.fernet import Fernet

from pulse_shared.permissions import (
    APP_ROLE,
    DATABASE_ROLES,
    INGEST_ROLE,
    READER_ROLE,
    REDIS_USERS,
    SUPERUSER,
    SUPERUSER_PASSWORD_VAR,
    credentials_file,
    read_credentials,
)
from pulse_testing.infra import ROOT, Infra, local_credentials, postgres_url

# The session query-api's now: half past midnight on 20 Nov in Berlin, still 19 Nov in UTC
# and New York, so a test sees which calendar a date came from.
QUERY_API_NOW = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)


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
    process = subprocess.Popen(  # noqa: S603 - uvicorn with the test's own arguments
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
        done = subprocess.run(  # noqa: S603 - deploy/local's own script
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
        server.app_url = postgres_url(app_user, app_pw, str(port), "pulse")
        server.reader_url = postgres_url(reader, reader_pw, str(port), "pulse")
        superuser_pw = secret[SUPERUSER_PASSWORD_VAR]
        server.superuser_url = postgres_url(SUPERUSER, superuser_pw, str(port), "pulse")
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
