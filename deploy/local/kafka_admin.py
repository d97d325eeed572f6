"""Kafka chores for the local scripts, as the broker's admin user (its password in
``PULSE_KAFKA_ADMIN_PASSWORD``): wait for readiness, create the design's topics, give every
principal of pulse_shared.permissions its SCRAM credential and its ACLs."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from pulse_shared.kafka import KafkaConnection, cluster_answers, ensure_topics
from pulse_shared.kafka_access import apply
from pulse_shared.permissions import (
    KAFKA_ADMIN,
    credentials_file,
    kafka_acls,
    kafka_acls_of_the_tests,
    kafka_password_var,
    kafka_principals,
    read_credentials,
)

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["ready", "topics", "access"])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    password = os.environ.get(kafka_password_var(KAFKA_ADMIN))
    if not password:
        sys.exit(f"{kafka_password_var(KAFKA_ADMIN)} is not set (deploy/local/kafka.sh sets it)")
    admin = KafkaConnection(args.bootstrap, KAFKA_ADMIN, password, "SASL_PLAINTEXT")
    if args.command == "ready":
        return 0 if asyncio.run(cluster_answers(admin, args.timeout)) else 1
    if args.command == "topics":
        created = asyncio.run(ensure_topics(admin, args.prefix))
        print(
            f"[pulse] topics: {len(created)} created"
            + (f" ({', '.join(created)})" if created else ""),
            file=sys.stderr,
        )
        return 0
    # deploy/local's generated file; a container (compose's migrate) has them in its env.
    generated = credentials_file(os.environ.get("PULSE_RUN_DIR") or ROOT / ".run")
    secrets = read_credentials(generated) if generated.exists() else dict(os.environ)
    principals = [*kafka_principals(), "tests"]
    passwords = {p: secrets[kafka_password_var(p)] for p in principals}
    applied = apply(admin, passwords, [*kafka_acls(args.prefix), *kafka_acls_of_the_tests()])
    print(
        f"[pulse] Kafka access: {applied.users} users, {applied.granted} ACLs"
        + (f", {applied.revoked} stale revoked" if applied.revoked else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
