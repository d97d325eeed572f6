"""schemathesis against each ingest service's webhook API, over HTTP, every check included.

The three ingest services run as real processes over the session's Redis and Kafka, their
webhooks configured. Each one's OpenAPI document states its platform's handshake (the
query parameters, the answer, the refusals), the header that signs a delivery and what a
delivery holds (pulse_shared.ingest.app, and the WEBHOOK_API of each service's
webhooks.py). schemathesis-webhooks.toml holds the run's settings, seeded; the hooks file
schemathesis_webhook_signer.py signs each delivery as its platform would, so schema-valid
deliveries are taken (200) and the parsers meet what the schemas allow, while requests
without a valid signature must be refused (401).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, ingest_services

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
CONFIG = HERE / "schemathesis-webhooks.toml"
SIGNER = HERE / "schemathesis_webhook_signer.py"
PLATFORMS = ("twitter", "linkedin", "meta")
SECRETS = {platform: f"{platform}-webhook-secret-{secrets.token_hex(8)}" for platform in PLATFORMS}


def meta_verify_token() -> str:
    """The verify token the configuration draws hub.verify_token from."""
    with CONFIG.open("rb") as f:
        token: str = tomllib.load(f)["dictionaries"]["meta-verify-token"]["values"][0]
    return token


@pytest.fixture(scope="module")
def ingest(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServiceProcess]]:
    common = {
        "PULSE_DATABASE_URL": infra.ingest_database_url,
        # Nothing is connected, so no post a delivery names is tracked and no poll is due.
        "PULSE_API_BASE_URL": "http://127.0.0.1:9",
    }
    per_platform = {platform: {"PULSE_WEBHOOK_SECRET": SECRETS[platform]} for platform in PLATFORMS}
    per_platform["meta"]["PULSE_WEBHOOK_VERIFY_TOKEN"] = meta_verify_token()
    logs = str(tmp_path_factory.mktemp("logs"))
    with ingest_services(infra, logs, common, per_platform) as services:
        yield services


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_no_server_errors_and_no_schema_violations(
    platform: str, ingest: dict[str, ServiceProcess], tmp_path: Path
) -> None:
    service = ingest[platform]
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis), "--config-file", str(CONFIG), "run",
        f"{service.url}/openapi.json", "--checks", "all",
        # The connect routes have their own run: test_connect_openapi_conformance.py.
        "--exclude-path-regex", "^/connect/",
    ]  # fmt: skip
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(SIGNER),
        "PULSE_WEBHOOK_SECRET": SECRETS[platform],
    }
    result = await asyncio.to_thread(
        subprocess.run,
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env, check=False,
    )  # fmt: skip
    summary = result.stdout[-20000:] + result.stderr[-3000:]
    assert result.returncode == 0, f"{summary}\n--- {service.name} log ---\n{service.log()[-5000:]}"
    assert "generated" in summary
    assert "passed" in summary
