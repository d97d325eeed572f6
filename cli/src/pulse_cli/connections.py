"""What every ``pulse`` command shares: reaching PostgreSQL, Kafka and Redis from the
``PULSE_*`` settings, turning failures into one red line and exit code 1 (an operator
needs to know what is unreachable, not a traceback), and the progress bars.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import date
from typing import Any, TypeVar

import asyncpg
import typer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from pulse_shared.db import asyncpg_dsn
from pulse_shared.kafka import cluster_answers
from pulse_shared.settings import PulseSettings

T = TypeVar("T")

# Everything said on the way goes to stderr: stdout carries only a command's answer (the
# token, the demo's post id), so scripts can read its last line.
err = Console(stderr=True)


class CommandFailed(Exception):
    """A failure the operator can act on; shown as one red line, exit code 1."""


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a known failure becomes a red message and exit code 1."""
    # aiokafka logs every failed connection attempt; the one red line below says it all.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(work)
    except CommandFailed as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    except ValidationError as exc:
        err.print(f"[red]invalid PULSE_* settings: {exc}[/red]")
        raise typer.Exit(1) from exc
    except (asyncpg.PostgresError, KafkaError, RedisError, OSError) as exc:
        err.print(f"[red]failed: {type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(1) from exc


SettingsT = TypeVar("SettingsT", bound=PulseSettings)


def load_settings(settings_type: type[SettingsT]) -> SettingsT:
    """The ``PULSE_*`` settings; a value they refuse is a red line, not a traceback."""
    try:
        return settings_type()
    except ValidationError as exc:
        err.print(f"[red]invalid PULSE_* settings: {exc}[/red]")
        raise typer.Exit(1) from exc


async def connect_database(settings: PulseSettings) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(asyncpg_dsn(settings.database_url), timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise CommandFailed(f"cannot reach the database ({exc}); is `make up` running?") from exc


async def require_kafka(settings: PulseSettings) -> None:
    """Fail fast and clearly: aiokafka itself would retry for a long while, then raise."""
    if not await cluster_answers(settings.kafka(), timeout_s=5.0):
        raise CommandFailed(
            f"cannot reach Kafka at {settings.kafka_bootstrap_servers} as user "
            f"{settings.kafka_username!r}; is `make up` running, are its credentials set?"
        )


async def topic_partitions(settings: PulseSettings, topic: str) -> list[int] | None:
    """The topic's partition numbers; None when it does not exist (never creates it)."""
    admin = AIOKafkaAdminClient(**settings.kafka().options(), request_timeout_ms=10000)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for item in described:
        if item["topic"] == topic and item["error_code"] == 0:
            return sorted(p["partition"] for p in item["partitions"])
    return None


async def connect_redis(settings: PulseSettings) -> Redis:
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=10)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        raise CommandFailed(f"cannot reach Redis ({exc}); is `make up` running?") from exc
    return redis


async def require_business(conn: asyncpg.Connection, business_id: int) -> str:
    """The business's time zone; a clear failure when it does not exist."""
    timezone: str | None = await conn.fetchval(
        "SELECT timezone FROM businesses WHERE id = $1", business_id
    )
    if timezone is None:
        raise CommandFailed(f"business {business_id} does not exist")
    return timezone


def check_range(since: date | None, until: date | None) -> None:
    if since is not None and until is not None and since > until:
        raise typer.BadParameter(f"--since {since} is after --until {until}")


def progress_bar() -> Progress:
    """A bar with counts and elapsed time, on stderr."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
