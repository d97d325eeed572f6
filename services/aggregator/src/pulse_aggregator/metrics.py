"""Prometheus metrics of the aggregator."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "pulse_aggregator_events_consumed_total", "Records consumed, by topic", ["topic"]
)
EVENTS_DEAD_LETTERED = Counter(
    "pulse_aggregator_events_dead_lettered_total",
    "Records sent to a DLQ, by source topic",
    ["topic"],
)
BATCHES = Counter("pulse_aggregator_batches_total", "Batches written and committed")
BATCH_SECONDS = Histogram(
    "pulse_aggregator_batch_seconds",
    "Time from a batch's poll to its offset commit",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WRITE_RETRIES = Counter(
    "pulse_aggregator_write_retries_total", "Batch write attempts that failed and were retried"
)
CONSUMER_LAG = Gauge(
    "pulse_aggregator_consumer_lag", "Records behind the partition's end", ["topic", "partition"]
)
STAGE_SECONDS = Histogram(
    "pulse_aggregator_stage_seconds",
    "Time spent in each step of a batch write",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CACHE_BUMP_FAILURES = Counter(
    "pulse_aggregator_cache_bump_failures_total",
    "Batches whose cache-version bump in Redis failed (the write itself succeeded)",
)
