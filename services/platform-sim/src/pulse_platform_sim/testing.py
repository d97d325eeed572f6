"""Helpers for tests that drive the simulator in process (``httpx.ASGITransport``): a
small population on a fixed anchor, its clock frozen at a known instant, its rate-limit
windows on a wall clock of the test's (frozen too: two calls never fall into two windows
because a window turned between them), and shortcuts into the population. Used by this
package's tests and open to other services' tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from pulse_platform_sim.app import create_app
from pulse_platform_sim.population import Account, Post
from pulse_platform_sim.settings import Settings
from pulse_platform_sim.state import SimState
from pulse_shared.events import Platform
from pulse_shared.testing import ManualClock

ANCHOR = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Simulated "now" in the tests: a day after the anchor, so every post has some age.
NOW = ANCHOR + timedelta(days=1)
LINKEDIN_VERSION = "202611"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "seed": 7,
        "businesses": 2,
        "posts_per_account": 20,
        "days": 45,
        "anchor": ANCHOR,
        # A delivery to a test's receiver only times out if it hangs, never because the
        # machine is busy.
        "webhook_timeout_s": 60.0,
    }
    values.update(overrides)
    return Settings(**values)


class Sim:
    """The app, its state and a client, with shortcuts into the population."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def state(self) -> SimState:
        state: SimState = self.app.state.sim
        return state

    @property
    def wall(self) -> ManualClock:
        """The wall clock of the rate-limit windows: at ``NOW`` until a test moves it."""
        wall: ManualClock = self.app.state.wall
        return wall

    def account(self, platform: Platform, business: int = 0) -> Account:
        return self.state.population.businesses[business].accounts[platform]

    def posts(self, platform: Platform, business: int = 0) -> list[Post]:
        return self.state.population.posts_of(self.account(platform, business), NOW)

    def post(self, platform: Platform, where: Callable[[Post], bool] = lambda p: True) -> Post:
        return next(p for p in self.posts(platform) if where(p))

    def token(self, platform: Platform, business: int = 0) -> str:
        return self.account(platform, business).access_token

    def auth(self, platform: Platform, business: int = 0) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(platform, business)}"}


async def open_sim(settings: Settings) -> tuple[FastAPI, httpx.AsyncClient]:
    wall = ManualClock(NOW)
    app = create_app(settings, wall_seconds=lambda: wall.now().timestamp())
    app.state.wall = wall
    app.state.sim.clock.freeze()
    app.state.sim.clock.set(NOW)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")
    return app, client
