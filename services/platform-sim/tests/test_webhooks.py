"""Webhook deliveries: signatures checked with an independent HMAC computation, payload
shapes, and the handshakes performed against a real HTTP receiver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from pulse_platform_sim.app import random_webhooks
from pulse_platform_sim.population import Apps
from pulse_platform_sim.testing import Sim
from pulse_platform_sim.webhooks import (
    KINDS,
    linkedin_challenge_code,
    meta_challenge,
    x_crc_nonce,
    x_crc_token,
)
from pulse_shared.events import PLATFORMS


def hmac_sha256(key: str, message: bytes) -> bytes:
    return hmac.new(key.encode(), message, hashlib.sha256).digest()


def x_valid(apps: Apps, headers: dict[str, str], body: bytes) -> bool:
    expected = (
        "sha256=" + base64.b64encode(hmac_sha256(apps.twitter_consumer_secret, body)).decode()
    )
    return headers.get("x-twitter-webhooks-signature") == expected


def linkedin_valid(apps: Apps, headers: dict[str, str], body: bytes) -> bool:
    expected = hmac_sha256(apps.linkedin_client_secret, b"hmacsha256=" + body).hex()
    return headers.get("x-li-signature") == expected


def meta_valid(apps: Apps, headers: dict[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac_sha256(apps.meta_app_secret, body).hex()
    return headers.get("x-hub-signature-256") == expected


async def build(sim: Sim, platform: str, post_id: str, kind: str) -> tuple[dict[str, str], bytes]:
    response = await sim.client.post(
        "/_sim/webhooks/build", json={"platform": platform, "post_id": post_id, "kind": kind}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    return {k.lower(): v for k, v in answer["headers"].items()}, answer["body"].encode()


async def test_x_deliveries_are_signed_and_shaped(sim: Sim) -> None:
    apps = sim.state.population.apps
    post = sim.post("twitter")
    owner = sim.account("twitter").account_id
    headers, body = await build(sim, "twitter", post.post_id, "favorite")
    assert x_valid(apps, headers, body)
    payload = json.loads(body)
    assert payload["for_user_id"] == owner
    [event] = payload["favorite_events"]
    assert event["favorited_status"]["id_str"] == post.post_id
    assert {"id", "created_at", "timestamp_ms", "user"} <= set(event)
    headers, body = await build(sim, "twitter", post.post_id, "reply")
    reply = json.loads(body)["tweet_create_events"][0]
    assert reply["in_reply_to_status_id_str"] == post.post_id
    assert x_valid(apps, headers, body)
    assert not x_valid(apps, headers, body + b" ")


async def test_linkedin_deliveries_are_signed_and_shaped(sim: Sim) -> None:
    apps = sim.state.population.apps
    post = sim.post("linkedin")
    headers, body = await build(sim, "linkedin", post.post_id, "COMMENT")
    assert linkedin_valid(apps, headers, body)
    assert headers["x-li-signature"] == headers["x-li-signature"].lower()
    payload = json.loads(body)
    assert payload["type"] == "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS"
    [notification] = payload["notifications"]
    assert notification["action"] == "COMMENT"
    assert notification["sourcePost"] == post.post_id
    assert notification["organizationalEntity"] == sim.account("linkedin").account_id
    assert isinstance(notification["notificationId"], int)
    _, second = await build(sim, "linkedin", post.post_id, "LIKE")
    assert json.loads(second)["notifications"][0]["notificationId"] > notification["notificationId"]


async def test_meta_deliveries_are_signed_and_shaped(sim: Sim) -> None:
    apps = sim.state.population.apps
    post = sim.post("facebook")
    headers, body = await build(sim, "facebook", post.post_id, "reaction")
    assert meta_valid(apps, headers, body)
    payload = json.loads(body)
    assert payload["object"] == "page"
    [entry] = payload["entry"]
    assert entry["id"] == sim.account("facebook").account_id
    [change] = entry["changes"]
    assert change["field"] == "feed"
    assert change["value"]["item"] == "reaction"
    assert change["value"]["post_id"] == post.post_id
    media = sim.post("instagram")
    headers, body = await build(sim, "instagram", media.post_id, "comment")
    assert meta_valid(apps, headers, body)
    instagram = json.loads(body)
    assert instagram["object"] == "instagram"
    assert instagram["entry"][0]["changes"][0]["value"]["media"]["id"] == media.post_id


async def test_an_unknown_kind_is_refused(sim: Sim) -> None:
    response = await sim.client.post(
        "/_sim/webhooks/build",
        json={"platform": "linkedin", "post_id": sim.post("linkedin").post_id, "kind": "favorite"},
    )
    assert response.status_code == 422


# --- handshake tokens ----------------------------------------------------------------------

# The shapes the platforms document, as the ingest services check them.
X_CRC_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}={0,2}")
V4_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
META_CHALLENGE = re.compile(r"[0-9]{1,20}")


def test_handshake_tokens_have_the_documented_shapes() -> None:
    for _ in range(200):
        token = x_crc_token()
        # Base64 of a UUID, as X sends: 48 characters that decode to the UUID's text.
        assert X_CRC_TOKEN.fullmatch(token)
        assert len(token) == 48
        assert V4_UUID.fullmatch(base64.b64decode(token).decode())
        assert V4_UUID.fullmatch(linkedin_challenge_code())
        assert META_CHALLENGE.fullmatch(meta_challenge())
    assert x_crc_nonce(datetime(2026, 1, 27, 12, 51, 32, 914000, UTC)) == "MTc2OTUxODI5MjkxNA"


# --- against a real receiver ---------------------------------------------------------------


@dataclass
class Receiver:
    """An ingest service's webhook endpoints, written from the platforms' documentation."""

    apps: Apps
    wrong_crc: bool = False
    received: list[tuple[str, bool, dict[str, Any]]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # the handshake tokens sent

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/x")
        async def crc(crc_token: str) -> dict[str, str]:
            self.tokens["x"] = crc_token
            secret = "wrong" if self.wrong_crc else self.apps.twitter_consumer_secret
            digest = hmac_sha256(secret, crc_token.encode())
            return {"response_token": "sha256=" + base64.b64encode(digest).decode()}

        @app.get("/li")
        async def challenge(challengeCode: str) -> dict[str, str]:
            self.tokens["li"] = challengeCode
            answer = hmac_sha256(self.apps.linkedin_client_secret, challengeCode.encode()).hex()
            return {"challengeCode": challengeCode, "challengeResponse": answer}

        @app.get("/meta")
        async def verify(request: Request) -> Response:
            query = request.query_params
            self.tokens["meta"] = query.get("hub.challenge", "")
            if query.get("hub.verify_token") != self.apps.meta_verify_token:
                return Response(status_code=403)
            return PlainTextResponse(query.get("hub.challenge", ""))

        @app.post("/{path}")
        async def deliver(path: str, request: Request) -> dict[str, bool]:
            body = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            check = {"x": x_valid, "li": linkedin_valid, "meta": meta_valid}[path]
            self.received.append((path, check(self.apps, headers, body), json.loads(body)))
            return {"ok": True}

        return app


@pytest.fixture
async def receiver(sim: Sim) -> AsyncIterator[tuple[Receiver, str]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    receiver = Receiver(sim.state.population.apps)
    config = uvicorn.Config(receiver.app(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = asyncio.get_running_loop().time() + 60  # only against a hang
    while not server.started:
        if task.done() or asyncio.get_running_loop().time() > deadline:
            raise RuntimeError("the webhook receiver did not start")
        await asyncio.sleep(0.02)
    try:
        yield receiver, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_handshakes_and_deliveries_against_a_receiver(
    sim: Sim, receiver: tuple[Receiver, str]
) -> None:
    target, url = receiver
    for api, path in (("twitter", "x"), ("linkedin", "li"), ("meta", "meta")):
        await sim.client.put(
            "/_sim/webhooks/targets", json={"platform": api, "urls": [f"{url}/{path}"]}
        )
        handshake = (await sim.client.post("/_sim/webhooks/verify", json={"platform": api})).json()
        assert [h["ok"] for h in handshake["handshakes"]] == [True], handshake
    # The tokens had the shapes the platforms document (the ingest services answer no other).
    assert X_CRC_TOKEN.fullmatch(target.tokens["x"]), target.tokens
    assert V4_UUID.fullmatch(target.tokens["li"]), target.tokens
    assert META_CHALLENGE.fullmatch(target.tokens["meta"]), target.tokens
    for platform in PLATFORMS:
        sent = await sim.client.post(
            "/_sim/webhooks/send",
            json={"platform": platform, "post_id": sim.post(platform).post_id},
        )
        assert [d["status"] for d in sent.json()["deliveries"]] == [200]
    assert [(path, valid) for path, valid, _ in target.received] == [
        ("li", True),
        ("x", True),
        ("meta", True),
        ("meta", True),
    ]
    target.wrong_crc = True
    failed = (await sim.client.post("/_sim/webhooks/verify", json={"platform": "twitter"})).json()
    assert [h["ok"] for h in failed["handshakes"]] == [False]


async def test_periodic_sending_picks_one_published_post_per_api_with_targets(sim: Sim) -> None:
    await sim.client.put(
        "/_sim/webhooks/targets", json={"platform": "meta", "urls": ["http://127.0.0.1:9/none"]}
    )
    rng = random.Random(1)
    chosen = random_webhooks(sim.state, rng)
    assert len(chosen) == 1
    post, kind = chosen[0]
    assert post.platform in ("facebook", "instagram")
    assert post.published_at <= sim.state.clock.now()
    assert kind in KINDS[post.platform]
    assert random_webhooks(sim.state, random.Random(1)) == chosen  # seeded, repeatable
