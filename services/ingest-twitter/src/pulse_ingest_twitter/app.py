"""ingest-twitter wiring. Run: ``uvicorn pulse_ingest_twitter.app:app``.

X API v2 tweet lookup and user lookup, Account Activity webhooks; the shared ingest runtime
does the scheduling, rate limits, retries and publishing (pulse_shared.ingest).
"""

from __future__ import annotations

from pulse_ingest_twitter.client import TwitterClient
from pulse_ingest_twitter.listing import XPostLister
from pulse_ingest_twitter.oauth import XOAuthClient
from pulse_ingest_twitter.rules import TwitterRules
from pulse_ingest_twitter.settings import Settings
from pulse_ingest_twitter.webhooks import WEBHOOK_API, TwitterWebhookReceiver
from pulse_shared.ingest.app import PlatformParts, build_ingest_app


def parts_of(settings: Settings) -> PlatformParts:
    secret = settings.webhook_secret.get_secret_value()
    return PlatformParts(
        platforms=("twitter",),
        rules=TwitterRules(),
        client=TwitterClient(private_metrics=settings.twitter_private_metrics),
        receiver=TwitterWebhookReceiver(secret) if secret else None,
        oauth=XOAuthClient(
            client_id=settings.oauth_client_id,
            client_secret=settings.oauth_client_secret.get_secret_value(),
            authorize_base_url=settings.oauth_web_base_url,
            token_base_url=settings.oauth_token_base_url or settings.api_base_url,
        ),
        lister=XPostLister(),
    )


app = build_ingest_app("ingest-twitter", Settings, parts_of, WEBHOOK_API)
