"""`make up`'s demo report (`pulse demo --report-to`): through the reporter's real API as
the business's owner, the weekly schedule made once and its first report queued at once;
a second run makes and sends nothing."""

from __future__ import annotations

import asyncpg
import pytest

from pulse_cli.demo import DemoSettings, demo_report
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess
from services.reporter.tests.api_support import Team

pytestmark = pytest.mark.integration
pytest_plugins = ["services.reporter.tests.fixtures"]


async def test_the_demo_report_is_scheduled_once_and_its_first_one_queued_at_once(
    infra: Infra,
    reporter_api: ServiceProcess,
    team: Team,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PULSE_ENVIRONMENT", "dev")  # as `make up` runs the demo
    monkeypatch.setenv("PULSE_WORKSPACE_URL", infra.workspace_url)
    monkeypatch.setenv("PULSE_WORKSPACE_OPERATOR_TOKEN", infra.operator_token)
    settings = DemoSettings(reporter_url=reporter_api.url, demo_user_id=team.owner.user_id)
    recipient = "demo@pulse.local"

    assert await demo_report(settings, team.business_id, recipient) is True
    assert await demo_report(settings, team.business_id, recipient) is False

    schedules = await db.fetch(
        "SELECT id, kind, recipients, created_by FROM report_schedules WHERE business_id = $1",
        team.business_id,
    )
    assert [(s["kind"], s["recipients"], s["created_by"]) for s in schedules] == [
        ("weekly", [recipient], team.owner.user_id)
    ]
    queued = await db.fetch(
        "SELECT delivery_key, status FROM report_deliveries WHERE schedule_id = $1",
        schedules[0]["id"],
    )
    assert len(queued) == 1
    assert ":now:" in queued[0]["delivery_key"]
    assert queued[0]["status"] == "pending"
