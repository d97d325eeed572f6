"""Query API wiring. Run: ``uvicorn pulse_query_api.app:app``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text

from pulse_query_api.auth import Authenticator
from pulse_query_api.cache import AnswerCache
from pulse_query_api.refresh import RefreshPublisher
from pulse_query_api.routes import export, legacy, overview, posts, rankings, refresh
from pulse_query_api.settings import Settings
from pulse_shared.db import create_engine
from pulse_shared.health import Check, health_router
from pulse_shared.logs import configure_logging


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    Authenticator.check_configuration(settings)
    app.state.settings = settings
    app.state.authenticator = Authenticator(settings)
    app.state.engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    redis = (
        Redis.from_url(settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        if settings.cache_enabled
        else None
    )
    app.state.cache = AnswerCache(redis)
    app.state.refresh = RefreshPublisher(settings.kafka_bootstrap_servers, settings.topic_prefix)
    try:
        yield
    finally:
        await app.state.refresh.close()
        await app.state.engine.dispose()
        if redis is not None:
            await redis.aclose()


def _checks() -> Mapping[str, Check]:
    async def database() -> bool:
        async with app.state.engine.connect() as conn:
            return bool((await conn.execute(text("SELECT 1"))).scalar() == 1)

    return {"database": database}


app = FastAPI(
    title="Pulse query API",
    description="Read-only analytics for the Pulse dashboard and other clients.",
    version="0.1.0",
    lifespan=lifespan,
)
app.include_router(overview.router)
app.include_router(posts.router)
app.include_router(rankings.router)
app.include_router(refresh.router)
app.include_router(export.router)
app.include_router(legacy.router)
app.include_router(health_router(_checks))
