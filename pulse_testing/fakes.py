"""Fakes of the services' clients, for unit tests that need no server."""

from __future__ import annotations

import asyncio


class FakePipeline:
    """A Redis pipeline that queues INCRs and hands them to its :class:`FakeRedis` on
    ``execute``."""

    def __init__(self, redis: FakeRedis) -> None:
        self._redis = redis
        self._keys: list[str] = []

    async def __aenter__(self) -> FakePipeline:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    def incr(self, key: str) -> None:
        self._keys.append(key)

    async def execute(self) -> list[int]:
        await self._redis.gate.wait()
        self._redis.bumped.extend(self._keys)
        if self._redis.journal is not None:
            self._redis.journal.append(f"bump {','.join(self._keys)}")
        return [1] * len(self._keys)


class FakeRedis:
    """Records the cache versions bumped (the keys its pipelines INCR) in ``bumped`` and,
    given a ``journal``, writes one ``bump <keys>`` entry per pipeline into it; ``gate``
    holds a bump until it is set (set from the start unless one is given)."""

    def __init__(self, journal: list[str] | None = None, gate: asyncio.Event | None = None) -> None:
        self.bumped: list[str] = []
        self.journal = journal
        if gate is None:
            gate = asyncio.Event()
            gate.set()
        self.gate = gate

    def pipeline(self, transaction: bool = False) -> FakePipeline:
        return FakePipeline(self)
