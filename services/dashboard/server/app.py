"""The dashboard's small server: the built page (``dist/``), a proxy of ``/api/`` to
query-api and of ``/connect/<service>/`` to the ingest services' connect routes, so the
browser talks to one origin.

Run: ``uvicorn server.app:app --port 8080`` from ``services/dashboard``.
Settings (environment):
  PULSE_QUERY_API_URL        where query-api answers (default http://127.0.0.1:8000)
  PULSE_INGEST_LINKEDIN_URL  where ingest-linkedin answers (default http://127.0.0.1:8101)
  PULSE_INGEST_TWITTER_URL   where ingest-twitter answers (default http://127.0.0.1:8102)
  PULSE_INGEST_META_URL      where ingest-meta answers (default http://127.0.0.1:8103)
                             (set to "" : that service's /connect/ routes answer 404)
  PULSE_DASHBOARD_DIST       the built static files (default ../dist next to this file)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.background import BackgroundTask
from starlette.types import ASGIApp

from .headers import SecurityHeaders
from .proxy import (
    CONNECT_FORWARDED,
    CONNECT_MAX_BODY,
    CONNECT_RELAYED,
    CONNECT_SERVICES,
    MAX_BODY,
    TIMEOUT,
    answer_headers,
    connect_target,
    read_body,
    timeout_for,
    upstream_headers,
    upstream_path,
)

QUERY_API_URL = os.environ.get("PULSE_QUERY_API_URL", "http://127.0.0.1:8000").rstrip("/")
# Each ingest service's base URL; one set to "" has no /connect/ routes here.
INGEST_DEFAULTS = {
    "linkedin": "http://127.0.0.1:8101",
    "twitter": "http://127.0.0.1:8102",
    "meta": "http://127.0.0.1:8103",
}
INGEST_URLS = {
    service: url
    for service in CONNECT_SERVICES
    if (
        url := os.environ.get(f"PULSE_INGEST_{service.upper()}_URL", INGEST_DEFAULTS[service])
        .strip()
        .rstrip("/")
    )
}
DIST = Path(os.environ.get("PULSE_DASHBOARD_DIST", Path(__file__).resolve().parent.parent / "dist"))


def upstream_client(base_url: str) -> httpx.AsyncClient:
    """A client for one upstream that keeps no cookie: a cookie an upstream set in answer
    to one browser's request would otherwise go along with every other browser's."""
    return httpx.AsyncClient(
        base_url=base_url, cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        app.state.http = await stack.enter_async_context(upstream_client(QUERY_API_URL))
        app.state.ingest = {
            service: await stack.enter_async_context(upstream_client(url))
            for service, url in INGEST_URLS.items()
        }
        yield


class Dashboard(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outermost: Starlette's 500 for an unhandled error is sent outside every
        # middleware added with add_middleware, and it too must carry the headers.
        return SecurityHeaders(super().build_middleware_stack())


app = Dashboard(
    title="Pulse dashboard", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/metrics")
async def metrics() -> Response:
    """Prometheus' text format, like every Pulse service (process metrics, requests)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@app.api_route("/api/{path:path}", methods=["GET", "POST"])
async def proxy(request: Request) -> Response:
    """Relays a request for query-api's /api/v1/ (see server/proxy.py) and streams the
    answer back; anything else is a 404 that never reaches query-api."""
    path = upstream_path(request.scope.get("raw_path") or request.scope["path"].encode())
    if path is None:
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    body = await read_body(request)
    if body is None:
        detail = f"the request body is larger than {MAX_BODY // 1024} KiB"
        return JSONResponse({"detail": detail}, status_code=413)
    client: httpx.AsyncClient = request.app.state.http
    upstream = client.build_request(
        request.method,
        path,
        params=request.url.query,
        headers=upstream_headers(request),
        content=body,
        timeout=timeout_for(path),
    )
    try:
        answer = await client.send(upstream, stream=True)
    except httpx.HTTPError:
        return JSONResponse(
            {"detail": "query-api is unreachable from the dashboard server"}, status_code=502
        )
    return StreamingResponse(
        answer.aiter_raw(),
        status_code=answer.status_code,
        headers=answer_headers(answer),
        background=BackgroundTask(answer.aclose),
    )


# Every method, so that only POST reaches an ingest service and anything else under
# /connect/ is this route's 405 or 404, never the page.
@app.api_route(
    "/connect/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
)
async def connect_proxy(request: Request) -> Response:
    """Relays ``POST /connect/<service>/<authorize|disconnect>`` to that ingest service's
    ``/connect/<authorize|disconnect>`` (see server/proxy.py); anything else under
    /connect/, and a service whose URL is unset, is a 404 that never leaves this server."""
    target = connect_target(request.scope.get("raw_path") or request.scope["path"].encode())
    ingest: dict[str, httpx.AsyncClient] = request.app.state.ingest
    if target is None or target[0] not in ingest:
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    if request.method != "POST":
        return JSONResponse(
            {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": "POST"}
        )
    service, action = target
    body = await read_body(request, CONNECT_MAX_BODY)
    if body is None:
        detail = f"the request body is larger than {CONNECT_MAX_BODY // 1024} KiB"
        return JSONResponse({"detail": detail}, status_code=413)
    client = ingest[service]
    headers = {**upstream_headers(request, CONNECT_FORWARDED), "accept-encoding": "identity"}
    upstream = client.build_request(
        "POST", f"/connect/{action}", headers=headers, content=body, timeout=TIMEOUT
    )
    try:
        answer = await client.send(upstream)
    except httpx.HTTPError:
        return JSONResponse(
            {"detail": f"the {service} ingest service is unreachable from the dashboard server"},
            status_code=502,
        )
    # The body as read (decoded, should the service have encoded it anyway), and only the
    # headers the page reads.
    relayed = {name: answer.headers[name] for name in CONNECT_RELAYED if name in answer.headers}
    return Response(answer.content, status_code=answer.status_code, headers=relayed)


if (DIST / "assets").is_dir():
    app.mount("/assets", StaticFiles(directory=DIST / "assets"), name="assets")

# The built files never change while the server runs: list them once, so a request path
# is looked up, never joined onto the file system.
TOP_FILES = {p.name: p for p in DIST.iterdir() if p.is_file()} if DIST.is_dir() else {}


@app.get("/{path:path}", include_in_schema=False)
async def page(path: str) -> Response:
    """The built top-level files; every other path is the single page (it routes by the
    URL hash, and /connections by its path)."""
    index = TOP_FILES.get("index.html")
    if index is None:
        detail = f"the dashboard is not built ({DIST} has no index.html)"
        return JSONResponse({"detail": detail}, status_code=503)
    if path in TOP_FILES and path != "index.html":
        return FileResponse(TOP_FILES[path])
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
