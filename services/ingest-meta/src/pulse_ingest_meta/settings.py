from __future__ import annotations

from pulse_ingest_meta.api import (
    DEFAULT_API_VERSION,
    FACEBOOK_POST_INSIGHT_METRICS,
    INSTAGRAM_MEDIA_INSIGHT_METRICS,
)
from pulse_shared.ingest.settings import IngestSettings


class Settings(IngestSettings):
    http_port: int = 8103
    meta_api_version: str = DEFAULT_API_VERSION
    # The insights metric names asked for (JSON lists). Meta renames and retires them; a
    # refused name is dropped at run time and counted by name on /metrics
    # (pulse_ingest_metrics_refused_total), so the lists can be fixed here.
    meta_facebook_insight_metrics: list[str] = list(FACEBOOK_POST_INSIGHT_METRICS)
    meta_instagram_insight_metrics: list[str] = list(INSTAGRAM_MEDIA_INSIGHT_METRICS)
