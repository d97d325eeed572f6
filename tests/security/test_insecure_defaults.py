"""Issue 13, item 3: unset configuration is production. Only an explicit dev accepts the
development secrets published in this repository; outside dev a weak secret stops query-api
from starting, a token issued for longer than the configured maximum is refused, and the
token's issuer and audience are settings, so an external provider's tokens pass."""

from __future__ import annotations

import secrets
import time

import httpx
import jwt
import pytest
from pydantic import ValidationError

from pulse_query_api.settings import Settings as QueryApiSettings
from pulse_shared.auth import AUDIENCE, DEFAULT_DEV_SECRET, ISSUER
from pulse_shared.http_auth import Authenticator
from pulse_shared.ingest.settings import DEV_TOKEN_KEY, IngestSettings
from pulse_shared.settings import PulseSettings
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, start_service

STRONG = "s" * 8 + secrets.token_hex(16)


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("PULSE_ENVIRONMENT", "PULSE_JWT_SECRET", "PULSE_JWT_JWKS_URL",
                 "PULSE_TOKEN_ENCRYPTION_KEYS", "PULSE_CLOCK_AT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_unset_environment_is_production(unset: pytest.MonkeyPatch) -> None:
    settings = PulseSettings()
    assert settings.environment == "production"
    assert not settings.is_dev


@pytest.mark.parametrize(
    "secret", [DEFAULT_DEV_SECRET, "changeme", "secret", "short-but-mine", "x" * 31]
)
def test_outside_dev_a_weak_secret_stops_query_api(unset: pytest.MonkeyPatch, secret: str) -> None:
    unset.setenv("PULSE_JWT_SECRET", secret)
    for environment in (None, "production", "test"):
        if environment:
            unset.setenv("PULSE_ENVIRONMENT", environment)
        with pytest.raises(RuntimeError, match="refusing to start"):
            Authenticator.check_configuration(QueryApiSettings())
    unset.setenv("PULSE_ENVIRONMENT", "dev")
    Authenticator.check_configuration(QueryApiSettings())  # dev: the published ones are fine


def test_a_strong_secret_or_an_identity_provider_is_accepted(
    unset: pytest.MonkeyPatch,
) -> None:
    unset.setenv("PULSE_JWT_SECRET", STRONG)
    Authenticator.check_configuration(QueryApiSettings())
    unset.setenv("PULSE_JWT_SECRET", DEFAULT_DEV_SECRET)
    unset.setenv("PULSE_JWT_JWKS_URL", "https://idp.example.com/.well-known/jwks.json")
    Authenticator.check_configuration(QueryApiSettings())


def test_outside_dev_the_published_token_key_is_refused(unset: pytest.MonkeyPatch) -> None:
    unset.setenv("PULSE_TOKEN_ENCRYPTION_KEYS", DEV_TOKEN_KEY)
    with pytest.raises(ValidationError, match="development key"):
        IngestSettings()
    unset.setenv("PULSE_ENVIRONMENT", "dev")
    assert IngestSettings().token_keys() == [DEV_TOKEN_KEY]


@pytest.mark.integration
def test_query_api_with_nothing_configured_does_not_start(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = infra.env(PULSE_DATABASE_URL=infra.reader_database_url)
    for name in ("PULSE_ENVIRONMENT", "PULSE_JWT_SECRET"):
        env.pop(name)
    with pytest.raises(RuntimeError, match="refusing to start"):
        start_service("query-api-unset", "pulse_query_api.app:app", env,
                      str(tmp_path_factory.mktemp("logs")))  # fmt: skip


def token(secret: str, lifetime_s: int, iss: str = ISSUER, aud: str = AUDIENCE) -> str:
    now = int(time.time())
    claims = {"sub": "someone@test", "iss": iss, "aud": aud, "iat": now, "exp": now + lifetime_s}
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.integration
async def test_a_token_issued_for_a_century_is_refused(
    infra: Infra, query_api: ServiceProcess
) -> None:
    business = secrets.randbelow(2**62) + 10**12
    await infra.token_for(business, "someone@test")
    async with httpx.AsyncClient(base_url=query_api.url, timeout=30) as client:

        async def calendar(bearer: str) -> httpx.Response:
            return await client.get("/api/v1/analytics/calendar", params={"business_id": business},
                                    headers={"Authorization": f"Bearer {bearer}"})  # fmt: skip

        century = await calendar(token(infra.jwt_secret, 100 * 365 * 86400))
        assert century.status_code == 401
        assert "issued for longer than" in century.json()["detail"]
        assert (await calendar(token(infra.jwt_secret, 3600))).status_code == 200
        claims = {"sub": "someone@test", "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60}
        no_iat = jwt.encode(claims, infra.jwt_secret, algorithm="HS256")
        assert (await calendar(no_iat)).status_code == 401


@pytest.mark.integration
async def test_issuer_and_audience_are_settings(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> None:
    business = secrets.randbelow(2**62) + 10**12
    await infra.token_for(business, "someone@test")
    issuer, audience = "https://idp.example.com/", "pulse-production"
    env = infra.env(
        PULSE_DATABASE_URL=infra.reader_database_url,
        PULSE_JWT_ISSUER=issuer,
        PULSE_JWT_AUDIENCE=audience,
    )
    service = start_service("query-api-idp", "pulse_query_api.app:app", env,
                            str(tmp_path_factory.mktemp("logs")))  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            cases = (
                (token(infra.jwt_secret, 3600, issuer, audience), 200),
                (token(infra.jwt_secret, 3600), 401),
                (token(infra.jwt_secret, 3600, issuer, AUDIENCE), 401),
            )
            for bearer, status in cases:
                response = await client.get(
                    "/api/v1/analytics/calendar", params={"business_id": business},
                    headers={"Authorization": f"Bearer {bearer}"},
                )  # fmt: skip
                assert response.status_code == status, response.text
    finally:
        service.stop()
