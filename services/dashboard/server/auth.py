"""Sign-in and sign-out: ``/auth/login``, ``/auth/callback``, ``/auth/session``,
``/auth/logout``. The browser never sees a token: it holds the session cookie, and the
page reads who is signed in and the CSRF token from ``/auth/session``."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict
from urllib.parse import urlsplit

import httpx
from authlib.integrations.base_client import OAuthError
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc.errors import JoseError

from .guard import Denied, signed_in
from .identity import Refused, Unavailable, new_session, open_session
from .services import Services, ServicesDep
from .sessions import SIGN_IN_TTL_S

router = APIRouter(prefix="/auth")
NO_STORE = {"Cache-Control": "no-store"}


def same_origin_path(return_to: str) -> str | None:
    """``return_to`` when it is a path of this origin (with its query and fragment), else
    None: no scheme, no host, no ``//`` or backslash a browser would read as one, no
    control characters."""
    if not return_to.startswith("/") or return_to.startswith("//") or "\\" in return_to:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in return_to) or len(return_to) > 2048:
        return None
    parts = urlsplit(return_to)
    if parts.scheme or parts.netloc:
        return None
    return return_to


def set_cookie(response: Response, services: Services, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name, value, max_age=age, path="/", secure=services.settings.cookie_secure,
        httponly=True, samesite="lax",
    )  # fmt: skip


@router.get("/login")
async def login(request: Request, services: ServicesDep, return_to: str = "/") -> Response:
    """To the identity provider, with a sign-in kept here: Authlib's state, nonce and PKCE
    verifier (it writes them into ``request.session``, which is this dict) and return_to."""
    target = same_origin_path(return_to)
    if target is None:
        raise Denied(400, "return_to must be a path of this site, such as /overview")
    request.scope["session"] = {}
    callback = f"{services.settings.public_url}/auth/callback"
    try:
        redirect: Response = await services.idp.authorize_redirect(request, callback)
    except httpx.HTTPError:
        raise Denied(502, "the identity provider is unreachable") from None
    pending = {"authlib": request.scope["session"], "return_to": target}
    sign_in_id = await services.store.begin_sign_in(pending)
    set_cookie(redirect, services, services.settings.sign_in_cookie_name, sign_in_id, SIGN_IN_TTL_S)
    redirect.headers.update(NO_STORE)
    return redirect


@router.get("/callback")
async def callback(request: Request, services: ServicesDep) -> Response:
    """The provider's answer: the code exchanged (with the PKCE verifier; Authlib checks
    the state and verifies the ID token), the workspace's Pulse token, a new session."""
    settings = services.settings
    pending = await services.store.take_sign_in(request.cookies.get(settings.sign_in_cookie_name))
    if pending is None:
        raise Denied(
            400, "no sign-in is in progress in this browser (or it was used): sign in again"
        )
    request.scope["session"] = pending["authlib"]
    try:
        token = await services.idp.authorize_access_token(request)
        grant = await open_session(services.workspace, token["id_token"])
    except (OAuthError, JoseError) as exc:
        raise Denied(
            400, f"the sign-in failed ({getattr(exc, 'error', 'invalid ID token')})"
        ) from None
    except httpx.HTTPError:
        raise Denied(502, "the identity provider is unreachable") from None
    except Refused as exc:
        raise Denied(403, str(exc)) from None
    except Unavailable as exc:
        raise Denied(502, str(exc)) from None
    # A new id, whatever cookie the browser came with: a session id planted before the
    # sign-in is never the signed-in one.
    await services.store.delete(request.cookies.get(settings.cookie_name))
    session = new_session(grant, token, secrets.token_urlsafe(32), time.time())
    session_id = await services.store.create(session)
    response = RedirectResponse(settings.public_url + pending["return_to"], status_code=302)
    set_cookie(response, services, settings.cookie_name, session_id, settings.session_max_age_s)
    response.delete_cookie(
        settings.sign_in_cookie_name, path="/", secure=settings.cookie_secure, httponly=True
    )
    response.headers.update(NO_STORE)
    return response


@router.get("/session")
async def current_session(request: Request, services: ServicesDep) -> Response:
    _, session = await signed_in(request, services)
    body = {"user": asdict(session.user), "csrf_token": session.csrf_token}
    return JSONResponse(body, headers=NO_STORE)


@router.post("/logout")
async def logout(request: Request, services: ServicesDep) -> Response:
    """Ends the session here, and answers the provider's end-session URL for the page to
    navigate to, which ends the provider's session too (the ID token as the hint)."""
    session_id, session = await signed_in(request, services)
    await services.store.delete(session_id)
    settings = services.settings
    try:
        logout_url = await services.idp.create_logout_url(
            post_logout_redirect_uri=f"{settings.public_url}/", id_token_hint=session.id_token
        )
    except httpx.HTTPError:
        raise Denied(502, "signed out here; the identity provider is unreachable") from None
    response = JSONResponse({"logout_url": logout_url["url"]}, headers=NO_STORE)
    response.delete_cookie(
        settings.cookie_name, path="/", secure=settings.cookie_secure, httponly=True
    )
    return response
