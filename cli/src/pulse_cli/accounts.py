"""``pulse accounts``: the connected accounts of a business, and disconnecting one.

Listing reads the same view query-api answers from (``account_connections``, no token
column), as the owner role with the business set. Disconnecting is the vault's: tokens
deleted, polling stopped (its posts leave the poll schedule), numbers kept. Revoking at
the platform is the ingest service's business (``POST /connect/disconnect``, which a
member's token starts); an operator who disconnects here says so in the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from pulse_cli.connections import CommandFailed, connect_database, connect_redis
from pulse_shared.db import asyncpg_dsn
from pulse_shared.events import Platform
from pulse_shared.ingest.settings import IngestSettings
from pulse_shared.ingest.tracking import PollSchedule, schedule_key_prefix
from pulse_shared.ingest.vault import TokenVault

ACCOUNTS_OF_BUSINESS = """
SELECT platform, account_id, display_name, status, status_reason, posts_found,
       last_synced_at, connected_at
FROM account_connections ORDER BY platform, display_name, account_id
"""


@dataclass(frozen=True)
class AccountRow:
    platform: str
    account_id: str
    display_name: str
    status: str
    status_reason: str | None
    posts_found: int
    last_synced_at: datetime | None
    connected_at: datetime


async def list_accounts(settings: IngestSettings, business_id: int) -> list[AccountRow]:
    conn = await connect_database(settings)
    try:
        async with conn.transaction():
            # The view shows the business its transaction names, as query-api's do.
            await conn.execute(f"SET LOCAL pulse.business_id = {int(business_id)}")
            rows = await conn.fetch(ACCOUNTS_OF_BUSINESS)
    finally:
        await conn.close()
    return [AccountRow(**dict(row)) for row in rows]


async def disconnect(
    settings: IngestSettings, business_id: int, platform: Platform, account_id: str
) -> int:
    """Disconnect the account; the number of its posts taken off the poll schedule."""
    pool = await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url), min_size=1, max_size=1, timeout=10
    )
    try:
        vault = TokenVault(pool, settings.token_keys())
        grant = await vault.disconnect(
            business_id, platform, account_id, "disconnected by an operator (`pulse accounts`)",
            actor="operator",
        )  # fmt: skip
    finally:
        await pool.close()
    if grant is None:
        raise CommandFailed(
            f"business {business_id} has no connected {platform} account {account_id!r}"
        )
    redis = await connect_redis(settings)
    try:
        schedule = PollSchedule(redis, key_prefix=schedule_key_prefix(settings.topic_prefix))
        untracked = 0
        for post in await schedule.posts_of_business(business_id, platform):
            if post.account_id == account_id and await schedule.untrack(post):
                untracked += 1
    finally:
        await redis.aclose()
    return untracked
