"""The writer alone over the real PostgreSQL: any split of a stream into batches, in any
batch sizes, ends in the same database as the reference. No Kafka here, so the batch
boundaries (the hard cases: a post and a losing same-instant snapshot in one batch, a
snapshot stored before its post, a republished post) are chosen, not left to chance."""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
from scenario import assert_database_matches, build_stream, reference_of

from conftest import Infra
from pulse_aggregator.records import EventBatch
from pulse_aggregator.writer import PostgresAnalyticsWriter, prepare_connection
from pulse_shared.db import asyncpg_dsn

pytestmark = pytest.mark.integration


@pytest.fixture
async def writer(infra: Infra) -> AsyncIterator[PostgresAnalyticsWriter]:
    pool = await asyncpg.create_pool(
        asyncpg_dsn(infra.database_url), min_size=1, max_size=2, init=prepare_connection
    )
    try:
        yield PostgresAnalyticsWriter(pool)
    finally:
        await pool.close()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_any_batching_gives_the_reference_database(
    seed: int, writer: PostgresAnalyticsWriter, db: asyncpg.Connection
) -> None:
    rng = random.Random(seed)
    businesses = [secrets.randbelow(2**62) + 10**12 for _ in range(2)]  # fresh every run
    stream = build_stream(rng, businesses, posts_per_business=25, snapshots_per_post=4)
    events = stream.events
    position = 0
    while position < len(events):
        size = rng.choice([1, 2, 3, 7, 20, 100, 400])
        await writer.write(EventBatch.of(events[position : position + size]))
        position += size
        if rng.random() < 0.3:  # summaries refreshed now and then, as the consumer does
            await writer.refresh_summaries()
    await writer.refresh_summaries()
    await assert_database_matches(db, reference_of(stream), businesses)

    # Writing everything again, in one batch, changes nothing.
    await writer.write(EventBatch.of(events))
    await writer.refresh_summaries()
    await assert_database_matches(db, reference_of(stream), businesses)
