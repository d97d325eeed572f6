"""The three platforms' rate limits, as each documents them.

- X: requests per 15-minute window, per endpoint, per app (app-only Bearer) or per user
  (user-context token); every answer says where the caller stands in
  ``x-rate-limit-limit`` / ``-remaining`` / ``-reset`` (epoch seconds).
- LinkedIn: requests per UTC day, per resource, per app and per member; no headers.
- Meta: a usage percentage per app (``X-App-Usage``) and per business object
  (``X-Business-Use-Case-Usage``, Page or Instagram account); above 100 % calls fail
  with a throttling error until the window turns.

Windows are fixed and aligned to the epoch (LinkedIn's therefore to 00:00 UTC; Meta's
are rolling on the real platform) and follow the wall clock, not the simulated clock.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal

from pulse_platform_sim.settings import Settings

WallSeconds = Callable[[], float]


@dataclass(frozen=True)
class Hit:
    count: int  # calls in this window, this one included
    window_start: int
    reset_at: int  # epoch seconds when the window turns


class FixedWindowCounter:
    """Calls per key in fixed windows of ``window_s`` seconds."""

    def __init__(self, window_s: int, wall: WallSeconds = time.time) -> None:
        self.window_s = window_s
        self._wall = wall
        self._windows: dict[Hashable, tuple[int, int]] = {}

    def window_start(self) -> int:
        now = self._wall()
        return int(now // self.window_s * self.window_s)

    def hit(self, key: Hashable) -> Hit:
        start = self.window_start()
        previous_start, count = self._windows.get(key, (start, 0))
        count = count + 1 if previous_start == start else 1
        self._windows[key] = (start, count)
        return Hit(count, start, start + self.window_s)

    def reset(self) -> None:
        self._windows.clear()


# --- X --------------------------------------------------------------------------------

XEndpoint = Literal["tweets", "users", "users_lookup", "users_me", "user_tweets"]


@dataclass(frozen=True)
class XVerdict:
    limit: int
    remaining: int
    reset_at: int
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(self.reset_at),
        }


class XRateLimits:
    def __init__(self, settings: Settings, wall: WallSeconds = time.time) -> None:
        self._counter = FixedWindowCounter(settings.twitter_window_s, wall)
        s = settings
        self._limits: dict[tuple[XEndpoint, bool], int] = {
            ("tweets", False): s.twitter_tweets_app_limit,
            ("tweets", True): s.twitter_tweets_user_limit,
            ("users", False): s.twitter_users_app_limit,
            ("users", True): s.twitter_users_user_limit,
            ("users_lookup", False): s.twitter_users_app_limit,
            ("users_lookup", True): s.twitter_users_user_limit,
            ("users_me", True): s.twitter_users_me_user_limit,
            ("users_me", False): 0,
            ("user_tweets", False): s.twitter_user_tweets_app_limit,
            ("user_tweets", True): s.twitter_user_tweets_user_limit,
        }

    def limit_of(self, endpoint: XEndpoint, user_context: bool) -> int:
        return self._limits[(endpoint, user_context)]

    def check(self, endpoint: XEndpoint, principal: str, user_context: bool) -> XVerdict:
        limit = self.limit_of(endpoint, user_context)
        hit = self._counter.hit((endpoint, principal))
        return XVerdict(limit, max(0, limit - hit.count), hit.reset_at, hit.count <= limit)

    def exhausted(self, endpoint: XEndpoint, principal: str, user_context: bool) -> XVerdict:
        """The headers of a spent budget (an injected 429)."""
        start = self._counter.window_start()
        limit = self.limit_of(endpoint, user_context)
        return XVerdict(limit, 0, start + self._counter.window_s, False)

    def reset(self) -> None:
        self._counter.reset()


# --- LinkedIn -------------------------------------------------------------------------


class LinkedInRateLimits:
    def __init__(self, settings: Settings, wall: WallSeconds = time.time) -> None:
        self._counter = FixedWindowCounter(86_400, wall)
        self.app_limit = settings.linkedin_app_daily_limit
        self.member_limit = settings.linkedin_member_daily_limit

    def check(self, resource: str, member: str) -> Literal["APPLICATION", "MEMBER"] | None:
        """Which daily limit this call exceeds, if any (the app's is checked first)."""
        app_hit = self._counter.hit((resource, "app"))
        member_hit = self._counter.hit((resource, "member", member))
        if app_hit.count > self.app_limit:
            return "APPLICATION"
        if member_hit.count > self.member_limit:
            return "MEMBER"
        return None

    def reset(self) -> None:
        self._counter.reset()


# --- Meta -----------------------------------------------------------------------------

BucType = Literal["pages", "instagram"]


@dataclass(frozen=True)
class MetaUsage:
    app_pct: int
    buc_pct: int | None
    buc_object: str | None
    buc_type: BucType | None
    regain_minutes: int
    throttled_by: Literal["app", "pages", "instagram"] | None

    def headers(self) -> dict[str, str]:
        headers = {
            "X-App-Usage": json.dumps(
                {
                    "call_count": self.app_pct,
                    "total_time": _time_share(self.app_pct),
                    "total_cputime": _cpu_share(self.app_pct),
                },
                separators=(",", ":"),
            )
        }
        if self.buc_object is not None and self.buc_pct is not None:
            usage = {
                "type": self.buc_type,
                "call_count": self.buc_pct,
                "total_cputime": _cpu_share(self.buc_pct),
                "total_time": _time_share(self.buc_pct),
                "estimated_time_to_regain_access": self.regain_minutes,
            }
            headers["X-Business-Use-Case-Usage"] = json.dumps(
                {self.buc_object: [usage]}, separators=(",", ":")
            )
        return headers


def _time_share(call_pct: int) -> int:
    # Time used grows with calls, but these calls are cheap: a fixed fraction.
    return call_pct * 3 // 5


def _cpu_share(call_pct: int) -> int:
    return call_pct * 2 // 5


def _pct(count: int, budget: int) -> int:
    return math.ceil(count * 100 / budget)


class MetaRateLimits:
    def __init__(self, settings: Settings, wall: WallSeconds = time.time) -> None:
        self._app = FixedWindowCounter(settings.meta_app_window_s, wall)
        self._buc = FixedWindowCounter(settings.meta_buc_window_s, wall)
        self._wall = wall
        self.app_budget = settings.meta_app_calls_per_window
        self.buc_budget = settings.meta_buc_calls_per_window

    def record(self, buc_object: str | None, buc_type: BucType | None) -> MetaUsage:
        """Count one call and say where the app (and the business object) stand."""
        app_hit = self._app.hit("app")
        app_pct = _pct(app_hit.count, self.app_budget)
        throttled: Literal["app", "pages", "instagram"] | None = None
        regain_s = 0.0
        if app_hit.count > self.app_budget:
            throttled = "app"
            regain_s = app_hit.reset_at - self._wall()
        buc_pct: int | None = None
        if buc_object is not None and buc_type is not None:
            buc_hit = self._buc.hit(buc_object)
            buc_pct = _pct(buc_hit.count, self.buc_budget)
            if buc_hit.count > self.buc_budget:
                throttled = throttled or buc_type
                regain_s = max(regain_s, buc_hit.reset_at - self._wall())
        return MetaUsage(
            app_pct=app_pct,
            buc_pct=buc_pct,
            buc_object=buc_object,
            buc_type=buc_type,
            regain_minutes=math.ceil(max(0.0, regain_s) / 60),
            throttled_by=throttled,
        )

    def reset(self) -> None:
        self._app.reset()
        self._buc.reset()


class RateLimits:
    """All three, so the control API can reset them together."""

    def __init__(self, settings: Settings, wall: WallSeconds = time.time) -> None:
        self.twitter = XRateLimits(settings, wall)
        self.linkedin = LinkedInRateLimits(settings, wall)
        self.meta = MetaRateLimits(settings, wall)

    def reset(self) -> None:
        self.twitter.reset()
        self.linkedin.reset()
        self.meta.reset()
