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
from pulse_platform_sim.population import (
    Business,
    Population,
    api_of,
    build_population,
    build_runtime_business,
)
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
        OAuth grants, codes or issued tokens, no native or deleted posts. Businesses added
        while running stay (Pulse may have connected them), with their standing tokens."""
        self.faults.clear()
        self.tokens.reset()
        for business_id in self.population.runtime_business_ids:
            business = self.population.business(business_id)
            assert business is not None
            self._issue_standing_tokens(business)
        self.oauth.reset()
        self.population.reset_changes()
        self.limits.reset()
        self.requests.reset()
        self.webhooks.reset()
        if clock:
            self.clock.reset()

    def add_business(self, business_id: int) -> tuple[Business, bool]:
        """Pulse business ``business_id`` in the simulated world, and whether it is new: a
        business added earlier is answered as it is. Raises :class:`BusinessConflict` for
        one of the starting businesses, or one whose accounts another business has."""
        population = self.population
        existing = population.business(business_id)
        if existing is not None and population.is_runtime(business_id):
            return existing, False
        if existing is not None:
            raise BusinessConflict(f"business {business_id} is one the simulator started with")
        business, admin, history = build_runtime_business(
            self.settings, business_id, self.clock.now()
        )
        taken = population.taken_account(business)
        if taken is not None:
            raise BusinessConflict(
                f"business {business_id}'s {taken.platform} account {taken.account_id} "
                f"is business {taken.business_id}'s"
            )
        population.add_business(business, admin, history)
        self._issue_standing_tokens(business)
        return business, True

    def _issue_standing_tokens(self, business: Business) -> None:
        """The standing tokens of a business added while running, made as the registry
        makes the starting population's (from a population of this business alone)."""
        population = self.population
        admin = population.admin_of(business.business_id)
        alone = Population(
            anchor=population.anchor,
            start=population.start,
            apps=population.apps,
            businesses=[business],
            posts=[],
            users=[admin] if admin else [],
        )
        standing = TokenRegistry(alone, self.clock.now)
        for account in business.accounts.values():
            principal, _ = standing.lookup(api_of(account.platform), account.access_token)
            assert principal is not None
            self.tokens.issue(principal)


class BusinessConflict(Exception):
    """A business that cannot be added: its id or its accounts are another business's."""


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
