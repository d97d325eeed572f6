from __future__ import annotations

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
