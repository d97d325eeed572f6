"""LinkedIn webhooks: the challenge, X-LI-Signature, and the posts a notification names."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from pulse_ingest_linkedin.webhooks import LinkedInWebhookReceiver

CLIENT_SECRET = "client-secret-for-tests"

# The notification shape of the notes (client code, unconfirmed), verbatim.
DOCUMENTED_NOTIFICATION = {
    "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
    "notifications": [
        {
            "notificationId": 4406004,
            "action": "COMMENT",
            "organizationalEntity": "urn:li:organization:12345",
            "sourcePost": "urn:li:share:456",
            "lastModifiedAt": 1787212200000,
        }
    ],
}


def signature_of(body: bytes, secret: str = CLIENT_SECRET) -> str:
    # The documented scheme, written out independently of the receiver.
    return hmac.new(secret.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()


def test_challenge_answer_is_the_hex_hmac_of_the_code() -> None:
    code = "f8b5f3b8-1d8a-4a3c-9d6e-0c8f3e2a1b7d"
    status, media_type, body = LinkedInWebhookReceiver(CLIENT_SECRET).handshake(
        {"challengeCode": code, "applicationId": "77"}
    )
    assert (status, media_type) == (200, "application/json")
    assert body == {
        "challengeCode": code,
        "challengeResponse": hmac.new(
            CLIENT_SECRET.encode(), code.encode(), hashlib.sha256
        ).hexdigest(),
    }


def test_challenge_without_a_code_is_a_bad_request() -> None:
    status, _, _ = LinkedInWebhookReceiver(CLIENT_SECRET).handshake({})
    assert status == 400


DOCUMENTED_CODE = "890e4665-4dfe-4ab1-b689-ed553bceeed0"  # the webhook-validation page's


@pytest.mark.parametrize(
    "code",
    [
        # "hmacsha256=" + a body: its answer would be that delivery's X-LI-Signature.
        "hmacsha256=" + json.dumps(DOCUMENTED_NOTIFICATION),
        DOCUMENTED_CODE.upper(),
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8",  # version 1
        "890e4665-4dfe-4ab1-c689-ed553bceeed0",  # not the RFC 4122 variant
        DOCUMENTED_CODE.replace("-", ""),
        "{" + DOCUMENTED_CODE + "}",
        DOCUMENTED_CODE + "\n",
        "",
    ],
    ids=["signed-text", "uppercase", "v1", "variant", "no-hyphens", "braces", "newline", "empty"],
)
def test_challenge_answers_nothing_but_a_v4_uuid_and_echoes_nothing(code: str) -> None:
    status, media_type, body = LinkedInWebhookReceiver(CLIENT_SECRET).handshake(
        {"challengeCode": code}
    )
    assert (status, media_type, list(body)) == (400, "application/json", ["error"])
    assert not code or code not in body["error"]


def test_the_documented_challenge_code_is_answered() -> None:
    status, _, body = LinkedInWebhookReceiver(CLIENT_SECRET).handshake(
        {"challengeCode": DOCUMENTED_CODE}
    )
    assert status == 200
    assert body["challengeCode"] == DOCUMENTED_CODE


def test_bare_lowercase_hex_verifies() -> None:
    raw = json.dumps(DOCUMENTED_NOTIFICATION).encode()
    assert LinkedInWebhookReceiver(CLIENT_SECRET).verify({"X-LI-Signature": signature_of(raw)}, raw)


def test_prefixed_and_uppercase_signatures_verify() -> None:
    receiver = LinkedInWebhookReceiver(CLIENT_SECRET)
    raw = json.dumps(DOCUMENTED_NOTIFICATION).encode()
    assert receiver.verify({"x-li-signature": "hmacsha256=" + signature_of(raw)}, raw)
    assert receiver.verify({"X-LI-Signature": signature_of(raw).upper()}, raw)


def test_the_signed_text_includes_the_prefix() -> None:
    raw = b"{}"
    bare = hmac.new(CLIENT_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert not LinkedInWebhookReceiver(CLIENT_SECRET).verify({"X-LI-Signature": bare}, raw)


def test_tampered_body_wrong_secret_and_missing_header_do_not_verify() -> None:
    receiver = LinkedInWebhookReceiver(CLIENT_SECRET)
    raw = json.dumps(DOCUMENTED_NOTIFICATION).encode()
    assert not receiver.verify({"X-LI-Signature": signature_of(raw)}, raw + b" ")
    assert not receiver.verify({"X-LI-Signature": signature_of(raw, "other")}, raw)
    assert not receiver.verify({}, raw)
    assert not receiver.verify({"X-LI-Signature": "é"}, raw)


def test_an_empty_secret_is_refused_and_the_secret_stays_out_of_repr() -> None:
    with pytest.raises(ValueError, match="client secret"):
        LinkedInWebhookReceiver("")
    assert CLIENT_SECRET not in repr(LinkedInWebhookReceiver(CLIENT_SECRET))


def test_a_notification_names_its_source_post_and_dedupes_on_its_id() -> None:
    raw = json.dumps(DOCUMENTED_NOTIFICATION).encode()
    [delivery] = LinkedInWebhookReceiver(CLIENT_SECRET).parse(raw)
    assert delivery.delivery_id == "4406004"
    assert delivery.post_ids == ["urn:li:share:456"]
    assert delivery.account_id == "urn:li:organization:12345"


def test_each_notification_is_its_own_delivery() -> None:
    body = {
        "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
        "notifications": [
            {"notificationId": 1, "action": "LIKE", "sourcePost": "urn:li:ugcPost:9"},
            {"action": "SHARE", "sourcePost": "urn:li:share:8"},
            {"notificationId": "3", "action": "ADMIN_MENTION"},
        ],
    }
    deliveries = LinkedInWebhookReceiver(CLIENT_SECRET).parse(json.dumps(body).encode())
    assert [d.post_ids for d in deliveries] == [["urn:li:ugcPost:9"], ["urn:li:share:8"], []]
    assert deliveries[0].delivery_id == "1"
    assert deliveries[1].delivery_id.startswith("sha256:")
    assert deliveries[2].delivery_id == "3"
    # Without an id, the same notification gets the same id again.
    again = LinkedInWebhookReceiver(CLIENT_SECRET).parse(json.dumps(body).encode())
    assert again[1].delivery_id == deliveries[1].delivery_id


@pytest.mark.parametrize(
    "raw",
    [
        b"nope",
        b"[]",
        b'{"type": "X"}',
        b'{"notifications": [1]}',
        b'{"notifications": [{"notificationId": true}]}',
        b'{"notifications": [{"notificationId": 1, "sourcePost": 5}]}',
        b'{"notifications": [{"notificationId": 1, "sourcePost": "share:5"}]}',
    ],
)
def test_malformed_deliveries_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="LinkedIn delivery"):
        LinkedInWebhookReceiver(CLIENT_SECRET).parse(raw)
