"""Sessions, kept in Redis: the browser holds only a random id.

A session is ``pulse:session:<sha256 of its id>``: the user, the CSRF token, the Pulse
access token and what is kept of the identity provider's tokens (the refresh token and
the ID token, for renewal and sign-out). The whole record is Fernet-encrypted with
PULSE_DASHBOARD_SESSION_KEYS: someone reading Redis learns neither a token nor who is
signed in. A session ends when unused for the idle timeout (the key's TTL, renewed at each
use) or at its maximum age, whichever comes first.

A sign-in in progress (Authlib's state, nonce and PKCE verifier, and where to return) is
kept the same way under ``pulse:session:sign-in:<sha256 of its id>``, its id in a cookie
of its own, and read once: a replayed or forged ``state`` finds nothing.

Only GET, SET (with EX), DEL and EXPIRE are used: the ``dashboard`` Redis user's commands.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet
from redis.asyncio import Redis

SESSION_PREFIX = "pulse:session:"
SIGN_IN_PREFIX = "pulse:session:sign-in:"
SIGN_IN_TTL_S = 600
# What secrets.token_urlsafe(32) makes: anything else is not an id of ours and is not
# looked up.
ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class User:
    user_id: str
    email: str | None
    name: str | None


@dataclass(frozen=True)
class Session:
    user: User
    subject: str  # the identity provider's ``sub``, which a renewed ID token must repeat
    csrf_token: str
    access_token: str  # Pulse's, from the workspace
    access_expires_at: float
    refresh_token: str | None  # the identity provider's
    id_token: str  # the identity provider's: the hint that ends its session at sign-out
    created_at: float

    def expires_within(self, seconds: float, now: float) -> bool:
        return self.access_expires_at - now < seconds

    def renewed(self, **changes: Any) -> Session:
        return replace(self, **changes)

    def dump(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def load(cls, raw: bytes) -> Session:
        data = json.loads(raw)
        return cls(**{**data, "user": User(**data["user"])})


def new_id() -> str:
    return secrets.token_urlsafe(32)


def _key(prefix: str, session_id: str) -> str:
    return prefix + hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(
        self,
        redis: Redis,
        keys: MultiFernet,
        idle_s: int,
        max_age_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self.clock = clock

    def _ttl(self, session: Session) -> int:
        """Seconds the key lives: the idle timeout, cut short by the maximum age."""
        left = session.created_at + self.max_age_s - self.clock()
        return max(1, int(min(self.idle_s, left)))

    async def create(self, session: Session) -> str:
        session_id = new_id()
        await self.save(session_id, session)
        return session_id

    async def save(self, session_id: str, session: Session) -> None:
        sealed = self.keys.encrypt(session.dump())
        await self.redis.set(_key(SESSION_PREFIX, session_id), sealed, ex=self._ttl(session))

    async def load(self, session_id: str | None) -> Session | None:
        """The session with this id, its idle timeout started over; None when there is
        none (unknown, tampered with, ended, too old)."""
        if session_id is None or not ID_SHAPE.fullmatch(session_id):
            return None
        key = _key(SESSION_PREFIX, session_id)
        raw = await self.redis.get(key)
        if raw is None:
            return None
        try:
            session = Session.load(self.keys.decrypt(raw))
        except (InvalidToken, ValueError, TypeError, KeyError):
            await self.redis.delete(key)
            return None
        if self.clock() - session.created_at >= self.max_age_s:
            await self.redis.delete(key)
            return None
        await self.redis.expire(key, self._ttl(session))
        return session

    async def delete(self, session_id: str | None) -> None:
        if session_id is not None and ID_SHAPE.fullmatch(session_id):
            await self.redis.delete(_key(SESSION_PREFIX, session_id))

    async def begin_sign_in(self, pending: dict[str, Any]) -> str:
        sign_in_id = new_id()
        sealed = self.keys.encrypt(json.dumps(pending).encode())
        await self.redis.set(_key(SIGN_IN_PREFIX, sign_in_id), sealed, ex=SIGN_IN_TTL_S)
        return sign_in_id

    async def take_sign_in(self, sign_in_id: str | None) -> dict[str, Any] | None:
        """The sign-in in progress with this id, forgotten as it is read (single use)."""
        if sign_in_id is None or not ID_SHAPE.fullmatch(sign_in_id):
            return None
        key = _key(SIGN_IN_PREFIX, sign_in_id)
        raw = await self.redis.get(key)
        if raw is None:
            return None
        # GETDEL is not the dashboard user's; a DEL that removes nothing means another
        # request took it first.
        if not await self.redis.delete(key):
            return None
        try:
            pending: dict[str, Any] = json.loads(self.keys.decrypt(raw))
        except (InvalidToken, ValueError):
            return None
        return pending
