"""Settings every service shares.

Each service defines one ``Settings`` class deriving from :class:`PulseSettings`, so
the connection settings below are read from the same ``PULSE_*`` environment variables
everywhere and only the service's own knobs are added there.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse_shared.auth import DEFAULT_DEV_SECRET


class PulseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", env_file=None, extra="ignore")

    environment: str = Field(default="dev", description="dev, test or production")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Prepended to every topic name, so a test run can have topics of its own on a
    # broker that a running stack also uses. Empty in every real deployment.
    topic_prefix: str = ""

    database_url: str = "postgresql+asyncpg://pulse:pulse@127.0.0.1:5432/pulse"
    # The SELECT-only role query-api connects as; migrations grant it read access.
    database_reader_role: str = "pulse_reader"
    # The ingest services' role: connected accounts (their tokens) and nothing else.
    database_ingest_role: str = "pulse_ingest"
    redis_url: str = "redis://127.0.0.1:6379/0"

    # Access tokens (see pulse_shared.auth): HS256 with this secret in dev, RS256 through
    # the identity provider's JWKS URL in production.
    jwt_secret: str = DEFAULT_DEV_SECRET
    jwt_jwks_url: str | None = None

    log_level: str = "INFO"
    log_json: bool = True

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
