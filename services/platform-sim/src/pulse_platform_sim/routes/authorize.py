"""The authorization step of the OAuth 2.0 authorization-code flow, at each platform's
documented path: a consent page where a person signs in as one of the simulated users
and allows or denies the app.

- LinkedIn ``GET /oauth/v2/authorization`` (www.linkedin.com)
- X ``GET /i/oauth2/authorize`` (x.com), PKCE required (S256 or plain)
- Meta ``GET /{api-version}/dialog/oauth`` (www.facebook.com), PKCE optional

The form posts back to the same path. The request is checked on both legs: an unknown
client id or an unregistered redirect URI gets an error page (never a redirect); any
other problem goes back to the redirect URI as ``error``/``error_description``/``state``,
as RFC 6749 4.1.2.1 says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pulse_platform_sim.consent import consent_page, error_page
from pulse_platform_sim.oauth import VERIFIER, Provider
from pulse_platform_sim.population import Api, SimUser
from pulse_platform_sim.routes.gate import form_fields, label
from pulse_platform_sim.state import SimState, sim_of

router = APIRouter(tags=["OAuth consent pages"])

LINKEDIN_PATH = "/oauth/v2/authorization"
X_PATH = "/i/oauth2/authorize"
META_PATH = "/{version:graph_version}/dialog/oauth"
X_MAX_STATE = 500
URI_SCHEME = re.compile(r"^https?://", re.IGNORECASE)

# What a person's "Deny" sends back, per platform.
DENIED: dict[Api, dict[str, str]] = {
    "linkedin": {
        "error": "user_cancelled_authorize",
        "error_description": "The user cancelled the authorization",
    },
    "twitter": {"error": "access_denied", "error_description": "The user denied the request"},
    "meta": {
        "error": "access_denied",
        "error_code": "200",
        "error_description": "Permissions error",
        "error_reason": "user_denied",
    },
}


class ErrorPage(Exception):
    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


class ErrorRedirect(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    login_hint: str | None


def _check_client(provider: Provider, params: Mapping[str, str]) -> str:
    """The redirect URI, once the client and the URI are known to be registered."""
    client_id = params.get("client_id")
    if not client_id:
        raise ErrorPage("Invalid request", "The required parameter client_id is missing.")
    if client_id != provider.client_id:
        raise ErrorPage("Invalid client", f"No application has the client id {client_id!r}.")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        raise ErrorPage("Invalid request", "The required parameter redirect_uri is missing.")
    if not URI_SCHEME.match(redirect_uri) or "#" in redirect_uri:
        raise ErrorPage("Invalid redirect_uri", "The redirect_uri must be an absolute URL.")
    if not provider.redirect_allowed(redirect_uri):
        raise ErrorPage(
            "Invalid redirect_uri",
            f"The redirect_uri {redirect_uri!r} does not match the redirect URLs registered "
            "for this application.",
        )
    return redirect_uri


def _check_scopes(provider: Provider, scopes: list[str]) -> None:
    unknown = [s for s in scopes if s not in provider.scopes]
    if not unknown:
        return
    if provider.api == "linkedin":
        raise ErrorRedirect(
            "unauthorized_scope_error",
            f'Scope "{unknown[0]}" is not authorized for your application',
        )
    if provider.api == "twitter":
        raise ErrorRedirect("invalid_scope", f"Unknown scope: {' '.join(unknown)}")
    raise ErrorPage(
        "Invalid Scopes", f"Invalid Scopes: {', '.join(unknown)}. Please check the permissions."
    )


def _check_pkce(provider: Provider, params: Mapping[str, str]) -> tuple[str | None, str | None]:
    if provider.pkce == "ignored":
        return None, None
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if challenge is None:
        return None, None
    method = method or "plain"
    if method not in ("S256", "plain"):
        raise ErrorRedirect("invalid_request", "code_challenge_method must be S256 or plain")
    if not VERIFIER.match(challenge):
        raise ErrorRedirect("invalid_request", "code_challenge is not a valid PKCE challenge")
    return challenge, method


def check_request(provider: Provider, params: Mapping[str, str]) -> AuthorizationRequest:
    redirect_uri = _check_client(provider, params)
    # From here on, problems go back to the (registered) redirect URI.
    for name in provider.required:
        if not params.get(name):
            raise ErrorRedirect("invalid_request", f"Missing required parameter: {name}")
    if params.get("response_type", "code") != "code":
        raise ErrorRedirect(
            "unsupported_response_type", "Only the authorization code flow is supported"
        )
    state = params.get("state") or None
    if provider.api == "twitter" and state is not None and len(state) > X_MAX_STATE:
        raise ErrorRedirect("invalid_request", f"state is longer than {X_MAX_STATE} characters")
    scopes = provider.split_scopes(params.get("scope"))
    _check_scopes(provider, scopes)
    challenge, method = _check_pkce(provider, params)
    return AuthorizationRequest(
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=challenge,
        code_challenge_method=method,
        login_hint=params.get("login_hint") or None,
    )


def redirect_to(provider: Provider, redirect_uri: str, values: Mapping[str, str | None]) -> str:
    """``redirect_uri`` with ``values`` added to its query (Meta adds its ``#_=_``)."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in values.items() if v is not None]
    fragment = "_=_" if provider.api == "meta" else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), fragment))


def _users(sim: SimState, api: Api) -> list[SimUser]:
    """Who can sign in here: on X a person signs in as an X account, so only users who
    have one."""
    users = sim.population.users
    if api == "twitter":
        return [u for u in users if sim.population.accounts_of(u, "twitter")]
    return list(users)


def _params(source: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in source.items() if k not in ("user", "decision")}


def _show_consent(
    sim: SimState, request: Request, provider: Provider, params: Mapping[str, str]
) -> Response:
    try:
        checked = check_request(provider, params)
    except ErrorPage as page:
        return HTMLResponse(error_page(provider.name, page.title, page.message), status_code=400)
    except ErrorRedirect as problem:
        return _error_redirect(provider, params, problem)
    users = _users(sim, provider.api)
    selected = checked.login_hint if checked.login_hint else (users[0].user_id if users else None)
    html = consent_page(
        provider, request.url.path, params, checked.scopes, users, sim.population, selected
    )
    return HTMLResponse(html)


def _error_redirect(
    provider: Provider, params: Mapping[str, str], problem: ErrorRedirect
) -> Response:
    values = {
        "error": problem.error,
        "error_description": problem.description,
        "state": params.get("state") or None,
    }
    return RedirectResponse(redirect_to(provider, params["redirect_uri"], values), 302)


async def _decide(sim: SimState, request: Request, provider: Provider) -> Response:
    form = await form_fields(request) or {}
    params = _params(form)
    try:
        checked = check_request(provider, params)
    except ErrorPage as page:
        return HTMLResponse(error_page(provider.name, page.title, page.message), status_code=400)
    except ErrorRedirect as problem:
        return _error_redirect(provider, params, problem)
    decision = form.get("decision")
    if decision == "deny":
        values = {**DENIED[provider.api], "state": checked.state}
        return RedirectResponse(redirect_to(provider, checked.redirect_uri, values), 302)
    users = _users(sim, provider.api)
    user = next((u for u in users if u.user_id == form.get("user")), None)
    if decision != "allow" or user is None:
        html = consent_page(
            provider,
            request.url.path,
            params,
            checked.scopes,
            users,
            sim.population,
            form.get("user"),
            error="Choose who you sign in as, then Allow or Deny.",
        )
        return HTMLResponse(html, status_code=400)
    code = sim.oauth.issue_code(
        provider,
        checked.redirect_uri,
        user,
        checked.scopes,
        checked.code_challenge,
        checked.code_challenge_method,
    )
    values = {"code": code.code, "state": checked.state}
    return RedirectResponse(redirect_to(provider, checked.redirect_uri, values), 302)


def _provider(request: Request, api: Api, method: str, path: str) -> tuple[SimState, Provider]:
    sim = sim_of(request)
    label(request, api, f"{method} {path}")
    return sim, sim.oauth.providers[api]


@router.get(LINKEDIN_PATH, summary="LinkedIn: consent page", response_class=HTMLResponse)
async def linkedin_authorize(request: Request) -> Response:
    sim, provider = _provider(request, "linkedin", "GET", LINKEDIN_PATH)
    return _show_consent(sim, request, provider, _params(request.query_params))


@router.post(LINKEDIN_PATH, summary="LinkedIn: the consent form's answer")
async def linkedin_decide(request: Request) -> Response:
    sim, provider = _provider(request, "linkedin", "POST", LINKEDIN_PATH)
    return await _decide(sim, request, provider)


@router.get(X_PATH, summary="X: consent page", response_class=HTMLResponse)
async def x_authorize(request: Request) -> Response:
    sim, provider = _provider(request, "twitter", "GET", X_PATH)
    return _show_consent(sim, request, provider, _params(request.query_params))


@router.post(X_PATH, summary="X: the consent form's answer")
async def x_decide(request: Request) -> Response:
    sim, provider = _provider(request, "twitter", "POST", X_PATH)
    return await _decide(sim, request, provider)


@router.get(META_PATH, summary="Facebook Login: consent page", response_class=HTMLResponse)
async def meta_authorize(request: Request, version: str) -> Response:
    sim, provider = _provider(request, "meta", "GET", "/{version}/dialog/oauth")
    return _show_consent(sim, request, provider, _params(request.query_params))


@router.post(META_PATH, summary="Facebook Login: the consent form's answer")
async def meta_decide(request: Request, version: str) -> Response:
    sim, provider = _provider(request, "meta", "POST", "/{version}/dialog/oauth")
    return await _decide(sim, request, provider)
