"""Connecting a platform account, keeping its tokens alive, and finding its posts: the part
of every ingest service that no platform differs in (DESIGN.md, "Accounts, teams, reports").

The flow:

1. the dashboard's server, holding the member's session, POSTs ``/connect/authorize`` with the
   business; the token is checked by the one token check (``pulse_shared.http_auth``) and
   the member's role by pulse_shared.roles (admins and owners manage accounts);
   the answer is the platform's consent URL carrying a single-use ``state``;
2. the platform sends the browser back to ``/connect/callback`` (this service's redirect
   URI, exactly as registered there); the ``state`` (taken once from Redis, 10 minutes at
   most) says which member and business asked, and holds the PKCE verifier;
3. the code is exchanged, the accounts the member may connect are listed; one is stored
   at once, several are offered on a page to choose from (LinkedIn's organisations,
   Meta's Pages), the grants meanwhile encrypted in Redis under another single-use token;
4. each account stored starts ``syncing``: :class:`AccountSync` lists its posts of the
   last ``backfill_days``, tracks and announces each on ``posts.published.v1`` (as a
   publishing app would), publishes its followers and their history, then marks it
   ``active``; afterwards it looks for new posts every ``discovery_every_s``.

Nothing here logs or returns a token; a failure leaves nothing half-stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from redis.asyncio import Redis

from pulse_shared.background import stop_requested
from pulse_shared.events import AccountObserved, Platform, PostPublished
from pulse_shared.ingest.contracts import Account, ApiCaller, ApiError, PlatformClient
from pulse_shared.ingest.oauth import (
    ConnectableAccount,
    DiscoveredPost,
    Grant,
    OAuthClient,
    OAuthRefused,
    PostLister,
    code_challenge,
    code_verifier,
)
from pulse_shared.ingest.tracking import PollSchedule, tracked_post_of
from pulse_shared.ingest.vault import AccountTaken, TokenVault
from pulse_shared.kafka import publish
from pulse_shared.logs import get_logger
from pulse_shared.topics import ACCOUNTS_OBSERVED, POSTS_PUBLISHED

log = get_logger(__name__)

STATE_TTL_S = 600
# Re-listing overlaps the last sync by a day: a post published while a page was being
# read is not missed (announcing one twice tracks it once).
DISCOVERY_OVERLAP = timedelta(days=1)
SYNC_BATCH = 10
PROGRESS_EVERY = 100
# The most accounts one choice page offers (its form's fields are capped to match); an
# agency administering more sees the first by name.
MAX_OFFERED = 500
# A sync that failed (the platform away, a token refused) is tried again after this.
SYNC_RETRY_S = 60.0
# posts.published.v1's bounds on what a platform's listing gives.
MAX_URL_CHARS = 2048
MAX_CONTENT_CHARS = 10_000
REFRESH_LEASE_S = 120


def redis_prefix(service: str, topic_prefix: str) -> str:
    """Keys of this service's connect flow (its Redis user may use only these)."""
    scope = f":{topic_prefix}".rstrip(":.") if topic_prefix else ""
    return f"pulse:oauth:{{{service}}}{scope}"


# --- who may connect -------------------------------------------------------------------

MEMBER_ROLE = "SELECT role FROM business_members WHERE business_id = $1 AND user_id = $2"


async def role_in(pool: asyncpg.Pool, user: str, business_id: int) -> str | None:
    """``user``'s role in the business, None when not a member (pulse_shared.roles decides
    what the role may do)."""
    role: str | None = await pool.fetchval(MEMBER_ROLE, business_id, user)
    return role


# --- the single-use states -------------------------------------------------------------


@dataclass(frozen=True)
class PendingConnect:
    """What a ``state`` stands for: who asked, for which business, and the PKCE verifier."""

    user: str
    business_id: int
    return_to: str | None
    verifier: str | None


class ConnectStates:
    """Single-use tokens in Redis: a ``state`` (the member's pending consent) and a
    ``choice`` (the accounts offered after consent, their grants encrypted with the
    vault's keys). Each is taken once (GETDEL) and expires after ten minutes. Only a
    digest of a token is a key, so Redis never holds one that could be replayed."""

    def __init__(self, redis: Redis, prefix: str, keys: Sequence[str]) -> None:
        self._redis = redis
        self._prefix = prefix
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def _key(self, kind: str, token: str) -> str:
        digest = hashlib.sha256(token.encode()).hexdigest()
        return f"{self._prefix}:{kind}:{digest}"

    async def issue_state(self, pending: PendingConnect) -> str:
        state = secrets.token_urlsafe(32)
        body = self._fernet.encrypt(json.dumps(asdict(pending)).encode())
        await self._redis.set(self._key("state", state), body, ex=STATE_TTL_S)
        return state

    async def take_state(self, state: str) -> PendingConnect | None:
        if not state or len(state) > 200:
            return None
        stored = await self._redis.getdel(self._key("state", state))
        if stored is None:
            return None
        try:
            return PendingConnect(**json.loads(self._fernet.decrypt(stored)))
        except (InvalidToken, TypeError, ValueError):
            return None

    async def issue_choice(self, pending: PendingConnect, offered: list[ConnectableAccount]) -> str:
        token = secrets.token_urlsafe(32)
        body = {"pending": asdict(pending), "offered": [_offered_json(a) for a in offered]}
        encrypted = self._fernet.encrypt(json.dumps(body).encode())
        await self._redis.set(self._key("choice", token), encrypted, ex=STATE_TTL_S)
        return token

    async def take_choice(
        self, token: str
    ) -> tuple[PendingConnect, list[ConnectableAccount]] | None:
        if not token or len(token) > 200:
            return None
        stored = await self._redis.getdel(self._key("choice", token))
        if stored is None:
            return None
        try:
            body = json.loads(self._fernet.decrypt(stored))
            return PendingConnect(**body["pending"]), [_offered_of(a) for a in body["offered"]]
        except (InvalidToken, KeyError, TypeError, ValueError):
            return None


def _offered_json(found: ConnectableAccount) -> dict[str, Any]:
    g = found.grant
    return {
        "platform": found.platform, "account_id": found.account_id, "name": found.name,
        "token_kind": found.token_kind, "access_token": g.access_token,
        "expires_at": g.expires_at.isoformat() if g.expires_at else None,
        "refresh_token": g.refresh_token,
        "refresh_expires_at": g.refresh_expires_at.isoformat() if g.refresh_expires_at else None,
        "scopes": list(g.scopes),
    }  # fmt: skip


def _offered_of(item: dict[str, Any]) -> ConnectableAccount:
    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    grant = Grant(
        item["access_token"], when(item["expires_at"]), item["refresh_token"],
        when(item["refresh_expires_at"]), tuple(item["scopes"]),
    )  # fmt: skip
    return ConnectableAccount(
        item["platform"], item["account_id"], item["name"], grant, item["token_kind"]
    )


# --- the flow --------------------------------------------------------------------------


class ConnectError(Exception):
    """A connection that cannot go on: ``code`` goes back to the dashboard (``return_to``)
    when there is one to go back to, ``message`` is shown to the person otherwise."""

    def __init__(
        self, code: str, message: str, status: int = 400, return_to: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.return_to = return_to


@dataclass(frozen=True)
class Connected:
    """Where the browser goes now, and what was connected."""

    return_to: str | None
    accounts: list[ConnectableAccount]


@dataclass
class ConnectFlow:
    service: str
    oauth: OAuthClient
    vault: TokenVault
    states: ConnectStates
    http: httpx.AsyncClient
    sync: AccountSync
    redirect_uri: str
    return_urls: tuple[str, ...]

    def allowed_return(self, return_to: str | None) -> str | None:
        """``return_to`` when it is on the allow-list (compared without its query), else
        None; unset, the first allowed URL (the dashboard's connections page)."""
        if return_to is None:
            return self.return_urls[0] if self.return_urls else None
        base = urlsplit(return_to)._replace(query="", fragment="").geturl()
        if base not in self.return_urls:
            raise ConnectError("return_to_refused", f"return_to {return_to!r} is not allowed")
        return return_to

    async def start(self, user: str, business_id: int, return_to: str | None) -> str:
        """The consent URL for ``user`` connecting accounts to ``business_id``."""
        verifier = code_verifier() if self.oauth.uses_pkce else None
        pending = PendingConnect(user, business_id, self.allowed_return(return_to), verifier)
        state = await self.states.issue_state(pending)
        return self.oauth.authorization_url(
            state=state,
            redirect_uri=self.redirect_uri,
            code_challenge=code_challenge(verifier) if verifier else None,
        )

    async def finish(
        self, state: str, code: str | None, error: str | None, description: str | None
    ) -> Connected | tuple[str, PendingConnect, list[ConnectableAccount]]:
        """The platform's answer: the accounts connected, or (several to choose from) a
        choice token with what it offers."""
        pending = await self.states.take_state(state)
        if pending is None:
            raise ConnectError(
                "state_invalid",
                "This connection link has expired or was already used. Start again from Pulse.",
            )
        if error is not None or not code:
            raise ConnectError(
                error or "no_code",
                f"The platform did not grant access ({description or error or 'no code'}).",
                return_to=pending.return_to,
            )
        try:
            grant = await self.oauth.exchange(
                self.http, code=code, redirect_uri=self.redirect_uri,
                code_verifier=pending.verifier,
            )  # fmt: skip
            offered = await self.oauth.accounts(self.http, grant)
        except OAuthRefused as exc:
            raise ConnectError(
                "exchange_refused",
                f"The platform refused the sign-in ({exc.error}).",
                return_to=pending.return_to,
            ) from None
        except httpx.HTTPError:
            raise ConnectError(
                "platform_unreachable",
                "The platform could not be reached; try again.",
                502,
                return_to=pending.return_to,
            ) from None
        if not offered:
            # Nothing here is using the grant: it is given back rather than left alive.
            await self._revoke(grant)
            raise ConnectError(
                "no_accounts",
                "This sign-in manages no account Pulse can connect.",
                return_to=pending.return_to,
            )
        if len(offered) == 1:
            return await self.connect(pending, offered)
        if len(offered) > MAX_OFFERED:
            platforms = sorted({a.platform for a in offered})
            log.warning("accounts left off the choice page", offered=len(offered),
                        shown=MAX_OFFERED, platforms=platforms)  # fmt: skip
            offered = sorted(offered, key=lambda a: (a.name.casefold(), a.account_id))
            offered = offered[:MAX_OFFERED]
        return await self.states.issue_choice(pending, offered), pending, offered

    async def choose(self, token: str, chosen: set[str]) -> Connected:
        taken = await self.states.take_choice(token)
        if taken is None:
            raise ConnectError(
                "choice_invalid",
                "This choice has expired or was already made. Start again from Pulse.",
            )
        pending, offered = taken
        picked = [a for a in offered if f"{a.platform}:{a.account_id}" in chosen]
        if not picked:
            raise ConnectError(
                "nothing_chosen", "No account was chosen.", return_to=pending.return_to
            )
        return await self.connect(pending, picked)

    async def connect(
        self, pending: PendingConnect, accounts: list[ConnectableAccount]
    ) -> Connected:
        stored: list[Account] = []
        taken: list[str] = []
        for found in accounts:
            try:
                account = await self.vault.connect_grant(pending.business_id, found, pending.user)
                stored.append(account)
            except AccountTaken:
                taken.append(found.name)
        for account in stored:
            await self.sync.start(account)
        if taken and not stored:
            raise ConnectError(
                "account_taken",
                f"Already connected to another business: {', '.join(taken)}.",
                409,
                return_to=pending.return_to,
            )
        return Connected(pending.return_to, [a for a in accounts if a.name not in taken])

    async def disconnect(
        self, business_id: int, platform: Platform, account_id: str, by: str
    ) -> bool:
        grant = await self.vault.disconnect(
            business_id, platform, account_id, "disconnected", actor=by
        )
        if grant is None:
            return False
        await self.sync.stop(Account(business_id, platform, account_id, grant.access_token))
        await self._revoke(grant)
        return True

    async def _revoke(self, grant: Grant) -> None:
        """Revoke at the platform, best effort: the tokens are gone from here whatever it
        answers. (Only grants nothing stored uses: a platform may hand the same token to
        a second consent, so an account's grant is never revoked for another's sake.)"""
        try:
            await self.oauth.revoke(self.http, grant)
        except (OAuthRefused, httpx.HTTPError) as exc:
            log.warning("revoke at the platform failed", platforms=self.oauth.platforms,
                        error=str(exc)[:300])  # fmt: skip


def back_to(return_to: str, **params: str) -> str:
    """``return_to`` with the outcome in its query (kept apart from what it had)."""
    separator = "&" if urlsplit(return_to).query else "?"
    return f"{return_to}{separator}{urlencode(params)}"


# --- pages -----------------------------------------------------------------------------

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def choice_page_headers(return_to: str | None) -> dict[str, str]:
    """The choice page's headers: its form posts here and is then redirected back to the
    dashboard, which ``form-action`` must allow too (browsers apply it to the redirect)."""
    if not return_to:
        return PAGE_HEADERS
    parts = urlsplit(return_to)
    policy = (
        f"default-src 'none'; form-action 'self' {parts.scheme}://{parts.netloc}; "
        "frame-ancestors 'none'"
    )
    return {**PAGE_HEADERS, "Content-Security-Policy": policy}


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>"
    )


def choice_page(token: str, offered: list[ConnectableAccount]) -> str:
    items = "".join(
        f'<li><label><input type=checkbox name=account value="{html.escape(a.platform)}:'
        f'{html.escape(a.account_id)}" checked> {html.escape(a.name)} '
        f"({html.escape(a.platform)})</label></li>"
        for a in offered
    )
    return page(
        "Choose the accounts to connect",
        f'<form method=post action="choose"><input type=hidden name=choice '
        f'value="{html.escape(token)}"><ul>{items}</ul>'
        "<button type=submit>Connect</button></form>",
    )


# --- syncing an account: backfill, discovery, followers, tokens -------------------------


@dataclass
class AccountSync:
    """Finds an account's posts (all of the last ``backfill_days`` when it is connected,
    the new ones every ``discovery_every_s`` after), tracks and announces each, and
    publishes its followers with their history. The accounts due are a sorted set in
    Redis (score: when); a replica claims one by removing it (only one removal wins) and
    puts it back with its next time when done; an account lost by a crash is put back by
    the next :meth:`reconcile`."""

    platforms: tuple[Platform, ...]
    client: PlatformClient
    lister: PostLister
    caller: ApiCaller
    vault: TokenVault
    schedule: PollSchedule
    producer: AIOKafkaProducer
    redis: Redis
    topic_prefix: str = ""
    backfill_days: int = 90
    discovery_every_s: float = 3600.0

    def _due_key(self, platform: Platform) -> str:
        return self.schedule.key(platform, "sync")

    @staticmethod
    def _member(account: Account) -> str:
        return f"{account.business_id}|{account.account_id}"

    async def start(self, account: Account) -> None:
        """Sync the account now (a new connection, or a reconnection)."""
        await self.redis.zadd(self._due_key(account.platform), {self._member(account): 0})

    async def discover_soon(self, platform: Platform, account_id: str, delay_s: float) -> bool:
        """A webhook named a post Pulse does not track on this account (a post just made,
        natively or by another app): list its new posts within ``delay_s``, never later
        than already due. False when the account is not one Pulse polls."""
        business = await self.vault.business_of(platform, account_id)
        if business is None:
            return False
        at = datetime.now(UTC).timestamp() + delay_s
        member = f"{business}|{account_id}"
        await self.redis.zadd(self._due_key(platform), {member: at}, lt=True)
        return True

    async def stop(self, account: Account) -> None:
        await self.redis.zrem(self._due_key(account.platform), self._member(account))
        posts = await self.schedule.posts_of_business(account.business_id, account.platform)
        for post in posts:
            if post.account_id == account.account_id:
                await self.schedule.untrack(post)

    async def reconcile(self) -> None:
        """Every polled account is on the sync schedule (one connected before it existed,
        or lost by a crash mid-sync, is due at once)."""
        for platform in self.platforms:
            accounts = await self.vault.active_accounts(platform)
            if accounts:
                await self.redis.zadd(
                    self._due_key(platform), {self._member(a): 0 for a in accounts}, nx=True
                )

    async def run(self, idle_s: float = 1.0, reconcile_every_s: float = 300.0) -> None:
        """Sync due accounts forever; a failed sync is logged and tried again later."""
        reconciled_at = float("-inf")
        loop = asyncio.get_running_loop()
        # Until stopped: a stop that a library below caught and turned into an error (or
        # into nothing) ends it too, instead of being logged and retried as a failure.
        while not stop_requested():
            try:
                if loop.time() - reconciled_at >= reconcile_every_s:
                    await self.reconcile()
                    reconciled_at = loop.time()
                synced = await self.sync_due()
            except Exception as exc:  # the loop must outlive any one failure, not a stop
                if stop_requested():
                    return
                log.warning("sync round failed", error=repr(exc))
                synced = 0
            if not synced:
                await asyncio.sleep(idle_s)

    async def sync_due(self, now: datetime | None = None) -> int:
        at = (now or datetime.now(UTC)).timestamp()
        done = 0
        for platform in self.platforms:
            key = self._due_key(platform)
            due = await self.redis.zrangebyscore(key, "-inf", at, 0, SYNC_BATCH)
            for member in cast(list[bytes], due):
                if not await self.redis.zrem(key, member):
                    continue  # another replica claimed it
                business, _, account_id = _text(member).partition("|")
                account = await self.vault.account(int(business), platform, account_id)
                if account is None:
                    continue  # disconnected or waiting for reconnection meanwhile
                next_at = at + min(SYNC_RETRY_S, self.discovery_every_s)
                try:
                    await self.sync(account, now)
                    next_at = at + self.discovery_every_s
                finally:
                    # LT: a webhook's wish made while this sync ran stays, if sooner.
                    await self.redis.zadd(key, {member: next_at}, lt=True)
                done += 1
        return done

    async def sync(self, account: Account, now: datetime | None = None) -> int:
        """List the account's posts since its last sync (or ``backfill_days``), track and
        announce each, publish its followers; the number of posts newly found."""
        now = now or datetime.now(UTC)
        last = await self.vault.last_synced(account)
        first = last is None
        if last is None:
            since = now - timedelta(days=self.backfill_days)
        else:
            since = last - DISCOVERY_OVERLAP
        found = reported = 0
        try:
            if first:
                await self._followers(account, since, now)
            async for post in self.lister.list_posts(self.caller, account, since):
                event = announcement(account, post)
                # The first sync counts every post it lists (some may be tracked already,
                # announced by a publishing app); later ones count the posts new to Pulse.
                # Polled at least once, even past the schedule's last age (the oldest
                # posts of a backfill): every post found gets its numbers.
                newly = await self.schedule.track(
                    tracked_post_of(event), now=now, at_least_once=True
                )
                if newly or first:
                    found += 1
                    await publish(self.producer, self.topic_prefix + POSTS_PUBLISHED, event)
                    if found - reported >= PROGRESS_EVERY:  # visible while it syncs
                        await self.vault.sync_progress(account, found - reported, None)
                        reported = found
        except ApiError as exc:
            log.warning("sync stopped", platform=account.platform,
                        account_id=account.account_id, error=str(exc)[:300])  # fmt: skip
            await self.vault.sync_progress(account, found - reported, None)
            raise
        await self.vault.sync_progress(account, found - reported, now)
        log.info("account synced", platform=account.platform, account_id=account.account_id,
                 new_posts=found, since=since.isoformat())  # fmt: skip
        return found

    async def _followers(self, account: Account, since: datetime, now: datetime) -> None:
        """Today's followers, and each past day's where the platform gives daily gains."""
        current = await self.client.followers(self.caller, account)
        if current is None:
            return
        history = await self.lister.follower_history(self.caller, account, since, current)
        for point in [*history, None]:
            followers = current if point is None else point.followers
            observed_at = now if point is None else point.observed_at
            event = AccountObserved(
                business_id=account.business_id, platform=account.platform,
                account_id=account.account_id, observed_at=observed_at, followers=followers,
            )  # fmt: skip
            await publish(self.producer, self.topic_prefix + ACCOUNTS_OBSERVED, event)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class TokenRefresher:
    """Refreshes each access token before it expires, by whichever replica holds the
    account's lease; a refresh the platform refuses for good marks the account
    ``needs_reconnection`` (its polling stops, its history stays)."""

    platforms: tuple[Platform, ...]
    oauth: OAuthClient
    vault: TokenVault
    http: httpx.AsyncClient
    redis: Redis
    key_prefix: str
    margin_s: float = 900.0

    async def run(self, every_s: float = 60.0) -> None:
        while True:
            try:
                await self.refresh_due()
            except Exception as exc:  # the loop must outlive any one failure
                log.warning("token refresh round failed", error=repr(exc))
            await asyncio.sleep(every_s)

    async def refresh_due(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        refreshed = 0
        for platform in self.platforms:
            due = await self.vault.due_for_refresh(platform, now + timedelta(seconds=self.margin_s))
            for item in due:
                lease = f"{self.key_prefix}:refresh-lease:{platform}:{item.account.account_id}"
                if not await self.redis.set(lease, "1", nx=True, ex=REFRESH_LEASE_S):
                    continue
                try:
                    grant = await self.oauth.refresh(self.http, item.grant)
                except OAuthRefused as exc:
                    await self.vault.mark_needs_reconnection(
                        item.account, f"token refresh refused: {exc.error}"
                    )
                    continue
                except httpx.HTTPError as exc:
                    log.warning("token refresh failed; retried", platform=platform,
                                account_id=item.account.account_id, error=repr(exc))  # fmt: skip
                    continue
                if await self.vault.store_refreshed(item, grant):
                    refreshed += 1
        return refreshed


def web_url(value: str | None) -> str | None:
    """A link the platform gave, when it is one a page may show (http(s), of a sane
    length); anything else is dropped rather than refused with the whole post."""
    if value and len(value) <= MAX_URL_CHARS and "\x00" not in value:
        return value if value.startswith(("https://", "http://")) else None
    return None


def announcement(account: Account, post: DiscoveredPost) -> PostPublished:
    """The ``posts.published.v1`` event of a post found on the platform. What the platform
    says is not trusted to fit the event: text loses NULs, links that are not web links go."""
    return PostPublished(
        business_id=account.business_id,
        platform=account.platform,
        platform_post_id=post.platform_post_id,
        account_id=account.account_id,
        published_at=post.published_at,
        content=post.content_preview.replace("\x00", "")[:MAX_CONTENT_CHARS],
        content_type=post.content_type,
        platform_post_url=web_url(post.platform_post_url),
        video_duration_s=post.video_duration_s,
        thumbnail_url=web_url(post.thumbnail_url),
    )
