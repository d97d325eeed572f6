"""schemathesis against query-api's own OpenAPI schema, over HTTP with a real token.

Every check runs, positive_data_acceptance included, seeded. schemathesis.toml beside this
file holds the run's settings and the answers expected to schema-valid requests that the
schema cannot rule out: 404 for a business the caller is not a member of (tenancy), 422
for the date rules OpenAPI cannot state (a window relative to the business's today, an end
before its start, a period over 366 days), each written in the parameter's description.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tomllib
from functools import partial
from pathlib import Path

import pytest

from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).with_name("schemathesis.toml")


def member_business() -> int:
    """The business the configuration draws business_id from."""
    with CONFIG.open("rb") as f:
        business: int = tomllib.load(f)["dictionaries"]["member-business"]["values"][0]
    return business


async def test_no_server_errors_and_no_schema_violations(
    infra: Infra, query_api: ServiceProcess, tmp_path: Path
) -> None:
    _, token = await infra.token_for(member_business())
    schemathesis = Path(sys.executable).with_name("schemathesis")
    run = partial(
        subprocess.run,
        [
            str(schemathesis), "--config-file", str(CONFIG), "run",
            f"{query_api.url}/openapi.json",
            "--header", f"Authorization: Bearer {token}", "--checks", "all",
        ],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False,
    )  # fmt: skip
    result = await asyncio.to_thread(run)
    summary = result.stdout[-20000:]
    assert result.returncode == 0, summary
    assert "generated" in summary
    assert "passed" in summary
