"""Demo data through the whole real pipeline: the platform simulator's businesses are
connected in Pulse (their access tokens into the encrypted vault, as a business would
connect its accounts), the simulator publishes its posts (as the publishing app would),
the ingest services poll the simulator's APIs and publish what they observe, and the
aggregator stores it.

Idempotent: connecting again replaces the same tokens, the simulator's events have stable
ids. Waits until the first business's posts have numbers; prints one of its post ids.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import asyncpg
import httpx
import structlog

from pulse_shared.db import asyncpg_dsn
from pulse_shared.ingest.settings import IngestSettings
from pulse_shared.ingest.vault import TokenVault


async def connect_accounts(settings: IngestSettings, population: dict[str, Any]) -> None:
    pool = await asyncpg.create_pool(asyncpg_dsn(settings.database_url), min_size=1, max_size=2)
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
    finally:
        await pool.close()


async def polled_posts(settings: IngestSettings, business_id: int) -> list[int]:
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        rows = await conn.fetch(
            "SELECT post_id FROM post_analytics WHERE business_id = $1 ORDER BY post_id",
            business_id,
        )
        return [r["post_id"] for r in rows]
    finally:
        await conn.close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sim", default="http://127.0.0.1:8200", help="the simulator's URL")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    # Standard output carries the answer (a post id); everything said on the way, stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    settings = IngestSettings()
    async with httpx.AsyncClient(base_url=args.sim, timeout=30) as sim:
        population = (await sim.get("/_sim/population", params={"include_posts": "true"})).json()
        await connect_accounts(settings, population)
        (await sim.post("/_sim/publish", json={})).raise_for_status()
    first = population["businesses"][0]
    wanted = len(first["posts"])
    deadline = time.monotonic() + args.timeout
    while len(done := await polled_posts(settings, first["business_id"])) < wanted:
        if time.monotonic() > deadline:
            print(
                f"[pulse] demo: {len(done)}/{wanted} posts of business {first['business_id']} "
                "polled in time (see .run/logs/ingest-*.log)",
                file=sys.stderr,
            )
            return 1
        await asyncio.sleep(0.5)
    print(done[0])
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
