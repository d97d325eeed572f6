"""Writes the OpenAPI documents of query-api, workspace and reporter, the services the
dashboard reads, as sorted, indented JSON beside this file (or into the folder given): the
source of web/api/generated/*.ts (``npm run gen:types``), checked against the apps by
services/dashboard/tests/test_api_types.py.

Run: ``uv run --frozen python services/dashboard/openapi/dump.py [OUT_DIR]``. Importing
the apps starts nothing: their pools, clients and settings are made in their lifespans.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# File name (without .json) -> the app's import path, module:attribute.
APPS = {
    "query-api": "pulse_query_api.app:app",
    "workspace": "pulse_workspace.app:app",
    "reporter": "pulse_reporter.app:app",
}


def document(app_path: str) -> dict[str, Any]:
    """``app.openapi()`` of the app at ``module:attribute``: what the service serves at
    /openapi.json (openapi_as_declared puts the routes' declared bodies back in)."""
    module_name, _, attribute = app_path.partition(":")
    module = __import__(module_name, fromlist=[attribute])
    schema: dict[str, Any] = getattr(module, attribute).openapi()
    return schema


def as_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dump(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, app_path in APPS.items():
        path = out_dir / f"{name}.json"
        path.write_text(as_text(document(app_path)), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in dump(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(written_path)
