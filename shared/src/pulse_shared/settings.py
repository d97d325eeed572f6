"""Settings every service shares.

Each service defines one ``Settings`` class deriving from :class:`PulseSettings`, so
the connection settings below are read from the same ``PULSE_*`` environment variables
everywhere and only the service's own knobs are added there.
"""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse_shared.auth import AUDIENCE, DEFAULT_DEV_SECRET, ISSUER
from pulse_shared.kafka import KafkaConnection


class PulseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", env_file=None, extra="ignore")

    # Unset means production. Only an explicit "dev" (`make up`, the Kubernetes dev overlay)
    # accepts the development secrets published in this repository and tokens of any
    # lifetime; "test" (the test suite) is production's rules with a fixed clock allowed.
    environment: str = Field(
        default="production", description="production (the default), test or dev"
    )

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Every client authenticates (SASL/SCRAM-SHA-512) as the service's own Kafka user,
    # whose ACLs are its row of pulse_shared.permissions; over TLS unless told otherwise
    # (the local stack and compose's internal network: SASL_PLAINTEXT).
    kafka_security_protocol: Literal["SASL_SSL", "SASL_PLAINTEXT"] = "SASL_SSL"
    kafka_username: str = ""
    kafka_password: SecretStr = SecretStr("")
    # The CA that signed the brokers' certificates, when not a public one (Strimzi's
    # cluster CA); unset, the system's trust store.
    kafka_ssl_cafile: str | None = None
    # Prepended to every topic name, so a test run can have topics of its own on a
    # broker that a running stack also uses. Empty in every real deployment.
    topic_prefix: str = ""

    database_url: str = "postgresql+asyncpg://pulse:pulse@127.0.0.1:5432/pulse"
    # The SELECT-only role query-api connects as; migrations grant it read access.
    database_reader_role: str = "pulse_reader"
    # The ingest services' role: connected accounts (their tokens) and nothing else.
    database_ingest_role: str = "pulse_ingest"
    # The workspace service's role: the teams' tables and nothing of the analytics.
    database_workspace_role: str = "pulse_workspace"
    # The reporter's role: its schedules, deliveries and alerts, and nothing of the analytics.
    database_reporter_role: str = "pulse_reporter"
    redis_url: str = "redis://127.0.0.1:6379/0"

    # Access tokens (see pulse_shared.auth): HS256 with this secret in dev, RS256 through
    # the identity provider's JWKS URL in production.
    jwt_secret: str = DEFAULT_DEV_SECRET
    jwt_jwks_url: str | None = None
    # What an accepted token must say: an external identity provider's values.
    jwt_issuer: str = ISSUER
    jwt_audience: str = AUDIENCE
    # Outside dev a token that was issued for longer than this is refused (exp - iat).
    jwt_max_lifetime_s: int = Field(default=24 * 3600, gt=0)

    # Request rate limits (pulse_shared.http_ratelimit), counted in Redis across replicas.
    rate_limits_enabled: bool = True
    # Peers whose X-Forwarded-For names the client (the dashboard's server, an ingress);
    # from any other peer the header is ignored.
    trusted_proxies: list[str] = Field(default_factory=list)

    log_level: str = "INFO"
    log_json: bool = True

    @property
    def is_dev(self) -> bool:
        return self.environment == "dev"

    def kafka(self) -> KafkaConnection:
        return KafkaConnection(
            self.kafka_bootstrap_servers,
            self.kafka_username,
            self.kafka_password.get_secret_value(),
            self.kafka_security_protocol,
            self.kafka_ssl_cafile,
        )

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


KEY_BYTES = 32  # an Ed25519 seed (the workspace's signing keys), an HMAC key (link keys)


def decode_key(text: str, what: str) -> bytes:
    """One 32-byte key, base64url (padded or not); ``what`` names it in the error."""
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ValueError(f"each {what} must be 32 bytes, base64url-encoded")
    return key


def decode_keys(text: str, what: str) -> list[bytes]:
    """A comma-separated list of keys (:func:`decode_key`), in its order: the first signs,
    all verify (a rotation adds the new key first and drops the old one later)."""
    return [decode_key(part.strip(), what) for part in text.split(",") if part.strip()]
