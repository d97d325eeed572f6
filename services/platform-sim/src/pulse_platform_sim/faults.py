"""Faults injected on request: the next N answers of one platform's API fail.

Kinds: ``error`` (a 5xx with the platform's error body), ``timeout`` (the answer hangs
longer than a client waits, then a 504) and ``rate_limit`` (the platform's way of
saying "slow down": X and LinkedIn a 429, Meta a throttling error code). Faults queue
per API and are used up in order, one per request, before authentication.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeAlias

from pulse_platform_sim.population import Api

FaultKind: TypeAlias = Literal["error", "timeout", "rate_limit"]


@dataclass
class Fault:
    kind: FaultKind
    remaining: int
    status: int = 503  # for "error"
    hang_s: float = 30.0  # for "timeout"
    meta_code: int = 4  # for a Meta "rate_limit": 4, 17, 32, 613, 80001 or 80002


class FaultInjector:
    def __init__(self) -> None:
        self._pending: dict[Api, deque[Fault]] = {}

    def inject(self, api: Api, fault: Fault) -> None:
        if fault.remaining > 0:
            self._pending.setdefault(api, deque()).append(fault)

    def take(self, api: Api) -> Fault | None:
        """The fault this request gets, if any; uses one of its repetitions."""
        queue = self._pending.get(api)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        return {api: [asdict(f) for f in queue] for api, queue in self._pending.items() if queue}

    def clear(self, api: Api | None = None) -> None:
        if api is None:
            self._pending.clear()
        else:
            self._pending.pop(api, None)
