"""ingest-meta wiring (Facebook Pages and Instagram). Run: ``uvicorn pulse_ingest_meta.app:app``.

Graph API post and media insights, Page and Instagram follower counts, Meta's webhooks,
and connecting Pages with their Instagram accounts through Facebook Login (the posts of
each listed for backfill and discovery); the shared ingest runtime does the scheduling,
rate limits, retries and publishing (pulse_shared.ingest).
"""

from __future__ import annotations

from pulse_ingest_meta.client import MetaClient
from pulse_ingest_meta.listing import MetaPostLister
from pulse_ingest_meta.oauth import MetaOAuthClient
from pulse_ingest_meta.rules import MetaRules
from pulse_ingest_meta.settings import Settings
from pulse_ingest_meta.webhooks import WEBHOOK_API, MetaWebhookReceiver
from pulse_shared.ingest.app import PlatformParts, build_ingest_app


def parts_of(settings: Settings) -> PlatformParts:
    secret = settings.webhook_secret.get_secret_value()
    verify_token = settings.webhook_verify_token.get_secret_value()
    return PlatformParts(
        platforms=("facebook", "instagram"),
        rules=MetaRules(),
        client=MetaClient(
            api_version=settings.meta_api_version,
            facebook_insight_metrics=settings.meta_facebook_insight_metrics,
            instagram_insight_metrics=settings.meta_instagram_insight_metrics,
        ),
        receiver=MetaWebhookReceiver(secret, verify_token) if secret and verify_token else None,
        oauth=MetaOAuthClient(
            client_id=settings.oauth_client_id,
            client_secret=settings.oauth_client_secret.get_secret_value(),
            api_version=settings.meta_api_version,
            authorize_base_url=settings.oauth_web_base_url,
            token_base_url=settings.oauth_token_base_url or settings.api_base_url,
        ),
        lister=MetaPostLister(api_version=settings.meta_api_version),
    )


app = build_ingest_app("ingest-meta", Settings, parts_of, WEBHOOK_API)
