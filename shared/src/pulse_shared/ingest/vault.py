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
from typing import Any, cast

import asyncpg
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from pulse_shared.events import Platform
from pulse_shared.ingest.contracts import Account
from pulse_shared.ingest.metrics import ACCOUNTS_NEEDING_RECONNECTION
from pulse_shared.logs import get_logger

log = get_logger(__name__)

ACTIVE = "active"
NEEDS_RECONNECTION = "needs_reconnection"
ROTATE_BATCH = 500

CONNECT = """
INSERT INTO connected_accounts (business_id, platform, account_id, encrypted_token,
                                token_kind, status, status_reason)
VALUES ($1, $2, $3, $4, $5, 'active', NULL)
ON CONFLICT (business_id, platform, account_id) DO UPDATE
SET encrypted_token = EXCLUDED.encrypted_token, token_kind = EXCLUDED.token_kind,
    status = 'active', status_reason = NULL, updated_at = now()
"""

ACTIVE_ACCOUNTS = """
SELECT business_id, platform, account_id, encrypted_token
FROM connected_accounts
WHERE platform = $1 AND status = 'active'
ORDER BY business_id, account_id
"""

ONE_ACCOUNT = """
SELECT business_id, platform, account_id, encrypted_token, token_kind, status, status_reason
FROM connected_accounts
WHERE business_id = $1 AND platform = $2 AND account_id = $3
"""

# Rewrites only rows whose ciphertext is still the one read, so a token reconnected
# between the read and the write is never overwritten by the older token.
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
WHERE (business_id, platform, account_id) > ($1, $2, $3)
ORDER BY business_id, platform, account_id
LIMIT $4
"""


@dataclass(frozen=True)
class AccountStatus:
    token_kind: str
    status: str
    status_reason: str | None


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
        if row is None or row["status"] != ACTIVE:
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
            if row is None or row["status"] != ACTIVE:
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
