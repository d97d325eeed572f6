"""The HTTP middlewares on their own, with ASGI messages made by hand (no server)."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import HTTPException
from starlette.types import Message, Receive, Scope, Send

from pulse_shared.http_disconnect import CancelOnDisconnect
from pulse_shared.http_limits import BodyLimit, _excerpt

SCOPE: Scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}


class Client:
    """The server's side of one request: the messages it hands over, what it was sent."""

    def __init__(self, *messages: Message) -> None:
        self.incoming: asyncio.Queue[Message] = asyncio.Queue()
        for m in messages:
            self.incoming.put_nowait(m)
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        return await self.incoming.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def answer(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_a_request_is_answered_with_its_body_as_usual() -> None:
    client = Client({"type": "http.request", "body": b"ab", "more_body": True},
                    {"type": "http.request", "body": b"c"})  # fmt: skip
    await CancelOnDisconnect(answer)(SCOPE, client.receive, client.send)
    assert client.sent[1]["body"] == b"abc"


async def test_a_client_that_leaves_cancels_the_handler() -> None:
    reached = asyncio.Event()
    finished = False

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal finished
        reached.set()
        await asyncio.Event().wait()  # a query that never ends
        finished = True

    client = Client({"type": "http.request", "body": b""})
    request = asyncio.create_task(CancelOnDisconnect(slow)(SCOPE, client.receive, client.send))
    await reached.wait()
    client.incoming.put_nowait({"type": "http.disconnect"})
    await asyncio.wait_for(request, timeout=30)  # returns quietly: the client is gone
    assert not finished
    assert client.sent == []


async def test_the_cleanup_after_an_answer_is_not_cancelled() -> None:
    """Servers report http.disconnect once the answer is sent (uvicorn does): a dependency's
    cleanup that runs after it (closing a database session) still finishes."""
    cleaned = False
    client = Client({"type": "http.request", "body": b""})

    async def answers_then_cleans_up(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal cleaned
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        client.incoming.put_nowait({"type": "http.disconnect"})
        for _ in range(5):
            await asyncio.sleep(0)  # the watch runs meanwhile
        cleaned = True

    await CancelOnDisconnect(answers_then_cleans_up)(SCOPE, client.receive, client.send)
    assert cleaned


async def test_what_receiving_raises_reaches_the_handler() -> None:
    async def reads(scope: Scope, receive: Receive, send: Send) -> None:
        with pytest.raises(HTTPException) as refused:
            await receive()
        assert refused.value.status_code == 413

    async def refusing_receive() -> Message:
        raise HTTPException(413, "too large")

    await CancelOnDisconnect(reads)(SCOPE, refusing_receive, Client().send)


async def test_a_declared_body_over_the_cap_is_refused_unread() -> None:
    client = Client()  # nothing to receive: a read would hang
    scope = {**SCOPE, "headers": [(b"content-length", b"5000")]}
    await asyncio.wait_for(BodyLimit(answer, max_bytes=4096)(scope, client.receive, client.send),
                           timeout=30)  # fmt: skip
    assert client.sent[0]["status"] == 413
    assert json.loads(client.sent[1]["body"]) == {
        "detail": "the request body may be at most 4096 bytes"
    }


async def test_a_streamed_body_is_cut_off_past_the_cap() -> None:
    client = Client(*[{"type": "http.request", "body": b"x" * 1000, "more_body": True}] * 5)
    with pytest.raises(HTTPException) as refused:
        await BodyLimit(answer, max_bytes=4096)(SCOPE, client.receive, client.send)
    assert refused.value.status_code == 413
    within = Client({"type": "http.request", "body": b"x" * 4096})
    await BodyLimit(answer, max_bytes=4096)(SCOPE, within.receive, within.send)
    assert within.sent[0]["status"] == 200


def test_an_excerpt_is_short_and_only_of_scalars() -> None:
    assert _excerpt("y" * 3000) == "y" * 64 + "…"
    assert _excerpt("short") == "short"
    assert _excerpt(7) == 7
    assert _excerpt({"a": "b" * 10_000}) is None
    assert _excerpt(["x"] * 1000) is None
