from __future__ import annotations

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from pulse_shared.http_ratelimit import Limit
from pulse_shared.mail import MailSettings
from pulse_shared.settings import decode_key, decode_keys


def decode_seed(text: str) -> bytes:
    """One signing key: an Ed25519 seed, 32 bytes, base64url (padded or not)."""
    return decode_key(text, "signing key")


class Settings(MailSettings):
    # The pulse_workspace role: the teams' tables, nothing of the analytics.
    database_url: str = "postgresql+asyncpg://pulse_workspace:pulse_workspace@127.0.0.1:5432/pulse"
    db_pool_size: int = Field(default=5, ge=1)
    workspace_port: int = 8400

    # Ed25519 seeds, comma-separated: the first signs, all are published. No default: the
    # service refuses to start without (a published key would sign anyone in).
    workspace_signing_keys: SecretStr | None = None
    workspace_issuer: str = "pulse-workspace"
    workspace_token_ttl_s: int = Field(default=300, ge=30)
    # The operator's bearer for /v1/operator/*; unset, those routes do not exist (404).
    workspace_operator_token: SecretStr | None = None
    # The reporter's bearer for /v1/service/tokens (a blank one counts as unset); unset,
    # that route does not exist (404).
    reporter_service_token: SecretStr | None = None

    # The identity provider whose ID tokens /v1/sessions takes; unset, sign-in is off (503).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None

    # SMTP and the sender: pulse_shared.mail.MailSettings (PULSE_SMTP_*, PULSE_MAIL_FROM).

    # The dashboard's public URL: invite links are {dashboard_url}/invite#<secret>.
    dashboard_url: str = "http://127.0.0.1:8080"
    invite_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)

    # Requests per window ("<requests>/<seconds>"): per client address, per bearer token,
    # and refused sign-ins and token exchanges (401) per address.
    rate_limit_address: str = "600/60"
    rate_limit_token: str = "300/60"  # noqa: S105 - a rate, not a secret
    rate_limit_auth_failures: str = "30/60"

    @field_validator("rate_limit_address", "rate_limit_token", "rate_limit_auth_failures")
    @classmethod
    def _a_rate(cls, value: str, info: ValidationInfo) -> str:
        Limit.parse(str(info.field_name), value)
        return value

    @field_validator(
        "workspace_signing_keys",
        "workspace_operator_token",
        "oidc_issuer",
        "oidc_client_id",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # An empty operator token must open nothing (compared with an empty bearer).
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("dashboard_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("PULSE_DASHBOARD_URL must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _safe(self) -> Settings:
        if self.workspace_signing_keys is None or not self.signing_seeds():
            raise ValueError(
                "PULSE_WORKSPACE_SIGNING_KEYS is required: base64url Ed25519 seeds, "
                "comma-separated (deploy/local/credentials.py generates one)"
            )
        if (self.oidc_issuer is None) != (self.oidc_client_id is None):
            raise ValueError("set both PULSE_OIDC_ISSUER and PULSE_OIDC_CLIENT_ID, or neither")
        return self

    def signing_seeds(self) -> list[bytes]:
        assert self.workspace_signing_keys is not None
        text = self.workspace_signing_keys.get_secret_value()
        return decode_keys(text, "signing key")

    @property
    def allows_local_mail_domains(self) -> bool:
        """Addresses such as colleague@pulse.local: dev and tests only."""
        return self.environment in ("dev", "test")
