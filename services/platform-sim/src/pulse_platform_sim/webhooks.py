"""Webhook deliveries as the platforms send them, and their handshakes as the platforms
perform them.

Signatures (computed over the exact bytes sent):
- X Account Activity: ``x-twitter-webhooks-signature: sha256=`` + base64 HMAC-SHA256
  keyed with the consumer secret; CRC: ``GET ?crc_token=T&nonce=N`` (T: base64 of a UUID,
  as X sends) answered with
  ``{"response_token": "sha256=" + base64 HMAC-SHA256(consumer secret, T)}``.
- LinkedIn: ``X-LI-Signature`` = lowercase hex HMAC-SHA256(client secret,
  ``"hmacsha256=" + body``); validation: ``GET ?challengeCode=C`` (C: a version-4 UUID)
  answered with
  ``{"challengeCode": C, "challengeResponse": hex HMAC-SHA256(client secret, C)}``.
- Meta: ``X-Hub-Signature-256: sha256=`` + hex HMAC-SHA256(app secret, body);
  verification: ``GET ?hub.mode=subscribe&hub.challenge=N&hub.verify_token=V`` (N: a
  10-digit number) answered with the challenge as the body.

The handshake tokens have the platforms' documented shapes: receivers answer only those.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from pulse_platform_sim.clock import SimClock
from pulse_platform_sim.population import Account, Api, Population, Post, api_of

# What can happen to a post, per platform, as its webhooks name it.
KINDS: dict[str, tuple[str, ...]] = {
    "twitter": ("favorite", "reply", "retweet", "quote", "follow", "delete"),
    "linkedin": ("LIKE", "COMMENT", "SHARE"),
    "facebook": ("reaction", "comment", "share"),
    "instagram": ("comment",),
}


# --- signatures -------------------------------------------------------------------------


def _hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def x_signature(consumer_secret: str, body: bytes) -> str:
    return "sha256=" + base64.b64encode(_hmac(consumer_secret, body)).decode()


def x_crc_response_token(consumer_secret: str, crc_token: str) -> str:
    return "sha256=" + base64.b64encode(_hmac(consumer_secret, crc_token.encode())).decode()


def linkedin_signature(client_secret: str, body: bytes) -> str:
    return _hmac(client_secret, b"hmacsha256=" + body).hex()


def linkedin_challenge_response(client_secret: str, challenge_code: str) -> str:
    return _hmac(client_secret, challenge_code.encode()).hex()


def meta_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + _hmac(app_secret, body).hex()


def _meta_sha1_signature(app_secret: str, body: bytes) -> str:
    # Meta still sends the legacy SHA-1 header beside the SHA-256 one.
    return "sha1=" + hmac.new(app_secret.encode(), body, hashlib.sha1).hexdigest()


# --- payloads ---------------------------------------------------------------------------


def _x_time(at: datetime) -> str:
    return at.strftime("%a %b %d %H:%M:%S +0000 %Y")


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class PayloadBuilder:
    """Builds delivery bodies; ids of the people acting come from a seeded generator."""

    def __init__(self, population: Population, seed: int) -> None:
        self._population = population
        self._rng = random.Random(f"{seed}:webhooks")
        self._notification_id = 4_406_000

    def _fan_id(self) -> str:
        return str(self._rng.randrange(10**9, 10**18))

    def _x_user(self, user_id: str, handle: str, name: str) -> dict[str, Any]:
        return {"id": int(user_id), "id_str": user_id, "name": name, "screen_name": handle}

    def _x_status(self, post: Post, owner: Account) -> dict[str, Any]:
        return {
            "created_at": _x_time(post.published_at),
            "id": int(post.post_id),
            "id_str": post.post_id,
            "text": post.content,
            "user": self._x_user(owner.account_id, owner.handle, owner.name),
        }

    def twitter(self, post: Post, kind: str, at: datetime) -> dict[str, Any]:
        owner = self._account_of(post)
        fan_id = self._fan_id()
        fan = self._x_user(fan_id, f"fan{fan_id[-6:]}", f"Fan {fan_id[-6:]}")
        status = self._x_status(post, owner)
        new_id = str(int(post.post_id) + self._rng.randrange(1 << 22, 1 << 40))
        tweet = {"created_at": _x_time(at), "id": int(new_id), "id_str": new_id, "user": fan}
        payload: dict[str, Any] = {"for_user_id": owner.account_id}
        if kind == "favorite":
            payload["favorite_events"] = [
                {
                    "id": uuid.UUID(int=self._rng.getrandbits(128)).hex,
                    "created_at": _x_time(at),
                    "timestamp_ms": _ms(at),
                    "favorited_status": status,
                    "user": fan,
                }
            ]
        elif kind == "reply":
            tweet |= {
                "text": f"@{owner.handle} great post!",
                "in_reply_to_status_id": int(post.post_id),
                "in_reply_to_status_id_str": post.post_id,
                "in_reply_to_user_id_str": owner.account_id,
                "in_reply_to_screen_name": owner.handle,
            }
            payload["tweet_create_events"] = [tweet]
        elif kind == "retweet":
            tweet |= {"text": f"RT @{owner.handle}: {post.content}", "retweeted_status": status}
            payload["tweet_create_events"] = [tweet]
        elif kind == "quote":
            tweet |= {
                "text": "Worth reading",
                "is_quote_status": True,
                "quoted_status_id_str": post.post_id,
                "quoted_status": status,
            }
            payload["tweet_create_events"] = [tweet]
        elif kind == "follow":
            payload["follow_events"] = [
                {
                    "type": "follow",
                    "created_timestamp": str(_ms(at)),
                    "target": self._x_user(owner.account_id, owner.handle, owner.name),
                    "source": fan,
                }
            ]
        elif kind == "delete":
            payload["tweet_delete_events"] = [
                {
                    "status": {"id": post.post_id, "user_id": owner.account_id},
                    "timestamp_ms": str(_ms(at)),
                }
            ]
        return payload

    def linkedin(self, post: Post, kind: str, at: datetime) -> dict[str, Any]:
        self._notification_id += 1
        return {
            "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
            "notifications": [
                {
                    "notificationId": self._notification_id,
                    "action": kind,
                    "organizationalEntity": post.account_id,
                    "sourcePost": post.post_id,
                    "lastModifiedAt": _ms(at),
                }
            ],
        }

    def facebook(self, post: Post, kind: str, at: datetime) -> dict[str, Any]:
        created = int(at.timestamp())
        fan = {"id": self._fan_id(), "name": "A Fan"}
        value: dict[str, Any] = {
            "item": kind,
            "verb": "add",
            "post_id": post.post_id,
            "parent_id": post.post_id,
            "from": fan,
            "created_time": created,
        }
        if kind == "reaction":
            value["reaction_type"] = self._rng.choice(("like", "love", "wow", "haha"))
        elif kind == "comment":
            story = post.post_id.partition("_")[2]
            value |= {"comment_id": f"{story}_{self._fan_id()}", "message": "Love this!"}
        elif kind == "share":
            value["share_id"] = f"{fan['id']}_{self._fan_id()}"
        return {
            "object": "page",
            "entry": [
                {
                    "id": post.account_id,
                    "time": created,
                    "changes": [{"field": "feed", "value": value}],
                }
            ],
        }

    def instagram(self, post: Post, kind: str, at: datetime) -> dict[str, Any]:
        fan_id = self._fan_id()
        product = "REELS" if post.is_video else "FEED"
        value = {
            "from": {"id": fan_id, "username": f"fan{fan_id[-6:]}"},
            "media": {"id": post.post_id, "media_product_type": product},
            "id": str(17_850_000_000_000_000 + self._rng.randrange(10**14)),
            "text": "So good!",
        }
        return {
            "object": "instagram",
            "entry": [
                {
                    "id": post.account_id,
                    "time": int(at.timestamp()),
                    "changes": [{"field": "comments", "value": value}],
                }
            ],
        }

    def build(self, post: Post, kind: str, at: datetime) -> dict[str, Any]:
        if kind not in KINDS[post.platform]:
            raise ValueError(
                f"kind {kind!r} is not a {post.platform} webhook; use one of {KINDS[post.platform]}"
            )
        builders = {
            "twitter": self.twitter,
            "linkedin": self.linkedin,
            "facebook": self.facebook,
            "instagram": self.instagram,
        }
        return builders[post.platform](post, kind, at)

    def _account_of(self, post: Post) -> Account:
        account = self._population.account(post.platform, post.account_id)
        assert account is not None  # every post belongs to an account of the population
        return account


# --- sending ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    target: str
    status: int | None
    error: str | None = None


@dataclass(frozen=True)
class Handshake:
    target: str
    ok: bool
    detail: str


class WebhookSender:
    def __init__(
        self,
        population: Population,
        clock: SimClock,
        targets: dict[Api, list[str]],
        seed: int,
        timeout_s: float = 5.0,
    ) -> None:
        self._population = population
        self._clock = clock
        self._apps = population.apps
        self._initial_targets = {api: list(urls) for api, urls in targets.items()}
        self.targets = {api: list(urls) for api, urls in targets.items()}
        self._payloads = PayloadBuilder(population, seed)
        self._timeout_s = timeout_s

    def reset(self) -> None:
        self.targets = {api: list(urls) for api, urls in self._initial_targets.items()}

    def signed(self, post: Post, kind: str) -> tuple[dict[str, str], bytes]:
        """The headers and exact body of one delivery about ``post``."""
        body = json.dumps(
            self._payloads.build(post, kind, self._clock.now()), separators=(",", ":")
        ).encode()
        headers = {"content-type": "application/json"}
        api = api_of(post.platform)
        if api == "twitter":
            headers["x-twitter-webhooks-signature"] = x_signature(
                self._apps.twitter_consumer_secret, body
            )
        elif api == "linkedin":
            headers["X-LI-Signature"] = linkedin_signature(self._apps.linkedin_client_secret, body)
        else:
            headers["X-Hub-Signature-256"] = meta_signature(self._apps.meta_app_secret, body)
            headers["X-Hub-Signature"] = _meta_sha1_signature(self._apps.meta_app_secret, body)
        return headers, body

    async def send(self, post: Post, kind: str) -> list[Delivery]:
        headers, body = self.signed(post, kind)
        results: list[Delivery] = []
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            for target in self.targets.get(api_of(post.platform), []):
                try:
                    response = await client.post(target, content=body, headers=headers)
                    results.append(Delivery(target, response.status_code))
                except httpx.HTTPError as exc:
                    results.append(Delivery(target, None, f"{type(exc).__name__}: {exc}"))
        return results

    async def verify(self, api: Api) -> list[Handshake]:
        """Perform the platform's handshake against every target of ``api``."""
        results: list[Handshake] = []
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            for target in self.targets.get(api, []):
                if api == "twitter":
                    check = x_crc_check(client, target, self._apps.twitter_consumer_secret)
                elif api == "linkedin":
                    check = linkedin_validation_check(
                        client, target, self._apps.linkedin_client_secret
                    )
                else:
                    check = meta_verification_check(client, target, self._apps.meta_verify_token)
                results.append(await check)
        return results


# --- handshakes, performed as the platform would ------------------------------------------


def x_crc_token() -> str:
    """A CRC token as X sends them: base64 of a random UUID (48 characters, no padding).
    X documents no format (its quickstart's example is ``challenge_string``); this is the
    shape seen on the wire."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


def x_crc_nonce(at: datetime) -> str:
    """The ``nonce`` X sends beside the token: unpadded base64 of the time in ms."""
    return base64.b64encode(str(_ms(at)).encode()).decode().rstrip("=")


def linkedin_challenge_code() -> str:
    """LinkedIn's challengeCode: "a randomly generated type-4 UUID string"."""
    return str(uuid.uuid4())


def meta_challenge() -> str:
    """Meta's hub.challenge: "an int you must pass back to us" (example: 1158201444)."""
    return str(random.randrange(10**9, 10**10))


async def x_crc_check(client: httpx.AsyncClient, url: str, consumer_secret: str) -> Handshake:
    crc_token = x_crc_token()
    params = {"crc_token": crc_token, "nonce": x_crc_nonce(datetime.now(UTC))}
    try:
        response = await client.get(url, params=params)
        token = response.json().get("response_token") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return Handshake(url, False, f"no usable answer: {exc}")
    expected = x_crc_response_token(consumer_secret, crc_token)
    if isinstance(token, str) and hmac.compare_digest(token, expected):
        return Handshake(url, True, "response_token matches")
    return Handshake(url, False, f"HTTP {response.status_code}, response_token {token!r}")


async def linkedin_validation_check(
    client: httpx.AsyncClient, url: str, client_secret: str
) -> Handshake:
    challenge = linkedin_challenge_code()
    try:
        response = await client.get(url, params={"challengeCode": challenge})
        answer = response.json() if response.status_code == 200 else {}
        code, reply = answer.get("challengeCode"), answer.get("challengeResponse")
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return Handshake(url, False, f"no usable answer: {exc}")
    expected = linkedin_challenge_response(client_secret, challenge)
    if code == challenge and isinstance(reply, str) and hmac.compare_digest(reply, expected):
        return Handshake(url, True, "challengeResponse matches")
    return Handshake(url, False, f"HTTP {response.status_code}, answer {answer!r}")


async def meta_verification_check(
    client: httpx.AsyncClient, url: str, verify_token: str
) -> Handshake:
    challenge = meta_challenge()
    params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
    try:
        response = await client.get(url, params=params)
    except httpx.HTTPError as exc:
        return Handshake(url, False, f"no usable answer: {exc}")
    if response.status_code == 200 and response.text.strip() == challenge:
        return Handshake(url, True, "challenge echoed")
    return Handshake(url, False, f"HTTP {response.status_code}, body {response.text[:100]!r}")
