"""Each ingest service as a real process: operational endpoints over real Kafka and Redis."""

from __future__ import annotations

import asyncio
import secrets
import signal
import sys

import pytest
from confluent_kafka import ConsumerGroupState

from pulse_shared.kafka import KafkaConnection, ensure_topics
from pulse_shared.kafka_access import admin_client
from pulse_shared.topics import POSTS_PUBLISHED
from pulse_testing.infra import ROOT, Infra, delete_topics
from pulse_testing.processes import assert_operational_endpoints, start_service
from pulse_testing.waiting import eventually

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


async def test_an_ingest_service_stops_while_its_consumer_group_waits_for_a_vanished_member(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A member killed without leaving holds its group's next join until its session times
    out (here a minute); a service whose consumer is waiting on that join still shuts down
    gracefully, its consumer's cleanup interrupted after the grace it has."""
    prefix = f"test-{secrets.token_hex(4)}."  # a group of its own: the join stays stuck
    await ensure_topics(infra.kafka, prefix)
    try:
        await _stopped_while_the_join_waits(infra, prefix, str(tmp_path_factory.mktemp("logs")))
    finally:
        await delete_topics(infra.kafka, prefix)


async def _stopped_while_the_join_waits(infra: Infra, prefix: str, logs: str) -> None:
    env = infra.env(PULSE_TOPIC_PREFIX=prefix)
    member = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pulse_testing.vanishing_member",
        f"{prefix}ingest-twitter", prefix + POSTS_PUBLISHED, "60000",
        env=env, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    try:
        assert member.stdout is not None
        assert await asyncio.wait_for(member.stdout.readline(), 60) == b"joined\n"
    finally:
        member.kill()
        await member.wait()
    service = start_service(
        "ingest-twitter", "pulse_ingest_twitter.app:app", env, logs, ready_path="/readyz"
    )
    try:
        await eventually(lambda: _group_rebalancing(infra.kafka, f"{prefix}ingest-twitter"))
    finally:
        returncode = service.stop()
    assert returncode == -signal.SIGTERM, service.log()
    log = service.log()
    assert "Application shutdown complete" in log
    assert '"loops": ["consume"]' in log  # the consumer's leaving was what got interrupted


async def _group_rebalancing(kafka: KafkaConnection, group: str) -> bool:
    def state() -> ConsumerGroupState:
        admin = admin_client(kafka)  # held: its requests end with it
        futures = admin.describe_consumer_groups([group], request_timeout=10)
        described: ConsumerGroupState = futures[group].result().state
        return described

    return await asyncio.to_thread(state) == ConsumerGroupState.PREPARING_REBALANCING
