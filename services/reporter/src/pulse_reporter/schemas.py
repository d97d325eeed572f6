"""What the API takes and answers. Inputs are strict (JSON's true is no number, "7" no id)
and forbid unknown fields, so a mistyped field is a 422 naming it; each request model
carries an example for the OpenAPI document."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from pulse_reporter.anomalies import SENSITIVITIES, Sensitivity
from pulse_reporter.report_data import PeriodKind
from pulse_reporter.webhooks import MAX_URL_LENGTH
from pulse_shared.http_body import WholeNumber

MAX_ID = 2**63 - 1
MAX_RECIPIENTS = 50
# RFC 5321's limits: a path of 256 octets (an address of at most 254), a local part of 64.
MAX_ADDRESS = 254
# A dot-atom address in ASCII, which every mail server takes: no quoted local parts, no
# comments, no IP literals, nothing that could end a header line.
_ADDRESS = re.compile(
    r"(?P<local>[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9])"
)
HEX_COLOUR = r"^#[0-9a-fA-F]{6}$"

Id = Annotated[int, Field(gt=0, le=MAX_ID), WholeNumber]


def email_address(value: str) -> str:
    """One address, trimmed and lower-cased (as unsubscribes and bounces are kept)."""
    address = value.strip().lower()
    match = _ADDRESS.fullmatch(address)
    if match is None or len(address) > MAX_ADDRESS or len(match["local"]) > 64:
        raise ValueError(f"not an email address: {value[:80]!r}")
    return address


def unique(values: list[str]) -> list[str]:
    """Each address once, in the order first given."""
    return list(dict.fromkeys(values))


# Bounded before the pattern is tried (a trimmed address is at most MAX_ADDRESS).
Address = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(email_address)]
Recipients = Annotated[
    list[Address],
    Field(min_length=1, max_length=MAX_RECIPIENTS),
    AfterValidator(unique),
]
AlertRecipients = Annotated[list[Address], Field(max_length=MAX_RECIPIENTS), AfterValidator(unique)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [example]})


# --- schedules -------------------------------------------------------------------------


class ScheduleIn(Strict):
    model_config = _example(
        {"kind": "weekly", "recipients": ["boss@example.com"], "include_csv": False}
    )

    kind: PeriodKind = Field(description="weekly (Mondays) or monthly (the 2nd)")
    recipients: Recipients = Field(
        description=f"1 to {MAX_RECIPIENTS} addresses; lower-cased, each kept once"
    )
    include_csv: bool = Field(default=False, description="Attach the period's posts as CSV")


class SchedulePatch(Strict):
    model_config = _example({"paused": True})

    recipients: Recipients | None = None
    include_csv: bool | None = None
    paused: bool | None = Field(default=None, description="A paused schedule sends nothing")

    @model_validator(mode="after")
    def _something(self) -> SchedulePatch:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("name at least one of recipients, include_csv, paused")
        return self


class ScheduleOut(BaseModel):
    id: int
    business_id: int
    kind: PeriodKind
    recipients: list[str]
    include_csv: bool
    paused: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class PeriodIn(Strict):
    start: date
    end: date = Field(description="Included")

    @model_validator(mode="after")
    def _ordered(self) -> PeriodIn:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class SendNowIn(Strict):
    model_config = _example({"period": {"start": "2026-11-23", "end": "2026-11-29"}})

    period: PeriodIn | None = Field(
        default=None,
        description="Complete local days; unset, the last complete week or month of the "
        "schedule's kind in the business's time zone",
    )


class PeriodOut(BaseModel):
    start: date
    end: date


class SendNowOut(BaseModel):
    delivery_key: str = Field(description="The delivery's key: find it in the deliveries log")
    schedule_id: int
    period: PeriodOut
    status: Literal["pending"] = "pending"


DeliveryStatus = Literal["pending", "sent", "skipped", "failed"]


class DeliveryOut(BaseModel):
    id: int
    schedule_id: int
    delivery_key: str
    send_now: bool = Field(description="Asked for with send-now, not by the schedule")
    period: PeriodOut
    status: DeliveryStatus
    reason: str | None = Field(description="Why skipped or failed; a note on a sent one")
    attempts: int
    next_attempt_at: datetime | None = Field(description="When a pending one is tried next")
    created_at: datetime
    finished_at: datetime | None


class DeliveriesOut(BaseModel):
    deliveries: list[DeliveryOut] = Field(description="Newest first")


# --- branding --------------------------------------------------------------------------


class BrandingIn(Strict):
    model_config = _example({"colour": "#0a66c2"})

    colour: str = Field(pattern=HEX_COLOUR, description="The reports' colour, #rrggbb")


class LogoOut(BaseModel):
    media_type: str
    bytes: int
    url: str = Field(description="Where to GET it (with the bearer)")


class BrandingOut(BaseModel):
    colour: str = Field(description="#rrggbb; the default accent until one is set")
    logo: LogoOut | None
    updated_at: datetime | None


# --- alerts ----------------------------------------------------------------------------


class AlertOut(BaseModel):
    id: int
    kind: Literal["anomaly", "reconnection"]
    platform: str
    metric: str | None
    day: date
    title: str
    sentence: str
    link: str
    numbers: dict[str, Any]
    created_at: datetime
    read: bool = Field(description="Read by the caller")


class AlertsOut(BaseModel):
    alerts: list[AlertOut] = Field(description="Newest first")
    next_before: int | None = Field(description="Pass as `before` for the next (older) page")
    unread: int = Field(description="The caller's unread alerts of the business (at most 100)")


class MarkedOut(BaseModel):
    marked: int = Field(description="How many alerts were marked read")


class AlertSettingsIn(Strict):
    model_config = _example(
        {
            "sensitivity": "medium",
            "email_recipients": ["team@example.com"],
            "webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX",
        }
    )

    sensitivity: Sensitivity = Field(description=f"One of {', '.join(SENSITIVITIES)}")
    email_recipients: AlertRecipients = Field(
        default_factory=list, description=f"0 to {MAX_RECIPIENTS} addresses alerts are mailed to"
    )
    webhook_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="A Slack-compatible incoming webhook (https, a public address). Left out: "
        "the current one stays; null: none; a new URL: a new signing secret, shown once",
    )
    rotate_webhook_secret: bool = Field(
        default=False, description="A new signing secret for the current webhook, shown once"
    )


class WebhookOut(BaseModel):
    url_hint: str = Field(description="Its scheme and host and the last characters: the URL "
                          "itself is a credential and is never shown again")  # fmt: skip
    signed: bool


class AlertSettingsOut(BaseModel):
    sensitivity: Sensitivity
    email_recipients: list[str]
    webhook: WebhookOut | None
    updated_at: datetime | None


class AlertSettingsSaved(AlertSettingsOut):
    webhook_secret: str | None = Field(
        default=None,
        description="The webhook's new signing secret (whsec_...): in this answer only, "
        "never again; null when it did not change",
    )


class PreviewAlert(BaseModel):
    day: date
    platform: str
    metric: str
    direction: Literal["above", "below"]
    value: float
    baseline_median: float
    percent_change: float | None
    title: str
    sentence: str
    link: str


class AlertPreviewOut(BaseModel):
    sensitivity: Sensitivity
    first_day: date
    last_day: date
    alerts: list[PreviewAlert] = Field(description="Oldest first")
