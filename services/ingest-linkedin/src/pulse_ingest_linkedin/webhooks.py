"""LinkedIn webhooks: the challenge, ``X-LI-Signature``, and which posts a notification
concerns (their numbers are then re-polled from the API)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from pulse_shared.ingest.contracts import WebhookApi, WebhookDelivery
from pulse_shared.ingest.handshake import (
    HandshakeAnswer,
    conforms,
    query_parameter,
    refused,
    whole,
)
from pulse_shared.ingest.signing import body_id, header_value, hmac_sha256_hex, same_text

SIGNATURE_HEADER = "X-LI-Signature"
CHALLENGE_QUERY_PARAM = "challengeCode"
# LinkedIn signs "hmacsha256=" + body; the same text may or may not prefix the header.
_SIGNED_PREFIX = b"hmacsha256="
_HEADER_PREFIX = "hmacsha256="
# The challenge answer is HMAC(client secret, challengeCode), and a delivery's signature is
# HMAC(client secret, "hmacsha256=" + body): answering any code would sign any body. LinkedIn
# sends a "randomly generated type-4 UUID string" (learn.microsoft.com, linkedin/shared/
# api-guide/webhook-validation; its example: 890e4665-4dfe-4ab1-b689-ed553bceeed0), so only
# that is answered: the canonical lowercase form, version 4, RFC 4122 variant.
CHALLENGE_CODE_SHAPE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)
_CHALLENGE_CODE_RULE = "a version-4 UUID in lowercase"


class LinkedInWebhookReceiver:
    """:class:`~pulse_shared.ingest.contracts.WebhookReceiver` for LinkedIn. The app's
    client secret keys the challenge answer and the signature; it is never logged."""

    def __init__(self, client_secret: str) -> None:
        if not client_secret:
            raise ValueError("the LinkedIn client secret is required to answer and verify")
        self._client_secret = client_secret

    def __repr__(self) -> str:
        return "LinkedInWebhookReceiver(client_secret=***)"

    def handshake(self, query: Mapping[str, str]) -> HandshakeAnswer:
        challenge = query.get(CHALLENGE_QUERY_PARAM)
        if not conforms(challenge, CHALLENGE_CODE_SHAPE):
            return refused(CHALLENGE_QUERY_PARAM, _CHALLENGE_CODE_RULE)
        return (
            200,
            "application/json",
            {
                "challengeCode": challenge,
                "challengeResponse": hmac_sha256_hex(
                    self._client_secret, challenge.encode("utf-8")
                ),
            },
        )

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        signature = header_value(headers, SIGNATURE_HEADER)
        if not signature:
            return False
        signature = signature.strip()
        if signature.lower().startswith(_HEADER_PREFIX):
            signature = signature[len(_HEADER_PREFIX) :]
        expected = hmac_sha256_hex(self._client_secret, _SIGNED_PREFIX + raw_body)
        return same_text(expected, signature.lower())  # hex: any case

    def parse(self, raw_body: bytes) -> list[WebhookDelivery]:
        """One delivery per notification, deduplicated on its ``notificationId``."""
        try:
            body = json.loads(raw_body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"LinkedIn delivery is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ValueError("LinkedIn delivery: expected a JSON object")
        notifications = body.get("notifications")
        if not isinstance(notifications, list):
            raise ValueError("LinkedIn delivery: notifications must be a list")
        return [_delivery_of(notification) for notification in notifications]


def _delivery_of(notification: object) -> WebhookDelivery:
    if not isinstance(notification, dict):
        raise ValueError("LinkedIn delivery: a notification is not an object")
    notification_id = notification.get("notificationId")
    if isinstance(notification_id, float) and notification_id.is_integer():
        # One JSON number, 42 or 42.0 (JSON Schema's integer is either): the same id.
        notification_id = int(notification_id)
    if isinstance(notification_id, bool) or not isinstance(notification_id, int | str):
        if notification_id is not None:
            raise ValueError("LinkedIn delivery: notificationId must be a number or string")
        # No id given: a stable one from the notification's own content.
        canonical = json.dumps(notification, sort_keys=True, separators=(",", ":"))
        delivery_id = body_id(canonical.encode("utf-8"))
    else:
        delivery_id = str(notification_id)
    source_post = notification.get("sourcePost")
    if source_post is not None and not (
        isinstance(source_post, str) and source_post.startswith("urn:li:")
    ):
        raise ValueError(f"LinkedIn delivery: sourcePost is not a URN: {source_post!r}")
    organization = notification.get("organizationalEntity")
    if organization is not None and not isinstance(organization, str):
        raise ValueError("LinkedIn delivery: organizationalEntity must be a string")
    return WebhookDelivery(
        delivery_id=delivery_id,
        post_ids=[source_post] if source_post else [],
        account_id=organization,
    )


# --- as the service's OpenAPI document states them (pulse_shared.ingest.app) -----------

_HEX_SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}

WEBHOOK_API = WebhookApi(
    handshake_parameters=(
        query_parameter(
            CHALLENGE_QUERY_PARAM,
            f"The challenge LinkedIn sends: answered only when it is {_CHALLENGE_CODE_RULE}, "
            "as LinkedIn sends it (the answer is an HMAC under the secret that signs "
            "deliveries).",
            {"type": "string", "pattern": whole(CHALLENGE_CODE_SHAPE)},
        ),
    ),
    handshake_answers={
        200: {
            "description": "The challenge and its answer: the hex HMAC-SHA256 of challengeCode "
            "under the client secret",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["challengeCode", "challengeResponse"],
                        "properties": {
                            "challengeCode": {
                                "type": "string",
                                "pattern": whole(CHALLENGE_CODE_SHAPE),
                            },
                            "challengeResponse": _HEX_SHA256,
                        },
                    }
                }
            },
        }
    },
    signature_header=SIGNATURE_HEADER,
    signature_description='The hex HMAC-SHA256 of "hmacsha256=" and the raw body under the '
    "app's client secret (PULSE_WEBHOOK_SECRET), with or without the hmacsha256= prefix. "
    "Missing or not the body's: 401.",
    # What parse reads is constrained; the rest of a notification is LinkedIn's to send.
    delivery_schema={
        "type": "object",
        "required": ["notifications"],
        "properties": {
            "notifications": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "notificationId": {"type": ["integer", "string", "null"]},
                        "sourcePost": {"type": ["string", "null"], "pattern": "^urn:li:"},
                        "organizationalEntity": {"type": ["string", "null"]},
                    },
                },
            }
        },
        "examples": [
            {
                "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
                "notifications": [
                    {
                        "notificationId": 1155004001,
                        "action": "COMMENT",
                        "organizationalEntity": "urn:li:organization:12345",
                        "sourcePost": "urn:li:share:7033298164138143744",
                        "lastModifiedAt": 1787212200000,
                    }
                ],
            }
        ],
    },
)
