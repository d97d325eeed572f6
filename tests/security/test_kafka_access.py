"""Issue 13, item 7 (Kafka): nobody gets in without a SCRAM password, and each principal may
use only the topics and groups that its row of pulse_shared.permissions gives it.

Proven against the broker `make test` starts (deploy/local/kafka.sh): the broker's ACLs are
exactly the table's; then, on topics of this test's own, with the table's ACLs for them
granted by the admin (and revoked at the end), each principal produces and consumes what
its row allows and is refused the rest.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from pulse_shared.kafka import KafkaConnection, cluster_answers, ensure_topics, make_producer
from pulse_shared.kafka_access import acl_of, admin_client, grant, granted, revoke
from pulse_shared.permissions import (
    KAFKA_ADMIN,
    TESTS_KAFKA_PREFIX,
    KafkaAccess,
    kafka_acls,
    kafka_acls_of_the_tests,
    kafka_password_var,
    kafka_principals,
)
from pulse_shared.topics import TOPICS, dlq
from pulse_testing.infra import Infra, local_credentials

pytestmark = pytest.mark.integration

EVERY_TOPIC = sorted({t for spec in TOPICS for t in (spec.name, dlq(spec.name))})


def connection(infra: Infra, principal: str, password: str | None = None) -> KafkaConnection:
    secret = password or local_credentials()[kafka_password_var(principal)]
    return KafkaConnection(infra.kafka.bootstrap_servers, principal, secret, "SASL_PLAINTEXT")


async def test_the_broker_lets_nobody_in_without_a_scram_password(infra: Infra) -> None:
    anonymous = AIOKafkaAdminClient(
        bootstrap_servers=infra.kafka.bootstrap_servers, request_timeout_ms=3000
    )
    with pytest.raises((KafkaConnectionError, KafkaError, TimeoutError)):
        # A plaintext client's first request is not a SASL handshake: the broker hangs up.
        await asyncio.wait_for(anonymous.start(), timeout=20)
    await anonymous.close()
    assert not await cluster_answers(connection(infra, "query-api", "not-its-password"), 3)
    assert not await cluster_answers(connection(infra, "nobody", "x" * 48), 3)
    assert await cluster_answers(connection(infra, "query-api"), 10)


def test_the_brokers_acls_are_exactly_the_tables(infra: Infra) -> None:
    admin = admin_client(connection(infra, KAFKA_ADMIN))
    # Beside them, running test sessions' own (named test-<hex>.…) come and go.
    held = {
        acl_of(b)
        for b in granted(admin)
        if b.name == TESTS_KAFKA_PREFIX or not b.name.startswith(TESTS_KAFKA_PREFIX)
    }
    assert held == {*kafka_acls(""), *kafka_acls_of_the_tests()}


@pytest.fixture(scope="module")
async def acl_prefix(infra: Infra) -> AsyncIterator[str]:
    """Topics of this module's own, with the table's ACLs for them (as a deployment whose
    PULSE_TOPIC_PREFIX is this prefix would have them)."""
    prefix = f"{TESTS_KAFKA_PREFIX}acl-{secrets.token_hex(4)}."
    await ensure_topics(infra.kafka, prefix)
    admin = admin_client(connection(infra, KAFKA_ADMIN))
    await asyncio.to_thread(grant, admin, kafka_acls(prefix))
    # The controller commits them; the broker authorizes with them once it has applied
    # that metadata, which its DescribeAcls answers from.
    deadline = asyncio.get_running_loop().time() + 30
    while set(kafka_acls(prefix)) - {acl_of(b) for b in await asyncio.to_thread(granted, admin)}:
        assert asyncio.get_running_loop().time() < deadline, "the broker never applied the ACLs"
        await asyncio.sleep(0.2)
    producer = make_producer(infra.kafka)
    await producer.start()
    try:
        for topic in EVERY_TOPIC:
            await producer.send_and_wait(prefix + topic, b"{}", key=b"acl-test", partition=0)
    finally:
        await producer.stop()
    try:
        yield prefix
    finally:
        mine = [b for b in await asyncio.to_thread(granted, admin) if b.name.startswith(prefix)]
        await asyncio.to_thread(revoke, admin, mine)
        cleanup = AIOKafkaAdminClient(**infra.kafka.options())
        await cleanup.start()
        try:
            await cleanup.delete_topics([prefix + t for t in EVERY_TOPIC])
        finally:
            await cleanup.close()


async def can_produce(kafka: KafkaConnection, topic: str) -> bool:
    producer = make_producer(kafka, request_timeout_ms=10000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", key=b"acl-test")
        return True
    except TopicAuthorizationFailedError:
        return False
    finally:
        await producer.stop()


async def can_read(kafka: KafkaConnection, topic: str) -> bool:
    """Fetch the record the fixture wrote at offset 0; False when the broker refuses.

    A principal with no ACL on the topic is refused its metadata (DESCRIBE), which aiokafka's
    consumer only logs; one that may write but not read is refused the fetch itself."""
    admin = AIOKafkaAdminClient(**kafka.options(), request_timeout_ms=10000)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] == TopicAuthorizationFailedError.errno:
        return False
    consumer = AIOKafkaConsumer(**kafka.options(), group_id=None, request_timeout_ms=10000)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek(partition, 0)
        deadline = asyncio.get_running_loop().time() + 30  # guards against a hang only
        while asyncio.get_running_loop().time() < deadline:
            if (await consumer.getmany(partition, timeout_ms=500)).get(partition):
                return True
        raise AssertionError(f"{topic}: neither its record nor a refusal came")
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()


async def can_use_group(kafka: KafkaConnection, group: str) -> bool:
    """Read the group's committed offsets (READ on a group implies DESCRIBE)."""
    admin = AIOKafkaAdminClient(**kafka.options(), request_timeout_ms=10000)
    await admin.start()
    try:
        await admin.list_consumer_group_offsets(group)
        return True
    except GroupAuthorizationFailedError:
        return False
    finally:
        await admin.close()


def group_of(access: KafkaAccess) -> str:
    if access.group is not None:
        return access.group
    return f"{access.group_prefix or ''}acl-test"


@pytest.mark.parametrize("principal", sorted(kafka_principals()))
async def test_each_principal_produces_and_consumes_only_what_its_row_gives_it(
    infra: Infra, acl_prefix: str, principal: str
) -> None:
    access = kafka_principals()[principal]
    kafka = connection(infra, principal)
    for topic in EVERY_TOPIC:
        allowed = topic in access.produces
        assert await can_produce(kafka, acl_prefix + topic) == allowed, (principal, topic)
    for topic in EVERY_TOPIC:
        allowed = topic in access.consumes
        assert await can_read(kafka, acl_prefix + topic) == allowed, (principal, topic)
    for other, theirs in kafka_principals().items():
        if theirs.group or theirs.group_prefix:
            allowed = other == principal
            group = acl_prefix + group_of(theirs)
            assert await can_use_group(kafka, group) == allowed, (principal, group)
