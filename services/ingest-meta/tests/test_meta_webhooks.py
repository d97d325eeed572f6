"""Meta webhooks: hub.challenge, X-Hub-Signature-256, and the posts a delivery names."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from pulse_ingest_meta.webhooks import MetaWebhookReceiver

APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
RECEIVER = MetaWebhookReceiver(APP_SECRET, VERIFY_TOKEN)

# The feed change of the notes (client fixtures), verbatim.
DOCUMENTED_FEED = {
    "object": "page",
    "entry": [
        {
            "id": "1031",
            "time": 1608952691,
            "changes": [
                {
                    "field": "feed",
                    "value": {
                        "item": "reaction",
                        "verb": "add",
                        "reaction_type": "love",
                        "post_id": "1031_2087",
                        "from": {"id": "3550"},
                        "created_time": 1608952690,
                    },
                }
            ],
        }
    ],
}


def signature_of(body: bytes, secret: str = APP_SECRET) -> str:
    # The documented scheme, written out independently of the receiver.
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_the_documented_verification_request_gets_the_challenge_back() -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.challenge": "1158201444",
        "hub.verify_token": VERIFY_TOKEN,
    }
    assert RECEIVER.handshake(query) == (200, "text/plain", "1158201444")


def test_a_wrong_verify_token_is_forbidden() -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "guess"}
    status, _, _ = RECEIVER.handshake(query)
    assert status == 403


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": VERIFY_TOKEN},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
    ],
)
def test_an_incomplete_verification_request_is_a_bad_request(query: dict[str, str]) -> None:
    status, _, _ = RECEIVER.handshake(query)
    assert status == 400


@pytest.mark.parametrize(
    "challenge",
    ["<b>hi</b>", "1" * 21, "1e9", "-1", "\u0661\u0662\u0663", "1158201444\n", ""],
    ids=["markup", "long", "exponent", "negative", "arabic-indic", "newline", "empty"],
)
def test_only_a_bounded_number_is_echoed(challenge: str) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": VERIFY_TOKEN}
    status, media_type, body = RECEIVER.handshake(query)
    assert (status, media_type, list(body)) == (400, "application/json", ["error"])
    assert not challenge or challenge not in body["error"]


def test_a_valid_signature_verifies() -> None:
    raw = json.dumps(DOCUMENTED_FEED).encode()
    assert RECEIVER.verify({"X-Hub-Signature-256": signature_of(raw)}, raw)
    assert RECEIVER.verify({"x-hub-signature-256": signature_of(raw)}, raw)


def test_tampered_body_wrong_secret_and_missing_header_do_not_verify() -> None:
    raw = json.dumps(DOCUMENTED_FEED).encode()
    assert not RECEIVER.verify(
        {"X-Hub-Signature-256": signature_of(raw)}, raw.replace(b"love", b"haha")
    )
    assert not RECEIVER.verify({"X-Hub-Signature-256": signature_of(raw, "other")}, raw)
    assert not RECEIVER.verify({}, raw)
    # The old SHA-1 header alone is not enough.
    assert not RECEIVER.verify({"X-Hub-Signature": "sha1=abc"}, raw)
    assert not RECEIVER.verify({"X-Hub-Signature-256": "sha256=ü"}, raw)


def test_secrets_are_required_and_kept_out_of_repr() -> None:
    with pytest.raises(ValueError, match="required"):
        MetaWebhookReceiver(APP_SECRET, "")
    assert APP_SECRET not in repr(RECEIVER)
    assert VERIFY_TOKEN not in repr(RECEIVER)


def test_a_feed_change_names_its_post_and_page() -> None:
    raw = json.dumps(DOCUMENTED_FEED).encode()
    [delivery] = RECEIVER.parse(raw)
    assert delivery.post_ids == ["1031_2087"]
    assert delivery.account_id == "1031"
    assert delivery.delivery_id == "sha256:" + hashlib.sha256(raw).hexdigest() + ":0"


def test_instagram_changes_name_their_media() -> None:
    body = {
        "object": "instagram",
        "entry": [
            {
                "id": "17841400000000000",
                "time": 1608952691,
                "changes": [
                    {
                        "field": "comments",
                        "value": {
                            "from": {"id": "232323", "username": "test"},
                            "media": {"id": "17895695668004550", "media_product_type": "FEED"},
                            "id": "17865799348089039",
                            "text": "This is an example.",
                        },
                    },
                    {
                        "field": "mentions",
                        "value": {"media_id": "17887498072083520", "comment_id": "1"},
                    },
                ],
            },
            {
                "id": "1031",
                "time": 1608952691,
                "changes": [{"field": "feed", "value": {"item": "status"}}],
            },
        ],
    }
    raw = json.dumps(body).encode()
    first, second = RECEIVER.parse(raw)
    assert first.post_ids == ["17895695668004550", "17887498072083520"]
    assert first.account_id == "17841400000000000"
    assert second.post_ids == []
    assert first.delivery_id != second.delivery_id


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"[]",
        b'{"object": "page"}',
        b'{"entry": [1]}',
        b'{"entry": [{"id": 1031}]}',
        b'{"entry": [{"id": "1", "changes": {}}]}',
        b'{"entry": [{"id": "1", "changes": [{"value": "x"}]}]}',
    ],
)
def test_malformed_deliveries_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="Meta delivery"):
        RECEIVER.parse(raw)
