"""Kafka's users and ACLs as ``pulse_shared.permissions`` gives them, applied as the broker's
admin (a super user) with confluent-kafka's admin client: aiokafka's has neither ACLs nor
SCRAM credentials.

``apply`` is what deploy/local/kafka.sh runs at every start, and what a deployment's
provisioning job runs: each principal's SCRAM credential set to its password, every ACL of
the table granted, and any other ACL of a principal revoked (the table is the whole truth;
the ACLs of the tests' sessions, under ``test-``, are theirs to remove).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from pulse_shared.kafka import KafkaConnection
from pulse_shared.permissions import TESTS_KAFKA_PREFIX, KafkaAcl

TIMEOUT_S = 30.0
# Kafka's minimum for SCRAM-SHA-512 is 4096; each login pays for them once.
SCRAM_ITERATIONS = 8192

_RESOURCES = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
_OPERATIONS = {
    "read": AclOperation.READ,
    "write": AclOperation.WRITE,
    "all": AclOperation.ALL,
}


def admin_client(kafka: KafkaConnection) -> AdminClient:
    return AdminClient({**kafka.librdkafka_config(), "socket.timeout.ms": 10000})


def set_passwords(admin: AdminClient, passwords: Mapping[str, str]) -> None:
    """Each user's SCRAM-SHA-512 credential, created or replaced."""
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(user, info, password.encode())
        for user, password in sorted(passwords.items())
    ]
    for future in admin.alter_user_scram_credentials(upserts).values():
        future.result(timeout=TIMEOUT_S)


def binding_of(acl: KafkaAcl) -> AclBinding:
    return AclBinding(
        _RESOURCES[acl.resource],
        acl.name,
        ResourcePatternType.PREFIXED if acl.prefixed else ResourcePatternType.LITERAL,
        f"User:{acl.principal}",
        "*",
        _OPERATIONS[acl.operation],
        AclPermissionType.ALLOW,
    )


def acl_of(binding: AclBinding) -> KafkaAcl | None:
    """The rule a binding is, when it is one this module could have made."""
    resources = {v: k for k, v in _RESOURCES.items()}
    operations = {v: k for k, v in _OPERATIONS.items()}
    if (
        binding.restype not in resources
        or binding.operation not in operations
        or binding.permission_type != AclPermissionType.ALLOW
        or binding.host != "*"
        or not binding.principal.startswith("User:")
    ):
        return None
    return KafkaAcl(
        binding.principal.removeprefix("User:"),
        resources[binding.restype],
        binding.name,
        operations[binding.operation],
        binding.resource_pattern_type == ResourcePatternType.PREFIXED,
    )


def granted(admin: AdminClient) -> list[AclBinding]:
    """Every ACL the broker holds."""
    # None matches any name, principal and host (the stubs say str).
    everything = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, None, None,  # type: ignore[arg-type]
        AclOperation.ANY, AclPermissionType.ANY,
    )  # fmt: skip
    bindings: list[AclBinding] = admin.describe_acls(everything).result(timeout=TIMEOUT_S)
    return bindings


def grant(admin: AdminClient, acls: Iterable[KafkaAcl]) -> None:
    bindings = [binding_of(acl) for acl in acls]
    if bindings:
        for future in admin.create_acls(bindings).values():
            future.result(timeout=TIMEOUT_S)


def revoke(admin: AdminClient, bindings: Iterable[AclBinding]) -> None:
    filters = [filter_of(b) for b in bindings]
    if filters:
        for future in admin.delete_acls(filters).values():
            future.result(timeout=TIMEOUT_S)


def filter_of(b: AclBinding) -> AclBindingFilter:
    """The filter that matches exactly one binding."""
    return AclBindingFilter(
        b.restype, b.name, b.resource_pattern_type, b.principal, b.host,
        b.operation, b.permission_type,
    )  # fmt: skip


@dataclass(frozen=True)
class Applied:
    users: int
    granted: int
    revoked: int


def apply(
    kafka: KafkaConnection, passwords: Mapping[str, str], acls: Iterable[KafkaAcl]
) -> Applied:
    """Make the broker's users and ACLs those given: passwords set, ``acls`` granted, every
    other ACL revoked but the tests' sessions' (their names start with ``test-``)."""
    admin = admin_client(kafka)
    try:
        set_passwords(admin, passwords)
        wanted = set(acls)
        stale = [
            b
            for b in granted(admin)
            if acl_of(b) not in wanted and not b.name.startswith(TESTS_KAFKA_PREFIX)
        ]
        grant(admin, wanted)
        revoke(admin, stale)
    except KafkaException as exc:
        raise RuntimeError(f"Kafka refused the admin's change: {exc}") from None
    return Applied(len(passwords), len(wanted), len(stale))
