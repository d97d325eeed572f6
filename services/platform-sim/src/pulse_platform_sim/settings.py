"""The simulator's knobs, read from ``PULSE_SIM_*`` environment variables.

Kafka (bootstrap servers, topic prefix) and logging come from the shared
``PULSE_*`` settings (:class:`pulse_shared.settings.PulseSettings`), so the simulator
publishes to the same topics as the rest of a stack or test session.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse_shared.events import Platform

DAY_S = 86_400
LOCALHOSTS = ("127.0.0.1", "localhost")


def _redirects(path: str) -> list[str]:
    """Where a local Pulse would take the person back to, on either loopback spelling."""
    return [f"http://{host}:8000/api/v1/connections/{path}/callback" for host in LOCALHOSTS]


class HeavyAccount(BaseModel):
    """One account with a history of its own size: ``posts`` posts over the last ``days``
    days before the anchor (to measure a backfill), instead of the population's."""

    platform: Platform
    business: int = Field(default=1, ge=1, description="the simulator business (1-based)")
    posts: int = Field(default=2000, ge=0, le=100_000)
    days: int = Field(default=90, ge=1, le=730)

    @field_validator("platform", mode="before")
    @classmethod
    def _x_is_twitter(cls, value: Any) -> Any:
        return "twitter" if value == "x" else value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_SIM_", env_file=None, extra="ignore")

    # --- the population ---------------------------------------------------------------
    seed: int = 42
    businesses: int = Field(default=3, ge=1, le=10_000)
    posts_per_account: int = Field(default=40, ge=0, le=10_000)
    days: int = Field(default=45, ge=1, le=730, description="posts spread over the last N days")
    # Simulator business i (1-based) is Pulse business ``business_id_offset + i``.
    business_id_offset: int = Field(default=0, ge=0)
    # The instant the population is laid out backwards from. Unset: now, floored to the
    # hour, so two starts within one hour (or any two with this set) give the same posts.
    anchor: AwareDatetime | None = None

    host: str = "0.0.0.0"
    port: int = 8200

    # --- the apps the ingest services would be registered as ------------------------------
    # Unset secrets and tokens are derived from the seed (deterministic, clearly fake).
    twitter_consumer_key: str | None = None
    twitter_consumer_secret: str | None = None
    twitter_app_bearer_token: str | None = None
    linkedin_client_id: str | None = None
    linkedin_client_secret: str | None = None
    meta_app_id: str | None = None
    meta_app_secret: str | None = None
    meta_verify_token: str | None = None
    # X's OAuth 2.0 client (a confidential "Web App"): not the OAuth 1.0a consumer key.
    twitter_client_id: str | None = None
    twitter_client_secret: str | None = None

    # --- OAuth 2.0 authorization-code flows ---------------------------------------------
    # The redirect URIs registered with each app (JSON lists). Anything else gets an error
    # page, never a redirect. LinkedIn ignores the redirect's query string when comparing.
    linkedin_redirect_uris: list[str] = Field(default_factory=lambda: _redirects("linkedin"))
    twitter_redirect_uris: list[str] = Field(default_factory=lambda: _redirects("twitter"))
    meta_redirect_uris: list[str] = Field(default_factory=lambda: _redirects("meta"))
    # Authorization codes: single use, valid this long (simulated seconds).
    linkedin_code_ttl_s: int = Field(default=30 * 60, ge=1)
    twitter_code_ttl_s: int = Field(default=30, ge=1)
    meta_code_ttl_s: int = Field(default=10 * 60, ge=1)
    # A code used twice: refuse it and revoke what it gave (RFC 6749 4.1.2's SHOULD).
    oauth_revoke_on_code_reuse: bool = True
    # Token lifetimes (simulated seconds).
    linkedin_access_token_ttl_s: int = Field(default=60 * DAY_S, ge=1)
    linkedin_refresh_token_ttl_s: int = Field(default=365 * DAY_S, ge=1)
    # Only apps approved for programmatic refresh tokens get them.
    linkedin_refresh_tokens: bool = True
    twitter_access_token_ttl_s: int = Field(default=7200, ge=1)
    twitter_refresh_token_ttl_s: int = Field(default=180 * DAY_S, ge=1)  # not documented
    meta_short_token_ttl_s: int = Field(default=3600, ge=1)
    meta_long_token_ttl_s: int = Field(default=5_183_944, ge=1)

    # --- accounts with a history of their own size (JSON list of HeavyAccount) ----------
    # e.g. PULSE_SIM_HEAVY_ACCOUNTS='[{"platform":"twitter","business":1,"posts":2000,"days":90}]'
    heavy_accounts: list[HeavyAccount] = Field(default_factory=list)

    # --- webhooks ---------------------------------------------------------------------
    # JSON lists in the environment, e.g. PULSE_SIM_WEBHOOK_TARGETS_META='["http://..."]'.
    webhook_targets_twitter: list[str] = Field(default_factory=list)
    webhook_targets_linkedin: list[str] = Field(default_factory=list)
    webhook_targets_meta: list[str] = Field(default_factory=list)
    # Seconds between spontaneous deliveries (one random post per platform); 0 = only
    # when asked through POST /_sim/webhooks/send.
    webhook_interval_s: float = Field(default=0.0, ge=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0)

    # --- X rate limits: requests per 15-minute window, per app and per user -------------
    twitter_window_s: int = Field(default=900, ge=1)
    twitter_tweets_app_limit: int = Field(default=3500, ge=0)
    twitter_tweets_user_limit: int = Field(default=5000, ge=0)
    twitter_users_app_limit: int = Field(default=300, ge=0)
    twitter_users_user_limit: int = Field(default=900, ge=0)
    twitter_users_me_user_limit: int = Field(default=75, ge=0)
    twitter_user_tweets_app_limit: int = Field(default=10_000, ge=0)
    twitter_user_tweets_user_limit: int = Field(default=900, ge=0)
    # GET /2/users/:id/tweets reaches back this many posts (800 with exclude=replies).
    twitter_timeline_cap: int = Field(default=3200, ge=0)
    twitter_timeline_cap_without_replies: int = Field(default=800, ge=0)
    # non_public_metrics / organic_metrics cover only posts younger than this.
    twitter_private_metrics_max_age_days: int = Field(default=30, ge=0)

    # --- LinkedIn: daily limits per app and per member (per resource), reset 00:00 UTC --
    # LinkedIn does not publish its numbers; these are plausible and configurable.
    linkedin_app_daily_limit: int = Field(default=100_000, ge=0)
    linkedin_member_daily_limit: int = Field(default=5_000, ge=0)
    # How many monthly versions (counting the current month) are active.
    linkedin_active_version_months: int = Field(default=12, ge=1)

    # --- Meta: usage budgets behind X-App-Usage and X-Business-Use-Case-Usage ----------
    meta_app_calls_per_window: int = Field(default=4800, ge=1)
    meta_app_window_s: int = Field(default=3600, ge=1)
    meta_buc_calls_per_window: int = Field(default=4800, ge=1)
    meta_buc_window_s: int = Field(default=86_400, ge=1)

    # --- faults -----------------------------------------------------------------------
    # How long an injected timeout hangs before answering 504 (longer than any client's
    # timeout, so the client gives up first).
    fault_hang_s: float = Field(default=30.0, ge=0)
