"""The operational endpoints every service serves: /healthz, /readyz and /metrics.

``/healthz`` says the process is alive; ``/readyz`` runs the service's dependency
checks (each a coroutine answering True when that dependency answers) and says which
failed; ``/metrics`` is Prometheus' text format.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

Check = Callable[[], Awaitable[bool]]


def health_router(checks: Callable[[], Mapping[str, Check]], timeout_s: float = 3.0) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Every dependency answers", response_model=None)
    async def readyz() -> JSONResponse:
        named = dict(checks())

        async def run(check: Check) -> bool:
            try:
                return await asyncio.wait_for(check(), timeout_s)
            except Exception:
                return False

        results = await asyncio.gather(*(run(c) for c in named.values()))
        status = dict(zip(named, ("ok" if r else "failing" for r in results), strict=True))
        ready = all(results)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": status},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
