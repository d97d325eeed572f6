"""The dashboard's API types are generated, not copied: the committed OpenAPI documents
(services/dashboard/openapi/*.json) are what query-api, workspace and reporter declare
today, and web/api/generated/*.ts is what openapi-typescript makes of them. Either
drifting fails here; ``npm run gen:types`` in services/dashboard writes them afresh."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pulse_testing.infra import ROOT

DASHBOARD = Path(ROOT) / "services" / "dashboard"
OPENAPI = DASHBOARD / "openapi"
GENERATED = DASHBOARD / "web" / "api" / "generated"
GENERATOR = DASHBOARD / "node_modules" / ".bin" / "openapi-typescript"
NAMES = ("query-api", "workspace", "reporter")
REGENERATE = "run `npm run gen:types` in services/dashboard and commit what it writes"


def drift(committed: Path, fresh: Path) -> str:
    """The first lines of a unified diff from the committed file to the fresh one."""
    lines = difflib.unified_diff(
        committed.read_text(encoding="utf-8").splitlines(),
        fresh.read_text(encoding="utf-8").splitlines(),
        str(committed.relative_to(ROOT)),
        "fresh",
        lineterm="",
    )
    return "\n".join(list(lines)[:60])


def test_the_committed_openapi_documents_are_what_the_apps_declare(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(OPENAPI / "dump.py"), str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    for name in NAMES:
        committed, fresh = OPENAPI / f"{name}.json", tmp_path / f"{name}.json"
        difference = drift(committed, fresh)
        assert not difference, f"{name}'s OpenAPI document drifted: {REGENERATE}\n{difference}"


def test_the_committed_types_are_generated_from_the_documents(tmp_path: Path) -> None:
    if not GENERATOR.exists() or shutil.which("node") is None:
        pytest.skip(
            "openapi-typescript is not installed: run `npm ci` in services/dashboard "
            "(make install does), with Node.js on PATH"
        )
    for name in NAMES:
        fresh = tmp_path / f"{name}.ts"
        subprocess.run(
            [str(GENERATOR), str(OPENAPI / f"{name}.json"), "--output", str(fresh)],
            cwd=DASHBOARD,
            check=True,
            capture_output=True,
            timeout=120,
        )
        difference = drift(GENERATED / f"{name}.ts", fresh)
        assert not difference, f"web/api/generated/{name}.ts drifted: {REGENERATE}\n{difference}"
