"""ingest-meta wiring. Run: ``uvicorn pulse_ingest_meta.app:app``.

The foundation serves the operational endpoints and checks the service's dependencies;
polling the Graph API (Facebook and Instagram), its webhooks and the events they
publish come with the ingest issue.
"""

from __future__ import annotations

from pulse_ingest_meta.settings import Settings
from pulse_shared.ingest.app import build_ingest_app

app = build_ingest_app("ingest-meta", Settings)
