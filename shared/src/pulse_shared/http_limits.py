"""What a request may bring: a capped body, and error answers that never echo much of it.

``BodyLimit`` is a plain ASGI middleware (Starlette has none): a body whose declared
length is over the cap is refused with 413 before a byte of it is read, and one that
streams past the cap is cut off at the cap. ``validation_error`` answers a 422 the way
FastAPI does, naming each field, but shows at most a short excerpt of the input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXCERPT_CHARS = 64


def _too_large(limit: int) -> str:
    return f"the request body may be at most {limit} bytes"


async def send_json(
    send: Send, status: int, payload: object, headers: Mapping[str, str] | None = None
) -> None:
    """A whole JSON answer, sent by a middleware before (or instead of) the app."""
    body = json.dumps(payload).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), *extra],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _refuse_too_large(send: Send, limit: int) -> None:
    # The unread body stays on the connection: close it rather than read it.
    await send_json(send, 413, {"detail": _too_large(limit)}, {"Connection": "close"})


class BodyLimit:
    """Bodies of at most ``max_bytes``; without it, of at most the app's
    ``state.max_body_bytes``, which a lifespan sets from its settings."""

    def __init__(self, app: ASGIApp, max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: int = self.max_bytes or scope["app"].state.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse_too_large(send, limit)
            return
        received = 0

        async def capped_receive() -> Message:
            # A body without a declared length (chunked): cut off where it passes the cap;
            # the HTTPException reaches the client as a 413 like any other.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, capped_receive, send)


def _excerpt(value: Any) -> Any:
    """Scalars as they were, cut to a few characters; anything larger is left out."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str | bytes):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"
    return None


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", ""),
         "input": _excerpt(e.get("input"))}
        for e in exc.errors()
    ]  # fmt: skip
    return JSONResponse({"detail": detail}, status_code=422)
