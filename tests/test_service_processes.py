"""Each ingest service as a real process: operational endpoints over real Kafka and Redis."""

from __future__ import annotations

import pytest

from pulse_testing.infra import Infra
from pulse_testing.processes import assert_operational_endpoints, start_service

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("platform", ["linkedin", "twitter", "meta"])
async def test_ingest_service_serves_health_readiness_and_metrics(
    platform: str, infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> None:
    service = start_service(
        f"ingest-{platform}",
        f"pulse_ingest_{platform}.app:app",
        infra.env(),
        str(tmp_path_factory.mktemp("logs")),
        ready_path="/readyz",  # started: its first look at Kafka and Redis may take a while
    )
    try:
        await assert_operational_endpoints(service, {"kafka", "redis"})
    finally:
        service.stop()
    # uvicorn re-raises SIGTERM after a graceful shutdown, so the exit code is -15.
    assert "Application shutdown complete" in service.log()
