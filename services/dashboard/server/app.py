"""The dashboard's small server, the browser's one origin: the built page (``dist/``), the
OpenID Connect client of the user's sign-in with sessions kept in Redis (server/auth.py,
backend for frontend: the browser never holds a token), and relays of ``/api/`` to
query-api, ``/workspace/`` to the workspace service and ``/connect/<service>/`` to the
ingest services, each with the session's Pulse token (server/relays.py).

Run: ``uvicorn server.app:app --port 8080`` from ``services/dashboard``; its settings are
server/settings.py's (the server refuses to start without what sign-in needs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp

from . import auth, relays
from .guard import Denied
from .headers import SecurityHeaders
from .identity import Renewal, provider
from .services import Pages, Services, ServicesDep
from .sessions import SessionStore
from .settings import Settings


def upstream_client(base_url: str) -> httpx.AsyncClient:
    """A client for one upstream that keeps no cookie: a cookie an upstream set in answer
    to one browser's request would otherwise go along with every other browser's."""
    return httpx.AsyncClient(
        base_url=base_url, cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = Settings.from_env()
    async with AsyncExitStack() as stack:
        redis = Redis.from_url(settings.redis_url)
        stack.push_async_callback(redis.aclose)
        workspace = await stack.enter_async_context(upstream_client(settings.workspace_url))
        store = SessionStore(
            redis, settings.session_keys, settings.session_idle_s, settings.session_max_age_s
        )
        idp = provider(settings)
        app.state.services = Services(
            settings=settings,
            store=store,
            idp=idp,
            renewal=Renewal(idp, workspace, store),
            query_api=await stack.enter_async_context(upstream_client(settings.query_api_url)),
            workspace=workspace,
            ingest={
                service: await stack.enter_async_context(upstream_client(url))
                for service, url in settings.ingest_urls.items()
            },
            pages=Pages.of(settings.dist),
        )
        yield


class Dashboard(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outermost: Starlette's 500 for an unhandled error is sent outside every
        # middleware added with add_middleware, and it too must carry the headers.
        return SecurityHeaders(super().build_middleware_stack())


app = Dashboard(
    title="Pulse dashboard", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
)


@app.exception_handler(Denied)
async def denied(request: Request, exc: Denied) -> Response:
    response = JSONResponse(
        {"detail": exc.detail}, status_code=exc.status, headers={"Cache-Control": "no-store"}
    )
    services: Services | None = getattr(request.app.state, "services", None)
    if exc.status == 401 and services is not None:
        settings = services.settings
        if settings.cookie_name in request.cookies:  # a session that ended: forget it
            response.delete_cookie(
                settings.cookie_name, path="/", secure=settings.cookie_secure, httponly=True
            )
    return response


@app.exception_handler(RedisError)
async def redis_down(request: Request, exc: RedisError) -> Response:
    detail = "sessions are unavailable for a moment (Redis): try again"
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "5"})


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/metrics")
async def metrics() -> Response:
    """Prometheus' text format, like every Pulse service (process metrics, requests)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


app.include_router(auth.router)
app.include_router(relays.router)


@app.api_route("/assets/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def asset(path: str, services: ServicesDep) -> Response:
    found = services.pages.assets.get(path)
    if found is None:
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    return FileResponse(found)


@app.get("/{path:path}", include_in_schema=False)
async def page(path: str, services: ServicesDep) -> Response:
    """The built top-level files; every other path is the single page (it routes by the
    URL hash, and /connections, /invite by their paths)."""
    top = services.pages.top
    index = top.get("index.html")
    if index is None:
        detail = f"the dashboard is not built ({services.settings.dist} has no index.html)"
        return JSONResponse({"detail": detail}, status_code=503)
    if path in top and path != "index.html":
        return FileResponse(top[path])
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
