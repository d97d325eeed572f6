"""The dashboard's small server, the browser's one origin: the built page (``dist/``), the
OpenID Connect client of the user's sign-in with sessions kept in Redis (server/auth.py,
backend for frontend: the browser never holds a token), and relays of ``/api/`` to
query-api, ``/workspace/`` to the workspace service, ``/reporter/`` to the reporter and
``/connect/<service>/`` to the ingest services, each with the session's Pulse token
(server/relays.py).

Every request is rate limited per client address, sign-ins and refused session cookies
more tightly (server/limits.py); ``/readyz`` says whether Redis and the identity provider
have answered.

Run: ``uvicorn server.app:app --port 8080`` from ``services/dashboard``; its settings are
server/settings.py's (the server refuses to start without what sign-in needs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp

from pulse_shared.health import Check, health_router
from pulse_shared.http_ratelimit import RateLimits

from . import auth, relays
from .assets import ASSET_CACHE, PAGE_CACHE, choose_coding
from .guard import Denied
from .headers import SecurityHeaders
from .identity import Renewal, provider
from .limits import AuthLimits, Limits
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
        redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        stack.push_async_callback(redis.aclose)
        limits = Limits.of(settings, redis)
        if limits is not None:
            app.state.rate_limits = (limits.limiter, limits.http)  # the shared middleware's
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
            reporter=await stack.enter_async_context(upstream_client(settings.reporter_url)),
            ingest={
                service: await stack.enter_async_context(upstream_client(url))
                for service, url in settings.ingest_urls.items()
            },
            pages=Pages.of(settings.dist),
            limits=limits,
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
# Every request per client address (outer), then sign-ins and refused session cookies.
app.add_middleware(AuthLimits)
app.add_middleware(RateLimits)


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


def _checks() -> Mapping[str, Check]:
    """What /readyz asks: Redis answers (sessions, limits), and the identity provider's
    discovery document has been fetched (Authlib keeps it once it has: a sign-in needs
    it, a provider's later outage does not make this server unready)."""
    services: Services = app.state.services

    async def redis() -> bool:
        return bool(await services.store.redis.ping())

    async def identity_provider() -> bool:
        return "authorization_endpoint" in await services.idp.load_server_metadata()

    return {"redis": redis, "identity-provider": identity_provider}


# /healthz, /readyz and /metrics (Prometheus' text format), like every Pulse service's.
app.include_router(health_router(_checks))
app.include_router(auth.router)
app.include_router(relays.router)


@app.api_route("/assets/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def asset(path: str, request: Request, services: ServicesDep) -> Response:
    found = services.pages.asset(path)
    if found is None:
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    headers = {"Cache-Control": ASSET_CACHE, "Vary": "Accept-Encoding"}
    coding = choose_coding(found, request.headers.get("accept-encoding", ""))
    if coding is None:
        return FileResponse(found.path, media_type=found.media_type, headers=headers)
    headers["Content-Encoding"] = coding
    return FileResponse(found.encoded[coding], media_type=found.media_type, headers=headers)


@app.get("/{path:path}", include_in_schema=False)
async def page(path: str, services: ServicesDep) -> Response:
    """The built top-level files; every other path is the single page (it routes by the
    URL hash, and /connections, /invite by their paths)."""
    index = services.pages.top_file("index.html")
    if index is None:
        detail = f"the dashboard is not built ({services.settings.dist} has no index.html)"
        return JSONResponse({"detail": detail}, status_code=503)
    if path in services.pages.top and path != "index.html":
        return FileResponse(services.pages.top[path])
    return FileResponse(index, headers={"Cache-Control": PAGE_CACHE})
