"""ingest-twitter's own wiring (its process is exercised in tests/test_service_processes.py)."""

from __future__ import annotations

import pytest

from pulse_ingest_twitter.app import app
from pulse_ingest_twitter.settings import Settings


def test_default_port_is_the_design_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_ENVIRONMENT", "dev")  # production would want real keys
    assert Settings().http_port == 8102


def test_documents_the_operational_routes() -> None:
    # /metrics is served but kept out of the OpenAPI schema.
    assert {"/healthz", "/readyz"} <= set(app.openapi()["paths"])
