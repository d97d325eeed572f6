"""Simulated time: the instant the platforms' numbers are computed at.

It runs with the wall clock, shifted by an offset that ``POST /_sim/clock`` can move, or
frozen at one instant (tests that compare numbers read at different moments). Rate-limit
windows deliberately use the wall clock instead: a client sleeps in real time until the
``x-rate-limit-reset`` it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def wall_clock() -> datetime:
    return datetime.now(UTC)


class SimClock:
    def __init__(self, wall: Callable[[], datetime] = wall_clock) -> None:
        self._wall = wall
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None

    def now(self) -> datetime:
        if self._frozen_at is not None:
            return self._frozen_at
        return self._wall() + self._offset

    @property
    def offset(self) -> timedelta:
        return self.now() - self._wall()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def advance(self, seconds: float) -> None:
        if self._frozen_at is not None:
            self._frozen_at += timedelta(seconds=seconds)
        else:
            self._offset += timedelta(seconds=seconds)

    def set(self, instant: datetime) -> None:
        instant = instant.astimezone(UTC)
        if self._frozen_at is not None:
            self._frozen_at = instant
        else:
            self._offset = instant - self._wall()

    def freeze(self) -> None:
        self._frozen_at = self.now()

    def unfreeze(self) -> None:
        if self._frozen_at is not None:
            self._offset = self._frozen_at - self._wall()
            self._frozen_at = None

    def reset(self) -> None:
        self._offset = timedelta(0)
        self._frozen_at = None
