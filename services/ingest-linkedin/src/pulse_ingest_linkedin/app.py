"""ingest-linkedin wiring. Run: ``uvicorn pulse_ingest_linkedin.app:app``.

LinkedIn's versioned REST API (organization share statistics, network size) and its
webhooks; connecting organisations (OAuth 2.0, organizationAcls) and listing their posts
and follower history; the shared ingest runtime does the scheduling, rate limits,
retries, token keeping and publishing (pulse_shared.ingest).
"""

from __future__ import annotations

from pulse_ingest_linkedin.client import LinkedInClient
from pulse_ingest_linkedin.listing import LinkedInPostLister
from pulse_ingest_linkedin.oauth import LinkedInOAuthClient
from pulse_ingest_linkedin.rules import LinkedInRules
from pulse_ingest_linkedin.settings import Settings
from pulse_ingest_linkedin.webhooks import WEBHOOK_API, LinkedInWebhookReceiver
from pulse_shared.ingest.app import PlatformParts, build_ingest_app


def parts_of(settings: Settings) -> PlatformParts:
    secret = settings.webhook_secret.get_secret_value()
    return PlatformParts(
        platforms=("linkedin",),
        rules=LinkedInRules(),
        client=LinkedInClient(api_version=settings.linkedin_api_version),
        receiver=LinkedInWebhookReceiver(secret) if secret else None,
        oauth=LinkedInOAuthClient(
            client_id=settings.oauth_client_id,
            client_secret=settings.oauth_client_secret.get_secret_value(),
            api_version=settings.linkedin_api_version,
            authorize_base_url=settings.oauth_web_base_url,
            token_base_url=settings.oauth_token_base_url or settings.api_base_url,
            api_base_url=settings.api_base_url,
        ),
        lister=LinkedInPostLister(api_version=settings.linkedin_api_version),
    )


app = build_ingest_app("ingest-linkedin", Settings, parts_of, WEBHOOK_API)
