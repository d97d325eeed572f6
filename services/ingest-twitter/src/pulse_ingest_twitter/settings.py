from __future__ import annotations

from pulse_shared.ingest.settings import IngestSettings


class Settings(IngestSettings):
    http_port: int = 8102
    # Ask for non_public_metrics / organic_metrics (needs user-context tokens of the
    # posts' owners; refused fields are dropped per tweet and remembered).
    twitter_private_metrics: bool = False
