"""What every platform request goes through before its handler: it is labelled for the
request log, may be hit by an injected fault, and names its bearer token."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.convertors import Convertor, register_url_convertor

from pulse_platform_sim.errors import PlatformError
from pulse_platform_sim.faults import Fault
from pulse_platform_sim.population import Api
from pulse_platform_sim.state import SimState
from pulse_platform_sim.tokens import Principal


class GraphVersion(Convertor[str]):
    """``v26.0`` and every other ``vNN.N``: the Graph API serves each version it keeps."""

    regex = r"v\d+\.\d+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Paths say ``{version:graph_version}``; registered before any router module is built.
register_url_convertor("graph_version", GraphVersion())

# Token kinds in the request log besides the principals' own (app, user, member, ...).
KIND_ABSENT = "none"
KIND_UNRECOGNISED = "unknown"


def label(request: Request, api: Api, endpoint: str) -> None:
    """Name the request for ``GET /_sim/requests`` (read by the app's middleware)."""
    request.state.api = api
    request.state.endpoint = endpoint
    request.state.principal = "anonymous"
    request.state.token_kind = KIND_ABSENT


def identify(request: Request, principal: Principal | None, token: str | None) -> None:
    if principal is not None:
        request.state.principal = principal.label
        request.state.token_kind = principal.kind
    elif token:
        request.state.principal = "invalid"
        request.state.token_kind = KIND_UNRECOGNISED


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def apply_fault(
    sim: SimState,
    api: Api,
    server_error: Callable[[int], PlatformError],
    rate_limited: Callable[[Fault], PlatformError],
) -> None:
    """Raise the platform's answer for the next injected fault, if one is pending."""
    fault = sim.faults.take(api)
    if fault is None:
        return
    if fault.kind == "timeout":
        # Hang past the client's timeout; whoever still listens then gets a 504.
        await asyncio.sleep(fault.hang_s)
        raise server_error(504)
    if fault.kind == "error":
        raise server_error(fault.status)
    raise rate_limited(fault)


async def form_fields(request: Request) -> dict[str, str] | None:
    """An ``application/x-www-form-urlencoded`` body as a dict (the last value of a
    repeated field wins); None if the body is not a form."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return None
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))
