"""The reporter's settings (PULSE_* environment variables). Unset means production: the
service refuses to start without its service token and its link keys, and SMTP without
TLS is for dev and tests only (pulse_shared.mail.MailSettings)."""

from __future__ import annotations

import os
import re
import socket
from email.utils import parseaddr

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from pulse_reporter.webhooks import WebhookPolicy, parse_networks
from pulse_shared.http_ratelimit import Limit
from pulse_shared.mail import MailSettings
from pulse_shared.settings import decode_key, decode_keys

DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")


def decode_link_key(text: str) -> bytes:
    """One link key: an HMAC-SHA256 key, 32 bytes, base64url (padded or not)."""
    return decode_key(text, "link key")


def _replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Settings(MailSettings):
    # The pulse_reporter role: its own tables (report_*, alert_*), businesses read.
    database_url: str = "postgresql+asyncpg://pulse_reporter:pulse_reporter@127.0.0.1:5432/pulse"
    db_pool_size: int = Field(default=5, ge=1)
    reporter_port: int = 8500

    # Where analytics come from (query-api, as a client) and the credential it calls with
    # (a service token of the workspace's). No default: the service refuses to start without.
    query_api_url: str = "http://127.0.0.1:8000"
    workspace_url: str = "http://127.0.0.1:8400"
    reporter_service_token: SecretStr | None = None

    # HMAC-SHA256 keys for the unsubscribe links, base64url 32 bytes, comma-separated: the
    # first signs, any verifies (rotation). No default: a published key would let anyone
    # unsubscribe anyone.
    reporter_link_keys: SecretStr | None = None

    # The dashboard (a report's "view in Pulse" link) and the reporter's own public base
    # (the unsubscribe links); unset, {dashboard_url}/reporter.
    dashboard_url: str = "http://127.0.0.1:8080"
    reporter_public_url: str | None = None

    # Scheduled reports: weekly on Mondays, monthly on the 2nd, from this local hour.
    report_send_hour_local: int = Field(default=8, ge=0, le=23)
    # A report whose data is stale waits this long (from its delivery's creation) for fresh
    # data, looking again every report_stale_recheck_s; then it goes with its notice.
    report_stale_grace_s: int = Field(default=6 * 3600, ge=0)
    report_stale_recheck_s: int = Field(default=1800, ge=1)
    # A replica holds a delivery this long while it renders and sends; then another may.
    report_lease_s: int = Field(default=300, ge=30)
    report_max_attempts: int = Field(default=5, ge=1)
    report_backoff_base_s: int = Field(default=60, ge=1)
    report_backoff_cap_s: int = Field(default=3600, ge=1)
    report_poll_every_s: float = Field(default=30.0, gt=0)
    # Off: the API alone (tests that need no delivery).
    reporter_worker: bool = True
    # Who holds a lease: the pod's host name and the process id.
    reporter_replica: str = Field(default_factory=_replica_name, min_length=1, max_length=200)

    rate_limit_address: str = "120/60"
    # The API: every request per bearer token, refused sign-ins (401) per address; the
    # heavy routes on their own: a PDF preview or an alerts preview per token (rendering
    # takes a second or more of CPU), a send-now per business (each mails every recipient).
    rate_limit_token: str = "300/60"  # noqa: S105 - a rate, not a secret
    rate_limit_auth_failures: str = "30/60"
    rate_limit_preview: str = "10/60"
    rate_limit_send_now: str = "10/3600"
    # A preview (PDF, alerts) is answered within this or refused (504), and at most this
    # many PDFs are rendered at once per replica (the others wait, within the same time).
    preview_timeout_s: float = Field(default=45.0, gt=0)
    preview_concurrency: int = Field(default=2, ge=1)

    # Alert webhooks: https to public addresses only (webhooks.py), unless the operator
    # allows plain http or private networks (CIDR, a JSON list: ["10.20.0.0/16"]).
    alert_webhook_allow_http: bool = False
    alert_webhook_allowed_networks: list[str] = Field(default_factory=list)
    # The daily alert job (alerting.py): each business's day before is judged from this
    # local hour; at most alert_batch_size businesses judged, and as many alert deliveries
    # sent, per round and replica; a business whose analytics fail is tried again after
    # alert_judge_retry_s.
    alert_hour_local: int = Field(default=7, ge=0, le=23)
    alert_batch_size: int = Field(default=50, ge=1)
    alert_judge_retry_s: int = Field(default=600, ge=1)
    # An account that needs reconnection is alerted once it has been unread this long (a
    # platform's restart or a person reconnecting it now is not news).
    alert_reconnection_grace_s: int = Field(default=1800, ge=0)
    # An alert's mail or webhook (alert_deliveries.py): attempts in all, the backoff between
    # them, and how long a replica holds one it sends (longer than a webhook's worst case).
    alert_max_attempts: int = Field(default=6, ge=1)
    alert_backoff_base_s: int = Field(default=60, ge=1)
    alert_backoff_cap_s: int = Field(default=3600, ge=1)
    alert_delivery_hold_s: int = Field(default=600, ge=1)

    @model_validator(mode="after")
    def _alerts_safe(self) -> Settings:
        if self.alert_backoff_cap_s < self.alert_backoff_base_s:
            raise ValueError("PULSE_ALERT_BACKOFF_CAP_S must be at least the base")
        p = self.webhook_policy()
        longest = p.max_attempts * p.timeout_s + (p.max_attempts - 1) * p.retry_after_cap_s
        if self.alert_delivery_hold_s <= longest:
            raise ValueError(
                f"PULSE_ALERT_DELIVERY_HOLD_S must be longer than a webhook delivery may take "
                f"({longest:.0f} s), or another replica would send it too"
            )
        return self

    @field_validator(
        "rate_limit_address",
        "rate_limit_token",
        "rate_limit_auth_failures",
        "rate_limit_preview",
        "rate_limit_send_now",
    )
    @classmethod
    def _a_rate(cls, value: str, info: ValidationInfo) -> str:
        Limit.parse(str(info.field_name), value)
        return value

    @field_validator("alert_webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"PULSE_ALERT_WEBHOOK_ALLOWED_NETWORKS: {exc}") from None
        return value

    def webhook_policy(self) -> WebhookPolicy:
        """Where alert webhooks may go (checked when a URL is saved and on each delivery)."""
        return WebhookPolicy(
            allow_http=self.alert_webhook_allow_http,
            allowed_networks=parse_networks(self.alert_webhook_allowed_networks),
        )

    @field_validator(
        "reporter_service_token", "reporter_link_keys", "reporter_public_url", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("dashboard_url", "reporter_public_url", "query_api_url", "workspace_url")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"PULSE_{str(info.field_name).upper()} must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _safe(self) -> Settings:
        if self.reporter_service_token is None:
            raise ValueError(
                "PULSE_REPORTER_SERVICE_TOKEN is required: the reporter's credential for "
                "query-api (a service token of the workspace's)"
            )
        if self.reporter_link_keys is None or not self.link_keys():
            raise ValueError(
                "PULSE_REPORTER_LINK_KEYS is required: base64url 32-byte keys, comma-separated "
                "(the first signs the unsubscribe links)"
            )
        if self.report_backoff_cap_s < self.report_backoff_base_s:
            raise ValueError("PULSE_REPORT_BACKOFF_CAP_S must be at least the base")
        if not self.message_id_domain:
            raise ValueError("PULSE_MAIL_FROM must be an address with a domain")
        return self

    def link_keys(self) -> list[bytes]:
        assert self.reporter_link_keys is not None
        text = self.reporter_link_keys.get_secret_value()
        return decode_keys(text, "link key")

    @property
    def public_url(self) -> str:
        return self.reporter_public_url or f"{self.dashboard_url}/reporter"

    @property
    def message_id_domain(self) -> str:
        """The sender's domain: the right-hand side of every Message-ID the reporter makes."""
        _, at, domain = parseaddr(self.mail_from)[1].rpartition("@")
        return domain.lower() if at and DOMAIN.fullmatch(domain.lower()) else ""
