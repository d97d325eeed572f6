"""The HTTP app every ingest service starts from: its lifespan wires the shared runtime
(Redis schedule and rate limits, token vault, Kafka producer and consumer, the poll and
follower loops) around the service's own platform parts, and serves the webhook routes
and the operational endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI, HTTPException, Request, Response, Security
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import APIKeyHeader
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from pulse_shared.background import stop_loops
from pulse_shared.db import asyncpg_dsn
from pulse_shared.events import Platform, PostPublished, PostRemoved, RefreshRequested
from pulse_shared.health import Check, health_router
from pulse_shared.http_auth import Authenticator
from pulse_shared.http_body import openapi_as_declared
from pulse_shared.http_limits import BodyLimit
from pulse_shared.http_metrics import RequestMetrics
from pulse_shared.http_ratelimit import HttpLimits, Limit, RateLimiter, RateLimits
from pulse_shared.http_ratelimit import key_prefix as http_key_prefix
from pulse_shared.ingest.caller import HttpApiCaller
from pulse_shared.ingest.connect import (
    AccountSync,
    ConnectFlow,
    ConnectStates,
    TokenRefresher,
    redis_prefix,
)
from pulse_shared.ingest.connect_routes import router as connect_router
from pulse_shared.ingest.contracts import (
    PlatformClient,
    PlatformRules,
    WebhookApi,
    WebhookReceiver,
)
from pulse_shared.ingest.dedupe import WebhookDeduplicator
from pulse_shared.ingest.metrics import WEBHOOK_DUPLICATES
from pulse_shared.ingest.oauth import OAuthClient, PostLister
from pulse_shared.ingest.settings import IngestSettings
from pulse_shared.ingest.tracking import PollSchedule, schedule_key_prefix
from pulse_shared.ingest.vault import TokenVault
from pulse_shared.ingest.worker import IngestWorker
from pulse_shared.kafka import cluster_answers, make_producer
from pulse_shared.logs import configure_logging, get_logger
from pulse_shared.topics import POSTS_PUBLISHED, POSTS_REMOVED, REFRESH_REQUESTED

log = get_logger(__name__)


@dataclass(frozen=True)
class PlatformParts:
    """What one ingest service brings: the platforms it serves and its platform code."""

    platforms: tuple[Platform, ...]
    rules: PlatformRules
    client: PlatformClient
    receiver: WebhookReceiver | None  # None: webhooks not configured (no secret)
    # Connecting accounts (its OAuth flow) and listing their posts; None: not built yet.
    oauth: OAuthClient | None = None
    lister: PostLister | None = None


def _json_answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_DETAIL = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}
_NOT_CONFIGURED = _json_answer("Webhooks are not configured (no webhook secret)", _DETAIL)
_RATE_LIMITED = _json_answer("Too many requests from this address (see Retry-After)", _DETAIL)
HANDSHAKE_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: _json_answer(
        "A parameter is missing or not of the shape the platform sends (the message names "
        "it and the shape, never the value given)",
        {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    ),
    404: _NOT_CONFIGURED,
    429: _RATE_LIMITED,
}
DELIVERY_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: _json_answer(
        "Taken: its posts are re-polled soon. The same answer whether or not they are "
        "tracked; duplicates counts deliveries seen before (the platform's retries)",
        {
            "type": "object",
            "required": ["deliveries", "duplicates"],
            "properties": {
                "deliveries": {"type": "integer", "minimum": 0},
                "duplicates": {"type": "integer", "minimum": 0},
            },
        },
    ),
    400: _json_answer("Signed, but not a delivery of the platform's shape", _DETAIL),
    401: _json_answer("The signature is missing, or is not the body's", _DETAIL),
    404: _NOT_CONFIGURED,
    413: _json_answer("The body is over PULSE_WEBHOOK_MAX_BYTES", _DETAIL),
    429: _RATE_LIMITED,
    503: _json_answer(
        "Kafka or the poll schedule cannot be reached: nothing was taken, the platform "
        "retries (Retry-After)",
        _DETAIL,
    ),
}


def _connect_parts(
    app: FastAPI,
    name: str,
    settings: IngestSettings,
    parts: PlatformParts,
    redis: Redis,
    vault: TokenVault,
    worker: IngestWorker,
    http: httpx.AsyncClient,
) -> dict[str, Coroutine[Any, Any, None]]:
    """The account sync (when the platform's posts can be listed) and the connect flow
    with its token refresher (when its OAuth client and redirect URI are configured); the
    loops to run in the background, by name."""
    app.state.connect = None
    if parts.lister is None:
        return {}
    keys = redis_prefix(name, settings.topic_prefix)
    sync = AccountSync(
        platforms=parts.platforms, client=parts.client, lister=parts.lister,
        caller=worker.caller, vault=vault, schedule=worker.schedule, producer=worker.producer,
        redis=redis, topic_prefix=settings.topic_prefix, backfill_days=settings.backfill_days,
        discovery_every_s=settings.discovery_every_s,
    )  # fmt: skip
    worker.discovery = sync
    loops: dict[str, Coroutine[Any, Any, None]] = {"account-sync": sync.run()}
    if parts.oauth is None or not settings.oauth_redirect_uri:
        return loops
    Authenticator.check_configuration(settings)
    app.state.authenticator = Authenticator(settings)
    app.state.connect = ConnectFlow(
        service=name, oauth=parts.oauth, vault=vault,
        states=ConnectStates(redis, keys, settings.token_keys()), http=http, sync=sync,
        redirect_uri=settings.oauth_redirect_uri, return_urls=tuple(settings.oauth_return_urls),
    )  # fmt: skip
    refresher = TokenRefresher(
        platforms=parts.platforms, oauth=parts.oauth, vault=vault, http=http, redis=redis,
        key_prefix=keys, margin_s=settings.token_refresh_margin_s,
    )  # fmt: skip
    return {**loops, "token-refresh": refresher.run()}


def build_ingest_app(
    name: str,
    settings_type: type[IngestSettings],
    parts_of: Callable[[Any], PlatformParts],
    webhook_api: WebhookApi,
) -> FastAPI:
    """An ingest service's app. ``parts_of(settings)`` builds its platform parts;
    ``webhook_api`` is how its webhooks look in its OpenAPI document."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = settings_type()
        configure_logging(settings.log_level, settings.log_json)
        parts = parts_of(settings)
        redis = Redis.from_url(settings.redis_url)
        pool = await asyncpg.create_pool(asyncpg_dsn(settings.database_url), min_size=0, max_size=4)
        vault = TokenVault(pool, settings.token_keys())
        producer = make_producer(settings.kafka())
        caller = HttpApiCaller.from_settings(
            settings, parts.rules, redis, on_token_invalid=vault.mark_needs_reconnection
        )
        # Every test run (and every deployment sharing a Redis) keeps its own keys.
        scope = f":{settings.topic_prefix}" if settings.topic_prefix else ""
        worker = IngestWorker(
            platforms=parts.platforms,
            client=parts.client,
            caller=caller,
            schedule=PollSchedule(redis, key_prefix=schedule_key_prefix(settings.topic_prefix)),
            vault=vault,
            producer=producer,
            topic_prefix=settings.topic_prefix,
            poll_batch_size=settings.poll_batch_size,
            poll_lease_s=settings.poll_lease_s,
            webhook_debounce_s=settings.webhook_debounce_s,
        )
        app.state.settings = settings
        app.state.max_body_bytes = settings.webhook_max_bytes  # BodyLimit's cap
        app.state.redis = redis
        app.state.worker = worker
        app.state.receiver = parts.receiver
        app.state.dedupe = WebhookDeduplicator(redis, name, key_prefix=f"pulse{scope}")
        app.state.kafka_up = False
        app.state.pool = pool
        # Connecting accounts and syncing their posts (pulse_shared.ingest.connect).
        http = httpx.AsyncClient(timeout=settings.http_timeout_s, follow_redirects=False)
        background = _connect_parts(app, name, settings, parts, redis, vault, worker, http)
        if settings.rate_limits_enabled:
            # Handshakes and deliveries per source address (the platforms' servers, or
            # whoever pretends to be them), counted across replicas.
            app.state.rate_limits = (
                RateLimiter(redis, http_key_prefix(settings.topic_prefix)),
                HttpLimits(
                    address=Limit.parse("webhooks", settings.rate_limit_webhooks),
                    trusted_proxies=frozenset(settings.trusted_proxies),
                    path_prefix=("/webhooks", "/connect/"),
                ),
            )
        tasks: list[asyncio.Task[None]] = []
        try:
            tasks = [
                asyncio.create_task(_watch_kafka(app, settings), name="kafka-watch"),
                # The service starts (not ready) while Kafka is away; polls wait for it.
                asyncio.create_task(_start_producer(producer), name="producer"),
                asyncio.create_task(_consume(settings, name, worker), name="consume"),
                asyncio.create_task(worker.run_polls(settings.poll_idle_s), name="poll"),
                asyncio.create_task(
                    worker.run_followers(settings.followers_every_s), name="followers"
                ),
                *(asyncio.create_task(job, name=loop) for loop, job in background.items()),
            ]
            log.info("ingest started", service=name, platforms=list(parts.platforms))
            yield
        finally:
            await stop_loops(tasks)
            await producer.stop()
            await caller.aclose()
            await http.aclose()
            await pool.close()
            await redis.aclose()

    app = FastAPI(title=f"Pulse {name}", lifespan=lifespan)
    app.openapi = openapi_as_declared(app)  # type: ignore[method-assign]
    app.include_router(connect_router)
    app.add_middleware(BodyLimit)
    app.add_middleware(RateLimits)
    app.add_middleware(RequestMetrics, service=name)
    app.add_exception_handler(405, _method_not_allowed)

    # The signature is the delivery's credential, so OpenAPI states it as a security scheme
    # (a header the caller must present). The receiver checks it over the raw body; this
    # dependency only declares it.
    signature = APIKeyHeader(
        name=webhook_api.signature_header,
        scheme_name="WebhookSignature",
        description=webhook_api.signature_description,
        auto_error=False,
    )

    @app.get(
        "/webhooks",
        summary="The platform's webhook handshake (challenge)",
        response_class=Response,
        responses={**HANDSHAKE_REFUSALS, **webhook_api.handshake_answers},
        openapi_extra={"parameters": list(webhook_api.handshake_parameters)},
    )
    async def webhook_handshake(request: Request) -> Response:
        receiver = _receiver(request)
        status, media_type, body = receiver.handshake(dict(request.query_params))
        # Never sniffed as anything but what it says (Meta's echo is text/plain), never cached.
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
        if media_type == "application/json":
            return JSONResponse(body, status_code=status, headers=headers)
        return PlainTextResponse(str(body), status_code=status, headers=headers)

    @app.post(
        "/webhooks",
        summary="A webhook delivery: signature checked, then a re-poll",
        dependencies=[Security(signature)],
        responses=DELIVERY_ANSWERS,
        # The body is read raw (the signature is over its exact bytes), so it is declared
        # here rather than as a parameter.
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": webhook_api.delivery_schema}},
            }
        },
    )
    async def webhook_delivery(request: Request) -> Response:
        receiver = _receiver(request)
        if not request.app.state.kafka_up:
            # What the re-poll would publish cannot be published now: the platform keeps
            # the delivery and retries it (it retries a 503).
            return _retry_later("events cannot be published right now (Kafka unreachable)")
        raw = await request.body()  # at most webhook_max_bytes: BodyLimit
        # The signature is checked over the raw bytes, before anything is parsed.
        if not receiver.verify(dict(request.headers), raw):
            raise HTTPException(401, "signature missing or invalid")
        try:
            deliveries = receiver.parse(raw)
        except ValueError as exc:
            # The reason may quote the body: a short excerpt of it at most.
            raise HTTPException(400, f"malformed delivery: {str(exc)[:200]}") from exc
        worker: IngestWorker = request.app.state.worker
        dedupe: WebhookDeduplicator = request.app.state.dedupe
        duplicates = 0
        for delivery in deliveries:
            try:
                if not await dedupe.first_time(delivery.delivery_id):
                    duplicates += 1
                    WEBHOOK_DUPLICATES.labels(name).inc()
                    continue
                try:
                    for platform in worker.platforms:
                        await worker.on_webhook(platform, delivery)
                except (RedisError, OSError):
                    await dedupe.release(delivery.delivery_id)  # the platform's retry is new
                    raise
            except (RedisError, OSError) as exc:
                # Nothing acknowledged is lost: the platform retries a 503.
                log.warning("webhook not scheduled", error=repr(exc))
                return _retry_later("the poll schedule cannot be written right now")
        # The same answer whether or not the posts named are tracked: how many polls moved
        # would tell anyone holding a signed delivery which posts Pulse follows.
        return JSONResponse({"deliveries": len(deliveries), "duplicates": duplicates})

    def checks() -> Mapping[str, Check]:
        async def kafka() -> bool:
            up = await cluster_answers(app.state.settings.kafka(), timeout_s=2.0)
            # The newest word on Kafka, for the webhook route too: a service that answers
            # ready takes deliveries (the watcher's first look may not have ended yet).
            app.state.kafka_up = up
            return up

        async def redis() -> bool:
            return bool(await app.state.redis.ping())

        return {"kafka": kafka, "redis": redis}

    app.include_router(health_router(checks))
    return app


KAFKA_WATCH_EVERY_S = 5.0


async def _start_producer(producer: AIOKafkaProducer) -> None:
    while True:
        try:
            await producer.start()
            return
        except (KafkaError, OSError) as exc:
            log.warning("Kafka not reachable yet; retrying", error=repr(exc))
            await asyncio.sleep(2.0)


async def _watch_kafka(app: FastAPI, settings: IngestSettings) -> None:
    """Keep ``app.state.kafka_up`` current (a metadata request every few seconds), so a
    webhook delivery can be refused with 503 while nothing could be published."""
    while True:
        app.state.kafka_up = await cluster_answers(settings.kafka(), timeout_s=KAFKA_WATCH_EVERY_S)
        await asyncio.sleep(KAFKA_WATCH_EVERY_S)


def _retry_later(why: str) -> JSONResponse:
    return JSONResponse(
        {"detail": f"temporarily unavailable: {why}; retry"},
        status_code=503,
        headers={"Retry-After": "30"},
    )


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 naming every method of the path in Allow. Starlette answers from the first route
    whose path matches, naming its methods only: "Allow: GET" for a PUT to /webhooks,
    whose GET and POST are two routes of the app."""
    headers = exc.headers if isinstance(exc, StarletteHTTPException) else None
    said = (headers or {}).get("Allow", "")
    allowed = {method.strip() for method in said.split(",") if method.strip()}
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] is Match.PARTIAL:
            allowed |= getattr(route, "methods", None) or set()
    return JSONResponse(
        {"detail": "Method Not Allowed"},
        status_code=405,
        headers={"Allow": ", ".join(sorted(allowed))},
    )


def _receiver(request: Request) -> WebhookReceiver:
    receiver: WebhookReceiver | None = request.app.state.receiver
    if receiver is None:
        raise HTTPException(404, "webhooks are not configured (no webhook secret)")
    return receiver


async def _consume(settings: IngestSettings, name: str, worker: IngestWorker) -> None:
    """posts.published.v1 (track), posts.removed.v1 (stop polling) and refresh.requested.v1
    (poll now), in a consumer group
    of the service; offsets committed after handling. A record that is not a valid event
    is logged and skipped (the aggregator dead-letters the posts topic's bad records)."""
    prefix = settings.topic_prefix
    while True:
        consumer = AIOKafkaConsumer(
            prefix + POSTS_PUBLISHED,
            prefix + POSTS_REMOVED,
            prefix + REFRESH_REQUESTED,
            **settings.kafka().options(),
            group_id=f"{prefix}{name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        try:
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                for tp, records in batches.items():
                    for record in records:
                        await _handle(worker, tp.topic, prefix, record.value)
                if batches:
                    await consumer.commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("consumer failed; restarting", error=repr(exc))
            await asyncio.sleep(2.0)
        finally:
            await consumer.stop()


async def _handle(worker: IngestWorker, topic: str, prefix: str, value: bytes | None) -> None:
    try:
        if topic == prefix + POSTS_PUBLISHED:
            await worker.on_post_published(PostPublished.model_validate_json(value or b""))
        elif topic == prefix + POSTS_REMOVED:
            await worker.on_post_removed(PostRemoved.model_validate_json(value or b""))
        else:
            await worker.on_refresh_requested(RefreshRequested.model_validate_json(value or b""))
    except (ValidationError, json.JSONDecodeError) as exc:
        log.warning("record skipped: not a valid event", topic=topic, error=str(exc)[:500])
