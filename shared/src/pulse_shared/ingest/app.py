"""The HTTP app every ingest service starts from: its lifespan wires the shared runtime
(Redis schedule and rate limits, token vault, Kafka producer and consumer, the poll and
follower loops) around the service's own platform parts, and serves the webhook routes
and the operational endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from pulse_shared.db import asyncpg_dsn
from pulse_shared.events import Platform, PostPublished, RefreshRequested
from pulse_shared.health import Check, health_router
from pulse_shared.http_metrics import RequestMetrics
from pulse_shared.http_ratelimit import HttpLimits, Limit, RateLimiter, RateLimits
from pulse_shared.http_ratelimit import key_prefix as http_key_prefix
from pulse_shared.ingest.caller import HttpApiCaller
from pulse_shared.ingest.contracts import PlatformClient, PlatformRules, WebhookReceiver
from pulse_shared.ingest.dedupe import WebhookDeduplicator
from pulse_shared.ingest.metrics import WEBHOOK_DUPLICATES
from pulse_shared.ingest.settings import IngestSettings
from pulse_shared.ingest.tracking import PollSchedule, schedule_key_prefix
from pulse_shared.ingest.vault import TokenVault
from pulse_shared.ingest.worker import IngestWorker
from pulse_shared.kafka import cluster_answers, make_producer
from pulse_shared.logs import configure_logging, get_logger
from pulse_shared.topics import POSTS_PUBLISHED, REFRESH_REQUESTED

log = get_logger(__name__)


@dataclass(frozen=True)
class PlatformParts:
    """What one ingest service brings: the platforms it serves and its platform code."""

    platforms: tuple[Platform, ...]
    rules: PlatformRules
    client: PlatformClient
    receiver: WebhookReceiver | None  # None: webhooks not configured (no secret)


def build_ingest_app(
    name: str,
    settings_type: type[IngestSettings],
    parts_of: Callable[[Any], PlatformParts],
) -> FastAPI:
    """An ingest service's app. ``parts_of(settings)`` builds its platform parts."""

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
        app.state.redis = redis
        app.state.worker = worker
        app.state.receiver = parts.receiver
        app.state.dedupe = WebhookDeduplicator(redis, name, key_prefix=f"pulse{scope}")
        app.state.kafka_up = False
        if settings.rate_limits_enabled:
            # Handshakes and deliveries per source address (the platforms' servers, or
            # whoever pretends to be them), counted across replicas.
            app.state.rate_limits = (
                RateLimiter(redis, http_key_prefix(settings.topic_prefix)),
                HttpLimits(
                    address=Limit.parse("webhooks", settings.rate_limit_webhooks),
                    trusted_proxies=frozenset(settings.trusted_proxies),
                    path_prefix="/webhooks",
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
            ]
            log.info("ingest started", service=name, platforms=list(parts.platforms))
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await producer.stop()
            await caller.aclose()
            await pool.close()
            await redis.aclose()

    app = FastAPI(title=f"Pulse {name}", lifespan=lifespan)
    app.add_middleware(RateLimits)
    app.add_middleware(RequestMetrics, service=name)

    @app.get("/webhooks", summary="The platform's webhook handshake (challenge)")
    async def webhook_handshake(request: Request) -> Response:
        receiver = _receiver(request)
        status, media_type, body = receiver.handshake(dict(request.query_params))
        # Never sniffed as anything but what it says (Meta's echo is text/plain), never cached.
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
        if media_type == "application/json":
            return JSONResponse(body, status_code=status, headers=headers)
        return PlainTextResponse(str(body), status_code=status, headers=headers)

    @app.post("/webhooks", summary="A webhook delivery: signature checked, then a re-poll")
    async def webhook_delivery(request: Request) -> Response:
        receiver = _receiver(request)
        settings: IngestSettings = request.app.state.settings
        if not request.app.state.kafka_up:
            # What the re-poll would publish cannot be published now: the platform keeps
            # the delivery and retries it (it retries a 503).
            return _retry_later("events cannot be published right now (Kafka unreachable)")
        raw = await _body_within(request, settings.webhook_max_bytes)
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


def _receiver(request: Request) -> WebhookReceiver:
    receiver: WebhookReceiver | None = request.app.state.receiver
    if receiver is None:
        raise HTTPException(404, "webhooks are not configured (no webhook secret)")
    return receiver


async def _body_within(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past ``limit`` bytes (read no further than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"body over {limit} bytes")
    return bytes(body)


async def _consume(settings: IngestSettings, name: str, worker: IngestWorker) -> None:
    """posts.published.v1 (track) and refresh.requested.v1 (poll now), in a consumer group
    of the service; offsets committed after handling. A record that is not a valid event
    is logged and skipped (the aggregator dead-letters the posts topic's bad records)."""
    prefix = settings.topic_prefix
    while True:
        consumer = AIOKafkaConsumer(
            prefix + POSTS_PUBLISHED,
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
        else:
            await worker.on_refresh_requested(RefreshRequested.model_validate_json(value or b""))
    except (ValidationError, json.JSONDecodeError) as exc:
        log.warning("record skipped: not a valid event", topic=topic, error=str(exc)[:500])
