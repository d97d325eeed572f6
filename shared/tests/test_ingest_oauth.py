"""The connect runtime's pure parts and its single-use states (real Redis)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from redis.asyncio import Redis

from pulse_shared.ingest.connect import ConnectStates, PendingConnect, back_to, choice_page
from pulse_shared.ingest.oauth import ConnectableAccount, Grant, code_challenge, code_verifier
from pulse_testing.infra import Infra


def test_the_pkce_challenge_is_rfc_7636s_s256() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    fresh = code_verifier()
    assert 43 <= len(fresh) <= 128
    assert set(fresh) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def test_a_grant_never_shows_its_tokens() -> None:
    grant = Grant("access-secret", datetime(2027, 1, 1, tzinfo=UTC), "refresh-secret")
    found = ConnectableAccount("twitter", "42", "@pulse", grant)
    for text in (repr(grant), str(grant), repr(found)):
        assert "secret" not in text


def test_back_to_adds_the_outcome_to_the_query() -> None:
    assert back_to("http://d/connections", connected="twitter") == (
        "http://d/connections?connected=twitter"
    )
    assert back_to("http://d/c?business=1", connect_error="access_denied") == (
        "http://d/c?business=1&connect_error=access_denied"
    )


def test_the_choice_page_escapes_what_the_platform_named() -> None:
    offered = [ConnectableAccount("linkedin", "1", "<script>x</script>", Grant("t"))]
    text = choice_page("tok", offered)
    assert "<script>x" not in text
    assert "&lt;script&gt;" in text


@pytest.fixture
async def states(infra: Infra) -> AsyncIterator[ConnectStates]:
    redis = Redis.from_url(infra.redis_url)
    yield ConnectStates(
        redis, f"pulse:oauth:{{test}}:{secrets.token_hex(4)}", [Fernet.generate_key().decode()]
    )
    await redis.aclose()


@pytest.mark.integration
async def test_a_state_is_taken_once(states: ConnectStates) -> None:
    pending = PendingConnect("user@x", 7, "http://d/connections", code_verifier())
    state = await states.issue_state(pending)
    assert await states.take_state(state) == pending
    assert await states.take_state(state) is None  # replayed
    assert await states.take_state("made-up") is None
    assert await states.take_state("x" * 500) is None


@pytest.mark.integration
async def test_a_choice_keeps_its_grants_encrypted_and_is_taken_once(
    states: ConnectStates, infra: Infra
) -> None:
    pending = PendingConnect("user@x", 7, None, None)
    offered = [
        ConnectableAccount("facebook", "p1", "Page one", Grant("page-token-1"), "user"),
        ConnectableAccount(
            "instagram", "ig1", "IG one",
            Grant("page-token-1", datetime(2027, 1, 1, tzinfo=UTC), "r", None, ("a", "b")),
        ),
    ]  # fmt: skip
    token = await states.issue_choice(pending, offered)
    redis = Redis.from_url(infra.redis_url)
    try:
        stored = [await redis.get(k) async for k in redis.scan_iter(f"{states._prefix}:choice:*")]
    finally:
        await redis.aclose()
    assert stored
    assert all(b"page-token-1" not in value for value in stored if value)
    assert await states.take_choice(token) == (pending, offered)
    assert await states.take_choice(token) is None
