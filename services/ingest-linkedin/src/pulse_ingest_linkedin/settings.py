from __future__ import annotations

from pulse_shared.ingest.settings import IngestSettings


class Settings(IngestSettings):
    http_port: int = 8101
    # LinkedIn's versioned API: each version (YYYYMM) is served for at least a year.
    linkedin_api_version: str = "202610"
