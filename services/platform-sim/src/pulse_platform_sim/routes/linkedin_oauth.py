"""LinkedIn's token endpoints (www.linkedin.com/oauth/v2/...): code exchange, programmatic
refresh, introspection and revocation.

- The client authenticates with ``client_id`` and ``client_secret`` in the form body.
- Access tokens live 60 days; a refresh token 365 days from the consent that produced it.
  Refreshing mints a new access token but never extends the refresh token: its
  ``refresh_token_expires_in`` counts down, and the new access token cannot outlive it.
- Errors are ``{"error", "error_description"}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from pulse_platform_sim.errors import PlatformError
from pulse_platform_sim.routes.gate import form_fields, label
from pulse_platform_sim.state import SimState, sim_of
from pulse_platform_sim.tokens import Grant

router = APIRouter(tags=["LinkedIn OAuth 2.0"])

INVALID_GRANT = "The provided authorization grant or refresh token is invalid, expired or revoked"
CODE_MISMATCH = (
    "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
    "authorization code. Or authorization code expired. Or external member binding exists"
)


def _error(status: int, error: str, description: str) -> PlatformError:
    return PlatformError(status, {"error": error, "error_description": description})


def _missing(name: str) -> PlatformError:
    return _error(400, "invalid_request", f'A required parameter "{name}" is missing')


async def _client_form(request: Request, endpoint: str) -> tuple[SimState, dict[str, str]]:
    """The form, once the client has authenticated with its id and secret."""
    sim = sim_of(request)
    label(request, "linkedin", endpoint)
    form = await form_fields(request)
    if form is None:
        raise _error(
            400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
        )
    provider = sim.oauth.providers["linkedin"]
    for name in ("client_id", "client_secret"):
        if not form.get(name):
            raise _missing(name)
    if form["client_id"] != provider.client_id or form["client_secret"] != provider.client_secret:
        raise _error(401, "invalid_client", "Client authentication failed")
    request.state.principal = "app"
    return sim, form


def _seconds_until(at: datetime, now: datetime) -> int:
    return max(0, int((at - now).total_seconds()))


def _token_answer(sim: SimState, grant: Grant) -> dict[str, Any]:
    """A new access token of the grant, capped by what is left of its refresh token."""
    now = sim.clock.now()
    ttl = sim.settings.linkedin_access_token_ttl_s
    if grant.refresh_expires_at is not None:
        ttl = min(ttl, _seconds_until(grant.refresh_expires_at, now))
    principal = sim.oauth.access_token(grant, "member", ttl)
    body: dict[str, Any] = {"access_token": principal.token, "expires_in": ttl}
    if grant.refresh_token is not None and grant.refresh_expires_at is not None:
        body["refresh_token"] = grant.refresh_token
        body["refresh_token_expires_in"] = _seconds_until(grant.refresh_expires_at, now)
    body["scope"] = ",".join(grant.scopes)
    return body


def _exchange_code(sim: SimState, form: dict[str, str]) -> dict[str, Any]:
    for name in ("code", "redirect_uri"):
        if not form.get(name):
            raise _missing(name)
    code = sim.oauth.redeem_code(
        "linkedin", form["code"], form["client_id"], form["redirect_uri"], None
    )
    if code in ("unknown", "used"):
        raise _error(400, "invalid_request", INVALID_GRANT)
    if isinstance(code, str):
        raise _error(400, "invalid_redirect_uri", CODE_MISMATCH)
    refresh_ttl = (
        sim.settings.linkedin_refresh_token_ttl_s if sim.settings.linkedin_refresh_tokens else None
    )
    return _token_answer(sim, sim.oauth.new_grant(code, refresh_ttl))


def _refresh(sim: SimState, form: dict[str, str]) -> dict[str, Any]:
    refresh_token = form.get("refresh_token")
    if not refresh_token:
        raise _missing("refresh_token")
    grant = sim.tokens.grant_by_refresh_token("linkedin", refresh_token)
    if grant is None or grant.refresh_status(sim.clock.now()) != "valid":
        raise _error(400, "invalid_request", INVALID_GRANT)
    # The refresh token keeps its value and its expiry (fixed from the first consent).
    return _token_answer(sim, grant)


@router.post("/oauth/v2/accessToken", summary="Exchange a code, or refresh")
async def access_token(request: Request) -> JSONResponse:
    sim, form = await _client_form(request, "POST /oauth/v2/accessToken")
    grant_type = form.get("grant_type")
    if not grant_type:
        raise _missing("grant_type")
    if grant_type == "authorization_code":
        body = _exchange_code(sim, form)
    elif grant_type == "refresh_token":
        body = _refresh(sim, form)
    else:
        raise _error(400, "unsupported_grant_type", f"Grant type {grant_type!r} is not supported")
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/oauth/v2/introspectToken", summary="What a token is and whether it works")
async def introspect(request: Request) -> JSONResponse:
    sim, form = await _client_form(request, "POST /oauth/v2/introspectToken")
    token = form.get("token")
    if not token:
        raise _missing("token")
    principal, status = sim.tokens.lookup("linkedin", token)
    if principal is None:
        return JSONResponse({"active": False})
    issued = principal.issued_at or sim.population.start
    expires = principal.expires_at or issued + timedelta(
        seconds=sim.settings.linkedin_access_token_ttl_s
    )
    body: dict[str, Any] = {
        "active": status == "valid",
        "client_id": sim.oauth.providers["linkedin"].client_id,
        "authorized_at": int(
            (principal.grant.created_at if principal.grant else issued).timestamp()
        ),
        "created_at": int(issued.timestamp()),
        "status": "active" if status == "valid" else status,
        "expires_at": int(expires.timestamp()),
        "scope": ",".join(principal.scopes or ["r_organization_social", "rw_organization_admin"]),
        "auth_type": "3L",
    }
    return JSONResponse(body)


@router.post("/oauth/v2/revoke", summary="Revoke a token (and the consent behind it)")
async def revoke(request: Request) -> Response:
    sim, form = await _client_form(request, "POST /oauth/v2/revoke")
    token = form.get("token")
    if not token:
        raise _missing("token")
    grant = sim.tokens.grant_by_refresh_token("linkedin", token)
    principal, _ = sim.tokens.lookup("linkedin", token)
    if grant is None and principal is not None:
        grant = principal.grant
        if grant is None:  # a standing token: it alone dies
            sim.tokens.set_status(token, "revoked")
    if grant is not None:
        sim.tokens.revoke_grants([grant])
    return Response(status_code=200)
