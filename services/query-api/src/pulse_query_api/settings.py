from __future__ import annotations

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator, model_validator

from pulse_shared.http_ratelimit import Limit
from pulse_shared.settings import PulseSettings


class Settings(PulseSettings):
    # query-api connects as the SELECT-only role; it never writes analytics.
    database_url: str = "postgresql+asyncpg://pulse_reader:pulse_reader@127.0.0.1:5432/pulse"
    db_pool_size: int = 10
    # The per-request membership lookup's own pool (pulse_query_api.scope.analytics_scope).
    lookup_pool_size: int = 4
    # Answers cached in Redis (pulse_query_api.cache); off to measure the database alone.
    cache_enabled: bool = True
    http_port: int = 8000
    # Requests per window ("<requests>/<seconds>"): per client address, per bearer token,
    # and refused sign-ins per address; a business's refresh at most once per window.
    rate_limit_address: str = "2400/60"
    rate_limit_token: str = "1200/60"  # noqa: S105 - a rate, not a secret
    rate_limit_auth_failures: str = "30/60"
    refresh_window_s: int = Field(default=60, ge=1)
    # The instant taken as now (which local day is "today": default periods, the best-times
    # window, export file names, /calendar), so a test or a demo can hold the calendar
    # still. Unset: the wall clock. Refused in production.
    clock_at: AwareDatetime | None = None

    @field_validator("rate_limit_address", "rate_limit_token", "rate_limit_auth_failures")
    @classmethod
    def _a_rate(cls, value: str, info: ValidationInfo) -> str:
        Limit.parse(str(info.field_name), value)
        return value

    @model_validator(mode="after")
    def _no_fixed_clock_in_production(self) -> Settings:
        if self.clock_at is not None and self.environment == "production":
            raise ValueError("PULSE_CLOCK_AT is for tests and demos; unset it in production")
        return self
