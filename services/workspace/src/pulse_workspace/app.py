"""Workspace wiring. Run: ``uvicorn pulse_workspace.app:app --port $PULSE_WORKSPACE_PORT``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import asyncpg
import email_validator
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.asyncio import Redis

from pulse_shared.db import CONNECT_TIMEOUT_S, SERVER_SETTINGS, asyncpg_dsn
from pulse_shared.health import Check, health_router
from pulse_shared.http_auth import Authenticator
from pulse_shared.http_body import openapi_as_declared
from pulse_shared.http_db_errors import answer_database_errors
from pulse_shared.http_disconnect import CancelOnDisconnect
from pulse_shared.http_limits import BodyLimit, validation_error
from pulse_shared.http_metrics import RequestMetrics
from pulse_shared.http_ratelimit import HttpLimits, Limit, RateLimiter, RateLimits, key_prefix
from pulse_shared.logs import configure_logging, get_logger
from pulse_workspace.id_tokens import IdTokenVerifier
from pulse_workspace.mail import Mailer
from pulse_workspace.routes import audit, businesses, invites, keys, operator, sessions, tokens
from pulse_workspace.routes import service as service_tokens
from pulse_workspace.rules import Refused
from pulse_workspace.settings import Settings
from pulse_workspace.signing import Signer
from pulse_workspace.store import init_connection

log = get_logger(__name__)

# Special-use mail domains (the local stack's users are @pulse.local): dev and tests only.
LOCAL_MAIL_DOMAINS = ("local", "test", "localhost")


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.allows_local_mail_domains:
        # email-validator's documented switch: the list it refuses.
        email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
            d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES if d not in LOCAL_MAIL_DOMAINS
        ]
    signer = Signer(settings.signing_seeds(), settings.workspace_issuer, settings.jwt_audience)
    app.state.settings = settings
    app.state.signer = signer
    # Its own tokens, checked against its own keys (the issuer its own name).
    own = settings.model_copy(update={"jwt_issuer": settings.workspace_issuer})
    app.state.authenticator = Authenticator(own, keys=signer.key_set())
    app.state.id_tokens = (
        IdTokenVerifier(settings.oidc_issuer, settings.oidc_client_id)
        if settings.oidc_issuer and settings.oidc_client_id
        else None
    )
    app.state.mailer = Mailer(settings)
    # min_size 0: the service starts (and says it is not ready) while the database is away.
    app.state.pool = await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url),
        min_size=0,
        max_size=settings.db_pool_size,
        server_settings={**SERVER_SETTINGS, "timezone": "UTC"},
        init=init_connection,
        timeout=CONNECT_TIMEOUT_S,
    )
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    app.state.redis = redis
    if settings.rate_limits_enabled:
        app.state.rate_limits = (
            RateLimiter(redis, key_prefix(settings.topic_prefix)),
            http_limits(settings),
        )
    try:
        yield
    finally:
        await app.state.pool.close()
        await redis.aclose()


def http_limits(settings: Settings) -> HttpLimits:
    return HttpLimits(
        address=Limit.parse("address", settings.rate_limit_address),
        token=Limit.parse("token", settings.rate_limit_token),
        # Refused sign-ins and API-token exchanges (401) per address: guessing is slow.
        auth_failures=Limit.parse("auth-failures", settings.rate_limit_auth_failures),
        trusted_proxies=frozenset(settings.trusted_proxies),
        # Probes and scrapes (/healthz, /readyz, /metrics) are the orchestrator's.
        path_prefix=("/v1/", "/.well-known/"),
    )


def _checks() -> Mapping[str, Check]:
    async def database() -> bool:
        return bool(await app.state.pool.fetchval("SELECT 1") == 1)

    async def redis() -> bool:
        return bool(await app.state.redis.ping())

    return {"database": database, "redis": redis}


# The largest body is an ID token (a few kilobytes).
MAX_BODY_BYTES = 16 * 1024

app = FastAPI(
    title="Pulse workspace",
    description="Members and roles, invites, personal API tokens, the audit log; Pulse's "
    "access tokens.",
    version="0.1.0",
    lifespan=lifespan,
)


async def refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


app.add_exception_handler(Refused, refused)
answer_database_errors(app, "the workspace database")
app.add_exception_handler(RequestValidationError, validation_error)
app.add_middleware(CancelOnDisconnect)
app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
app.add_middleware(RateLimits)
app.add_middleware(RequestMetrics, service="workspace")
for router in (keys, sessions, businesses, invites, tokens, audit, operator, service_tokens):
    app.include_router(router.router)
app.include_router(health_router(_checks))

app.openapi = openapi_as_declared(app)  # type: ignore[method-assign]
