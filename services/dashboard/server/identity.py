"""Who the browser's user is: the identity provider (OpenID Connect through Authlib:
code flow with PKCE S256, discovery from the issuer) and the workspace service, which
turns the provider's ID token into a Pulse access token (``POST /v1/sessions``).

A session's Pulse token is renewed when less than ``RENEW_BEFORE_S`` is left: the
provider's refresh_token grant gives a new ID token, which the workspace exchanges again.
A refused refresh (the provider's session ended: sign-out elsewhere, idle timeout) or a
refused ID token ends the session.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from joserfc.errors import JoseError

from .sessions import Session, SessionStore, User
from .settings import Settings

RENEW_BEFORE_S = 60
TIMEOUT = httpx.Timeout(10.0)


class Refused(Exception):
    """The provider or the workspace refused: the user must sign in again."""


class Unavailable(Exception):
    """The provider or the workspace could not be asked; the session stays."""


@dataclass(frozen=True)
class Grant:
    """What the workspace answers an ID token with."""

    access_token: str
    expires_in: int
    user: User


def provider(settings: Settings) -> StarletteOAuth2App:
    oauth = OAuth()
    client: StarletteOAuth2App = oauth.register(
        "pulse",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid email profile",
            "code_challenge_method": "S256",
            "timeout": TIMEOUT,
        },
    )
    return client


async def open_session(workspace: httpx.AsyncClient, id_token: str) -> Grant:
    """The workspace's Pulse token for the holder of ``id_token``."""
    try:
        answer = await workspace.post("/v1/sessions", json={"id_token": id_token}, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise Unavailable(f"the workspace service is unreachable ({type(exc).__name__})") from exc
    if answer.status_code in (401, 403):
        raise Refused("the workspace service refused the identity provider's ID token")
    if answer.status_code != 200:
        raise Unavailable(f"the workspace service answered {answer.status_code}")
    body = answer.json()
    user = body["user"]
    return Grant(
        access_token=body["access_token"],
        expires_in=int(body["expires_in"]),
        user=User(user["user_id"], user.get("email"), user.get("name")),
    )


def new_session(grant: Grant, token: dict[str, Any], csrf_token: str, now: float) -> Session:
    """A session from the workspace's grant and the provider's tokens (Authlib has
    verified the ID token: its claims are ``token["userinfo"]``)."""
    return Session(
        user=grant.user,
        subject=token["userinfo"]["sub"],
        csrf_token=csrf_token,
        access_token=grant.access_token,
        access_expires_at=now + grant.expires_in,
        refresh_token=token.get("refresh_token"),
        id_token=token["id_token"],
        created_at=now,
    )


class Renewal:
    """Renews sessions' Pulse tokens, one renewal per session at a time in this process
    (a page's parallel calls wait for the first one's result)."""

    def __init__(
        self, idp: StarletteOAuth2App, workspace: httpx.AsyncClient, store: SessionStore
    ) -> None:
        self.idp = idp
        self.workspace = workspace
        self.store = store
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def current(self, session_id: str, session: Session) -> Session:
        """``session`` with a Pulse token that has at least RENEW_BEFORE_S left."""
        if not session.expires_within(RENEW_BEFORE_S, time.time()):
            return session
        lock = self._locks.setdefault(session_id, asyncio.Lock())
        async with lock:
            latest = await self.store.load(session_id)
            if latest is None:
                raise Refused("the session has ended")
            if not latest.expires_within(RENEW_BEFORE_S, time.time()):
                return latest  # another request renewed it meanwhile
            try:
                renewed = await self._renew(latest)
            except Refused:
                await self.store.delete(session_id)
                raise
            await self.store.save(session_id, renewed)
            return renewed

    async def _renew(self, session: Session) -> Session:
        if not session.refresh_token:
            raise Refused("the identity provider gave no refresh token")
        try:
            token = await self.idp.fetch_access_token(
                grant_type="refresh_token", refresh_token=session.refresh_token
            )
            claims = await self.idp.parse_id_token(token, nonce=None)
        except OAuthError as exc:
            raise Refused(f"the identity provider refused the refresh ({exc.error})") from exc
        except JoseError as exc:
            raise Refused("the identity provider's new ID token is not valid") from exc
        except httpx.HTTPError as exc:
            raise Unavailable("the identity provider is unreachable") from exc
        if claims is None or claims["sub"] != session.subject:
            raise Refused("the identity provider's new ID token names someone else")
        grant = await open_session(self.workspace, token["id_token"])
        return session.renewed(
            user=grant.user,
            access_token=grant.access_token,
            access_expires_at=time.time() + grant.expires_in,
            refresh_token=token.get("refresh_token") or session.refresh_token,
            id_token=token["id_token"],
        )
