"""Connected platform accounts and their access tokens, encrypted at rest.

Tokens are stored in ``connected_accounts`` encrypted with Fernet (AES-128-CBC with an
HMAC-SHA256, a fresh IV each time). The keys come from the settings, newest first: the
newest encrypts, any decrypts (MultiFernet), so a key is rotated by putting a new one in
front, running :meth:`TokenVault.rotate` (every token re-encrypted with the newest key),
then dropping the old one. The SELECT-only reader role has no access to the table.

A token only ever leaves this module inside a :class:`~pulse_shared.ingest.contracts.Account`,
whose repr hides it; nothing here logs more than an account's ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import asyncpg
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from pulse_shared.events import Platform
from pulse_shared.ingest.contracts import Account
from pulse_shared.ingest.metrics import ACCOUNTS_NEEDING_RECONNECTION
from pulse_shared.ingest.oauth import ConnectableAccount, Grant
from pulse_shared.logs import get_logger

log = get_logger(__name__)

ACTIVE = "active"
NEEDS_RECONNECTION = "needs_reconnection"
POLLED = ("active", "syncing")
ROTATE_BATCH = 500

CONNECT = """
INSERT INTO connected_accounts (business_id, platform, account_id, encrypted_token,
                                token_kind, status, status_reason)
VALUES ($1, $2, $3, $4, $5, 'active', NULL)
ON CONFLICT (business_id, platform, account_id) DO UPDATE
SET encrypted_token = EXCLUDED.encrypted_token, token_kind = EXCLUDED.token_kind,
    status = 'active', status_reason = NULL, updated_at = now()
"""

# Syncing accounts are polled too: their posts get numbers while the rest are found.
ACTIVE_ACCOUNTS = """
SELECT business_id, platform, account_id, encrypted_token
FROM connected_accounts
WHERE platform = $1 AND status IN ('active', 'syncing')
ORDER BY business_id, account_id
"""

# The account connected elsewhere, if it is: under the row's lock, or the partial unique
# index refuses the second of two businesses connecting it at once.
CONNECTED_ELSEWHERE = """
SELECT business_id FROM connected_accounts
WHERE platform = $1 AND account_id = $2 AND status <> 'disconnected' AND business_id <> $3
FOR UPDATE
"""

CONNECT_GRANT = """
INSERT INTO connected_accounts (business_id, platform, account_id, encrypted_token,
    encrypted_refresh_token, token_expires_at, refresh_expires_at, token_kind, status,
    status_reason, display_name, connected_by, posts_found, last_synced_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'syncing', NULL, $9, $10, 0, NULL)
ON CONFLICT (business_id, platform, account_id) DO UPDATE
SET encrypted_token = EXCLUDED.encrypted_token,
    encrypted_refresh_token = EXCLUDED.encrypted_refresh_token,
    token_expires_at = EXCLUDED.token_expires_at,
    refresh_expires_at = EXCLUDED.refresh_expires_at, token_kind = EXCLUDED.token_kind,
    status = 'syncing', status_reason = NULL, display_name = EXCLUDED.display_name,
    connected_by = EXCLUDED.connected_by, updated_at = now()
"""

# Only over the refresh token that was used: a grant stored meanwhile (a reconnection,
# another replica's refresh) is never overwritten by an older one.
STORE_REFRESHED = """
UPDATE connected_accounts
SET encrypted_token = $5, encrypted_refresh_token = $6, token_expires_at = $7,
    refresh_expires_at = $8, updated_at = now()
WHERE business_id = $1 AND platform = $2 AND account_id = $3
  AND encrypted_refresh_token IS NOT DISTINCT FROM $4 AND status IN ('active', 'syncing')
"""

DUE_FOR_REFRESH = """
SELECT business_id, platform, account_id, encrypted_token, encrypted_refresh_token,
       token_expires_at, refresh_expires_at
FROM connected_accounts
WHERE platform = $1 AND token_expires_at < $2 AND status IN ('active', 'syncing')
ORDER BY token_expires_at
LIMIT $3
"""

DISCONNECT = """
UPDATE connected_accounts c
SET status = 'disconnected', status_reason = $4, encrypted_token = NULL,
    encrypted_refresh_token = NULL, token_expires_at = NULL, refresh_expires_at = NULL,
    updated_at = now()
FROM (SELECT encrypted_token, encrypted_refresh_token, token_expires_at
      FROM connected_accounts
      WHERE business_id = $1 AND platform = $2 AND account_id = $3
        AND status <> 'disconnected'
      FOR UPDATE) AS before
WHERE c.business_id = $1 AND c.platform = $2 AND c.account_id = $3
RETURNING before.encrypted_token, before.encrypted_refresh_token, before.token_expires_at
"""

# A line of the business's audit log (the workspace service reads it to owners and admins).
AUDIT = """
INSERT INTO audit_log (business_id, actor, action, subject, details)
VALUES ($1, $2, $3, $4, jsonb_strip_nulls(jsonb_build_object('name', $5::text, 'reason', $6::text)))
"""

SYNC_PROGRESS = """
UPDATE connected_accounts
SET posts_found = posts_found + $4, last_synced_at = COALESCE($5, last_synced_at),
    status = CASE WHEN $5::timestamptz IS NOT NULL AND status = 'syncing' THEN 'active'
                  ELSE status END,
    updated_at = now()
WHERE business_id = $1 AND platform = $2 AND account_id = $3
  AND status IN ('active', 'syncing')
"""

ONE_ACCOUNT = """
SELECT business_id, platform, account_id, encrypted_token, token_kind, status, status_reason
FROM connected_accounts
WHERE business_id = $1 AND platform = $2 AND account_id = $3
"""

# Rewrites only rows whose ciphertext is still the one read, so a token reconnected
# between the read and the write is never overwritten by the older token.
# The business a polled platform account is connected to (one at most: migration 0009's
# unique index), for what the platform sends about the account alone (a webhook).
BUSINESS_OF_ACCOUNT = """
SELECT business_id FROM connected_accounts
WHERE platform = $1 AND account_id = $2 AND status = ANY($3::text[])
"""

REENCRYPT = """
UPDATE connected_accounts c
SET encrypted_token = u.new_token
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::bytea[])
     AS u(business_id, platform, account_id, old_token, new_token)
WHERE c.business_id = u.business_id AND c.platform = u.platform
  AND c.account_id = u.account_id AND c.encrypted_token = u.old_token
"""

ROTATION_PAGE = """
SELECT business_id, platform, account_id, encrypted_token
FROM connected_accounts
WHERE (business_id, platform, account_id) > ($1, $2, $3) AND encrypted_token IS NOT NULL
ORDER BY business_id, platform, account_id
LIMIT $4
"""


@dataclass(frozen=True)
class AccountStatus:
    token_kind: str
    status: str
    status_reason: str | None


class AccountTaken(Exception):
    """The platform account is connected to another business (one at a time)."""


@dataclass(frozen=True, repr=False)
class RefreshableAccount:
    """An account whose token expires soon, with its grant (tokens hidden from repr)."""

    account: Account
    grant: Grant

    def __repr__(self) -> str:
        return f"RefreshableAccount({self.account!r}, {self.grant!r})"


@dataclass(frozen=True)
class RotationReport:
    rotated: int
    # Tokens no configured key opens (their key was dropped too early): their accounts
    # need reconnecting; the ids are logged.
    unreadable: int


class TokenVault:
    """Connected accounts in PostgreSQL (an asyncpg pool), tokens encrypted with the keys
    given newest first."""

    def __init__(self, pool: asyncpg.Pool, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("the token vault needs at least one encryption key")
        self._pool = pool
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def __repr__(self) -> str:
        return "TokenVault()"

    def _encrypt(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode())

    def _decrypt(self, encrypted: bytes) -> str:
        return self._fernet.decrypt(encrypted).decode()

    async def connect(
        self,
        business_id: int,
        platform: Platform,
        account_id: str,
        access_token: str,
        token_kind: str = "user",  # noqa: S107 - a kind of token, not a token
    ) -> Account:
        """Store (or replace) an account's token; the account is active again."""
        await self._pool.execute(
            CONNECT, business_id, platform, account_id, self._encrypt(access_token), token_kind
        )
        log.info(
            "account connected", business_id=business_id, platform=platform, account_id=account_id
        )
        return Account(business_id, platform, account_id, access_token)

    async def connect_grant(
        self, business_id: int, found: ConnectableAccount, connected_by: str
    ) -> Account:
        """Store an account the member consented to, with its grant: ``syncing`` until its
        posts are discovered. :class:`AccountTaken` when another business has it."""
        grant = found.grant
        refresh = self._encrypt(grant.refresh_token) if grant.refresh_token else None
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                elsewhere = await conn.fetchval(
                    CONNECTED_ELSEWHERE, found.platform, found.account_id, business_id
                )
                if elsewhere is not None:
                    raise AccountTaken(f"{found.platform} account {found.name!r}")
                await conn.execute(
                    CONNECT_GRANT, business_id, found.platform, found.account_id,
                    self._encrypt(grant.access_token), refresh, grant.expires_at,
                    grant.refresh_expires_at, found.token_kind, found.name[:200], connected_by,
                )  # fmt: skip
                await conn.execute(
                    AUDIT, business_id, connected_by, "account.connected",
                    f"{found.platform}:{found.account_id}", found.name[:200], None,
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AccountTaken(f"{found.platform} account {found.name!r}") from None
        log.info(
            "account connected", business_id=business_id, platform=found.platform,
            account_id=found.account_id, by=connected_by,
        )  # fmt: skip
        return Account(business_id, found.platform, found.account_id, grant.access_token)

    async def due_for_refresh(
        self, platform: Platform, before: datetime, limit: int = 100
    ) -> list[RefreshableAccount]:
        """Accounts whose access token expires before ``before``, soonest first."""
        found: list[RefreshableAccount] = []
        for row in await self._pool.fetch(DUE_FOR_REFRESH, platform, before, limit):
            try:
                access = self._decrypt(row["encrypted_token"])
                refresh = row["encrypted_refresh_token"]
                grant = Grant(
                    access, row["token_expires_at"],
                    self._decrypt(refresh) if refresh is not None else None,
                    row["refresh_expires_at"],
                )  # fmt: skip
            except InvalidToken:
                log.error("token opened by no configured key", platform=platform,
                          business_id=row["business_id"], account_id=row["account_id"])  # fmt: skip
                continue
            account = Account(row["business_id"], platform, row["account_id"], access)
            found.append(RefreshableAccount(account, grant))
        return found

    async def store_refreshed(self, due: RefreshableAccount, grant: Grant) -> bool:
        """Replace the account's grant with the refreshed one; False when another grant
        was stored meanwhile (this one is then not used)."""
        old_refresh = await self._pool.fetchval(
            "SELECT encrypted_refresh_token FROM connected_accounts "
            "WHERE business_id = $1 AND platform = $2 AND account_id = $3",
            *_account_ids(due.account),
        )
        if old_refresh is not None and self._decrypt(old_refresh) != due.grant.refresh_token:
            return False
        new_refresh = self._encrypt(grant.refresh_token) if grant.refresh_token else None
        status: str = await self._pool.execute(
            STORE_REFRESHED, *_account_ids(due.account), old_refresh,
            self._encrypt(grant.access_token), new_refresh, grant.expires_at,
            grant.refresh_expires_at,
        )  # fmt: skip
        return status.endswith(" 1")

    async def disconnect(
        self, business_id: int, platform: Platform, account_id: str, reason: str, actor: str
    ) -> Grant | None:
        """Delete the account's tokens and stop its polling (its row and numbers stay), in
        the audit log as ``actor``'s doing; the grant it had, for revoking at the platform,
        or None if it was not connected."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(DISCONNECT, business_id, platform, account_id, reason)
            if row is None:
                return None
            await conn.execute(
                AUDIT, business_id, actor, "account.disconnected", f"{platform}:{account_id}",
                None, reason,
            )  # fmt: skip
        log.info("account disconnected", business_id=business_id, platform=platform,
                 account_id=account_id)  # fmt: skip
        try:
            refresh = row["encrypted_refresh_token"]
            return Grant(
                self._decrypt(row["encrypted_token"]), row["token_expires_at"],
                self._decrypt(refresh) if refresh is not None else None,
            )  # fmt: skip
        except InvalidToken:
            return None

    async def sync_progress(
        self, account: Account, newly_found: int, synced_at: datetime | None
    ) -> None:
        """Count posts the sync found; with ``synced_at``, its listing is complete (a
        syncing account becomes active)."""
        await self._pool.execute(SYNC_PROGRESS, *_account_ids(account), newly_found, synced_at)

    async def last_synced(self, account: Account) -> datetime | None:
        """When the account's posts were last listed to the end (None: never)."""
        synced: datetime | None = await self._pool.fetchval(
            "SELECT last_synced_at FROM connected_accounts "
            "WHERE business_id = $1 AND platform = $2 AND account_id = $3",
            *_account_ids(account),
        )
        return synced

    async def active_accounts(self, platform: Platform) -> list[Account]:
        """The platform's accounts that can be polled, tokens decrypted."""
        rows = await self._pool.fetch(ACTIVE_ACCOUNTS, platform)
        accounts: list[Account] = []
        for row in rows:
            try:
                token = self._decrypt(row["encrypted_token"])
            except InvalidToken:
                log.error(
                    "token opened by no configured key",
                    business_id=row["business_id"],
                    platform=platform,
                    account_id=row["account_id"],
                )
                continue
            accounts.append(Account(row["business_id"], platform, row["account_id"], token))
        return accounts

    async def account(
        self, business_id: int, platform: Platform, account_id: str
    ) -> Account | None:
        """One active account (None: unknown, or waiting for reconnection)."""
        row = await self._pool.fetchrow(ONE_ACCOUNT, business_id, platform, account_id)
        if row is None or row["status"] not in POLLED:
            return None
        try:
            token = self._decrypt(row["encrypted_token"])
        except InvalidToken:
            log.error(
                "token opened by no configured key",
                business_id=business_id,
                platform=platform,
                account_id=account_id,
            )
            return None
        return Account(business_id, platform, account_id, token)

    async def business_of(self, platform: Platform, account_id: str) -> int | None:
        """The business a polled account is connected to (None: not connected or stopped)."""
        business: int | None = await self._pool.fetchval(
            BUSINESS_OF_ACCOUNT, platform, account_id, list(POLLED)
        )
        return business

    async def status(
        self, business_id: int, platform: Platform, account_id: str
    ) -> AccountStatus | None:
        row = await self._pool.fetchrow(ONE_ACCOUNT, business_id, platform, account_id)
        if row is None:
            return None
        return AccountStatus(row["token_kind"], row["status"], row["status_reason"])

    async def mark_needs_reconnection(self, account: Account, reason: str) -> bool:
        """The platform refused the account's token: stop polling it until the business
        reconnects. Only the token that failed is marked (one reconnected meanwhile is
        kept active), and only once. True when this call marked it."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"{ONE_ACCOUNT} FOR UPDATE",
                account.business_id,
                account.platform,
                account.account_id,
            )
            if row is None or row["status"] not in POLLED:
                return False
            try:
                same_token = self._decrypt(row["encrypted_token"]) == account.access_token
            except InvalidToken:
                same_token = True  # no key opens the stored token: it cannot be used either
            if not same_token:
                return False
            await conn.execute(
                "UPDATE connected_accounts SET status = 'needs_reconnection', "
                "status_reason = $4, updated_at = now() "
                "WHERE business_id = $1 AND platform = $2 AND account_id = $3",
                account.business_id,
                account.platform,
                account.account_id,
                reason[:1000],
            )
        ACCOUNTS_NEEDING_RECONNECTION.labels(account.platform).inc()
        log.warning(
            "account needs reconnection",
            business_id=account.business_id,
            platform=account.platform,
            account_id=account.account_id,
            reason=reason,
        )
        return True

    async def rotate(self, batch_size: int = ROTATE_BATCH) -> RotationReport:
        """Re-encrypt every stored token with the newest key, a page at a time."""
        rotated = unreadable = 0
        last: tuple[Any, ...] = (0, "", "")
        while True:
            rows = await self._pool.fetch(ROTATION_PAGE, *last, batch_size)
            if not rows:
                return RotationReport(rotated, unreadable)
            columns: list[list[Any]] = [[], [], [], [], []]
            for row in rows:
                try:
                    new_token = self._fernet.rotate(row["encrypted_token"])
                except InvalidToken:
                    unreadable += 1
                    log.error(
                        "token opened by no configured key, not rotated",
                        business_id=row["business_id"],
                        platform=row["platform"],
                        account_id=row["account_id"],
                    )
                    continue
                values = (*_ids(row), row["encrypted_token"], new_token)
                for column, value in zip(columns, values, strict=True):
                    column.append(value)
            if columns[0]:
                status = await self._pool.execute(REENCRYPT, *columns)
                rotated += int(status.split()[-1])
            last = _ids(rows[-1])


def _ids(row: asyncpg.Record) -> tuple[int, str, str]:
    return (row["business_id"], cast(str, row["platform"]), row["account_id"])


def _account_ids(account: Account) -> tuple[int, str, str]:
    return (account.business_id, account.platform, account.account_id)
