"""Settings every ingest service shares; each service derives its ``Settings`` from
:class:`IngestSettings` and sets its own defaults (port, platform).

Everything is read from ``PULSE_*`` environment variables. Lists may be given as JSON
(``["a", "b"]``) or comma-separated (``a,b``); the rate-limit budgets as JSON, e.g.
``PULSE_RATE_LIMIT_BUDGETS='[{"scope": "app", "endpoint": "*", "limit": 50000,
"window_s": 86400}]'``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from pulse_shared.ingest.ratelimit import Budget
from pulse_shared.settings import PulseSettings

# Where each platform's API is when no base URL is configured (the documented hosts).
# Paths (with X's /2, LinkedIn's /rest, Meta's version prefix) are the clients' business.
REAL_API_BASE_URLS: dict[str, str] = {
    "twitter": "https://api.x.com",
    "linkedin": "https://api.linkedin.com",
    "facebook": "https://graph.facebook.com",
    "instagram": "https://graph.facebook.com",
    "meta": "https://graph.facebook.com",
}

# A known key that only the dev environment accepts, so `make up` needs no configuration.
# Tokens encrypted with it are as good as plain text: never use it anywhere else.
DEV_TOKEN_KEY = "cHVsc2UtZGV2LXRva2VuLWtleS1ub3QtZm9yLXByb2Q="  # noqa: S105 - a known default


class IngestSettings(PulseSettings):
    # The platform API's base URL: the real API or the platform simulator, purely by
    # configuration. None: the documented host of the service's platform.
    api_base_url: str | None = None

    # Fernet keys (urlsafe base64 of 32 bytes) for the access tokens at rest, newest
    # first: tokens are encrypted with the first and decrypted with any, so a new key
    # is put in front, `rotate()` re-encrypts, and then the old key can be dropped.
    token_encryption_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)

    # What the platform signs its webhooks with (X consumer secret, LinkedIn client
    # secret, Meta app secret) and Meta's hub.verify_token.
    webhook_secret: SecretStr = SecretStr("")
    webhook_verify_token: SecretStr = SecretStr("")

    # Polling: how many due posts one claim takes, and how long a claim is held before
    # another replica may take the posts (a crashed replica's posts come back then).
    poll_batch_size: int = Field(default=100, ge=1, le=10_000)
    poll_lease_s: float = Field(default=300.0, gt=0)

    # Loops and webhooks: how long the poll loop sleeps when nothing is due, how often
    # follower counts are published, how long a webhook's re-poll waits to gather the
    # deliveries of a burst into one poll, the largest delivery accepted.
    poll_idle_s: float = Field(default=1.0, gt=0)
    followers_every_s: float = Field(default=3600.0, gt=0)
    webhook_debounce_s: float = Field(default=10.0, ge=0)
    webhook_max_bytes: int = Field(default=1_000_000, ge=1)
    # Webhook requests (handshakes and deliveries) per source address: "<requests>/<seconds>".
    rate_limit_webhooks: str = "600/60"

    # HTTP to the platform.
    http_timeout_s: float = Field(default=10.0, gt=0)
    http_max_attempts: int = Field(default=4, ge=1, le=10)
    http_backoff_initial_s: float = Field(default=0.5, ge=0)
    http_backoff_max_s: float = Field(default=30.0, ge=0)
    # How long a token the platform refused is refused here without asking again.
    refused_token_memory_s: float = Field(default=60.0, ge=0, le=3600)

    # Rate limits: budgets replacing the platform defaults of the same scope and endpoint
    # (limit 0 switches one off); the longest a call waits for a budget before it gives
    # up with RateLimited; the usage percentage (Meta) at which calls slow down.
    rate_limit_budgets: Annotated[list[Budget], NoDecode] = Field(default_factory=list)
    rate_limit_max_wait_s: float = Field(default=60.0, ge=0)
    rate_limit_usage_threshold_pct: float = Field(default=90.0, gt=0, le=100)
    rate_limit_usage_pause_s: float = Field(default=300.0, ge=0)

    # Connecting accounts (pulse_shared.ingest.connect): the app's OAuth credentials at the
    # platform; this service's callback URL exactly as registered there (unset: connecting
    # is switched off); where a browser may be sent back to afterwards (the dashboard's
    # connections page), an allow-list; the platform's consent and token hosts (None: the
    # documented ones; the simulator's base URL in dev).
    oauth_client_id: str = ""
    oauth_client_secret: SecretStr = SecretStr("")
    oauth_redirect_uri: str = ""
    oauth_return_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    oauth_web_base_url: str | None = None
    oauth_token_base_url: str | None = None
    # How far back a newly connected account's posts are imported; how often its new posts
    # are looked for afterwards; how long before an access token expires it is refreshed.
    backfill_days: int = Field(default=90, ge=1, le=3650)
    discovery_every_s: float = Field(default=3600.0, gt=0)
    token_refresh_margin_s: float = Field(default=900.0, ge=0)

    @field_validator("oauth_return_urls", mode="before")
    @classmethod
    def _urls_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("token_encryption_keys", mode="before")
    @classmethod
    def _keys_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("rate_limit_budgets", mode="before")
    @classmethod
    def _budgets_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @model_validator(mode="after")
    def _keys_required_outside_dev(self) -> IngestSettings:
        if not self.token_encryption_keys and not self.is_dev:
            raise ValueError(
                f"PULSE_TOKEN_ENCRYPTION_KEYS is empty and PULSE_ENVIRONMENT is "
                f"{self.environment!r}: access tokens must be encrypted with keys of your "
                "own outside dev (generate one with `python -c 'from cryptography.fernet "
                "import Fernet; print(Fernet.generate_key().decode())'`)"
            )
        if not self.is_dev and any(
            key.get_secret_value() == DEV_TOKEN_KEY for key in self.token_encryption_keys
        ):
            raise ValueError(
                "PULSE_TOKEN_ENCRYPTION_KEYS holds the development key published in this "
                f"repository and PULSE_ENVIRONMENT is {self.environment!r}: use keys of your own"
            )
        return self

    def token_keys(self) -> list[str]:
        """The encryption keys, newest first (the dev key when none are set in dev)."""
        keys = [key.get_secret_value() for key in self.token_encryption_keys]
        return keys or [DEV_TOKEN_KEY]

    def api_base_url_of(self, platform: str) -> str:
        return self.api_base_url or REAL_API_BASE_URLS[platform]
