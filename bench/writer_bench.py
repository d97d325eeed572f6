"""The aggregator's writer alone, without Kafka: the "Postgres ceiling" step of
``aggregator_bench.py`` (the same data, the same ``postgres_ceiling``), run on its own.

The full benchmark writes the events in the order a Kafka consumer delivered them; here
no broker is involved, so that order is made the way the broker makes it: each record on
the partition the default partitioner picks for its key, then runs of one partition
after another (``--run`` records each, about what one fetch of a partition holds). The
figure is comparable between two runs of this script, not to the last of ``make bench``.

Run: ``uv run --frozen python bench/writer_bench.py --events 200000 --posts 20000
--businesses 50``; one database of its own (``pulse_bench_<hex>_writer``), dropped at
the end.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from datetime import UTC, datetime

from aggregator_bench import PARTITIONS, generate, postgres_ceiling
from aiokafka.partitioner import DefaultPartitioner
from common import Infra, create_database, data_parser, drop_database, parse_data_args

from pulse_shared.topics import METRICS_OBSERVED


def delivery_order(keys: list[bytes], values: list[bytes], run: int) -> list[bytes]:
    """The values as a consumer of every partition receives them: round robin over the
    partitions, ``run`` records of one at a time, each partition in produce order."""
    partitions = list(range(PARTITIONS[METRICS_OBSERVED]))
    partitioner = DefaultPartitioner()
    by_partition: list[list[bytes]] = [[] for _ in partitions]
    for key, value in zip(keys, values, strict=True):
        by_partition[partitioner(key, partitions, partitions)].append(value)
    delivered: list[bytes] = []
    for start in range(0, max(map(len, by_partition)), run):
        for records in by_partition:
            delivered.extend(records[start : start + run])
    return delivered


async def run(args: argparse.Namespace) -> None:
    infra = Infra.from_env(redis_db=12)  # its own (the tests use 15)
    database = f"pulse_bench_{secrets.token_hex(4)}_writer"
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    data = generate(args.events, args.posts, args.businesses, args.seed, anchor)
    delivered = delivery_order(data.keys, data.values, args.run)
    await create_database(infra, database)
    try:
        started = time.strftime("%H:%M:%S")
        pg = await postgres_ceiling(infra, database, data, delivered, args.batch)
    finally:
        await drop_database(infra, database)
    stages = ", ".join(f"{k} {v / pg.writer_s:.0%}" for k, v in sorted(pg.stages.items()))
    print(
        f"[{started}] writer, no Kafka: {pg.writer_per_s:,.0f} ev/s "
        f"({args.events:,} events in {pg.writer_s:.1f} s; batch {args.batch:,}); "
        f"COPY {pg.copy_per_s:,.0f} rows/s; stages: {stages}",
        flush=True,
    )


def main() -> None:
    parser = data_parser(__doc__)
    parser.add_argument("--batch", type=int, default=20_000, help="records per batch")
    parser.add_argument("--run", type=int, default=2_500, help="records per partition run")
    asyncio.run(run(parse_data_args(parser, None)))


if __name__ == "__main__":
    main()
