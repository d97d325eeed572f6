"""A platform's error answer, raised from anywhere in a request and sent as is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse


class PlatformError(Exception):
    """Answer the request with this status, JSON body and headers (the platform's own
    error shape, built by the platform's route module)."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def attach_headers(request: Request, headers: Mapping[str, str]) -> None:
    """Headers every answer to this request carries, errors included (X's rate-limit
    headers, Meta's usage headers)."""
    request.state.response_headers = dict(headers)


async def platform_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PlatformError)
    headers = {**getattr(request.state, "response_headers", {}), **exc.headers}
    return JSONResponse(exc.body, status_code=exc.status, headers=headers)
