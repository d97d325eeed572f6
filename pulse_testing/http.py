"""HTTP stand-ins and raw requests: a recording server in place of an upstream, and
requests sent byte for byte as a client might send them."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pulse_testing.processes import ServiceProcess


@dataclass
class Seen:
    """A request as it reached a stand-in."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


# What a stand-in answers a request: status, headers, body; None hangs up.
Respond = Callable[[Seen], "tuple[int, dict[str, str], bytes] | None"]


class RecordingServer:
    """A real HTTP server standing in for an upstream of the dashboard's server: records
    every request reaching it, answers as ``respond`` says."""

    def __init__(self, respond: Respond) -> None:
        self.seen: list[Seen] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.answer(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.respond = respond
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        seen = Seen(handler.command, handler.path, headers, body)
        self.seen.append(seen)
        answer = self.respond(seen)
        if answer is None:
            return
        status, extra, content = answer
        handler.send_response(status)
        for name, value in {"Content-Length": str(len(content)), **extra}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(content)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# Headers every stand-in adds of its own: the dashboard's server must pass none on.
LOOSE_HEADERS = {
    "Content-Type": "application/json",
    "Content-Security-Policy": "default-src *",
    "X-Frame-Options": "ALLOWALL",
}


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]

    def json(self) -> dict[str, object]:
        parsed: dict[str, object] = json.loads(self.body)
        return parsed


def call(
    service: ServiceProcess,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | Iterable[bytes] | None = None,
) -> Answer:
    """One request with its path sent exactly as given (http.client sends a path byte for
    byte; httpx would resolve its dot segments first)."""
    host, port = service.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        chunked = body is not None and not isinstance(body, bytes)
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        return Answer(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


async def raw_post(
    service: ServiceProcess, path: str, headers: dict[str, str], body_start: bytes
) -> bytes:
    """Send a POST's head and the start of its body only, and read what comes back: an
    answer that comes proves the server did not wait for the rest."""
    host, port = service.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host, **headers}.items())
        writer.write(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + body_start)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), timeout=60)
    finally:
        writer.close()
