"""Aggregator wiring: the consumer loop runs in the lifespan of a small HTTP app that
serves /healthz, /readyz and /metrics. Run: ``uvicorn pulse_aggregator.app:app``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Mapping

import asyncpg
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from redis.asyncio import Redis

from pulse_aggregator.consumer import BatchConsumer
from pulse_aggregator.settings import Settings
from pulse_aggregator.writer import PostgresAnalyticsWriter, prepare_connection
from pulse_shared.background import close_within
from pulse_shared.db import asyncpg_dsn
from pulse_shared.health import Check, health_router
from pulse_shared.kafka import make_producer
from pulse_shared.logs import configure_logging, get_logger

log = get_logger(__name__)


class Runtime:
    """What the lifespan starts, so the readiness checks can look at it."""

    pool: asyncpg.Pool | None = None
    consumer: AIOKafkaConsumer | None = None
    task: asyncio.Task[None] | None = None


runtime = Runtime()


async def _database_answers() -> bool:
    if runtime.pool is None:
        return False
    async with runtime.pool.acquire() as conn:
        return bool(await conn.fetchval("SELECT 1"))


async def _consumer_running() -> bool:
    return runtime.task is not None and not runtime.task.done()


async def _partitions_assigned() -> bool:
    return runtime.consumer is not None and bool(runtime.consumer.assignment())


def _checks() -> Mapping[str, Check]:
    return {
        "database": _database_answers,
        "consumer": _consumer_running,
        "partitions": _partitions_assigned,
    }


@contextlib.asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    runtime.pool = await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url),
        min_size=1,
        max_size=settings.db_pool_size,
        init=prepare_connection,
        # A batch's statements hash and sort tens of thousands of rows.
        server_settings=settings.server_settings(),
    )
    producer = make_producer(settings.kafka())
    await producer.start()
    redis = Redis.from_url(settings.redis_url, socket_timeout=1.0)
    consumer = AIOKafkaConsumer(
        **settings.kafka().options(),
        group_id=settings.consumer_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.batch_max_records,
        # Large fetches keep a batch's worth of records buffered while the last one is
        # written (the defaults fetch 1 MB per partition).
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    loop = BatchConsumer(settings, consumer, producer, PostgresAnalyticsWriter(runtime.pool), redis)
    consumer.subscribe(BatchConsumer.topics(settings), listener=loop.rebalance_listener())
    await consumer.start()
    runtime.consumer = consumer
    runtime.task = asyncio.create_task(loop.run(), name="aggregator-consumer")
    runtime.task.add_done_callback(_on_loop_exit)
    # A batch allocates tens of thousands of short-lived objects: with the default
    # thresholds the collector runs hundreds of times per batch. Collect less often, and
    # never walk what start-up left behind.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    log.info("aggregator started", topics=BatchConsumer.topics(settings))
    try:
        yield
    finally:
        # Abandon the batch in hand: its offsets are not committed, so it is replayed.
        loop.stop()
        runtime.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runtime.task
        await close_within(consumer.stop(), "kafka consumer")
        await producer.stop()
        await redis.aclose()
        await runtime.pool.close()
        runtime.pool = runtime.consumer = runtime.task = None
        log.info("aggregator stopped", batches_committed=loop.batches_committed)


def _on_loop_exit(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("consumer loop died", error=repr(task.exception()))


app = FastAPI(title="Pulse aggregator", lifespan=lifespan)
app.include_router(health_router(_checks))
