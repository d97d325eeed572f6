"""Stop a request's work when its client goes away, as a plain ASGI middleware.

Starlette runs a handler to its end even after the client has left, so a slow query keeps a
database backend busy for nobody. Here the request's task is cancelled as soon as the
server reports ``http.disconnect``; asyncpg then cancels the statement on the server. No
library does this (Starlette only watches for disconnects while streaming a response).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse_shared.logs import get_logger

log = get_logger(__name__)


class CancelOnDisconnect:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Every message from the server passes through one reader, so the handler and the
        # watch never wait on ``receive`` at the same time; what the reader raises (a body
        # over its cap, say) is raised to the handler where it would have been.
        messages: asyncio.Queue[Message | Exception] = asyncio.Queue()

        async def next_message() -> Message:
            message = await messages.get()
            if isinstance(message, Exception):
                raise message
            return message

        responded = False

        async def noting_send(message: Message) -> None:
            nonlocal responded
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                responded = True

        async def handle() -> None:
            await self.app(scope, next_message, noting_send)

        handler = asyncio.create_task(handle())
        gone = False

        async def watch() -> None:
            nonlocal gone
            while True:
                try:
                    message = await receive()
                except Exception as exc:
                    messages.put_nowait(exc)
                    return
                messages.put_nowait(message)
                if message["type"] == "http.disconnect":
                    # Once the answer is out, the server reports a disconnect as well: what
                    # runs then (a dependency's cleanup, closing its session) must finish.
                    if not responded:
                        gone = True
                        handler.cancel()
                    return

        watcher = asyncio.create_task(watch())
        try:
            await handler
        except asyncio.CancelledError:
            if not gone:  # this request itself was cancelled (shutdown): so is its handler
                raise
            log.info("client left: request cancelled", method=scope["method"], path=scope["path"])
        finally:
            handler.cancel()
            watcher.cancel()
