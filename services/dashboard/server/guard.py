"""Who a request is, for the routes that care: its session (the cookie), the CSRF rule of
state-changing requests, and the Authorization header a relay sends upstream."""

from __future__ import annotations

import hmac

from fastapi import Request

from .identity import Refused, Unavailable
from .services import Services
from .sessions import Session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Denied(Exception):
    """Answered as ``{"detail": ...}`` with ``status`` (app.py's handler)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


ENDED = "no session, or it has ended: sign in again"


async def session_of(request: Request, services: Services) -> tuple[str, Session] | None:
    """The request's session and its id; None without the cookie; 401 for a cookie that
    names no session (unknown, tampered with, ended), counted against the client's
    address (server/limits.py)."""
    session_id = request.cookies.get(services.settings.cookie_name)
    if session_id is None:
        return None
    session = await services.store.load(session_id)
    if session is None:
        if services.limits is not None:
            await services.limits.refused_cookie(request.scope)
        raise Denied(401, ENDED)
    return session_id, session


async def signed_in(request: Request, services: Services) -> tuple[str, Session]:
    found = await session_of(request, services)
    if found is None:
        raise Denied(401, ENDED)
    check_csrf(request, found[1], services.settings.public_url)
    return found


def check_csrf(request: Request, session: Session, public_url: str) -> None:
    """A state-changing request with the session cookie must carry the session's CSRF
    token (a page of another site cannot read it), and an Origin, when sent, of ours."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token", "")
    if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise Denied(403, "the X-CSRF-Token header is missing or not this session's")
    origin = request.headers.get("origin")
    if origin is not None and origin != public_url:
        raise Denied(403, f"a request from {origin} may not act on this session")


async def relay_authorization(request: Request, services: Services) -> str | None:
    """The Authorization header a relay sends upstream: the session's Pulse token, renewed
    when it nears its end. None: no session is involved, and the request's own header (a
    programmatic client's), if any, goes as it came."""
    try:
        found = await session_of(request, services)
    except Denied:
        if "authorization" in request.headers:
            return None
        raise
    if found is None:
        return None
    session_id, session = found
    check_csrf(request, session, services.settings.public_url)
    try:
        session = await services.renewal.current(session_id, session)
    except Refused:
        raise Denied(401, "the identity provider ended the sign-in: sign in again") from None
    except Unavailable as exc:
        raise Denied(502, str(exc)) from None
    return f"Bearer {session.access_token}"
