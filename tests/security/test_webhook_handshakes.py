"""Issue 13, item 2: the webhook handshakes are no signing oracle, and a delivery's answer
does not tell whether its post is tracked.

X's CRC answer is HMAC(consumer secret, crc_token), the function that signs X's deliveries;
LinkedIn's challenge answer is HMAC(client secret, challengeCode), and its deliveries are
signed as HMAC(client secret, "hmacsha256=" + body). Answering any token signed any body.
Only tokens of the documented shapes are answered now (LinkedIn: a version-4 UUID; X: a
short token of letters, digits, ``-``, ``_``, which no delivery can be), so the forged
delivery of the attack has no signature to carry and is refused. Meta signs nothing in its
handshake, but echoes ``hub.challenge``: only a bounded number is echoed, as text/plain.

The three ingest services run as real processes over real Redis and Kafka; what a delivery
did is read where it lands, in the poll schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pulse_shared.events import Platform
from pulse_shared.ingest.contracts import TrackedPost
from pulse_shared.ingest.tracking import PollSchedule
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, ingest_services

pytestmark = pytest.mark.integration

X_SECRET = "x-consumer-secret-" + secrets.token_hex(8)
LI_SECRET = "li-client-secret-" + secrets.token_hex(8)
META_SECRET = "meta-app-secret-" + secrets.token_hex(8)
META_VERIFY = "meta-verify-" + secrets.token_hex(8)
# Long enough that no service's poller finds a webhook's post due while a test runs.
DEBOUNCE = timedelta(minutes=10)
LATER = timedelta(hours=1)  # a tracked post's next poll, before any webhook


@pytest.fixture(scope="module")
def ingest(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServiceProcess]]:
    common = {
        "PULSE_DATABASE_URL": infra.ingest_database_url,
        "PULSE_WEBHOOK_DEBOUNCE_S": str(DEBOUNCE.total_seconds()),
        "PULSE_API_BASE_URL": "http://127.0.0.1:9",  # never reached: nothing is connected
    }
    secrets_of = {
        "twitter": {"PULSE_WEBHOOK_SECRET": X_SECRET},
        "linkedin": {"PULSE_WEBHOOK_SECRET": LI_SECRET},
        "meta": {"PULSE_WEBHOOK_SECRET": META_SECRET, "PULSE_WEBHOOK_VERIFY_TOKEN": META_VERIFY},
    }
    logs = str(tmp_path_factory.mktemp("logs"))
    with ingest_services(infra, logs, common, secrets_of) as services:
        yield services


# --- the platforms' deliveries and signatures, written out from their documentation ------


def x_signature(body: bytes, secret: str = X_SECRET) -> str:
    return (
        "sha256="
        + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    )


def li_signature(body: bytes, secret: str = LI_SECRET) -> str:
    return hmac.new(secret.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()


def meta_signature(body: bytes, secret: str = META_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def compact(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def x_favorite(tweet_id: str) -> bytes:
    return compact({
        "for_user_id": "2244994945",
        "favorite_events": [{
            "id": secrets.token_hex(8), "created_at": "Mon Mar 26 16:33:26 +0000 2018",
            "timestamp_ms": 1522082006140, "favorited_status": {"id_str": tweet_id},
            "user": {"id_str": "3001"},
        }],
    })  # fmt: skip


def li_comment(share_urn: str) -> bytes:
    return compact({
        "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
        "notifications": [{
            "notificationId": secrets.randbelow(10**15), "action": "COMMENT",
            "organizationalEntity": "urn:li:organization:12345", "sourcePost": share_urn,
            "lastModifiedAt": 1787212200000,
        }],
    })  # fmt: skip


def meta_reaction(post_id: str) -> bytes:
    return compact({
        "object": "page",
        "entry": [{
            "id": post_id.partition("_")[0], "time": 1608952691,
            "changes": [{"field": "feed", "value": {
                "item": "reaction", "verb": "add", "reaction_type": "love",
                "post_id": post_id, "from": {"id": secrets.token_hex(4)},
                "created_time": 1608952690,
            }}],
        }],
    })  # fmt: skip


@dataclass(frozen=True)
class Platformish:
    """What a test needs of one ingest service's webhooks."""

    service: str
    platform: Platform
    new_post_id: Callable[[], str]
    delivery: Callable[[str], bytes]
    signed: Callable[[bytes], dict[str, str]]


def _tweet_id() -> str:
    return str(10**18 + secrets.randbelow(10**17))


def _share_urn() -> str:
    return f"urn:li:share:{secrets.randbelow(10**18)}"


def _page_post_id() -> str:
    return f"1031_{secrets.randbelow(10**15)}"


PLATFORMS = {
    "twitter": Platformish(
        "twitter", "twitter", _tweet_id, x_favorite,
        lambda body: {"x-twitter-webhooks-signature": x_signature(body)},
    ),
    "linkedin": Platformish(
        "linkedin", "linkedin", _share_urn, li_comment,
        lambda body: {"X-LI-Signature": li_signature(body)},
    ),
    "meta": Platformish(
        "meta", "facebook", _page_post_id, meta_reaction,
        lambda body: {"X-Hub-Signature-256": meta_signature(body)},
    ),
}  # fmt: skip


async def tracked(schedule: PollSchedule, platform: Platform, post_id: str) -> TrackedPost:
    """A post on the schedule, its next poll an hour away (no poller claims it now)."""
    now = datetime.now(UTC)
    post = TrackedPost(42, platform, post_id, "acct-1", now - timedelta(days=3))
    assert await schedule.track(post, now=now + LATER)
    return post


def assert_short_refusal(response: httpx.Response, sent: str) -> None:
    """400 with a short JSON error that signs and echoes nothing."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    assert len(response.content) < 300, response.text
    if len(sent) > 16:
        assert sent not in response.text


# --- X: the CRC ---------------------------------------------------------------------------

# Tokens X never sends: a delivery body, JSON, whitespace, non-ASCII, too short, too long,
# a valid token with a newline after it, and nothing at all.
X_NOT_TOKENS = {
    "a-delivery-body": x_favorite("1850000000000000000").decode(),
    "json": '{"for_user_id":"1"}',
    "space": "challenge string with spaces",
    "fullwidth": "".join(chr(ord(c) + 0xFEE0) for c in "challenge_token"),
    "too-short": "abc123",
    "too-long": "a" * 129,
    "trailing-newline": "challenge_string\n",
    "plus-and-slash": "abc+def/ghi+jkl/mno",
    "empty": "",
}


@pytest.mark.parametrize("token", X_NOT_TOKENS.values(), ids=X_NOT_TOKENS.keys())
async def test_x_crc_refuses_what_x_never_sends_and_signs_nothing(
    ingest: dict[str, ServiceProcess], token: str
) -> None:
    async with httpx.AsyncClient(base_url=ingest["twitter"].url) as client:
        response = await client.get("/webhooks", params={"crc_token": token})
    assert_short_refusal(response, token)
    if token:
        assert x_signature(token.encode()).removeprefix("sha256=") not in response.text


# Documented example (docs.x.com webhooks quickstart) and the shape X sends (base64 of a
# UUID, with a nonce beside it).
X_TOKENS = {
    "documented-example": "challenge_string",
    "observed-shape": base64.b64encode(str(uuid.uuid4()).encode()).decode(),
    "urlsafe-base64": secrets.token_urlsafe(32),
}


@pytest.mark.parametrize("token", X_TOKENS.values(), ids=X_TOKENS.keys())
async def test_x_crc_answers_a_documented_token(
    ingest: dict[str, ServiceProcess], token: str
) -> None:
    async with httpx.AsyncClient(base_url=ingest["twitter"].url) as client:
        response = await client.get("/webhooks", params={"crc_token": token, "nonce": "MTc2OTUx"})
    assert response.status_code == 200, response.text
    assert response.json() == {"response_token": x_signature(token.encode())}
    assert response.headers["x-content-type-options"] == "nosniff"


# --- LinkedIn: the challenge -----------------------------------------------------------------

DOCUMENTED_CHALLENGE = "890e4665-4dfe-4ab1-b689-ed553bceeed0"  # LinkedIn's webhook-validation page
LI_NOT_CODES = {
    "signed-prefix-and-body": "hmacsha256=" + li_comment("urn:li:share:456").decode(),
    "a-delivery-body": li_comment("urn:li:share:456").decode(),
    "uppercase": DOCUMENTED_CHALLENGE.upper(),
    "version-1": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "no-hyphens": DOCUMENTED_CHALLENGE.replace("-", ""),
    "braces": "{" + DOCUMENTED_CHALLENGE + "}",
    "trailing-newline": DOCUMENTED_CHALLENGE + "\n",
    "arbitrary": "not-a-uuid-at-all",
    "empty": "",
}


@pytest.mark.parametrize("code", LI_NOT_CODES.values(), ids=LI_NOT_CODES.keys())
async def test_linkedin_challenge_refuses_anything_but_a_v4_uuid_and_signs_nothing(
    ingest: dict[str, ServiceProcess], code: str
) -> None:
    async with httpx.AsyncClient(base_url=ingest["linkedin"].url) as client:
        response = await client.get("/webhooks", params={"challengeCode": code})
    assert_short_refusal(response, code)
    if code:
        signed = hmac.new(LI_SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()
        assert signed not in response.text


@pytest.mark.parametrize(
    "code", [DOCUMENTED_CHALLENGE, str(uuid.uuid4())], ids=["documented", "random"]
)
async def test_linkedin_challenge_answers_a_v4_uuid(
    ingest: dict[str, ServiceProcess], code: str
) -> None:
    async with httpx.AsyncClient(base_url=ingest["linkedin"].url) as client:
        response = await client.get(
            "/webhooks", params={"challengeCode": code, "applicationId": "77"}
        )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "challengeCode": code,
        "challengeResponse": hmac.new(
            LI_SECRET.encode(), code.encode(), hashlib.sha256
        ).hexdigest(),
    }
    assert response.headers["x-content-type-options"] == "nosniff"


# --- the attack itself: a delivery signed through the handshake ------------------------------


async def _ask_handshake_to_sign(
    client: httpx.AsyncClient, platform: str, body: bytes
) -> httpx.Response:
    """The attacker holds no secret: they hand the delivery body to the handshake (X) or
    the signed text "hmacsha256=" + body (LinkedIn)."""
    if platform == "twitter":
        return await client.get("/webhooks", params={"crc_token": body.decode()})
    return await client.get("/webhooks", params={"challengeCode": "hmacsha256=" + body.decode()})


def _signature_in(answer: httpx.Response) -> str:
    """What, before the fix, was the delivery's valid signature ("" when none came back)."""
    if answer.status_code != 200:
        return ""
    found = answer.json()
    return str(found.get("response_token") or found.get("challengeResponse") or "")


@pytest.mark.parametrize("name", ["twitter", "linkedin"])
async def test_a_delivery_signed_through_the_handshake_is_refused_and_moves_nothing(
    ingest: dict[str, ServiceProcess], schedule: PollSchedule, name: str
) -> None:
    spec = PLATFORMS[name]
    post = await tracked(schedule, spec.platform, spec.new_post_id())
    try:
        due_before = await schedule.due_at(post)
        body = spec.delivery(post.platform_post_id)
        header = next(iter(spec.signed(body)))
        async with httpx.AsyncClient(base_url=ingest[name].url) as client:
            answer = await _ask_handshake_to_sign(client, name, body)
            forged = await client.post(
                "/webhooks", content=body, headers={header: _signature_in(answer)}
            )
        due_after = await schedule.due_at(post)
        assert (answer.status_code, forged.status_code, due_after) == (400, 401, due_before), (
            f"handshake {answer.status_code} {answer.text[:80]!r}; "
            f"forged delivery {forged.status_code} {forged.text!r}; "
            f"poll due {due_before} -> {due_after}"
        )
    finally:
        await schedule.untrack(post)


# --- Meta: the echoed challenge ---------------------------------------------------------------

META_NOT_CHALLENGES = {
    "markup": "<script>alert(1)</script>",
    "json": '{"response_token":"sha256=x"}',
    "too-long": "1" * 21,
    "huge": "9" * 5000,
    "exponent": "1e9",
    "negative": "-1158201444",
    "arabic-indic-digits": "١١٥٨٢٠١٤٤٤",
    "trailing-newline": "1158201444\n",
    "empty": "",
}


@pytest.mark.parametrize("challenge", META_NOT_CHALLENGES.values(), ids=META_NOT_CHALLENGES.keys())
async def test_meta_echoes_no_challenge_but_a_bounded_number(
    ingest: dict[str, ServiceProcess], challenge: str
) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": META_VERIFY}
    async with httpx.AsyncClient(base_url=ingest["meta"].url) as client:
        response = await client.get("/webhooks", params=query)
    assert_short_refusal(response, challenge)
    assert "<script>" not in response.text


async def test_meta_echoes_the_documented_challenge_as_plain_text(
    ingest: dict[str, ServiceProcess],
) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.challenge": "1158201444",
        "hub.verify_token": META_VERIFY,
    }
    async with httpx.AsyncClient(base_url=ingest["meta"].url) as client:
        response = await client.get("/webhooks", params=query)
        wrong = await client.get("/webhooks", params={**query, "hub.verify_token": "guess"})
    assert response.status_code == 200, response.text
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert wrong.status_code == 403
    assert "1158201444" not in wrong.text


# --- a delivery's answer does not say whether its post is tracked ----------------------------


@pytest.mark.parametrize("name", ["twitter", "linkedin", "meta"])
async def test_tracked_and_untracked_posts_answer_identically(
    ingest: dict[str, ServiceProcess], schedule: PollSchedule, name: str
) -> None:
    spec = PLATFORMS[name]
    post = await tracked(schedule, spec.platform, spec.new_post_id())
    untracked_id = spec.new_post_id()
    try:
        due_before = await schedule.due_at(post)
        answers = []
        async with httpx.AsyncClient(base_url=ingest[name].url) as client:
            for post_id in (post.platform_post_id, untracked_id):
                body = spec.delivery(post_id)
                answers.append(
                    await client.post("/webhooks", content=body, headers=spec.signed(body))
                )
        about_tracked, about_untracked = answers
        assert about_tracked.status_code == about_untracked.status_code == 200, [
            a.text for a in answers
        ]
        assert about_tracked.content == about_untracked.content
        assert "posts_scheduled" not in about_tracked.text
        # The delivery did its work all the same: the tracked post's poll came forward
        # (to the service's now plus the debounce), and nothing tracks the other post.
        due_after = await schedule.due_at(post)
        assert due_before is not None
        assert due_after is not None
        assert due_after < due_before
        assert await schedule.tracked_post(spec.platform, untracked_id) is None
    finally:
        await schedule.untrack(post)
