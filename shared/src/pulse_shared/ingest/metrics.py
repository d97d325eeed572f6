"""Prometheus metrics of the shared ingest runtime (served by each service's /metrics).

``platform`` is the rate-limit app (twitter, linkedin, meta) or the rules' platform;
``endpoint`` is the endpoint name the clients pass (a route template, never a URL with
ids), so the label sets stay small.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

API_REQUESTS = Counter(
    "pulse_ingest_api_requests_total",
    "Requests sent to a platform API, by the HTTP status answered (or timeout / connection)",
    ["platform", "endpoint", "status"],
)
API_ERRORS = Counter(
    "pulse_ingest_api_errors_total",
    "Platform calls that ended in an error, by kind (RateLimited, TokenInvalid, ...)",
    ["platform", "endpoint", "kind"],
)
API_RETRIES = Counter(
    "pulse_ingest_api_retries_total",
    "Transient failures retried after a backoff",
    ["platform", "endpoint"],
)
RATE_LIMIT_WAITS = Counter(
    "pulse_ingest_rate_limit_waits_total",
    "Times a call waited for a rate-limit budget (reason: budget spent or blocked)",
    ["platform", "endpoint", "reason"],
)
RATE_LIMIT_WAIT_SECONDS = Histogram(
    "pulse_ingest_rate_limit_wait_seconds",
    "Time a call waited for its rate-limit budgets, when it had to wait",
    ["platform"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
RATE_LIMIT_REFUSALS = Counter(
    "pulse_ingest_rate_limit_refusals_total",
    "Calls given up because the budget would take longer than the maximum wait",
    ["platform", "endpoint"],
)
RATE_LIMIT_BLOCKS = Counter(
    "pulse_ingest_rate_limit_blocks_total",
    "Budgets blocked from what a response said (cause: rate_limited, remaining, usage, regain)",
    ["platform", "scope", "cause"],
)
ACCOUNTS_NEEDING_RECONNECTION = Counter(
    "pulse_ingest_accounts_marked_for_reconnection_total",
    "Connected accounts whose token the platform refused (polling them stopped)",
    ["platform"],
)
WEBHOOK_DUPLICATES = Counter(
    "pulse_ingest_webhook_duplicates_total",
    "Webhook deliveries seen before (a platform retry), acknowledged and skipped",
    ["platform"],
)

# The ingest worker (pulse_shared.ingest.worker).
EVENTS_PUBLISHED = Counter(
    "pulse_ingest_events_published_total", "Events published to Kafka", ["platform", "topic"]
)
POSTS_POLLED = Counter(
    "pulse_ingest_posts_polled_total", "Posts whose numbers a poll returned", ["platform"]
)
POLL_FAILURES = Counter(
    "pulse_ingest_poll_failures_total",
    "Polls of a batch of posts that failed",
    ["platform", "kind"],
)
METRICS_REFUSED = Counter(
    "pulse_ingest_metrics_refused_total",
    "Metric names a platform refused (the rest of the post's numbers were kept)",
    ["platform", "metric"],
)
POSTS_UNTRACKED = Counter(
    "pulse_ingest_posts_untracked_total", "Posts no longer polled", ["platform", "why"]
)
