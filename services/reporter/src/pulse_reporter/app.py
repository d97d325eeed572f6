"""Reporter wiring. Run: ``uvicorn pulse_reporter.app:app --port $PULSE_REPORTER_PORT``.

The lifespan makes the pool, the rate limiter and, unless PULSE_REPORTER_WORKER=false,
the worker (worker.py) with the real analytics (query-api) and the real mail server;
on shutdown the worker finishes the delivery in hand before the pool closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

import asyncpg
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from redis.asyncio import Redis

from pulse_reporter.analytics import QueryApiAnalytics
from pulse_reporter.deliveries import Deliverer
from pulse_reporter.deps import BodyLimits, serving_api
from pulse_reporter.routes import alerts, branding, deliveries, schedules, unsubscribe
from pulse_reporter.settings import Settings
from pulse_reporter.worker import Worker, utc_now
from pulse_shared.db import CONNECT_TIMEOUT_S, SERVER_SETTINGS, asyncpg_dsn
from pulse_shared.health import Check, health_router
from pulse_shared.http_auth import Authenticator
from pulse_shared.http_body import openapi_as_declared
from pulse_shared.http_db_errors import answer_database_errors
from pulse_shared.http_disconnect import CancelOnDisconnect
from pulse_shared.http_limits import validation_error
from pulse_shared.http_metrics import RequestMetrics
from pulse_shared.http_ratelimit import HttpLimits, Limit, RateLimiter, RateLimits, key_prefix
from pulse_shared.logs import configure_logging, get_logger
from pulse_shared.mail import Mailer

log = get_logger(__name__)

# How long shutdown waits for the delivery in hand (rendering, a few messages) to be sent
# and recorded before it is cancelled (its lease then lets another replica finish it).
STOP_GRACE_S = 15.0
# Every statement is short; one that is not is stopped rather than left to hold a lease.
DATABASE_SETTINGS = {**SERVER_SETTINGS, "timezone": "UTC", "statement_timeout": "15000"}


def analytics_from(settings: Settings) -> QueryApiAnalytics:
    """The one place the real analytics is made: query-api, as a client with the
    reporter's service token (analytics.py)."""
    return QueryApiAnalytics.from_settings(settings)


@contextlib.asynccontextmanager
async def running_worker(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    if not settings.reporter_worker:
        yield
        return
    analytics = analytics_from(settings)
    deliverer = Deliverer(app.state.pool, analytics, Mailer(settings), settings, utc_now)
    worker = Worker(app.state.pool, deliverer, settings)
    task = asyncio.create_task(worker.run(), name="reporter-worker")
    try:
        yield
    finally:
        worker.stop()
        try:
            await asyncio.wait_for(task, STOP_GRACE_S)
        except TimeoutError:
            log.warning("the worker did not stop in time: its delivery is left to its lease")
        await analytics.aclose()


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    # WeasyPrint and its font library narrate every step of every PDF at INFO.
    for noisy in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    Authenticator.check_configuration(settings)
    app.state.settings = settings
    app.state.link_keys = settings.link_keys()
    # Members' bearer tokens, checked against the workspace's keys (PULSE_JWT_JWKS_URL).
    app.state.authenticator = Authenticator(settings)
    # min_size 0: the service starts (and says it is not ready) while the database is away.
    app.state.pool = await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url),
        min_size=0,
        max_size=settings.db_pool_size,
        server_settings=DATABASE_SETTINGS,
        timeout=CONNECT_TIMEOUT_S,
    )
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    if settings.rate_limits_enabled:
        app.state.rate_limits = (
            RateLimiter(redis, key_prefix(settings.topic_prefix)),
            HttpLimits(
                address=Limit.parse("address", settings.rate_limit_address),
                token=Limit.parse("token", settings.rate_limit_token),
                auth_failures=Limit.parse("auth-failures", settings.rate_limit_auth_failures),
                trusted_proxies=frozenset(settings.trusted_proxies),
                path_prefix="/v1/",  # the orchestrator's probes and scrapes are not limited
            ),
        )
    try:
        async with serving_api(app, settings), running_worker(app, settings):
            yield
    finally:
        await app.state.pool.close()
        await redis.aclose()


def _checks() -> Mapping[str, Check]:
    async def database() -> bool:
        return bool(await app.state.pool.fetchval("SELECT 1") == 1)

    return {"database": database}


# The largest JSON body is a schedule's or the alert settings' 50 recipients; a logo (its
# bytes, routes/branding.py) is the one larger body.
MAX_BODY_BYTES = 32 * 1024

app = FastAPI(
    title="Pulse reporter",
    description="Scheduled reports by email (HTML and PDF) and alerts on what changed.",
    version="0.1.0",
    lifespan=lifespan,
)


answer_database_errors(app, "the reporter's database")
app.add_exception_handler(RequestValidationError, validation_error)
app.add_middleware(CancelOnDisconnect)
app.add_middleware(
    BodyLimits,
    max_bytes=MAX_BODY_BYTES,
    larger={branding.LOGO_PATH: branding.MAX_LOGO_BYTES},
)
app.add_middleware(RateLimits)
app.add_middleware(RequestMetrics, service="reporter")
for router in (schedules, deliveries, branding, alerts, unsubscribe):
    app.include_router(router.router)
app.include_router(health_router(_checks))

app.openapi = openapi_as_declared(app)  # type: ignore[method-assign]
