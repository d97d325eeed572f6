"""Waiting for what happens in the background (a consumer, a poller, a process)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

# ruff: noqa: ASYNC109 - eventually's timeout is the deadline of its polling, not an I/O one


async def eventually(
    check: Callable[[], Awaitable[T | None]], timeout: float = 60.0, interval: float = 0.2
) -> T:
    """Await ``check`` until it returns something other than None/False; fail on timeout,
    which only guards against a hang (long enough for a loaded machine)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
