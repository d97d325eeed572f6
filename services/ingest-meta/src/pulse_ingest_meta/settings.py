from __future__ import annotations

from pulse_ingest_meta.api import DEFAULT_API_VERSION
from pulse_shared.ingest.settings import IngestSettings


class Settings(IngestSettings):
    http_port: int = 8103
    meta_api_version: str = DEFAULT_API_VERSION
