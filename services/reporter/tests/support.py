"""What the reporter's tests share: the saved query-api answers of one weekly and one
monthly report for the demo's business 1 (captured from `make up`'s query-api)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulse_reporter.report_data import PeriodKind, Report, build_report

DATA = Path(__file__).parent / "data"


def answer(kind: str, name: str) -> dict[str, Any]:
    folder = DATA / kind if kind else DATA
    document: dict[str, Any] = json.loads((folder / f"{name}.json").read_text())
    return document


def answers(kind: PeriodKind) -> dict[str, Any]:
    """build_report's keyword arguments from the saved answers of one report."""
    return {
        "kind": kind,
        "business_name": answer("", "business")["name"],
        "overview": answer(kind, "overview"),
        "trends": answer(kind, "trends"),
        "platforms": answer(kind, "platform_comparison"),
        "top_posts": answer(kind, "top_posts"),
        "best_times": answer(kind, "best_times"),
        "accounts": answer("", "accounts"),
    }


def saved_report(kind: PeriodKind = "weekly") -> Report:
    return build_report(**answers(kind))
