"""What the ``/api/`` proxy may send to query-api: which paths, headers and bodies.

Only query-api's ``/api/v1/`` is the page's: its ``/metrics``, ``/docs``, ``/openapi.json``
and health checks are not. The path is decided as query-api would read it, after every
layer of percent-encoding is peeled off and the segments are normalised, and the upstream
URL is built from that normalised path alone, which needs no encoding: what is decided is
what query-api receives.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import httpx
from starlette.requests import Request

PREFIX = ("api", "v1")
MAX_BODY = 64 * 1024
# Layers of percent-encoding peeled off; a path encoded more often than this means to hide
# something (the page encodes none) and is refused.
MAX_LAYERS = 3
# RFC 3986's unreserved characters: every segment of query-api's paths is made of them.
SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")

# Request headers query-api reads; everything else (cookies, hop-by-hop headers, a
# client's own X-Forwarded-For) stays here. Accept-Encoding goes along because the answer
# is relayed byte for byte: it must be in a coding the client asked for.
FORWARDED = ("authorization", "content-type", "accept", "accept-encoding")

# Hop-by-hop headers (RFC 9110 7.6.1) and those this server sets itself: not relayed back.
NOT_RELAYED = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", "date", "server",
}  # fmt: skip

# query-api's reader statements stop after 10 s, the export's after 300 s; a read waits
# this long for the next bytes (an export streams for as long as they keep coming).
TIMEOUT = httpx.Timeout(10.0, read=30.0)
EXPORT_TIMEOUT = httpx.Timeout(10.0, read=330.0)


def upstream_path(raw_path: bytes) -> str | None:
    """The query-api path for a request to ``raw_path`` (as sent, percent-encoded), or None
    when, decoded and normalised, it is not under ``/api/v1/``."""
    try:
        path = raw_path.decode("ascii")
        for _ in range(MAX_LAYERS + 1):
            decoded = unquote(path, errors="strict")
            if decoded == path:
                break
            path = decoded
        else:
            return None
    except UnicodeDecodeError:
        return None
    segments: list[str] = []
    for segment in path.replace("\\", "/").split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            segments = segments[:-1]
        elif SEGMENT.fullmatch(segment):
            segments.append(segment)
        else:
            return None
    if tuple(segments[: len(PREFIX)]) != PREFIX or len(segments) == len(PREFIX):
        return None
    return "/" + "/".join(segments)


def upstream_headers(request: Request) -> dict[str, str]:
    """The request's headers query-api needs, and the client's address (query-api trusts
    it only from this server)."""
    headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
    if request.client is not None:
        headers["x-forwarded-for"] = request.client.host
    return headers


def answer_headers(answer: httpx.Response) -> dict[str, str]:
    """query-api's headers for the client: end-to-end ones only."""
    named = {h.strip().lower() for h in answer.headers.get("connection", "").split(",")}
    return {k: v for k, v in answer.headers.items() if k.lower() not in NOT_RELAYED | named}


async def read_body(request: Request) -> bytes | None:
    """The request's body, or None when it is over ``MAX_BODY`` (declared or sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def timeout_for(path: str) -> httpx.Timeout:
    return EXPORT_TIMEOUT if path == "/api/v1/analytics/export" else TIMEOUT
