"""Connecting an account with a long history: from the member's consent to every one of its
posts having numbers, and the platform calls it took (issue 14's measurement).

The simulator gives one account ``--posts`` posts over the last ``--days`` days
(PULSE_SIM_HEAVY_ACCOUNTS); ingest (the platform's service), the aggregator and the
simulator run as processes on a database and topics of the run's own; the member's
browser is driven over HTTP through the real OAuth flow (``pulse_cli.demo``'s). The clock
starts when the browser leaves the consent page with "Allow".

    uv run --frozen python bench/connect_bench.py --platform twitter --posts 2000 --days 90
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from typing import Any

import asyncpg
import httpx
from common import Infra, Process, create_database, delete_topics, drop_database, free_port
from cryptography.fernet import Fernet

from pulse_cli.demo import consent, form_of, post_form
from pulse_shared.auth import mint_dev_token
from pulse_shared.ingest.ratelimit import DEFAULT_BUDGETS, rate_limit_app
from pulse_shared.kafka import ensure_topics

SERVICE_OF = {"twitter": "twitter", "linkedin": "linkedin", "facebook": "meta", "instagram": "meta"}


async def posts_with_numbers(dsn: str, business_id: int) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM published_posts WHERE business_id = $1", business_id
        )
        polled = await conn.fetchval(
            "SELECT count(*) FROM post_analytics WHERE business_id = $1", business_id
        )
        return int(found), int(polled)
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> None:
    infra = Infra.from_env(redis_db=13)
    run_id = secrets.token_hex(4)
    database, prefix = f"pulse_cbench_{run_id}", f"cbench-{run_id}."
    offset = 10**12 + secrets.randbelow(10**9)
    business = offset + 1
    service = SERVICE_OF[args.platform]
    sim_platform = "meta" if service == "meta" else args.platform
    secret = f"connect-bench-{secrets.token_hex(16)}"
    logs = tempfile.mkdtemp(prefix="pulse-cbench-")
    ingest_port, sim_port, aggregator_port = free_port(), free_port(), free_port()
    callback = f"http://127.0.0.1:{ingest_port}/connect/callback"
    return_to = "http://dashboard.bench/connections"
    await create_database(infra, database)
    await ensure_topics(infra.kafka, prefix)
    common = {
        **os.environ, "PULSE_ENVIRONMENT": "bench", "PULSE_LOG_JSON": "true",
        **infra.kafka_env(), "PULSE_TOPIC_PREFIX": prefix, "PULSE_REDIS_URL": infra.redis_url,
        "PULSE_DATABASE_URL": infra.url(database), "PULSE_JWT_SECRET": secret,
        "PULSE_TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PULSE_RATE_LIMIT_WEBHOOKS": "1000000/60",
    }  # fmt: skip
    heavy = [{"platform": args.platform, "business": 1, "posts": args.posts, "days": args.days}]
    sim = Process.start("platform-sim", "pulse_platform_sim.app:app", {
        **common, "PULSE_SIM_BUSINESSES": "1", "PULSE_SIM_POSTS_PER_ACCOUNT": "0",
        "PULSE_SIM_BUSINESS_ID_OFFSET": str(offset), "PULSE_SIM_HEAVY_ACCOUNTS": json.dumps(heavy),
        f"PULSE_SIM_{sim_platform.upper()}_REDIRECT_URIS": json.dumps([callback]),
    }, logs, sim_port)  # fmt: skip
    processes = [sim]
    try:
        async with httpx.AsyncClient() as client:
            population = (await client.get(f"{sim.url}/_sim/population")).json()
        oauth = population["oauth"][sim_platform]
        processes.append(Process.start("aggregator", "pulse_aggregator.app:app", {
            **common, "PULSE_CONSUMER_GROUP": f"{prefix}aggregator",
        }, logs, aggregator_port))  # fmt: skip
        processes.append(Process.start(f"ingest-{service}", f"pulse_ingest_{service}.app:app", {
            **common, "PULSE_API_BASE_URL": sim.url, "PULSE_OAUTH_WEB_BASE_URL": sim.url,
            "PULSE_OAUTH_CLIENT_ID": oauth["client_id"],
            "PULSE_OAUTH_CLIENT_SECRET": oauth["client_secret"],
            "PULSE_OAUTH_REDIRECT_URI": callback,
            "PULSE_OAUTH_RETURN_URLS": json.dumps([return_to]), "PULSE_POLL_IDLE_S": "0.2",
        }, logs, ingest_port))  # fmt: skip
        ingest = processes[-1]
        conn = await asyncpg.connect(infra.dsn(database))
        try:
            await conn.execute("INSERT INTO businesses (id) VALUES ($1)", business)
            await conn.execute(
                "INSERT INTO business_members (business_id, user_id, role) "
                "VALUES ($1, 'bench', 'owner')",
                business,
            )
        finally:
            await conn.close()
        token = mint_dev_token(secret, "bench", ttl_s=3600)
        async with httpx.AsyncClient(timeout=60) as browser:
            started = await browser.post(
                f"{ingest.url}/connect/authorize",
                json={"business_id": business, "return_to": return_to},
                headers={"Authorization": f"Bearer {token}"},
            )
            started.raise_for_status()
            back = await consent(browser, started.json()["authorization_url"], "sim-user-1")
            consented = time.monotonic()
            connected = await browser.get(back)
            if connected.status_code == 200:  # Meta: the Page and its Instagram account offered
                target, fields = form_of(str(connected.url), connected.text)
                connected = await post_form(browser, target, fields)
        print(f"connected: {connected.headers.get('location')}", flush=True)
        dsn = infra.dsn(database)
        found = polled = 0
        changed = consented
        marks = {int(args.posts * q): q for q in (0.25, 0.5, 0.75, 0.99)}
        while polled < args.posts and time.monotonic() - changed < args.quiet:
            found, now_polled = await posts_with_numbers(dsn, business)
            if now_polled != polled:
                changed = time.monotonic()
                for mark, share in marks.items():
                    if polled < mark <= now_polled:
                        at = changed - consented
                        print(f"  {share:.0%} of the posts with numbers at {at:.1f} s")
                polled = now_polled
            await asyncio.sleep(0.2)
        elapsed = changed - consented
        async with httpx.AsyncClient() as client:
            answer = await client.get(
                f"{sim.url}/_sim/requests", params={"platform": args.platform}
            )
        calls: dict[str, Any] = answer.json()
        print(f"{args.platform}: {args.posts} posts over {args.days} days")
        print(
            f"consent -> {polled}/{args.posts} posts with numbers: {elapsed:.1f} s "
            f"({found} announced; nothing more came within {args.quiet:.0f} s after)"
        )
        print("platform calls (the simulator's count, per endpoint):")
        print(json.dumps(calls, indent=2)[:4000])
        budgets = DEFAULT_BUDGETS.get(rate_limit_app(args.platform), ())
        print("documented budgets (pulse_shared.ingest.ratelimit.DEFAULT_BUDGETS):")
        for budget in budgets:
            print(f"  {budget}")
    finally:
        for process in reversed(processes):
            process.stop()
        await drop_database(infra, database)
        await delete_topics(infra.kafka, prefix)
        print(f"(logs: {logs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--platform", choices=sorted(SERVICE_OF), default="twitter")
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--quiet", type=float, default=60.0, help="stop when no post got numbers for this long"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
