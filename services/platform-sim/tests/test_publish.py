"""posts.published.v1 for the population, on the real Kafka (topics of this test's own)."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from pulse_platform_sim.testing import NOW, Sim
from pulse_shared.events import PostPublished
from pulse_shared.kafka import KafkaConnection, ensure_topics
from pulse_shared.settings import PulseSettings
from pulse_shared.topics import POSTS_PUBLISHED, TOPICS, dlq, post_key

pytestmark = pytest.mark.integration


@pytest.fixture
async def topic_prefix(kafka: KafkaConnection) -> AsyncIterator[str]:
    prefix = f"test-sim-{secrets.token_hex(4)}."
    spec = next(s for s in TOPICS if s.name == POSTS_PUBLISHED)
    created = await ensure_topics(kafka, prefix, (spec,))
    try:
        yield prefix
    finally:
        admin = AIOKafkaAdminClient(**kafka.options())
        await admin.start()
        try:
            await admin.delete_topics(
                created or [prefix + POSTS_PUBLISHED, prefix + dlq(POSTS_PUBLISHED)]
            )
        finally:
            await admin.close()


async def read_all(
    kafka: KafkaConnection, topic: str, expected: int
) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """The topic's records from the beginning, until ``expected`` of them have come (the
    deadline only guards against a hang)."""
    consumer = AIOKafkaConsumer(topic, **kafka.options(), auto_offset_reset="earliest")
    await consumer.start()
    records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
    deadline = time.monotonic() + 60
    try:
        while len(records) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for batch in batches.values():
                records.extend((r.key, r.value, list(r.headers)) for r in batch)
    finally:
        await consumer.stop()
    return records


async def test_publish_sends_one_event_per_published_post(
    sim: Sim, topic_prefix: str, kafka: KafkaConnection
) -> None:
    sim.state.pulse = PulseSettings(
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_username=kafka.username,
        kafka_password=kafka.password,
        topic_prefix=topic_prefix,
    )
    response = await sim.client.post("/_sim/publish", json={"business_ids": [1]})
    assert response.status_code == 200, response.text
    answer = response.json()
    posts = [p for p in sim.state.population.posts if p.business_id == 1 and p.published_at <= NOW]
    assert answer == {"published": len(posts), "topic": topic_prefix + POSTS_PUBLISHED}
    records = await read_all(kafka, topic_prefix + POSTS_PUBLISHED, len(posts))
    assert len(records) == len(posts)
    by_key = {
        key: (PostPublished.model_validate_json(value), headers) for key, value, headers in records
    }
    for post in posts:
        event, headers = by_key[post_key(post.platform, post.post_id)]
        assert ("content-type", b"application/json") in headers
        assert event.business_id == 1
        assert event.account_id == post.account_id
        assert event.published_at == post.published_at
        assert event.content_type == post.content_type
        assert event.platform_post_url == post.url
    # Publishing again sends the same events (same ids): harmless on the compacted topic.
    again = await sim.client.post("/_sim/publish", json={"business_ids": [1]})
    assert again.json()["published"] == len(posts)
    replay = await read_all(kafka, topic_prefix + POSTS_PUBLISHED, 2 * len(posts))
    assert {v for _, v, _ in replay} == {v for _, v, _ in records}
