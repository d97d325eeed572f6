"""POST /api/v1/analytics/refresh publishes refresh.requested.v1 to the real Kafka."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from pulse_shared.events import RefreshRequested
from pulse_shared.topics import REFRESH_REQUESTED, TOPICS
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, start_service

pytestmark = pytest.mark.integration


async def read_refreshes(infra: Infra) -> list[RefreshRequested]:
    topic = infra.topic_prefix + REFRESH_REQUESTED
    count = next(t.partitions for t in TOPICS if t.name == REFRESH_REQUESTED)
    partitions = [TopicPartition(topic, p) for p in range(count)]
    consumer = AIOKafkaConsumer(**infra.kafka.options(), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        events = []
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                events += [RefreshRequested.model_validate_json(r.value or b"") for r in records]
        return events
    finally:
        await consumer.stop()


async def test_refresh_is_published_and_answered_202(
    infra: Infra, query_api: ServiceProcess
) -> None:
    business = secrets.randbelow(2**62) + 10**12
    _, token = await infra.token_for(business)
    async with httpx.AsyncClient(
        base_url=query_api.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        response = await client.post(
            "/api/v1/analytics/refresh",
            json={"business_id": business, "platforms": ["twitter", "linkedin", "twitter"]},
        )
        everything = await client.post("/api/v1/analytics/refresh", json={"business_id": business})
        bad_platform = await client.post(
            "/api/v1/analytics/refresh", json={"business_id": business, "platforms": ["myspace"]}
        )
        unknown_field = await client.post(
            "/api/v1/analytics/refresh", json={"business_id": business, "force": True}
        )
        stranger = await client.post("/api/v1/analytics/refresh", json={"business_id": 7})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["platforms"] == ["twitter", "linkedin"]
    assert body["repeated"] is False
    # Inside the window a repeat is answered with the refresh under way; nothing new is sent.
    assert everything.status_code == 202
    assert everything.json() == {**body, "repeated": True}
    published = {str(e.event_id): e for e in await read_refreshes(infra)}
    event = published[body["request_id"]]
    assert (event.business_id, event.platforms) == (business, ["twitter", "linkedin"])
    assert [e for e in published.values() if e.business_id == business] == [event]
    assert bad_platform.status_code == 422
    assert bad_platform.json()["detail"][0]["loc"] == ["body", "platforms", 0]
    assert unknown_field.status_code == 422
    assert stranger.status_code == 404
    async with httpx.AsyncClient(base_url=query_api.url) as client:
        anonymous = await client.post("/api/v1/analytics/refresh", json={"business_id": business})
    assert anonymous.status_code == 401


async def test_refresh_without_kafka_is_503_and_reads_still_work(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> None:
    business = secrets.randbelow(2**62) + 10**12
    _, token = await infra.token_for(business)
    env = infra.env(
        PULSE_DATABASE_URL=infra.reader_database_url,
        PULSE_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
    )
    service = await asyncio.to_thread(
        start_service, "query-api-no-kafka", "pulse_query_api.app:app", env,
        str(tmp_path_factory.mktemp("logs")),
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(
            base_url=service.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            refused = await client.post("/api/v1/analytics/refresh", json={"business_id": business})
            read = await client.get("/api/v1/analytics/overview", params={"business_id": business})
    finally:
        service.stop()
    assert refused.status_code == 503
    assert "try again" in refused.json()["detail"]
    assert read.status_code == 200
