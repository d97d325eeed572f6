"""The connect routes of an ingest service (``pulse_shared.ingest.connect`` does the work):

- ``POST /connect/authorize`` (a member's bearer token): the platform's consent URL;
- ``GET /connect/callback``: where the platform sends the browser back;
- ``POST /connect/choose``: the accounts picked on the page the callback showed;
- ``POST /connect/disconnect`` (a member's bearer token): tokens deleted, polling stopped.

A business the caller is not a member of answers 404, as one that does not exist.
"""

from __future__ import annotations

import html
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from pulse_shared.events import PLATFORMS
from pulse_shared.http_auth import Caller, CallerDep
from pulse_shared.http_body import (
    WHOLE_NUMBER_NOTE,
    WholeNumber,
    json_body_openapi,
    parse_json_body,
)
from pulse_shared.ingest.connect import (
    MAX_OFFERED,
    PAGE_HEADERS,
    Connected,
    ConnectError,
    ConnectFlow,
    back_to,
    choice_page,
    choice_page_headers,
    page,
    role_in,
)
from pulse_shared.roles import Permission, may

router = APIRouter(prefix="/connect", tags=["connect"])

BusinessId = Annotated[
    int, Field(gt=0, le=2**63 - 1, description=f"The business. {WHOLE_NUMBER_NOTE}"), WholeNumber
]


class AuthorizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    business_id: BusinessId
    return_to: Annotated[str, Field(max_length=2048)] | None = Field(
        default=None,
        description="Where the browser returns afterwards (one of PULSE_OAUTH_RETURN_URLS; "
        "default: the first), with connected=… or connect_error=… in its query",
    )


class AuthorizeOut(BaseModel):
    authorization_url: str = Field(description="Send the browser here to consent")


class DisconnectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    business_id: BusinessId
    platform: Literal["linkedin", "twitter", "facebook", "instagram"]
    account_id: Annotated[str, Field(min_length=1, max_length=200)]


class DisconnectOut(BaseModel):
    disconnected: bool


def connect_flow(request: Request) -> ConnectFlow:
    flow: ConnectFlow | None = getattr(request.app.state, "connect", None)
    if flow is None:
        raise HTTPException(404, "connecting accounts is not configured on this service")
    return flow


FlowDep = Annotated[ConnectFlow, Depends(connect_flow)]


async def _require_manager(request: Request, caller: Caller, business_id: int) -> None:
    """404 for a business the caller is not a member of (or its API token is not for);
    403 for a member whose role may not connect accounts."""
    role = None
    if caller.may_see(business_id):
        role = await role_in(request.app.state.pool, caller.user, business_id)
    if role is None:
        raise HTTPException(404, f"business {business_id} not found")
    if not may(role, Permission.MANAGE_ACCOUNTS, api_token=caller.api_token):
        held = "a read-only API token" if caller.api_token else f"the role {role}"
        raise HTTPException(
            403, f"{held} may not connect or disconnect accounts of business {business_id}"
        )


# The caller, then the body: nothing of a body is parsed for a caller without a valid token.
async def authorize_body(request: Request, caller: CallerDep) -> tuple[Caller, AuthorizeIn]:
    return caller, parse_json_body(await request.body(), AuthorizeIn)


async def disconnect_body(request: Request, caller: CallerDep) -> tuple[Caller, DisconnectIn]:
    return caller, parse_json_body(await request.body(), DisconnectIn)


# A single-use secret of the flow (state, choice) the service did not issue, or no longer
# holds, is told on a page.
_PAGE: dict[str, Any] = {"content": {"text/html": {"schema": {"type": "string"}}}}
_JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON"},
    401: {"description": "No valid bearer token"},
    413: {"description": "The body is larger than ingest takes"},
    422: {"description": "An invalid body; the message names the field"},
    429: {"description": "Too many requests (Retry-After)"},
}


@router.post(
    "/authorize",
    response_model=AuthorizeOut,
    summary="Start connecting an account: the platform's consent URL",
    responses={
        **_JSON_ERRORS,
        403: {"description": "The caller's role may not connect accounts (admins, owners may)"},
        404: {"description": "No such business among the caller's, or connecting is off"},
    },
    openapi_extra=json_body_openapi(AuthorizeIn),
)
async def authorize(
    caller_and_body: Annotated[tuple[Caller, AuthorizeIn], Depends(authorize_body)],
    request: Request,
    flow: FlowDep,
) -> AuthorizeOut:
    caller, body = caller_and_body
    await _require_manager(request, caller, body.business_id)
    try:
        url = await flow.start(caller.user, body.business_id, body.return_to)
    except ConnectError as exc:
        raise HTTPException(422, exc.message) from None
    return AuthorizeOut(authorization_url=url)


@router.get(
    "/callback",
    summary="Where the platform sends the browser back after consent",
    response_class=HTMLResponse,
    responses={
        200: {"description": "The accounts to choose from (a page with a form)", **_PAGE},
        303: {"description": "Back to the dashboard with the outcome in the query"},
        400: {"description": "An expired or replayed state, a refused grant (a page)", **_PAGE},
        422: {"description": "A parameter too long; the message names it"},
        429: {"description": "Too many requests (Retry-After)"},
    },
)
async def callback(
    flow: FlowDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    try:
        outcome = await flow.finish(state, code, error, error_description)
    except ConnectError as exc:
        return _failed(exc)
    if isinstance(outcome, Connected):
        return _connected(outcome)
    token, pending, offered = outcome
    return HTMLResponse(choice_page(token, offered), headers=choice_page_headers(pending.return_to))


@router.post(
    "/choose",
    summary="Connect the accounts picked on the choice page (a form)",
    response_class=HTMLResponse,
    responses={
        200: {"description": "Connected, with no page to return to (a page)", **_PAGE},
        303: {"description": "Back to the dashboard"},
        400: {"description": "An expired choice, or none of its accounts (a page)", **_PAGE},
        413: {"description": "The body is larger than ingest takes"},
        429: {"description": "Too many requests (Retry-After)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "choice": {"type": "string", "maxLength": 200},
                            "account": {
                                "type": "array",
                                "items": {"type": "string", "maxLength": 255},
                                "maxItems": MAX_OFFERED,
                            },
                        },
                        "required": ["choice"],
                    }
                }
            },
        }
    },
)
async def choose(request: Request, flow: FlowDep) -> Response:
    try:
        form = parse_qs(
            (await request.body()).decode("utf-8", "replace"), max_num_fields=MAX_OFFERED + 1
        )
    except ValueError:  # more fields than a choice page has
        return _failed(ConnectError("invalid_request", f"At most {MAX_OFFERED} accounts."))
    token = (form.get("choice") or [""])[0]
    try:
        return _connected(await flow.choose(token, set(form.get("account", []))))
    except ConnectError as exc:
        return _failed(exc)


@router.post(
    "/disconnect",
    response_model=DisconnectOut,
    summary="Disconnect an account: tokens revoked and deleted, its numbers kept",
    responses={
        **_JSON_ERRORS,
        403: {"description": "The caller's role may not disconnect accounts (admins, owners may)"},
        404: {"description": "No such business among the caller's, or no such account"},
    },
    openapi_extra=json_body_openapi(DisconnectIn),
)
async def disconnect(
    caller_and_body: Annotated[tuple[Caller, DisconnectIn], Depends(disconnect_body)],
    request: Request,
    flow: FlowDep,
) -> DisconnectOut:
    caller, body = caller_and_body
    await _require_manager(request, caller, body.business_id)
    if body.platform not in flow.oauth.platforms or body.platform not in PLATFORMS:
        raise HTTPException(404, f"no {body.platform} account here")
    if not await flow.disconnect(body.business_id, body.platform, body.account_id, caller.user):
        raise HTTPException(404, f"no connected {body.platform} account {body.account_id!r}")
    return DisconnectOut(disconnected=True)


def _connected(outcome: Connected) -> Response:
    names = ", ".join(a.name for a in outcome.accounts)
    if outcome.return_to:
        platforms = ",".join(sorted({a.platform for a in outcome.accounts}))
        url = back_to(outcome.return_to, connected=platforms, accounts=str(len(outcome.accounts)))
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    body = f"<p>Connected: {html.escape(names)}.</p>"
    return HTMLResponse(page("Connected", body), headers=PAGE_HEADERS)


def _failed(exc: ConnectError) -> Response:
    if exc.return_to:
        url = back_to(exc.return_to, connect_error=exc.code)
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    return HTMLResponse(
        page("Not connected", f"<p>{html.escape(exc.message)}</p>"),
        status_code=exc.status,
        headers=PAGE_HEADERS,
    )
