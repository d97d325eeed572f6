"""``pulse demo``: demo data through the whole real pipeline.

The platform simulator's businesses are connected in Pulse (their access tokens into the
encrypted vault, as a business would connect its accounts), the simulator publishes its
posts (as the publishing app would), the ingest services poll the simulator's APIs and
publish what they observe, and the aggregator stores it.

Idempotent: connecting again replaces the same tokens, the simulator's events have stable
ids. Waits until the first business's posts have numbers; prints one of its post ids on
stdout (``make up`` reads it from the last line).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg
import httpx
import structlog

from pulse_cli.connections import CommandFailed, connect_database, err, progress_bar
from pulse_shared.db import asyncpg_dsn
from pulse_shared.ingest.settings import IngestSettings
from pulse_shared.ingest.vault import TokenVault
from pulse_shared.logs import CurrentStderr

DEFAULT_SIM_URL = "http://127.0.0.1:8200"


async def connect_accounts(settings: IngestSettings, population: dict[str, Any]) -> int:
    """Each simulated business and its accounts' tokens; returns the accounts connected."""
    try:
        pool = await asyncpg.create_pool(
            asyncpg_dsn(settings.database_url), min_size=1, max_size=2, timeout=10
        )
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise CommandFailed(f"cannot reach the database ({exc}); is `make up` running?") from exc
    connected = 0
    try:
        vault = TokenVault(pool, settings.token_keys())
        for business in population["businesses"]:
            await pool.execute(
                "INSERT INTO businesses (id, name, timezone) VALUES ($1, $2, $3) "
                "ON CONFLICT (id) DO NOTHING",
                business["business_id"], business["name"], business["timezone"],
            )  # fmt: skip
            for account in business["accounts"]:
                await vault.connect(
                    business["business_id"], account["platform"], account["account_id"],
                    account["access_token"],
                )  # fmt: skip
                connected += 1
    finally:
        await pool.close()
    return connected


async def polled_posts(settings: IngestSettings, business_id: int) -> list[int]:
    """The business's posts that have numbers (a row in post_analytics)."""
    conn = await connect_database(settings)
    try:
        rows = await conn.fetch(
            "SELECT post_id FROM post_analytics WHERE business_id = $1 ORDER BY post_id",
            business_id,
        )
        return [r["post_id"] for r in rows]
    finally:
        await conn.close()


async def load_demo(settings: IngestSettings, sim_url: str, timeout_s: float) -> int:
    """Connect, publish, wait; returns a post id of the first business."""
    # Standard output carries the answer (a post id): the vault's log lines go to stderr,
    # and only its warnings.
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(CurrentStderr()),  # type: ignore[arg-type]
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )
    try:
        async with httpx.AsyncClient(base_url=sim_url, timeout=30) as sim:
            answer = await sim.get("/_sim/population", params={"include_posts": "true"})
            answer.raise_for_status()
            population: dict[str, Any] = answer.json()
            accounts = await connect_accounts(settings, population)
            err.print(f"{len(population['businesses'])} businesses, {accounts} accounts connected")
            (await sim.post("/_sim/publish", json={})).raise_for_status()
    except httpx.HTTPError as exc:
        raise CommandFailed(f"the simulator at {sim_url} did not answer ({exc!r})") from exc
    first = population["businesses"][0]
    business_id = first["business_id"]
    wanted = len(first["posts"])
    deadline = time.monotonic() + timeout_s
    with progress_bar() as progress:
        task = progress.add_task(f"business {business_id}'s posts with numbers", total=wanted)
        while True:
            done = await polled_posts(settings, business_id)
            progress.update(task, completed=min(len(done), wanted))
            if done and len(done) >= wanted:
                return done[0]
            if time.monotonic() > deadline:
                raise CommandFailed(
                    f"{len(done)}/{wanted} posts of business {business_id} polled in time "
                    "(see .run/logs/ingest-*.log and .run/logs/aggregator.log)"
                )
            await asyncio.sleep(0.5)
