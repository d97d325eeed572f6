"""stop_loops: a shutdown waits for the loops' cleanup, within a bound."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from pulse_shared.background import close_within, stop_loops


async def test_loops_that_clean_up_in_time_finish_their_cleanup() -> None:
    cleaned: list[str] = []

    async def loop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.01)  # closing a client, say
            cleaned.append("done")

    task = asyncio.create_task(loop(), name="poll")
    await asyncio.sleep(0)
    await stop_loops([task], grace_s=5)
    assert task.cancelled()
    assert cleaned == ["done"]


async def test_a_cleanup_that_outlasts_the_grace_is_interrupted() -> None:
    interrupted = asyncio.Event()

    async def loop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            try:
                await asyncio.Event().wait()  # a consumer leaving a group that never answers
            except asyncio.CancelledError:
                interrupted.set()
                raise

    task = asyncio.create_task(loop(), name="consume")
    await asyncio.sleep(0)
    await stop_loops([task], grace_s=0.05)
    assert interrupted.is_set()
    assert task.done()


async def test_a_loop_that_had_failed_is_reported_not_raised() -> None:
    async def loop() -> None:
        raise RuntimeError("broken")

    task = asyncio.create_task(loop(), name="followers")
    await asyncio.sleep(0)
    with capture_logs() as logs:
        await stop_loops([task], grace_s=1)
        await stop_loops([], grace_s=1)
    assert [(e["event"], e["loop"], e["error"]) for e in logs] == [
        ("loop failed", "followers", "RuntimeError('broken')")
    ]


async def test_a_close_that_outlasts_the_grace_is_interrupted_and_said() -> None:
    closed = asyncio.Event()

    async def close() -> None:
        await asyncio.sleep(0.01)
        closed.set()

    with capture_logs() as logs:
        await close_within(close(), "producer", grace_s=5)
        await close_within(asyncio.Event().wait(), "kafka consumer", grace_s=0.05)
    assert closed.is_set()
    assert [(e["event"], e["client"]) for e in logs] == [
        ("still closing; interrupted", "kafka consumer")
    ]
