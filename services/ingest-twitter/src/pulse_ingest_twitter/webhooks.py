"""X Account Activity webhooks: the CRC handshake, the signature, and which tweets a
delivery concerns (their numbers are then re-polled from the API)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pulse_ingest_twitter.api import TWEET_ID_SHAPE, is_tweet_id
from pulse_shared.ingest.contracts import WebhookApi, WebhookDelivery
from pulse_shared.ingest.handshake import (
    HandshakeAnswer,
    conforms,
    query_parameter,
    refused,
    whole,
)
from pulse_shared.ingest.signing import (
    body_id,
    header_value,
    hmac_sha256_base64,
    same_text,
)

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
CRC_QUERY_PARAM = "crc_token"
_SIGNATURE_SCHEME = "sha256="
# The CRC answer is HMAC(consumer secret, crc_token): the very function that signs a
# delivery's body. So only tokens of the shape X sends are answered, and none of them can
# be a delivery (a JSON object). X documents no format beyond a token that "changes for
# each request" (docs.x.com x-api/webhooks/quickstart, whose example is
# `crc_token=challenge_string`); the tokens X sends are base64 of a UUID, 48 characters
# such as `M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0`, with a `nonce` parameter
# beside them (which the answer does not use). Answered: 16 to 128 characters of the
# base64url alphabet (letters, digits, "-", "_"), then at most two "=" of padding; the
# length leaves room for a longer token than today's without answering arbitrary text.
CRC_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}={0,2}")
_CRC_SHAPE_IN_WORDS = "16 to 128 characters of A-Z a-z 0-9 - _ (then at most two =)"


class TwitterWebhookReceiver:
    """:class:`~pulse_shared.ingest.contracts.WebhookReceiver` for X. The consumer secret
    keys both the CRC answer and the delivery signature; it is never logged."""

    def __init__(self, consumer_secret: str) -> None:
        if not consumer_secret:
            raise ValueError("the X consumer secret is required to answer CRC and verify")
        self._consumer_secret = consumer_secret

    def __repr__(self) -> str:
        return "TwitterWebhookReceiver(consumer_secret=***)"

    def crc_response_token(self, crc_token: str) -> str:
        return _SIGNATURE_SCHEME + hmac_sha256_base64(
            self._consumer_secret, crc_token.encode("utf-8")
        )

    def handshake(self, query: Mapping[str, str]) -> HandshakeAnswer:
        crc_token = query.get(CRC_QUERY_PARAM)
        if not conforms(crc_token, CRC_TOKEN_SHAPE):
            return refused(CRC_QUERY_PARAM, _CRC_SHAPE_IN_WORDS)
        return 200, "application/json", {"response_token": self.crc_response_token(crc_token)}

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        signature = header_value(headers, SIGNATURE_HEADER)
        if not signature:
            return False
        expected = _SIGNATURE_SCHEME + hmac_sha256_base64(self._consumer_secret, raw_body)
        return same_text(expected, signature.strip())

    def parse(self, raw_body: bytes) -> list[WebhookDelivery]:
        try:
            body = json.loads(raw_body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"X delivery is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ValueError("X delivery: expected a JSON object")
        for_user_id = body.get("for_user_id")
        if for_user_id is not None and not isinstance(for_user_id, str):
            raise ValueError("X delivery: for_user_id must be a string")
        return [
            WebhookDelivery(
                delivery_id=body_id(raw_body),
                post_ids=tweet_ids_of_delivery(body),
                account_id=for_user_id,
            )
        ]


def _events(body: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    events = body.get(key)
    if events is None:
        return []
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise ValueError(f"X delivery: {key} must be a list of objects")
    return events


def _tweet_id(value: object, where: str) -> str:
    if not isinstance(value, str) or not is_tweet_id(value):
        raise ValueError(f"X delivery: {where} is not a tweet id: {value!r}")
    return value


def _nested_id(event: Mapping[str, Any], key: str) -> str | None:
    nested = event.get(key)
    if isinstance(nested, dict):
        value = nested.get("id_str")
        if isinstance(value, str) and is_tweet_id(value):
            return value
    return None


def tweet_ids_of_delivery(body: Mapping[str, Any]) -> list[str]:
    """The tweets whose numbers a delivery changes, in order, without repeats.

    - ``favorite_events[].favorited_status.id_str``: the liked tweet;
    - ``tweet_create_events[]``: the new tweet (``id_str``) and the tweet it replies to,
      retweets or quotes, whose reply / retweet / quote counts just grew;
    - ``tweet_delete_events[].status.id``: a re-poll finds it gone and stops tracking it.
    Other events (follows, direct messages, ...) concern no tweet."""
    found: list[str] = []
    for event in _events(body, "favorite_events"):
        status = event.get("favorited_status")
        if not isinstance(status, dict):
            raise ValueError("X delivery: favorite_events[] without favorited_status")
        found.append(_tweet_id(status.get("id_str"), "favorited_status.id_str"))
    for event in _events(body, "tweet_create_events"):
        found.append(_tweet_id(event.get("id_str"), "tweet_create_events[].id_str"))
        replied_to = event.get("in_reply_to_status_id_str")
        if isinstance(replied_to, str) and is_tweet_id(replied_to):
            found.append(replied_to)
        for key in ("retweeted_status", "quoted_status"):
            if (nested := _nested_id(event, key)) is not None:
                found.append(nested)
    for event in _events(body, "tweet_delete_events"):
        status = event.get("status")
        if not isinstance(status, dict):
            raise ValueError("X delivery: tweet_delete_events[] without status")
        found.append(_tweet_id(status.get("id"), "tweet_delete_events[].status.id"))
    return list(dict.fromkeys(found))


# --- as the service's OpenAPI document states them (pulse_shared.ingest.app) -----------

_TWEET_ID = {"type": "string", "pattern": whole(TWEET_ID_SHAPE)}


def _events_of(event: dict[str, Any]) -> dict[str, Any]:
    """A list of events (or null for none), each an object as ``event`` says."""
    return {"type": ["array", "null"], "items": {"type": "object", **event}}


WEBHOOK_API = WebhookApi(
    handshake_parameters=(
        query_parameter(
            CRC_QUERY_PARAM,
            "The challenge X sends (base64 of a UUID today). Answered only when it is "
            f"{_CRC_SHAPE_IN_WORDS}: the answer is an HMAC under the secret that signs "
            "deliveries, and no token of that shape is a delivery (a JSON object).",
            {"type": "string", "pattern": whole(CRC_TOKEN_SHAPE)},
        ),
        query_parameter(
            "nonce", "Sent by X beside crc_token; not used", {"type": "string"}, required=False
        ),
    ),
    handshake_answers={
        200: {
            "description": "The CRC answer: sha256= and the base64 HMAC-SHA256 of crc_token "
            "under the consumer secret",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["response_token"],
                        "properties": {
                            "response_token": {
                                "type": "string",
                                "pattern": "^sha256=[A-Za-z0-9+/]{43}=$",
                            }
                        },
                    }
                }
            },
        }
    },
    signature_header=SIGNATURE_HEADER,
    signature_description="sha256= and the base64 HMAC-SHA256 of the raw body under the "
    "app's consumer secret (PULSE_WEBHOOK_SECRET). Missing or not the body's: 401.",
    # An Account Activity delivery: what tweet_ids_of_delivery reads is constrained, the
    # rest (other events, other fields) is X's to send and is ignored.
    delivery_schema={
        "type": "object",
        "properties": {
            "for_user_id": {"type": ["string", "null"]},
            "favorite_events": _events_of(
                {
                    "required": ["favorited_status"],
                    "properties": {
                        "favorited_status": {
                            "type": "object",
                            "required": ["id_str"],
                            "properties": {"id_str": _TWEET_ID},
                        }
                    },
                }
            ),
            "tweet_create_events": _events_of(
                {"required": ["id_str"], "properties": {"id_str": _TWEET_ID}}
            ),
            "tweet_delete_events": _events_of(
                {
                    "required": ["status"],
                    "properties": {
                        "status": {
                            "type": "object",
                            "required": ["id"],
                            "properties": {"id": _TWEET_ID},
                        }
                    },
                }
            ),
        },
        "examples": [
            {
                "for_user_id": "2244994945",
                "favorite_events": [
                    {
                        "id": "a7ba59eab0bfcba386f7acedac279542",
                        "created_at": "Mon Mar 26 16:33:26 +0000 2018",
                        "timestamp_ms": 1522082006140,
                        "favorited_status": {"id_str": "978311155839926272"},
                        "user": {"id_str": "3001"},
                    }
                ],
            }
        ],
    },
)
