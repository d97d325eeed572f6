"""Kafka plumbing every service shares: the authenticated connection, readiness, topic
creation, the producer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from pulse_shared.events import Event
from pulse_shared.topics import EVENT_ID_HEADER, TOPICS, TopicSpec, dlq, key_for

JSON_HEADERS = [("content-type", b"application/json")]
SASL_MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class KafkaConnection:
    """Where the brokers are and who connects: a SCRAM user, over TLS (``SASL_SSL``) or,
    on a private network, without (``SASL_PLAINTEXT``). Every client of every service and
    tool is built from one (``**connection.options()``)."""

    bootstrap_servers: str
    username: str
    password: str = field(repr=False)
    security_protocol: str = "SASL_SSL"
    ssl_cafile: str | None = None

    def options(self) -> dict[str, Any]:
        """aiokafka's client arguments."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }
        if self.security_protocol == "SASL_SSL":
            options["ssl_context"] = create_ssl_context(cafile=self.ssl_cafile)
        return options

    def librdkafka_config(self) -> dict[str, str]:
        """The same connection for librdkafka (confluent-kafka's admin client)."""
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol.lower(),
            "sasl.mechanism": SASL_MECHANISM,
            "sasl.username": self.username,
            "sasl.password": self.password,
        } | ({"ssl.ca.location": self.ssl_cafile} if self.ssl_cafile else {})


async def cluster_answers(kafka: KafkaConnection, timeout_s: float = 5.0) -> bool:
    """True once the broker answers a metadata request (not merely opens its port) to
    ``kafka``'s user: a wrong password or an unknown user is False too."""
    deadline = time.monotonic() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(**kafka.options(), request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.describe_cluster()
            return True
        except (KafkaError, OSError):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


def topic_configs(spec: TopicSpec) -> dict[str, str]:
    if spec.compacted:
        return {"cleanup.policy": "compact"}
    return {"cleanup.policy": "delete", "retention.ms": str(spec.retention_ms)}


async def ensure_topics(
    kafka: KafkaConnection, prefix: str = "", specs: tuple[TopicSpec, ...] = TOPICS
) -> list[str]:
    """Create every topic of the design and its ``.dlq`` twin; existing ones are kept.

    Returns the names that were created now.
    """
    wanted: list[NewTopic] = []
    for spec in specs:
        configs = topic_configs(spec)
        wanted.append(NewTopic(f"{prefix}{spec.name}", spec.partitions, 1, topic_configs=configs))
        # A DLQ is a record of failures to inspect and replay: keep it a month, never compact.
        dlq_configs = {"cleanup.policy": "delete", "retention.ms": str(30 * 24 * 3600 * 1000)}
        wanted.append(
            NewTopic(f"{prefix}{dlq(spec.name)}", spec.partitions, 1, topic_configs=dlq_configs)
        )
    admin = AIOKafkaAdminClient(**kafka.options(), request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            # Another process may create them in between: that is what we wanted anyway.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()


def make_producer(kafka: KafkaConnection, **overrides: object) -> AIOKafkaProducer:
    """An idempotent producer (acks=all): a retried send is never written twice."""
    options: dict[str, object] = {
        **kafka.options(),
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 15000,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def headers_for(event: Event) -> list[tuple[str, bytes]]:
    """The headers every published event carries: its content type and its event id."""
    return [*JSON_HEADERS, (EVENT_ID_HEADER, str(event.event_id).encode())]


async def publish(producer: AIOKafkaProducer, topic: str, event: Event) -> None:
    """Publish one event as JSON with the key DESIGN.md gives it; waits for the ack."""
    await producer.send_and_wait(
        topic,
        event.model_dump_json().encode(),
        key=key_for(event),
        headers=headers_for(event),
    )
