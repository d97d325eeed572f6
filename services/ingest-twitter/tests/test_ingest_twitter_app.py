"""ingest-twitter as a real process: its operational endpoints and dependencies."""

from __future__ import annotations

import pytest

from conftest import Infra, assert_operational_endpoints, start_service
from pulse_ingest_twitter.settings import Settings


def test_default_port_is_the_design_one() -> None:
    assert Settings().http_port == 8102


@pytest.mark.integration
async def test_serves_health_readiness_and_metrics(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> None:
    service = start_service(
        "ingest-twitter",
        "pulse_ingest_twitter.app:app",
        infra.env(),
        str(tmp_path_factory.mktemp("logs")),
    )
    try:
        await assert_operational_endpoints(service, {"kafka", "redis"})
    finally:
        service.stop()
    # uvicorn re-raises SIGTERM after a graceful shutdown, so the exit code is -15.
    assert "Application shutdown complete" in service.log()
