"""The CSV export of 1,000,000 posts goes out in bounded memory, even to a client that
stops reading for a while: query-api's peak resident memory (the kernel's VmHWM of its
process) grows by a few MB while ~100 MB of CSV pass through it."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from pulse_testing.infra import Infra
from pulse_testing.processes import start_service

pytestmark = pytest.mark.integration

ROWS = 1_000_000
FIRST = datetime(2025, 12, 1, tzinfo=UTC)  # one post every 30 s: 1,000,000 fill 347 days
PAUSE_S = 3.0  # the client stops reading for this long after the first chunk
MAX_GROWTH_MIB = 64


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


async def test_a_million_row_csv_export_streams_in_bounded_memory(
    infra: Infra, db: asyncpg.Connection, tmp_path: Path
) -> None:
    b = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", b)
    await db.execute(
        """INSERT INTO published_posts (business_id, platform, platform_post_id, account_id,
               content_preview, content_type, published_at, event_id)
           SELECT $1, (ARRAY['linkedin', 'twitter', 'facebook', 'instagram'])[1 + i % 4],
                  'p' || i, 'acct', 'Post ' || i || ': what we launched this week', 'text',
                  $2::timestamptz + i * interval '30 seconds', gen_random_uuid()
           FROM generate_series(1, $3) AS i""",
        b, FIRST, ROWS,
    )  # fmt: skip
    _, token = await infra.token_for(b)
    service = start_service(
        "query-api-export",
        "pulse_query_api.app:app",
        infra.env(PULSE_DATABASE_URL=infra.reader_database_url),
        str(tmp_path),
    )
    try:
        pid = service.process.pid
        url = f"{service.url}/api/v1/analytics/export"
        params: dict[str, str | int] = {
            "business_id": b, "start_date": "2025-12-01", "end_date": "2026-11-30",
        }  # fmt: skip
        # The CSV as the server writes it (uncompressed: the lines are counted raw).
        headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
        async with httpx.AsyncClient(headers=headers, timeout=300) as client:
            # Every code path loaded and every pool warmed: a day of the same export.
            warm = await client.get(url, params={**params, "end_date": "2025-12-01"})
            assert warm.status_code == 200, warm.text
            before = peak_rss_mib(pid)
            size, lines = 0, 0
            async with client.stream("GET", url, params=params) as response:
                assert response.status_code == 200
                chunks = response.aiter_raw()
                first = await anext(chunks)
                await asyncio.sleep(PAUSE_S)  # the server must hold back, not buffer
                last = first
                size, lines = len(first), first.count(b"\n")
                async for chunk in chunks:
                    size, lines, last = size + len(chunk), lines + chunk.count(b"\n"), chunk
            growth = peak_rss_mib(pid) - before
    finally:
        service.stop()
    assert lines == ROWS + 1  # the header and one line per post
    assert f",p{ROWS},".encode() in last  # the newest post comes last
    print(f"{ROWS:,} rows, {size / 2**20:,.0f} MiB of CSV; peak RSS {before:,.0f} MiB, "
          f"+{growth:,.1f} MiB during the export")  # fmt: skip
    assert size > 100 * 2**20
    assert growth < MAX_GROWTH_MIB
