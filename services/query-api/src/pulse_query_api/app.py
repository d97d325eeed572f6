"""Query API wiring. Run: ``uvicorn pulse_query_api.app:app``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import asyncpg
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from redis.asyncio import Redis
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse_query_api.cache import AnswerCache
from pulse_query_api.membership import Memberships
from pulse_query_api.refresh import RefreshPublisher
from pulse_query_api.routes import (
    accounts,
    calendar,
    export,
    legacy,
    overview,
    posts,
    rankings,
    refresh,
)
from pulse_query_api.scope import fixed_clock, wall_clock
from pulse_query_api.settings import Settings
from pulse_shared.db import (
    CONNECT_TIMEOUT_S,
    READER_SERVER_SETTINGS,
    asyncpg_dsn,
    create_engine,
)
from pulse_shared.health import Check, health_router
from pulse_shared.http_auth import Authenticator
from pulse_shared.http_body import openapi_as_declared
from pulse_shared.http_db_errors import answer_database_errors
from pulse_shared.http_disconnect import CancelOnDisconnect
from pulse_shared.http_limits import BodyLimit, validation_error
from pulse_shared.http_metrics import RequestMetrics
from pulse_shared.http_ratelimit import HttpLimits, Limit, RateLimiter, RateLimits, key_prefix
from pulse_shared.logs import configure_logging, get_logger

log = get_logger(__name__)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The lookup pool's connections only run single autocommit SELECTs and change no
    session state, so asyncpg's default reset on release (a round trip of ``RESET ALL``,
    ``UNLISTEN *`` ...) would buy nothing and cost a database round trip on every request."""


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    Authenticator.check_configuration(settings)
    app.state.settings = settings
    app.state.authenticator = Authenticator(settings)
    app.state.clock = fixed_clock(settings.clock_at) if settings.clock_at else wall_clock
    app.state.engine = create_engine(
        settings.database_url, settings.db_pool_size, READER_SERVER_SETTINGS
    )
    # min_size 0: the service starts (and says it is not ready) while the database is away.
    app.state.lookups = await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url),
        min_size=0,
        max_size=settings.lookup_pool_size,
        server_settings=READER_SERVER_SETTINGS,
        reset=_keep_session,
        timeout=CONNECT_TIMEOUT_S,
    )
    redis = Redis.from_url(settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    app.state.cache = AnswerCache(redis if settings.cache_enabled else None, app.state.engine)
    app.state.memberships = Memberships(
        app.state.lookups, redis if settings.cache_enabled else None
    )
    app.state.limiter = RateLimiter(redis, key_prefix(settings.topic_prefix))
    if settings.rate_limits_enabled:
        app.state.rate_limits = (app.state.limiter, http_limits(settings))
    app.state.refresh = RefreshPublisher(settings.kafka(), settings.topic_prefix)
    try:
        yield
    finally:
        await app.state.refresh.close()
        await app.state.engine.dispose()
        await app.state.lookups.close()
        await redis.aclose()


def http_limits(settings: Settings) -> HttpLimits:
    return HttpLimits(
        address=Limit.parse("address", settings.rate_limit_address),
        token=Limit.parse("token", settings.rate_limit_token),
        auth_failures=Limit.parse("auth-failures", settings.rate_limit_auth_failures),
        trusted_proxies=frozenset(settings.trusted_proxies),
        # The API; probes and scrapes of /healthz, /readyz and /metrics are the
        # orchestrator's, kept off the public path by the network policies.
        path_prefix="/api/",
    )


def _checks() -> Mapping[str, Check]:
    async def database() -> bool:
        async with app.state.engine.connect() as conn:
            return bool((await conn.execute(text("SELECT 1"))).scalar() == 1)

    return {"database": database}


class DatabaseAwayNotice:
    """An answer served while PostgreSQL is unreachable (a cached one, its member vouched
    for from memory: pulse_query_api.membership) says so."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def noticed(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get("state", {}).get(
                "database_away"
            ):
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-pulse-database", b"unreachable"),
                ]
            await send(message)

        await self.app(scope, receive, noticed)


# The one body query-api takes, a refresh request, is under 200 bytes.
MAX_BODY_BYTES = 4096

app = FastAPI(
    title="Pulse query API",
    description="Read-only analytics for the Pulse dashboard and other clients.",
    version="0.1.0",
    lifespan=lifespan,
)


answer_database_errors(app, "the analytics database")
app.add_exception_handler(RequestValidationError, validation_error)
# Answers of a KiB or more compressed for clients that accept gzip (an overview's 36 KiB of
# JSON is 6 KiB: on a phone's network, a third of a second). Level 5: nearly level 9's size
# at a fraction of its CPU. Nothing secret is in an answer for BREACH to guess at.
app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
app.add_middleware(CancelOnDisconnect)
app.add_middleware(DatabaseAwayNotice)
app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
app.add_middleware(RateLimits)
app.add_middleware(RequestMetrics, service="query-api")
app.include_router(accounts.router)
app.include_router(calendar.router)
app.include_router(overview.router)
app.include_router(posts.router)
app.include_router(rankings.router)
app.include_router(refresh.router)
app.include_router(export.router)
app.include_router(legacy.router)
app.include_router(health_router(_checks))


app.openapi = openapi_as_declared(app)  # type: ignore[method-assign]
