"""The Grafana dashboard in deploy/grafana asks only for metrics the services export, with
labels they have (a renamed metric would otherwise leave a panel silently empty)."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "pulse-pipeline.json"
# The modules that define the services' metrics.
METRIC_MODULES = (
    "pulse_aggregator.metrics",
    "pulse_shared.ingest.metrics",
    "pulse_shared.http_metrics",
)


def exported() -> dict[str, set[str]]:
    """Every sample name the services export (``_total``, ``_bucket``, ... included) ->
    its label names. The registry's map of collectors to names is private, but it is the
    one place that lists every name a collector exports."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    known: dict[str, set[str]] = {}
    for collector, names in REGISTRY._collector_to_names.items():
        for name in names:
            known[name] = set(getattr(collector, "_labelnames", ()))
    return known


def test_every_panel_query_names_an_exported_metric_and_its_labels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    known = exported()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    for expr in exprs:
        metrics = set(re.findall(r"\b(pulse_[a-z_]+)", expr))
        assert metrics, expr
        for metric in metrics:
            assert metric in known, f"{metric} is not exported (in {expr})"
            for group in re.findall(r"by \(([^)]*)\)", expr):
                for label in (g.strip() for g in group.split(",")):
                    assert label == "le" or label in known[metric], f"{metric} has no {label}"


def test_panels_cover_lag_throughput_dead_letters_and_api_latency() -> None:
    text = DASHBOARD.read_text()
    for metric in ("pulse_aggregator_consumer_lag", "pulse_aggregator_events_consumed_total",
                   "pulse_aggregator_events_dead_lettered_total",
                   "pulse_http_request_seconds_bucket"):  # fmt: skip
        assert metric in text
