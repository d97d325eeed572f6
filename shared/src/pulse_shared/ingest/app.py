"""The HTTP app every ingest service starts from: lifespan, dependencies, operations."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI
from redis.asyncio import Redis

from pulse_shared.health import Check, health_router
from pulse_shared.kafka import cluster_answers
from pulse_shared.logs import configure_logging
from pulse_shared.settings import PulseSettings


def build_ingest_app(name: str, settings_type: type[PulseSettings]) -> FastAPI:
    """An ingest service's app: Redis (schedule, rate limits) and Kafka checked by /readyz."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = settings_type()
        configure_logging(settings.log_level, settings.log_json)
        app.state.settings = settings
        app.state.redis = Redis.from_url(settings.redis_url)
        try:
            yield
        finally:
            await app.state.redis.aclose()

    app = FastAPI(title=f"Pulse {name}", lifespan=lifespan)

    def checks() -> Mapping[str, Check]:
        async def kafka() -> bool:
            return await cluster_answers(app.state.settings.kafka_bootstrap_servers, timeout_s=2.0)

        async def redis() -> bool:
            return bool(await app.state.redis.ping())

        return {"kafka": kafka, "redis": redis}

    app.include_router(health_router(checks))
    return app
