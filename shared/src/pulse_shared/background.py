"""A service's background loops, stopped within a bound when it shuts down."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

import structlog

log = structlog.get_logger()

# What a loop's own cleanup may take at shutdown (closing a Kafka consumer, flushing a
# producer) before it is interrupted; well inside an orchestrator's grace period (30 s).
STOP_GRACE_S = 5.0


def stop_requested() -> bool:
    """Whether the running task has been cancelled (asked to stop), even where the
    CancelledError was caught below it and turned into another error: a network library
    cancelled mid-connect may report the connection as failed, which a loop would take for
    a transient error and retry, outliving its shutdown."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def stop_loops(tasks: Sequence[asyncio.Task[Any]], grace_s: float = STOP_GRACE_S) -> None:
    """Cancel ``tasks`` and give their cleanup ``grace_s``. A loop still cleaning up then is
    cancelled again, which interrupts that cleanup: a Kafka consumer leaving its group waits
    for the group's pending join, which a member that vanished without leaving (kill -9)
    holds until its session times out, and a shutdown must not wait for that."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=grace_s)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.warning("loop failed", loop=task.get_name(), error=repr(task.exception()))
    if pending:
        names = sorted(task.get_name() for task in pending)
        log.warning("loops still stopping; interrupted", loops=names, grace_s=grace_s)
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=grace_s)


async def close_within(close: Awaitable[object], what: str, grace_s: float = STOP_GRACE_S) -> None:
    """Await a client's ``close`` for ``grace_s`` at most, then interrupt it (the same
    consumer leaving a group whose join is held, awaited by the lifespan itself)."""
    try:
        await asyncio.wait_for(close, grace_s)
    except TimeoutError:
        log.warning("still closing; interrupted", client=what, grace_s=grace_s)
