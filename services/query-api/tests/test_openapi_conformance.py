"""schemathesis against query-api's own OpenAPI schema, over HTTP with a real token.

Every check runs but positive_data_acceptance: the API refuses some schema-valid inputs on
purpose (a range longer than 366 days, an end before its start: rules between two
parameters that OpenAPI cannot express), and answers them 422 naming the field.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from conftest import Infra, ServiceProcess

pytestmark = pytest.mark.integration


async def test_no_server_errors_and_no_schema_violations(
    infra: Infra, query_api: ServiceProcess, tmp_path: Path
) -> None:
    _, token = await infra.token_for(secrets.randbelow(2**62) + 10**12)
    schemathesis = Path(sys.executable).with_name("schemathesis")
    run = partial(
        subprocess.run,
        [
            str(schemathesis), "run", f"{query_api.url}/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "all",
            "--max-examples", "30", "--generation-deterministic",
        ],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False,
    )  # fmt: skip
    result = await asyncio.to_thread(run)
    summary = result.stdout[-20000:]
    assert result.returncode == 0, summary
    assert "generated" in summary
    assert "passed" in summary
