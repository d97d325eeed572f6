"""Every event Pulse publishes carries its event id in the record's headers, so logs and
dead-letter tools can trace it without parsing the body (real Kafka)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pulse_shared.events import AccountObserved
from pulse_shared.kafka import make_producer, publish
from pulse_shared.topics import EVENT_ID_HEADER
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration


async def test_published_events_carry_their_id_in_a_header(infra: Infra) -> None:
    topic = f"{infra.topic_prefix}headers-{secrets.token_hex(3)}"
    admin = AIOKafkaAdminClient(**infra.kafka.options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    event = AccountObserved(
        business_id=1, platform="twitter", account_id="2244994945",
        observed_at=datetime.now(UTC), followers=5,
    )  # fmt: skip
    producer = make_producer(infra.kafka)
    await producer.start()
    try:
        await publish(producer, topic, event)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, **infra.kafka.options(), auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    headers = dict(record.headers)
    assert headers[EVENT_ID_HEADER] == str(event.event_id).encode()
    assert headers["content-type"] == b"application/json"
