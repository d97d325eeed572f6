"""The token vault over the real PostgreSQL: encryption at rest, rotation, reconnection."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator

import asyncpg
import pytest
import structlog
from cryptography.fernet import Fernet

from pulse_shared.db import asyncpg_dsn
from pulse_shared.ingest.contracts import Account
from pulse_shared.ingest.vault import TokenVault
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(asyncpg_dsn(infra.database_url), min_size=1, max_size=3)
    try:
        yield pool
    finally:
        await pool.close()


def new_key() -> str:
    return Fernet.generate_key().decode()


def business() -> int:
    return random.randrange(10**9, 10**12)


async def stored_ciphertext(pool: asyncpg.Pool, account: Account) -> bytes:
    value: bytes = await pool.fetchval(
        "SELECT encrypted_token FROM connected_accounts "
        "WHERE business_id = $1 AND platform = $2 AND account_id = $3",
        account.business_id,
        account.platform,
        account.account_id,
    )
    return value


async def test_tokens_are_encrypted_at_rest_and_come_back_decrypted(pool: asyncpg.Pool) -> None:
    key = new_key()
    vault = TokenVault(pool, [key])
    token = f"secret-token-{random.random()}"
    business_id = business()
    account = await vault.connect(business_id, "twitter", "2244994945", token, token_kind="user")

    ciphertext = await stored_ciphertext(pool, account)
    assert token.encode() not in ciphertext
    assert Fernet(key.encode()).decrypt(ciphertext) == token.encode()
    assert account in await vault.active_accounts("twitter")
    assert await vault.account(business_id, "twitter", "2244994945") == account
    assert await vault.account(business_id, "linkedin", "2244994945") is None

    # Connecting again replaces the token (a reconnection), no second row.
    again = await vault.connect(business_id, "twitter", "2244994945", token + "-new")
    assert [a for a in await vault.active_accounts("twitter") if a.business_id == business_id] == [
        again
    ]


async def test_rotation_re_encrypts_every_token_with_the_newest_key(pool: asyncpg.Pool) -> None:
    old_key, new = new_key(), new_key()
    business_id = business()
    old_vault = TokenVault(pool, [old_key])
    accounts = [
        await old_vault.connect(business_id, "linkedin", f"urn:li:organization:{n}", f"tok-{n}")
        for n in range(3)
    ]
    before = [await stored_ciphertext(pool, a) for a in accounts]

    report = await TokenVault(pool, [new, old_key]).rotate(batch_size=2)
    assert report.rotated >= 3

    after = [await stored_ciphertext(pool, a) for a in accounts]
    assert all(b != a for b, a in zip(before, after, strict=True))
    # The old key may now be dropped: the new one alone opens every token.
    only_new = await TokenVault(pool, [new]).active_accounts("linkedin")
    assert set(accounts) <= set(only_new)
    # ... and the old key alone no longer opens them (skipped, not raised).
    only_old = await TokenVault(pool, [old_key]).active_accounts("linkedin")
    assert not set(accounts) & set(only_old)


async def test_a_refused_token_marks_the_account_once(pool: asyncpg.Pool) -> None:
    vault = TokenVault(pool, [new_key()])
    business_id = business()
    account = await vault.connect(business_id, "instagram", "17841400000000000", "ig-token")

    assert await vault.mark_needs_reconnection(account, "HTTP 401: token expired") is True
    assert await vault.mark_needs_reconnection(account, "HTTP 401 again") is False
    status = await vault.status(business_id, "instagram", "17841400000000000")
    assert status is not None
    assert (status.status, status.status_reason) == (
        "needs_reconnection",
        "HTTP 401: token expired",
    )
    assert account not in await vault.active_accounts("instagram")
    assert await vault.account(business_id, "instagram", "17841400000000000") is None

    # The business reconnects: active again with the new token.
    fresh = await vault.connect(business_id, "instagram", "17841400000000000", "ig-token-2")
    assert fresh in await vault.active_accounts("instagram")
    # A late 401 of a call made with the old token does not mark the new one.
    assert await vault.mark_needs_reconnection(account, "late 401") is False
    status = await vault.status(business_id, "instagram", "17841400000000000")
    assert status is not None
    assert status.status == "active"


async def test_tokens_never_show_in_reprs_or_logs(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = f"never-log-me-{random.random()}"
    vault = TokenVault(pool, [new_key()])
    with structlog.testing.capture_logs() as logs:
        account = await vault.connect(business(), "facebook", "1031", token)
        await vault.active_accounts("facebook")
        await vault.mark_needs_reconnection(account, "revoked")
    assert token not in repr(account)
    assert token not in str(account)
    assert token not in repr(vault)
    assert logs  # connect and the marking are logged, by ids
    assert token not in repr(logs)
    assert token not in caplog.text


async def test_the_reader_role_cannot_read_connected_accounts(infra: Infra) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(infra.reader_database_url))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("SELECT count(*) FROM connected_accounts")
        assert await conn.fetchval("SELECT count(*) FROM businesses") >= 0  # still reads the rest
    finally:
        await conn.close()


def test_a_vault_needs_a_key() -> None:
    with pytest.raises(ValueError, match="key"):
        TokenVault(None, [])
