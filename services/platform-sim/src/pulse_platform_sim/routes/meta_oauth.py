"""Facebook Login's token side (graph.facebook.com): code exchange, long-lived tokens,
the user's Pages with their Page tokens, permissions and token debugging.

- ``GET|POST /{ver}/oauth/access_token`` with ``code`` → a short-lived user token (1 h);
  with ``grant_type=fb_exchange_token`` → a long-lived one (~60 days). No refresh tokens.
- ``GET /{ver}/me/accounts`` → the Pages the user manages, each with a Page token (no
  expiry when the user token is long-lived) and, if asked, ``instagram_business_account``.
- ``GET /{ver}/me/permissions``, ``DELETE /{ver}/{user-id}/permissions[/{permission}]``.
- ``GET /{ver}/debug_token?input_token=…`` (app token ``{app-id}|{app-secret}``).

Errors have the Graph shape ``{"error":{message,type,code,error_subcode?,fbtrace_id}}``.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_platform_sim.oauth import AuthorizationCode
from pulse_platform_sim.routes.gate import form_fields, label
from pulse_platform_sim.routes.graph import (
    authenticate,
    charge,
    graph_error,
    graph_token,
    no_such_object,
    require_permission,
    token_error,
    top_level_fields,
    unknown_field,
)
from pulse_platform_sim.state import SimState, sim_of
from pulse_platform_sim.tokens import Principal

router = APIRouter(tags=["Facebook Login"])

PAGE_TASKS = ["ANALYZE", "ADVERTISE", "MESSAGING", "MODERATE", "CREATE_CONTENT", "MANAGE"]
# What the population's standing Page tokens may do (everything the simulator reads).
STANDING_SCOPES = [
    "pages_show_list",
    "pages_read_engagement",
    "read_insights",
    "instagram_basic",
    "instagram_manage_insights",
]
PAGE_DEFAULT_FIELDS = ["access_token", "category", "category_list", "name", "tasks"]
CODE_ERRORS: dict[str, tuple[str, int | None]] = {
    "unknown": ("Invalid verification code format.", None),
    "used": ("This authorization code has been used.", 36009),
    "expired": ("This authorization code has expired.", 36007),
    "client_mismatch": ("Invalid verification code format.", None),
    "redirect_mismatch": (
        "Error validating verification code. Please make sure your redirect_uri is identical "
        "to the one you used in the OAuth dialog request",
        36008,
    ),
    "verifier_mismatch": ("Invalid code verifier.", None),
}


async def _params(request: Request) -> dict[str, str]:
    """Query parameters, and a form body's fields (which win) for POST."""
    params = dict(request.query_params)
    if request.method == "POST":
        params |= await form_fields(request) or {}
    return params


def _check_app(sim: SimState, params: dict[str, str]) -> None:
    provider = sim.oauth.providers["meta"]
    for name in ("client_id", "client_secret"):
        if not params.get(name):
            raise graph_error(400, f"Missing {name} parameter.", 100)
    if params["client_id"] != provider.client_id:
        raise graph_error(400, "Error validating application. Invalid application ID.", 101)
    if params["client_secret"] != provider.client_secret:
        raise graph_error(400, "Error validating client secret.", 1)


def _exchange_code(sim: SimState, params: dict[str, str]) -> dict[str, Any]:
    for name in ("redirect_uri", "code"):
        if not params.get(name):
            raise graph_error(400, f"Missing {name} parameter.", 100)
    code = sim.oauth.redeem_code(
        "meta",
        params["code"],
        params["client_id"],
        params["redirect_uri"],
        params.get("code_verifier"),
    )
    if not isinstance(code, AuthorizationCode):
        message, subcode = CODE_ERRORS[code]
        if subcode is None:
            raise graph_error(400, message, 100)
        raise graph_error(400, message, 100, error_subcode=subcode)
    ttl = sim.settings.meta_short_token_ttl_s
    principal = sim.oauth.access_token(sim.oauth.new_grant(code, None), "fb_user", ttl)
    return {"access_token": principal.token, "token_type": "bearer", "expires_in": ttl}


def _long_lived(sim: SimState, params: dict[str, str]) -> dict[str, Any]:
    """fb_exchange_token: a still valid user token for a long-lived one."""
    short = params.get("fb_exchange_token")
    if not short:
        raise graph_error(400, "Missing fb_exchange_token parameter.", 100)
    principal, status = sim.tokens.lookup("meta", short)
    if principal is None or principal.kind != "fb_user" or principal.grant is None:
        raise token_error(sim, short, None)
    if status != "valid":
        raise token_error(sim, short, status)
    ttl = sim.settings.meta_long_token_ttl_s
    long = sim.oauth.access_token(principal.grant, "fb_user", ttl, long_lived=True)
    return {"access_token": long.token, "token_type": "bearer", "expires_in": ttl}


async def _access_token(request: Request) -> JSONResponse:
    sim = sim_of(request)
    label(request, "meta", f"{request.method} /{{version}}/oauth/access_token")
    params = await _params(request)
    _check_app(sim, params)
    request.state.principal = "app"
    if params.get("grant_type") == "fb_exchange_token":
        body = _long_lived(sim, params)
    elif params.get("grant_type") in (None, "", "authorization_code"):
        body = _exchange_code(sim, params)
    else:
        raise graph_error(400, f"Unsupported grant_type: {params['grant_type']}", 100)
    return JSONResponse(body)


@router.get("/{version:graph_version}/oauth/access_token", summary="Exchange a code or token")
async def access_token_get(request: Request, version: str) -> JSONResponse:
    return await _access_token(request)


@router.post("/{version:graph_version}/oauth/access_token", summary="The same, as a form")
async def access_token_post(request: Request, version: str) -> JSONResponse:
    return await _access_token(request)


def _debug_view(sim: SimState, principal: Principal | None, status: str) -> dict[str, Any]:
    apps = sim.population.apps
    if principal is None:
        error = {"code": 190, "message": "Invalid OAuth access token."}
        return {"app_id": apps.meta_app_id, "is_valid": False, "error": error, "scopes": []}
    expires = principal.expires_at
    view: dict[str, Any] = {
        "app_id": apps.meta_app_id,
        "type": "USER" if principal.kind == "fb_user" else "PAGE",
        "application": "Pulse",
        "expires_at": int(expires.timestamp()) if expires else 0,
        "is_valid": status == "valid",
        "scopes": principal.scopes if principal.scopes is not None else STANDING_SCOPES,
    }
    if principal.issued_at is not None:
        view["issued_at"] = int(principal.issued_at.timestamp())
    if principal.user is not None:
        view["user_id"] = principal.user.meta_user_id
    if principal.kind != "fb_user" and principal.account is not None:
        view["profile_id"] = principal.account.account_id
    return view


@router.get("/{version:graph_version}/debug_token", summary="What a token is")
async def debug_token(request: Request, version: str) -> JSONResponse:
    sim = sim_of(request)
    label(request, "meta", "GET /{version}/debug_token")
    apps = sim.population.apps
    caller = graph_token(request)
    if caller != f"{apps.meta_app_id}|{apps.meta_app_secret}":
        known, status = sim.tokens.lookup("meta", caller) if caller else (None, "valid")
        if known is None or status != "valid":
            raise token_error(sim, caller, None if known is None else status)
    value = request.query_params.get("input_token")
    if not value:
        raise graph_error(400, "(#100) The parameter input_token is required", 100)
    principal, status = sim.tokens.lookup("meta", value)
    return JSONResponse({"data": _debug_view(sim, principal, status)})


async def _user(request: Request, user_id: str, endpoint: str) -> tuple[SimState, Principal]:
    """A user token speaking about its own user (``me`` or the user's id)."""
    sim, principal = await authenticate(request, endpoint)
    charge(request, sim, principal, None)
    user = principal.user
    mine = user is not None and user_id in ("me", user.meta_user_id)
    if principal.kind != "fb_user":
        if user_id == "me" and principal.account is not None:
            edge = endpoint.rsplit("/", 1)[1]
            raise unknown_field(edge, "Page")
        raise no_such_object(user_id)
    if not mine:
        raise no_such_object(user_id)
    return sim, principal


def _page_entry(
    sim: SimState, principal: Principal, page_id: str, fields: list[str]
) -> dict[str, Any]:
    page = sim.population.account("facebook", page_id)
    assert page is not None
    business = sim.population.business(page.business_id)
    assert business is not None
    values: dict[str, Any] = {
        "access_token": sim.oauth.page_token(principal, page).token,
        "category": "Software Company",
        "category_list": [{"id": "1065597503495311", "name": "Software Company"}],
        "name": page.name,
        "tasks": PAGE_TASKS,
        "instagram_business_account": {"id": business.accounts["instagram"].account_id},
    }
    entry: dict[str, Any] = {}
    for field in fields or PAGE_DEFAULT_FIELDS:
        if field == "id":
            continue
        if field not in values:
            raise unknown_field(field, "Page")
        entry[field] = values[field]
    entry["id"] = page.account_id
    return entry


@router.get("/{version:graph_version}/{user_id}/accounts", summary="The Pages a user manages")
async def accounts(request: Request, version: str, user_id: str) -> JSONResponse:
    sim, principal = await _user(request, user_id, "GET /{version}/:id/accounts")
    require_permission(principal, "pages_show_list")
    assert principal.user is not None
    fields = top_level_fields(request.query_params.get("fields"))
    pages = sim.population.accounts_of(principal.user, "facebook")
    data = [_page_entry(sim, principal, page.account_id, fields) for page in pages]
    body: dict[str, Any] = {"data": data}
    if data:
        first, last = data[0]["id"], data[-1]["id"]
        body["paging"] = {"cursors": {"before": _cursor(first), "after": _cursor(last)}}
    return JSONResponse(body, headers=request.state.response_headers)


def _cursor(page_id: str) -> str:
    return base64.b64encode(page_id.encode()).decode().rstrip("=")


@router.get("/{version:graph_version}/{user_id}/permissions", summary="Permissions granted")
async def permissions(request: Request, version: str, user_id: str) -> JSONResponse:
    _, principal = await _user(request, user_id, "GET /{version}/:id/permissions")
    data = [{"permission": p, "status": "granted"} for p in principal.scopes or []]
    return JSONResponse({"data": data}, headers=request.state.response_headers)


@router.delete("/{version:graph_version}/{user_id}/permissions", summary="Log the app out")
async def revoke_all(request: Request, version: str, user_id: str) -> JSONResponse:
    """Every permission of the app for this user: all the user's tokens (user and Page
    tokens) stop working (error 190, subcode 458)."""
    sim, principal = await _user(request, user_id, "DELETE /{version}/:id/permissions")
    assert principal.user is not None
    sim.tokens.revoke_grants(sim.tokens.grants_of(principal.user, "meta"))
    return JSONResponse({"success": True}, headers=request.state.response_headers)


@router.delete(
    "/{version:graph_version}/{user_id}/permissions/{permission}",
    summary="Take back one permission",
)
async def revoke_one(request: Request, version: str, user_id: str, permission: str) -> JSONResponse:
    sim, principal = await _user(request, user_id, "DELETE /{version}/:id/permissions/:name")
    assert principal.user is not None
    for grant in sim.tokens.grants_of(principal.user, "meta"):
        if permission in grant.scopes:
            grant.scopes.remove(permission)
    return JSONResponse({"success": True}, headers=request.state.response_headers)
