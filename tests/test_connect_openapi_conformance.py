"""schemathesis against each ingest service's connect routes, over HTTP, every check included.

Each ingest service runs as a real process over the session's PostgreSQL, Redis and Kafka, with
its OAuth client configured (the platform is never reached: authorize only builds the
consent URL, and no state the run sends is one the service issued). The run carries a
member's bearer token; schemathesis' own auth probes send none or another and must be
refused with 401. schemathesis-connect.toml holds the run's settings, seeded.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, free_port, start_service

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
CONFIG = HERE / "schemathesis-connect.toml"
RETURN_TO = ["http://dashboard.test/connections", "http://127.0.0.1:8080/connections"]


@pytest.fixture(scope="module", params=["twitter", "linkedin", "meta"])
def ingest(
    request: pytest.FixtureRequest, infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    name, port = request.param, free_port()
    service = start_service(
        f"ingest-{name}", f"pulse_ingest_{name}.app:app",
        infra.env(
            PULSE_DATABASE_URL=infra.ingest_database_url,
            PULSE_OAUTH_CLIENT_ID=f"pulse-{name}-client",
            PULSE_OAUTH_CLIENT_SECRET=secrets.token_urlsafe(32),
            PULSE_OAUTH_REDIRECT_URI=f"http://127.0.0.1:{port}/connect/callback",
            PULSE_OAUTH_RETURN_URLS=json.dumps(RETURN_TO),
        ),
        str(tmp_path_factory.mktemp("logs")), ready_path="/readyz", port=port,
    )  # fmt: skip
    try:
        yield service
    finally:
        service.stop()


async def test_no_server_errors_and_no_schema_violations(
    ingest: ServiceProcess, infra: Infra, tmp_path: Path
) -> None:
    _, token = await infra.token_for(secrets.randbelow(2**40) + 10**12)
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis), "--config-file", str(CONFIG), "run",
        f"{ingest.url}/openapi.json", "--checks", "all",
        "--include-path-regex", "^/connect/", "--header", f"Authorization: Bearer {token}",
    ]  # fmt: skip
    result = await asyncio.to_thread(
        subprocess.run,
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env=dict(os.environ), check=False,
    )  # fmt: skip
    # Lines cut short: a failing case may send a form of a hundred kilobytes.
    summary = "\n".join(line[:400] for line in (result.stdout + result.stderr).splitlines())
    summary = summary[-30000:]
    assert result.returncode == 0, f"{summary}\n--- {ingest.name} log ---\n{ingest.log()[-5000:]}"
    assert "generated" in summary
    assert "passed" in summary
