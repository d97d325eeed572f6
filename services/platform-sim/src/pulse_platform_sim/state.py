"""Everything one running simulator holds, in one place the routes reach through
``request.app.state.sim``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from pulse_platform_sim.clock import SimClock, wall_clock
from pulse_platform_sim.faults import FaultInjector
from pulse_platform_sim.oauth import OAuthServer
from pulse_platform_sim.population import Population, build_population
from pulse_platform_sim.ratelimits import RateLimits, WallSeconds
from pulse_platform_sim.requestlog import RequestLog
from pulse_platform_sim.settings import Settings
from pulse_platform_sim.tokens import TokenRegistry
from pulse_platform_sim.webhooks import WebhookSender
from pulse_shared.settings import PulseSettings


@dataclass
class SimState:
    settings: Settings
    pulse: PulseSettings
    population: Population
    clock: SimClock
    tokens: TokenRegistry
    faults: FaultInjector
    limits: RateLimits
    requests: RequestLog
    webhooks: WebhookSender
    oauth: OAuthServer

    def reset(self, clock: bool = True) -> None:
        """Back to the state at start: no faults, all tokens valid, counters at zero, no
        OAuth grants, codes or issued tokens, no native or deleted posts."""
        self.faults.clear()
        self.tokens.reset()
        self.oauth.reset()
        self.population.reset_changes()
        self.limits.reset()
        self.requests.reset()
        self.webhooks.reset()
        if clock:
            self.clock.reset()


def build_state(
    settings: Settings,
    pulse: PulseSettings | None = None,
    wall: Callable[[], datetime] = wall_clock,
    wall_seconds: WallSeconds = time.time,
) -> SimState:
    population = build_population(settings, now=wall())
    clock = SimClock(wall)
    tokens = TokenRegistry(population, clock.now)
    return SimState(
        settings=settings,
        pulse=pulse or PulseSettings(),
        population=population,
        clock=clock,
        tokens=tokens,
        faults=FaultInjector(),
        limits=RateLimits(settings, wall_seconds),
        requests=RequestLog(
            {
                "twitter": settings.twitter_window_s,
                "linkedin": 86_400,
                "meta": settings.meta_app_window_s,
            },
            wall_seconds,
        ),
        webhooks=WebhookSender(
            population,
            clock,
            {
                "twitter": settings.webhook_targets_twitter,
                "linkedin": settings.webhook_targets_linkedin,
                "meta": settings.webhook_targets_meta,
            },
            settings.seed,
            settings.webhook_timeout_s,
        ),
        oauth=OAuthServer(settings, population, clock, tokens),
    )


def sim_of(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state
