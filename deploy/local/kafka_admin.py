"""Kafka chores for the local scripts: wait for readiness, create the design's topics."""

from __future__ import annotations

import argparse
import asyncio
import sys

from pulse_shared.kafka import cluster_answers, ensure_topics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["ready", "topics"])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    if args.command == "ready":
        return 0 if asyncio.run(cluster_answers(args.bootstrap, args.timeout)) else 1
    created = asyncio.run(ensure_topics(args.bootstrap, args.prefix))
    print(
        f"[pulse] topics: {len(created)} created" + (f" ({', '.join(created)})" if created else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
