"""X's OAuth 2.0 token endpoints (api.x.com/2/oauth2/...), for a confidential client
("Web App"): it authenticates with HTTP Basic ``client_id:client_secret``.

- Code exchange checks the PKCE ``code_verifier`` against the challenge of the
  authorization request.
- Access tokens live 2 hours; a refresh token comes only with ``offline.access``.
- Refresh tokens rotate: every refresh answers a new one, and the old one is refused.
- Errors are ``{"error", "error_description"}``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_platform_sim.errors import PlatformError
from pulse_platform_sim.routes.gate import form_fields, label
from pulse_platform_sim.state import SimState, sim_of
from pulse_platform_sim.tokens import Grant

router = APIRouter(tags=["X OAuth 2.0"])

OFFLINE = "offline.access"
BAD_CODE = "Value passed for the authorization code was invalid."
BAD_TOKEN = "Value passed for the token was invalid."  # noqa: S105 (an error message)


def _error(status: int, error: str, description: str) -> PlatformError:
    return PlatformError(status, {"error": error, "error_description": description})


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


async def _client_form(request: Request, endpoint: str) -> tuple[SimState, dict[str, str]]:
    sim = sim_of(request)
    label(request, "twitter", endpoint)
    provider = sim.oauth.providers["twitter"]
    credentials = _basic(request.headers.get("authorization", ""))
    if credentials != (provider.client_id, provider.client_secret):
        raise _error(401, "unauthorized_client", "Missing valid authorization header")
    request.state.principal = "app"
    form = await form_fields(request)
    if form is None:
        raise _error(
            400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
        )
    return sim, form


def _missing(name: str) -> PlatformError:
    return _error(400, "invalid_request", f"Missing required parameter [{name}].")


def _token_answer(sim: SimState, grant: Grant) -> dict[str, Any]:
    accounts = sim.population.accounts_of(grant.user, "twitter")
    ttl = sim.settings.twitter_access_token_ttl_s
    principal = sim.oauth.access_token(grant, "user", ttl, account=accounts[0])
    body: dict[str, Any] = {
        "token_type": "bearer",
        "expires_in": ttl,
        "access_token": principal.token,
        "scope": " ".join(grant.scopes),
    }
    if grant.refresh_token is not None:
        body["refresh_token"] = grant.refresh_token
    return body


def _exchange_code(sim: SimState, form: dict[str, str]) -> dict[str, Any]:
    for name in ("code", "redirect_uri", "code_verifier"):
        if not form.get(name):
            raise _missing(name)
    provider = sim.oauth.providers["twitter"]
    code = sim.oauth.redeem_code(
        "twitter", form["code"], provider.client_id, form["redirect_uri"], form["code_verifier"]
    )
    if isinstance(code, str):
        raise _error(400, "invalid_request", BAD_CODE)
    offline = OFFLINE in code.scopes
    ttl = sim.settings.twitter_refresh_token_ttl_s if offline else None
    return _token_answer(sim, sim.oauth.new_grant(code, ttl))


def _refresh(sim: SimState, form: dict[str, str]) -> dict[str, Any]:
    refresh_token = form.get("refresh_token")
    if not refresh_token:
        raise _missing("refresh_token")
    grant = sim.tokens.grant_by_refresh_token("twitter", refresh_token)
    if grant is None or grant.refresh_status(sim.clock.now()) != "valid":
        raise _error(400, "invalid_request", BAD_TOKEN)
    sim.oauth.rotate_refresh_token(grant, sim.settings.twitter_refresh_token_ttl_s)
    return _token_answer(sim, grant)


@router.post("/2/oauth2/token", summary="Exchange a code, or refresh (rotating)")
async def token(request: Request) -> JSONResponse:
    sim, form = await _client_form(request, "POST /2/oauth2/token")
    grant_type = form.get("grant_type")
    if not grant_type:
        raise _missing("grant_type")
    if grant_type == "authorization_code":
        body = _exchange_code(sim, form)
    elif grant_type == "refresh_token":
        body = _refresh(sim, form)
    else:
        raise _error(400, "unsupported_grant_type", f"Grant type {grant_type} is not supported")
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/2/oauth2/revoke", summary="Revoke an access or refresh token")
async def revoke(request: Request) -> JSONResponse:
    """A refresh token takes its whole grant (every access token it gave) with it; an
    access token only itself (RFC 7009 2.1). Unknown tokens answer the same."""
    sim, form = await _client_form(request, "POST /2/oauth2/revoke")
    value = form.get("token")
    if not value:
        raise _missing("token")
    grant = sim.tokens.grant_by_refresh_token("twitter", value)
    if grant is not None:
        sim.tokens.revoke_grants([grant])
    else:
        principal, _ = sim.tokens.lookup("twitter", value)
        if principal is not None and principal.kind != "app":  # not the app's own Bearer
            sim.tokens.set_status(value, "revoked")
    return JSONResponse({"revoked": True})
