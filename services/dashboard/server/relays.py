"""The relays that let the page talk to one origin: ``/api/`` to query-api, ``/workspace/``
to the workspace service, ``/reporter/`` to the reporter, ``/connect/<service>/`` to the
ingest services. Which paths,
headers and bodies may go is proxy.py's; who the request is, guard.py's: with a session,
the session's Pulse token goes upstream as the bearer; without one, a programmatic
client's own Authorization header goes as it came. A path that is not relayed is a 404
that never leaves this server."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from .guard import relay_authorization
from .limits import client_of
from .proxy import (
    CONNECT_FORWARDED,
    CONNECT_MAX_BODY,
    CONNECT_RELAYED,
    MAX_BODY,
    TIMEOUT,
    answer_headers,
    connect_target,
    read_body,
    reporter_route,
    timeout_for,
    upstream_headers,
    upstream_path,
    workspace_route,
)
from .services import Services, ServicesDep

router = APIRouter()
EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
NOT_FOUND = {"detail": "Not Found"}


def raw_path(request: Request) -> bytes:
    path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    return path


def forwarded_for(request: Request, services: Services) -> str | None:
    """The client's address for the upstream: the peer's, or what a proxy this server
    trusts (an ingress controller) says it is, so the upstream's limits count browsers."""
    if request.client is None:
        return None
    return client_of(request.scope, services.settings.trusted_proxies)


def too_large(limit: int) -> JSONResponse:
    detail = f"the request body is larger than {limit // 1024} KiB"
    return JSONResponse({"detail": detail}, status_code=413)


async def stream(
    request: Request,
    client: httpx.AsyncClient,
    path: str,
    authorization: str | None,
    time_limits: httpx.Timeout,
    upstream_name: str,
    forwarded: str | None,
    max_body: int = MAX_BODY,
    public: bool = False,
) -> Response:
    """Sends the request to ``path`` of ``client``'s upstream and streams the answer back.
    ``public``: the route needs no credential, and none goes (not even the client's own)."""
    body = await read_body(request, max_body)
    if body is None:
        return too_large(max_body)
    headers = upstream_headers(request, forwarded)
    if public:
        headers.pop("authorization", None)
    elif authorization is not None:
        headers["authorization"] = authorization
    upstream = client.build_request(
        request.method, path, params=request.url.query, headers=headers, content=body,
        timeout=time_limits,
    )  # fmt: skip
    try:
        answer = await client.send(upstream, stream=True)
    except httpx.HTTPError:
        detail = f"{upstream_name} is unreachable from the dashboard server"
        return JSONResponse({"detail": detail}, status_code=502)
    return StreamingResponse(
        answer.aiter_raw(),
        status_code=answer.status_code,
        headers=answer_headers(answer),
        background=BackgroundTask(answer.aclose),
    )


@router.api_route("/api/{path:path}", methods=["GET", "POST"])
async def api(request: Request, services: ServicesDep) -> Response:
    """query-api's /api/v1/ (see server/proxy.py)."""
    path = upstream_path(raw_path(request))
    if path is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    authorization = await relay_authorization(request, services)
    return await stream(
        request, services.query_api, path, authorization, timeout_for(path), "query-api",
        forwarded_for(request, services),
    )  # fmt: skip


@router.api_route("/workspace/{path:path}", methods=EVERY_METHOD)
async def workspace(request: Request, services: ServicesDep) -> Response:
    """The workspace service's member routes (see server/proxy.py's WORKSPACE_ROUTES)."""
    route = workspace_route(raw_path(request))
    if route is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    path, methods = route
    if request.method not in methods:
        return method_not_allowed(methods)
    authorization = await relay_authorization(request, services)
    return await stream(
        request, services.workspace, path, authorization, TIMEOUT, "the workspace service",
        forwarded_for(request, services),
    )  # fmt: skip


def method_not_allowed(methods: frozenset[str]) -> JSONResponse:
    allow = ", ".join(sorted(methods))
    return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": allow})


@router.api_route("/reporter/{path:path}", methods=EVERY_METHOD)
async def reporter(request: Request, services: ServicesDep) -> Response:
    """The reporter's member routes and its public unsubscribe link (server/proxy.py's
    REPORTER_ROUTES). The unsubscribe link is opened from a mail, by people who may have
    no session at all, and posted to by mail clients (RFC 8058's one-click): it takes no
    session, so no CSRF rule applies, and no credential goes upstream."""
    found = reporter_route(raw_path(request))
    if found is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    path, route = found
    if request.method not in route.methods:
        return method_not_allowed(route.methods)
    authorization = None if route.public else await relay_authorization(request, services)
    return await stream(
        request, services.reporter, path, authorization, route.timeout, "the reporter",
        forwarded_for(request, services), route.max_body, route.public,
    )  # fmt: skip


# Every method, so that only POST reaches an ingest service and anything else under
# /connect/ is this route's 405 or 404, never the page.
@router.api_route("/connect/{path:path}", methods=EVERY_METHOD)
async def connect(request: Request, services: ServicesDep) -> Response:
    """``POST /connect/<service>/<authorize|disconnect>`` to that ingest service's
    ``/connect/<authorize|disconnect>``; anything else under /connect/, and a service
    whose URL is unset, is a 404 that never leaves this server."""
    target = connect_target(raw_path(request))
    if target is None or target[0] not in services.ingest:
        return JSONResponse(NOT_FOUND, status_code=404)
    if request.method != "POST":
        return JSONResponse(
            {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": "POST"}
        )
    service, action = target
    authorization = await relay_authorization(request, services)
    body = await read_body(request, CONNECT_MAX_BODY)
    if body is None:
        return too_large(CONNECT_MAX_BODY)
    client = services.ingest[service]
    forwarded = forwarded_for(request, services)
    headers = {
        **upstream_headers(request, forwarded, CONNECT_FORWARDED),
        "accept-encoding": "identity",
    }
    if authorization is not None:
        headers["authorization"] = authorization
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
