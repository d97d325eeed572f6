"""Where a batch's database time goes: the aggregator's writer on generated events, on one
connection, each statement timed under the name of the module constant it is (per event,
and in all), and the roll-up refresh once at the end. With ``--explain N``, the plan of
batch N's snapshot statement (``EXPLAIN (ANALYZE, BUFFERS)``, in a transaction rolled
back before the batch is written) goes to ``--plan-file``.

The data and the order are ``aggregator_bench.generate``'s (produce order, no broker):
comparable between two runs of this script, e.g. before and after a change to the SQL.

Run: ``uv run --frozen python bench/writer_statements.py --events 300000 --posts 30000
--businesses 60 --batch 20000 --explain 8``; one database of its own
(``pulse_bench_<hex>_statements``), dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aggregator_bench import chunks, generate, load_posts
from common import Infra, create_database, data_parser, drop_database, parse_data_args

from pulse_aggregator import writer
from pulse_aggregator.records import SNAPSHOTS, EventBatch, Snapshot
from pulse_aggregator.settings import Settings
from pulse_shared import activity, summaries
from pulse_shared.events import MetricsObserved

# The statements by text, named for the module constant each is.
NAMES = {
    value: f"{module.__name__.rsplit('.', 1)[-1]}.{name}"
    for module in (writer, summaries, activity)
    for name, value in vars(module).items()
    if name.isupper() and isinstance(value, str) and "\n" in value
}
SECONDS: defaultdict[str, float] = defaultdict(float)
CALLS: Counter[str] = Counter()


def name_of(query: str) -> str:
    return NAMES.get(query) or " ".join(query.split())[:60]


class TimedConnection(asyncpg.Connection):  # type: ignore[misc]
    """Adds each statement's wall time to SECONDS under its name."""

    async def _timed(self, name: str, call: Any) -> Any:
        started = time.perf_counter()
        try:
            return await call
        finally:
            SECONDS[name] += time.perf_counter() - started
            CALLS[name] += 1

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(name_of(query), super().execute(query, *args, **kwargs))

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(name_of(query), super().fetch(query, *args, **kwargs))

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(name_of(query), super().fetchval(query, *args, **kwargs))

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(name_of(query), super().fetchrow(query, *args, **kwargs))

    async def copy_records_to_table(self, table: str, **kwargs: Any) -> Any:
        call = super().copy_records_to_table(table, **kwargs)
        return await self._timed(f"COPY {table}", call)


async def explain_snapshots(pool: asyncpg.Pool, snapshots: list[Snapshot]) -> list[str]:
    """The snapshot statement's plan for these snapshots, its writes rolled back."""
    first = min(e.observed_at for e in snapshots)
    last = max(e.observed_at for e in snapshots)
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute("SELECT pulse_ensure_snapshot_partitions($1, $2)", first, last)
            await conn.copy_records_to_table(
                "staged_snapshots",
                records=writer._snapshot_rows(snapshots),
                columns=writer._STAGED_COLUMNS,
            )
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + writer.STORE_SNAPSHOTS)
        finally:
            await transaction.rollback()
    return [r[0] for r in rows]


async def run(args: argparse.Namespace) -> None:
    infra = Infra.from_env(redis_db=12)  # its own (the tests use 15)
    database = f"pulse_bench_{secrets.token_hex(4)}_statements"
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    data = generate(args.events, args.posts, args.businesses, args.seed, anchor)
    events = [SNAPSHOTS.decode(v) or MetricsObserved.model_validate_json(v) for v in data.values]
    await create_database(infra, database)
    pool: asyncpg.Pool = await asyncpg.create_pool(
        infra.dsn(database),
        min_size=1,
        max_size=1,
        init=writer.prepare_connection,
        server_settings=Settings().server_settings(),
        connection_class=TimedConnection,
    )
    try:
        await load_posts(pool, data, args.batch)
        SECONDS.clear()
        CALLS.clear()
        timed = writer.PostgresAnalyticsWriter(pool)
        started = time.perf_counter()
        for number, batch in enumerate(chunks(events, args.batch)):
            if number == args.explain:
                plan = await explain_snapshots(pool, list(batch))
                text = "\n".join(plan) + "\n"
                await asyncio.to_thread(Path(args.plan_file).write_text, text, encoding="utf-8")
            await timed.write(EventBatch(metrics=list(batch)))
        writes_s = time.perf_counter() - started
        await timed.refresh_summaries()
    finally:
        await pool.close()
        await drop_database(infra, database)

    print(
        f"{args.events:,} events in batches of {args.batch:,} on one connection: "
        f"{args.events / writes_s:,.0f} ev/s written ({writes_s:.1f} s; then one refresh)"
    )
    if args.explain >= 0:
        print(f"batch {args.explain}'s snapshot statement, EXPLAIN ANALYZE: {args.plan_file}")
    print(f"{'us/event':>9} {'seconds':>8} {'calls':>6}  statement")
    for name, seconds in sorted(SECONDS.items(), key=lambda item: -item[1]):
        print(f"{seconds * 1e6 / args.events:9.1f} {seconds:8.2f} {CALLS[name]:6}  {name}")


def main() -> None:
    parser = data_parser(__doc__)
    parser.add_argument("--batch", type=int, default=20_000, help="records per batch")
    parser.add_argument("--explain", type=int, default=-1, help="batch whose plan to write")
    parser.add_argument("--plan-file", default="snapshot-plan.txt")
    asyncio.run(run(parse_data_args(parser, None)))


if __name__ == "__main__":
    main()
