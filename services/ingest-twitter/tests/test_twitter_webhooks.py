"""X Account Activity webhooks: CRC, signature, and the tweets a delivery names."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from pulse_ingest_twitter.webhooks import TwitterWebhookReceiver

CONSUMER_SECRET = "consumer-secret-for-tests"


def signature_of(body: bytes, secret: str = CONSUMER_SECRET) -> str:
    # The documented scheme, written out independently of the receiver.
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


# The favorite_events example of account-activity/introduction.mdx, with its elided
# "…" ids filled in with real-looking ones.
DOCUMENTED_FAVORITE = {
    "for_user_id": "2244994945",
    "favorite_events": [
        {
            "id": "a7ba59ea",
            "created_at": "Mon Mar 26 16:33:26 +0000 2018",
            "timestamp_ms": 1522082006140,
            "favorited_status": {"id_str": "1850000000000000000"},
            "user": {"id_str": "3001969357"},
        }
    ],
}


@pytest.mark.parametrize(
    "token",
    [
        "challenge_string",  # the quickstart's example
        "M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0",  # base64 of a UUID, as X sends
        "c29tZSByYW5kb20gYnl0ZXMhIQ==",  # padded base64
    ],
)
def test_crc_answers_with_the_base64_hmac_of_the_token(token: str) -> None:
    receiver = TwitterWebhookReceiver(CONSUMER_SECRET)
    status, media_type, body = receiver.handshake({"crc_token": token, "nonce": "MTc2OTUx"})
    expected = (
        "sha256="
        + base64.b64encode(
            hmac.new(CONSUMER_SECRET.encode(), token.encode(), hashlib.sha256).digest()
        ).decode()
    )
    assert (status, media_type, body) == (200, "application/json", {"response_token": expected})


def test_crc_without_a_token_is_a_bad_request() -> None:
    status, _, body = TwitterWebhookReceiver(CONSUMER_SECRET).handshake({})
    assert status == 400
    assert "crc_token" in body["error"]


@pytest.mark.parametrize(
    "token",
    [
        json.dumps(DOCUMENTED_FAVORITE),  # a delivery body: its answer would sign it
        "{}",
        "abc123",
        "a" * 129,
        "challenge_string\n",
        "challenge string",
        "challenge+str/ing",
        "challenge_string===",
        "\uff43" * 16,
    ],
    ids=["delivery", "json", "short", "long", "newline", "space", "plus-slash", "padding", "wide"],
)
def test_crc_answers_no_token_of_another_shape_and_echoes_none(token: str) -> None:
    status, media_type, body = TwitterWebhookReceiver(CONSUMER_SECRET).handshake(
        {"crc_token": token}
    )
    assert (status, media_type, list(body)) == (400, "application/json", ["error"])
    assert token not in body["error"]


def test_a_valid_signature_verifies_whatever_the_header_case() -> None:
    receiver = TwitterWebhookReceiver(CONSUMER_SECRET)
    raw = json.dumps(DOCUMENTED_FAVORITE).encode()
    assert receiver.verify({"x-twitter-webhooks-signature": signature_of(raw)}, raw)
    assert receiver.verify({"X-Twitter-Webhooks-Signature": signature_of(raw)}, raw)


def test_a_tampered_body_does_not_verify() -> None:
    receiver = TwitterWebhookReceiver(CONSUMER_SECRET)
    raw = json.dumps(DOCUMENTED_FAVORITE).encode()
    tampered = raw.replace(b"1850000000000000000", b"1850000000000000001")
    assert not receiver.verify({"x-twitter-webhooks-signature": signature_of(raw)}, tampered)


def test_a_signature_with_another_secret_does_not_verify() -> None:
    receiver = TwitterWebhookReceiver(CONSUMER_SECRET)
    raw = b"{}"
    header = {"x-twitter-webhooks-signature": signature_of(raw, "another-secret")}
    assert not receiver.verify(header, raw)


def test_missing_or_garbled_signatures_do_not_verify() -> None:
    receiver = TwitterWebhookReceiver(CONSUMER_SECRET)
    assert not receiver.verify({}, b"{}")
    assert not receiver.verify({"x-twitter-webhooks-signature": ""}, b"{}")
    assert not receiver.verify({"x-twitter-webhooks-signature": "sha256=ü"}, b"{}")


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="consumer secret"):
        TwitterWebhookReceiver("")


def test_the_secret_stays_out_of_repr() -> None:
    assert CONSUMER_SECRET not in repr(TwitterWebhookReceiver(CONSUMER_SECRET))


def test_a_favorite_names_the_liked_tweet_and_the_account() -> None:
    raw = json.dumps(DOCUMENTED_FAVORITE).encode()
    [delivery] = TwitterWebhookReceiver(CONSUMER_SECRET).parse(raw)
    assert delivery.post_ids == ["1850000000000000000"]
    assert delivery.account_id == "2244994945"
    assert delivery.delivery_id == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_the_delivery_id_is_stable_for_a_resent_body() -> None:
    raw = json.dumps(DOCUMENTED_FAVORITE).encode()
    receiver = TwitterWebhookReceiver(CONSUMER_SECRET)
    assert receiver.parse(raw)[0].delivery_id == receiver.parse(raw)[0].delivery_id


def test_replies_retweets_quotes_and_deletes_name_their_tweets() -> None:
    body = {
        "for_user_id": "2244994945",
        "tweet_create_events": [
            {"id_str": "1001", "in_reply_to_status_id_str": "900"},
            {"id_str": "1002", "retweeted_status": {"id_str": "901"}},
            {
                "id_str": "1003",
                "quoted_status": {"id_str": "900"},
                "in_reply_to_status_id_str": None,
            },
        ],
        "tweet_delete_events": [
            {"status": {"id": "902", "user_id": "2244994945"}, "timestamp_ms": "1432228155593"}
        ],
    }
    [delivery] = TwitterWebhookReceiver(CONSUMER_SECRET).parse(json.dumps(body).encode())
    assert delivery.post_ids == ["1001", "900", "1002", "901", "1003", "902"]


def test_follow_events_concern_no_tweet() -> None:
    body = {"for_user_id": "2244994945", "follow_events": [{"type": "follow"}]}
    [delivery] = TwitterWebhookReceiver(CONSUMER_SECRET).parse(json.dumps(body).encode())
    assert delivery.post_ids == []
    assert delivery.account_id == "2244994945"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"favorite_events": {}}',
        b'{"favorite_events": [{"user": {}}]}',
        b'{"tweet_create_events": [{"id_str": "12; DROP"}]}',
        b'{"for_user_id": 2244994945}',
    ],
)
def test_malformed_deliveries_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="X delivery"):
        TwitterWebhookReceiver(CONSUMER_SECRET).parse(raw)
