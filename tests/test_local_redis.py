"""deploy/local/redis.sh on a Redis of the test's own (another port and run directory):
started again beside its clients (what ``make test`` and ``make e2e`` do to a running
stack's Redis), it keeps their connections while its ACL table is unchanged, and applies
a changed one."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from pulse_testing.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "local" / "redis.sh"


@dataclass(frozen=True)
class LocalRedis:
    run_dir: Path
    port: int

    def script(self, action: str) -> str:
        """Runs redis.sh with this server's directory and port; answers what it logged.
        Passwords come from its own credentials file, none from the session's environment."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_REDIS_")}
        env |= {"PULSE_RUN_DIR": str(self.run_dir), "PULSE_REDIS_PORT": str(self.port)}
        done = subprocess.run(
            ["bash", str(SCRIPT), action], env=env, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"redis.sh {action}: {done.stderr[-2000:]}"
        return done.stdout + done.stderr

    def password(self, name: str) -> str:
        for line in (self.run_dir / "credentials.env").read_text().splitlines():
            key, _, value = line.partition("=")
            if key == name:
                return value
        raise KeyError(name)

    def set_password(self, name: str, value: str) -> None:
        path = self.run_dir / "credentials.env"
        lines = [
            f"{name}={value}" if line.partition("=")[0] == name else line
            for line in path.read_text().splitlines()
        ]
        path.write_text("\n".join(lines) + "\n")

    def client(self, user: str, password: str) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, username=user, password=password,
            single_connection_client=True, socket_timeout=10,
        )  # fmt: skip


@pytest.fixture
def local_redis() -> Iterator[LocalRedis]:
    # Under /tmp itself: a server started by root runs as the redis user, which must reach it.
    run_dir = Path(tempfile.mkdtemp(prefix="pulse-redis-"))
    run_dir.chmod(0o755)
    server = LocalRedis(run_dir, free_port())
    try:
        server.script("start")
        yield server
    finally:
        server.script("stop")
        shutil.rmtree(run_dir, ignore_errors=True)


def test_started_again_it_keeps_its_clients_connected_and_applies_a_changed_acl_table(
    local_redis: LocalRedis,
) -> None:
    admin = local_redis.client("admin", local_redis.password("PULSE_REDIS_ADMIN_PASSWORD"))
    connection = admin.client_id()

    local_redis.script("start")  # the table unchanged
    assert admin.client_id() == connection  # the same connection: not dropped and redone

    old = local_redis.password("PULSE_REDIS_QUERY_API_PASSWORD")
    local_redis.set_password("PULSE_REDIS_QUERY_API_PASSWORD", "a-new-password-for-the-test")
    assert "ACL users reloaded" in local_redis.script("start")
    assert local_redis.client("query-api", "a-new-password-for-the-test").ping()
    with pytest.raises(redis.AuthenticationError):
        local_redis.client("query-api", old).ping()
