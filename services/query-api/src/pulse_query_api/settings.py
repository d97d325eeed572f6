from __future__ import annotations

from pydantic import AwareDatetime, model_validator

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
    # The instant taken as now (which local day is "today": default periods, the best-times
    # window, export file names, /calendar), so a test or a demo can hold the calendar
    # still. Unset: the wall clock. Refused in production.
    clock_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _no_fixed_clock_in_production(self) -> Settings:
        if self.clock_at is not None and self.environment == "production":
            raise ValueError("PULSE_CLOCK_AT is for tests and demos; unset it in production")
        return self
