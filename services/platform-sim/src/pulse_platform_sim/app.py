"""Platform simulator wiring. Run: ``uvicorn pulse_platform_sim.app:app --port 8200``.

The state (population, clock, limits, faults, request log) is built when the app is
created, so tests can drive it in process through ``httpx.ASGITransport`` without a
lifespan; the lifespan only configures logging and runs the periodic webhook sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from fastapi import FastAPI, Request, Response

from pulse_platform_sim.errors import PlatformError, platform_error_handler
from pulse_platform_sim.population import APIS, Post, api_of
from pulse_platform_sim.ratelimits import WallSeconds
from pulse_platform_sim.routes import (
    authorize,
    control,
    linkedin,
    linkedin_oauth,
    linkedin_org,
    meta,
    meta_lists,
    meta_oauth,
    twitter,
    x_oauth,
)
from pulse_platform_sim.settings import Settings
from pulse_platform_sim.state import SimState, build_state, sim_of
from pulse_platform_sim.webhooks import KINDS
from pulse_shared.health import Check, health_router
from pulse_shared.logs import configure_logging, get_logger
from pulse_shared.settings import PulseSettings

log = get_logger(__name__)


def random_webhooks(sim: SimState, rng: random.Random) -> list[tuple[Post, str]]:
    """One random (post, kind) per API that has delivery targets."""
    now = sim.clock.now()
    chosen: list[tuple[Post, str]] = []
    for api in APIS:
        if not sim.webhooks.targets.get(api):
            continue
        posts = [
            p
            for p in sim.population.posts
            if api_of(p.platform) == api
            and p.published_at <= now
            and sim.population.deleted_at(p.platform, p.post_id) is None
        ]
        if posts:
            post = rng.choice(posts)
            chosen.append((post, rng.choice(KINDS[post.platform])))
    return chosen


async def send_periodically(sim: SimState, interval_s: float) -> None:
    rng = random.Random(f"{sim.settings.seed}:periodic-webhooks")
    while True:
        await asyncio.sleep(interval_s)
        for post, kind in random_webhooks(sim, rng):
            deliveries = await sim.webhooks.send(post, kind)
            failed = [d.target for d in deliveries if d.status is None or d.status >= 300]
            if failed:
                log.warning("webhook_delivery_failed", platform=post.platform, targets=failed)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    sim: SimState = app.state.sim
    configure_logging(sim.pulse.log_level, sim.pulse.log_json)
    log.info(
        "simulator_ready",
        businesses=len(sim.population.businesses),
        posts=len(sim.population.posts),
        anchor=sim.population.anchor.isoformat(),
    )
    task = None
    if sim.settings.webhook_interval_s > 0:
        task = asyncio.create_task(send_periodically(sim, sim.settings.webhook_interval_s))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def create_app(
    settings: Settings | None = None,
    pulse: PulseSettings | None = None,
    *,
    wall_seconds: WallSeconds = time.time,
) -> FastAPI:
    """``wall_seconds``: the clock the rate-limit windows and request counts follow (the
    wall clock; tests give a frozen one)."""
    sim = build_state(settings or Settings(), pulse, wall_seconds=wall_seconds)
    app = FastAPI(
        title="Pulse platform simulator",
        description="The X, LinkedIn and Meta Graph APIs and webhooks, simulated.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.sim = sim
    app.add_exception_handler(PlatformError, platform_error_handler)

    @app.middleware("http")
    async def count_platform_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        arrived_at = wall_seconds()
        response = await call_next(request)
        api = getattr(request.state, "api", None)
        if api is not None:
            sim_of(request).requests.record(
                api,
                request.state.endpoint,
                request.state.principal,
                request.state.token_kind,
                response.status_code,
                arrived_at,
            )
        return response

    def checks() -> Mapping[str, Check]:
        return {}  # the simulator depends on nothing (Kafka only when asked to publish)

    app.include_router(health_router(checks))
    app.include_router(control.router)
    app.include_router(authorize.router)
    app.include_router(x_oauth.router)
    app.include_router(twitter.router)
    app.include_router(linkedin_oauth.router)
    app.include_router(linkedin.router)
    app.include_router(linkedin_org.router)
    # Last: the Graph API's /{version}/{id} paths would otherwise shadow the others' paths
    # (and its named paths, e.g. /{version}/debug_token, come before its /{id} ones).
    app.include_router(meta_oauth.router)
    app.include_router(meta_lists.router)
    app.include_router(meta.router)
    return app


app = create_app()
