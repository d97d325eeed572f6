"""Every platform request the simulator answered, counted per window.

The windows are the platform's own rate-limit windows (X: 15 minutes; LinkedIn: the
UTC day; Meta: the app usage window), so a test can read ``GET /_sim/requests`` and
prove that a client never sent more than a documented limit allows in any window.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pulse_platform_sim.population import Api
from pulse_platform_sim.ratelimits import WallSeconds


@dataclass
class Tally:
    count: int = 0
    by_status: Counter[int] = field(default_factory=Counter)


@dataclass(frozen=True)
class TallyKey:
    api: Api
    endpoint: str
    principal: str  # "app", an account id, "anonymous" or "invalid" (never a token)
    token_kind: str
    window_start: int


class RequestLog:
    def __init__(self, window_s: dict[Api, int], wall: WallSeconds = time.time) -> None:
        self._window_s = window_s
        self._wall = wall
        self._tallies: dict[TallyKey, Tally] = {}

    def record(
        self, api: Api, endpoint: str, principal: str, token_kind: str, status: int,
        arrived_at: float | None = None,
    ) -> None:  # fmt: skip
        """Count a request in the window it arrived in (``arrived_at``, by the log's clock;
        now when not given), as the platform's own limits count it, however long it took."""
        window = self._window_s[api]
        start = int((self._wall() if arrived_at is None else arrived_at) // window * window)
        key = TallyKey(api, endpoint, principal, token_kind, start)
        tally = self._tallies.setdefault(key, Tally())
        tally.count += 1
        tally.by_status[status] += 1

    def snapshot(self, api: Api | None = None, endpoint: str | None = None) -> dict[str, Any]:
        windows: list[dict[str, Any]] = []
        totals: dict[tuple[Api, str, int], Tally] = {}
        for key, tally in sorted(
            self._tallies.items(),
            key=lambda kv: (kv[0].window_start, kv[0].api, kv[0].endpoint, kv[0].principal),
        ):
            if (api and key.api != api) or (endpoint and key.endpoint != endpoint):
                continue
            windows.append(
                {
                    "platform": key.api,
                    "endpoint": key.endpoint,
                    "principal": key.principal,
                    "token_kind": key.token_kind,
                    **_window(key.window_start, self._window_s[key.api]),
                    "count": tally.count,
                    "by_status": {str(s): n for s, n in sorted(tally.by_status.items())},
                }
            )
            total = totals.setdefault((key.api, key.endpoint, key.window_start), Tally())
            total.count += tally.count
            total.by_status.update(tally.by_status)
        return {
            "windows": windows,
            # Everything one app sent per endpoint and window, whoever's token it used.
            "app_totals": [
                {
                    "platform": a,
                    "endpoint": e,
                    **_window(start, self._window_s[a]),
                    "count": t.count,
                    "by_status": {str(s): n for s, n in sorted(t.by_status.items())},
                }
                for (a, e, start), t in totals.items()
            ],
        }

    def reset(self) -> None:
        self._tallies.clear()


def _window(start: int, seconds: int) -> dict[str, Any]:
    return {
        "window_start": datetime.fromtimestamp(start, UTC).isoformat(),
        "window_seconds": seconds,
    }
