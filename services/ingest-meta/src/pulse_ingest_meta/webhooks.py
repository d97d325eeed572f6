"""Meta webhooks (Page feed, Instagram): the ``hub.challenge`` handshake,
``X-Hub-Signature-256``, and which posts / media a delivery concerns (their numbers are
then re-polled from the API)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pulse_shared.ingest.contracts import WebhookApi, WebhookDelivery
from pulse_shared.ingest.handshake import (
    HandshakeAnswer,
    conforms,
    query_parameter,
    refused,
    whole,
)
from pulse_shared.ingest.signing import body_id, header_value, hmac_sha256_hex, same_text

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_SCHEME = "sha256="
# The verification echoes hub.challenge as the body, so any challenge would be reflected
# content. Meta's is "an int you must pass back to us" (developers.facebook.com, docs/
# graph-api/webhooks/getting-started; its example: 1158201444): only 1 to 20 ASCII digits
# are echoed (served as text/plain, nosniff, by the route), and only to the verify token.
CHALLENGE_SHAPE = re.compile(r"[0-9]{1,20}")


class MetaWebhookReceiver:
    """:class:`~pulse_shared.ingest.contracts.WebhookReceiver` for Meta. The app secret
    keys the signature; the verify token is the one set in the app's webhook settings.
    Neither is ever logged."""

    def __init__(self, app_secret: str, verify_token: str) -> None:
        if not app_secret or not verify_token:
            raise ValueError("the Meta app secret and verify token are both required")
        self._app_secret = app_secret
        self._verify_token = verify_token

    def __repr__(self) -> str:
        return "MetaWebhookReceiver(app_secret=***, verify_token=***)"

    def handshake(self, query: Mapping[str, str]) -> HandshakeAnswer:
        mode = query.get("hub.mode")
        token = query.get("hub.verify_token")
        challenge = query.get("hub.challenge")
        if mode != "subscribe" or token is None:
            return refused("hub.mode", "subscribe, with hub.verify_token and hub.challenge")
        if not conforms(challenge, CHALLENGE_SHAPE):
            return refused("hub.challenge", "a number of 1 to 20 digits")
        if not same_text(self._verify_token, token):
            return 403, "application/json", {"error": "verify token mismatch"}
        return 200, "text/plain", challenge

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        signature = header_value(headers, SIGNATURE_HEADER)
        if not signature:
            return False
        expected = _SIGNATURE_SCHEME + hmac_sha256_hex(self._app_secret, raw_body)
        return same_text(expected, signature.strip().lower())  # hex: any case

    def parse(self, raw_body: bytes) -> list[WebhookDelivery]:
        """One delivery per ``entry`` (one Page or Instagram account each). Meta gives no
        delivery id and retries the same body for up to 36 hours, so the id is the body's
        SHA-256 with the entry's position."""
        try:
            body = json.loads(raw_body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"Meta delivery is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ValueError("Meta delivery: expected a JSON object")
        entries = body.get("entry")
        if not isinstance(entries, list):
            raise ValueError("Meta delivery: entry must be a list")
        whole = body_id(raw_body)
        return [_delivery_of(entry, f"{whole}:{index}") for index, entry in enumerate(entries)]


def _delivery_of(entry: object, delivery_id: str) -> WebhookDelivery:
    if not isinstance(entry, dict):
        raise ValueError("Meta delivery: an entry is not an object")
    account_id = entry.get("id")
    if account_id is not None and not isinstance(account_id, str):
        raise ValueError("Meta delivery: entry.id must be a string")
    changes = entry.get("changes", [])
    if not isinstance(changes, list):
        raise ValueError("Meta delivery: entry.changes must be a list")
    post_ids: list[str] = []
    for change in changes:
        if not isinstance(change, dict):
            raise ValueError("Meta delivery: a change is not an object")
        value = change.get("value")
        if value is None:
            continue
        if not isinstance(value, dict):
            raise ValueError("Meta delivery: a change's value is not an object")
        post_ids.extend(_post_ids_of_change(value))
    return WebhookDelivery(
        delivery_id=delivery_id, post_ids=list(dict.fromkeys(post_ids)), account_id=account_id
    )


def _post_ids_of_change(value: Mapping[str, Any]) -> list[str]:
    """Page ``feed`` changes name ``post_id``; Instagram ``comments`` / ``mentions`` name
    the media as ``media.id`` or ``media_id``."""
    found: list[str] = []
    for candidate in (value.get("post_id"), value.get("media_id")):
        if isinstance(candidate, str) and candidate:
            found.append(candidate)
    media = value.get("media")
    if isinstance(media, dict) and isinstance(media.get("id"), str) and media["id"]:
        found.append(media["id"])
    return found


# --- as the service's OpenAPI document states them (pulse_shared.ingest.app) -----------

_CHALLENGE = {"type": "string", "pattern": whole(CHALLENGE_SHAPE)}

WEBHOOK_API = WebhookApi(
    handshake_parameters=(
        query_parameter("hub.mode", "Always subscribe", {"type": "string", "enum": ["subscribe"]}),
        query_parameter(
            "hub.challenge",
            "The number Meta sends, echoed back: only 1 to 20 digits are",
            _CHALLENGE,
        ),
        query_parameter(
            "hub.verify_token",
            "The verify token set in the app's webhook settings (PULSE_WEBHOOK_VERIFY_TOKEN). "
            "A shared secret, so its value is not in this schema: any other is refused with 403.",
            {"type": "string"},
        ),
    ),
    handshake_answers={
        200: {
            "description": "hub.challenge, echoed (text/plain, never sniffed)",
            "content": {"text/plain": {"schema": _CHALLENGE}},
        },
        403: {
            "description": "hub.verify_token is not the one set",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["error"],
                        "properties": {"error": {"type": "string"}},
                    }
                }
            },
        },
    },
    signature_header=SIGNATURE_HEADER,
    signature_description="sha256= and the hex HMAC-SHA256 of the raw body under the app "
    "secret (PULSE_WEBHOOK_SECRET). Missing or not the body's: 401.",
    # A Page feed or Instagram delivery: what parse reads is constrained (a change's value
    # is searched for post_id, media_id and media.id, whatever else it holds).
    delivery_schema={
        "type": "object",
        "required": ["entry"],
        "properties": {
            "entry": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": ["string", "null"]},
                        "changes": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"value": {"type": ["object", "null"]}},
                            },
                        },
                    },
                },
            }
        },
        "examples": [
            {
                "object": "page",
                "entry": [
                    {
                        "id": "106381048720373",
                        "time": 1608952691,
                        "changes": [
                            {
                                "field": "feed",
                                "value": {
                                    "item": "reaction",
                                    "verb": "add",
                                    "reaction_type": "love",
                                    "post_id": "106381048720373_118425070183693",
                                    "from": {"id": "3880958235281419"},
                                    "created_time": 1608952690,
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    },
)
