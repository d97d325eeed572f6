"""Helpers for tests: time that moves only when the test moves it.

Code that reads "now" or waits takes a clock (``Callable[[], datetime]``) and a sleep
(``Callable[[float], Awaitable[None]]``), defaulting to the real ones; a test hands it a
:class:`ManualClock`'s ``now`` and ``sleep`` instead, so what it asserts depends neither
on the hour it runs at nor on how busy the machine is.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class ManualClock:
    """An aware UTC "now" that stands still until :meth:`advance` (or :meth:`sleep`)
    moves it. ``slept`` lists every :meth:`sleep`, in order."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a ManualClock starts at an aware datetime")
        self._now = start.astimezone(UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        """An ``asyncio.sleep`` that returns at once, ``seconds`` later on this clock."""
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)  # still a point where other tasks run
