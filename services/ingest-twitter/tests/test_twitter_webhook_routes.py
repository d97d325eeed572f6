"""ingest-twitter's webhook routes as a real process over real Redis and Kafka: the CRC
challenge, a signed delivery moving a tracked post's poll earlier, and every refusal
(bad signature, missing header, malformed body, oversized body, duplicate)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from redis.asyncio import Redis

from pulse_shared.ingest.contracts import TrackedPost
from pulse_shared.ingest.tracking import PollSchedule, schedule_key_prefix
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, start_service

pytestmark = pytest.mark.integration

SECRET = "consumer-secret-" + secrets.token_hex(8)
# Long enough that the service's poller never finds a debounced post due while a test
# runs, however slow the machine.
DEBOUNCE = timedelta(minutes=10)


@pytest.fixture(scope="module")
def ingest(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    env = infra.env(
        PULSE_DATABASE_URL=infra.ingest_database_url,
        PULSE_WEBHOOK_SECRET=SECRET,
        PULSE_WEBHOOK_DEBOUNCE_S=str(DEBOUNCE.total_seconds()),
        PULSE_WEBHOOK_MAX_BYTES="20000",
        PULSE_API_BASE_URL="http://127.0.0.1:9",  # never reached: nothing is connected
    )
    # Ready: Kafka and Redis answer, so a signed delivery is taken, not refused with 503.
    service = start_service(
        "ingest-twitter", "pulse_ingest_twitter.app:app", env,
        str(tmp_path_factory.mktemp("logs")), ready_path="/readyz",
    )  # fmt: skip
    try:
        yield service
    finally:
        service.stop()


def signature(body: bytes, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def favorite(tweet_id: str) -> bytes:
    return json.dumps({
        "for_user_id": "2244994945",
        "favorite_events": [{
            "id": secrets.token_hex(8), "created_at": "Mon Mar 26 16:33:26 +0000 2018",
            "timestamp_ms": 1522082006140, "favorited_status": {"id_str": tweet_id},
            "user": {"id_str": "3001"},
        }],
    }).encode()  # fmt: skip


async def test_crc_challenge_answers_the_hmac_of_the_token(ingest: ServiceProcess) -> None:
    token = "M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0"  # the shape X sends
    async with httpx.AsyncClient(base_url=ingest.url) as client:
        response = await client.get("/webhooks", params={"crc_token": token})
    assert response.status_code == 200
    expected = hmac.new(SECRET.encode(), token.encode(), hashlib.sha256).digest()
    assert response.json() == {"response_token": "sha256=" + base64.b64encode(expected).decode()}


async def test_a_signed_delivery_brings_the_post_forward_once(
    infra: Infra, ingest: ServiceProcess
) -> None:
    redis = Redis.from_url(infra.redis_url)
    schedule = PollSchedule(redis, key_prefix=schedule_key_prefix(infra.topic_prefix))
    now = datetime.now(UTC)
    tweet = str(10**18 + secrets.randbelow(10**17))
    post = TrackedPost(42, "twitter", tweet, "2244994945", now - timedelta(days=3))
    try:
        # Polled just now, next poll in an hour (a 3-day-old post). Tracked with its
        # first poll that late, not due now: the service's poller never claims it.
        assert await schedule.track(post, now=now + timedelta(hours=1))
        due_before = await schedule.due_at(post)
        assert due_before == now + timedelta(hours=1)

        body = favorite(tweet)
        # The service reads its own clock: its "now" lies between these two readings of
        # the same system clock.
        sent = datetime.now(UTC)
        async with httpx.AsyncClient(base_url=ingest.url) as client:
            first = await client.post(
                "/webhooks", content=body,
                headers={"x-twitter-webhooks-signature": signature(body)},
            )  # fmt: skip
            answered = datetime.now(UTC)
            again = await client.post(
                "/webhooks", content=body,
                headers={"x-twitter-webhooks-signature": signature(body)},
            )  # fmt: skip
        assert first.status_code == 200, first.text
        # The answer says nothing of the post (tracked or not); the schedule shows the effect.
        assert first.json() == {"deliveries": 1, "duplicates": 0}
        due_after = await schedule.due_at(post)
        assert due_after is not None
        # Brought forward to the service's now plus the debounce.
        assert sent + DEBOUNCE <= due_after <= answered + DEBOUNCE < due_before
        assert again.json()["duplicates"] == 1  # a platform retry is acknowledged, not redone
    finally:
        await schedule.untrack(post)
        await redis.aclose()


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"x-twitter-webhooks-signature": signature(favorite("1"), "wrong")}, favorite("1"), 401),
        ({"x-twitter-webhooks-signature": signature(favorite("1"))}, favorite("2"), 401),
        ({}, favorite("1"), 401),
        ({"x-twitter-webhooks-signature": signature(b"{not json")}, b"{not json", 400),
        ({"x-twitter-webhooks-signature": signature(b"x" * 30000)}, b"x" * 30000, 413),
    ],
    ids=["wrong-secret", "tampered-body", "missing-header", "malformed", "oversized"],
)
async def test_refusals(
    ingest: ServiceProcess, headers: dict[str, str], body: bytes, status: int
) -> None:
    async with httpx.AsyncClient(base_url=ingest.url) as client:
        response = await client.post("/webhooks", content=body, headers=headers)
    assert response.status_code == status, response.text


async def test_with_kafka_away_a_delivery_is_refused_with_503(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Nothing a re-poll would find could be published: the platform keeps the delivery
    and retries it. The service itself runs (alive, not ready)."""
    env = infra.env(PULSE_WEBHOOK_SECRET=SECRET, PULSE_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    service = start_service(
        "ingest-twitter-no-kafka", "pulse_ingest_twitter.app:app", env,
        str(tmp_path_factory.mktemp("logs")),
    )  # fmt: skip
    try:
        body = favorite("123")
        async with httpx.AsyncClient(base_url=service.url) as client:
            response = await client.post(
                "/webhooks", content=body,
                headers={"x-twitter-webhooks-signature": signature(body)},
            )  # fmt: skip
            ready = await client.get("/readyz")
    finally:
        service.stop()
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "30"
    assert ready.status_code == 503
