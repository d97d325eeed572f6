"""What the three webhook handshakes share: a token is answered only when it has the shape
its platform documents, and a refusal is a short JSON 400 that echoes nothing back.

Why: X's and LinkedIn's answers are HMACs keyed with the secret that signs deliveries, so
answering any token would sign any body an attacker chose; Meta's answer echoes the
challenge, so answering any challenge would reflect any content. Each receiver states its
platform's shape (and where it is documented) beside its handshake."""

from __future__ import annotations

import re
from typing import Any, TypeGuard

HandshakeAnswer = tuple[int, str, Any]


def conforms(token: str | None, shape: re.Pattern[str]) -> TypeGuard[str]:
    """Whether the token is there and wholly has the shape (a trailing newline does not)."""
    return token is not None and shape.fullmatch(token) is not None


def refused(param: str, shape: str) -> HandshakeAnswer:
    """400 naming the parameter and the shape wanted, never the value given."""
    return 400, "application/json", {"error": f"query parameter {param} must be {shape}"}


def query_parameter(
    name: str, description: str, schema: dict[str, Any], *, required: bool = True
) -> dict[str, Any]:
    """An OpenAPI query parameter of the handshake (contracts.WebhookApi)."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def whole(shape: re.Pattern[str]) -> str:
    """A receiver's shape as a JSON Schema pattern, which matches anywhere unless anchored
    (the receivers match the whole token)."""
    return f"^(?:{shape.pattern})$"
