"""ingest-linkedin wiring. Run: ``uvicorn pulse_ingest_linkedin.app:app``.

The foundation serves the operational endpoints and checks the service's dependencies;
polling the LinkedIn API, its webhooks and the events they publish come with the ingest
issue.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI
from redis.asyncio import Redis

from pulse_ingest_linkedin.settings import Settings
from pulse_shared.health import Check, health_router
from pulse_shared.kafka import cluster_answers
from pulse_shared.logs import configure_logging


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    app.state.settings = settings
    app.state.redis = Redis.from_url(settings.redis_url)
    try:
        yield
    finally:
        await app.state.redis.aclose()


def _checks() -> Mapping[str, Check]:
    async def kafka() -> bool:
        return await cluster_answers(app.state.settings.kafka_bootstrap_servers, timeout_s=2.0)

    async def redis() -> bool:
        return bool(await app.state.redis.ping())

    return {"kafka": kafka, "redis": redis}


app = FastAPI(title="Pulse ingest-linkedin", lifespan=lifespan)
app.include_router(health_router(_checks))
