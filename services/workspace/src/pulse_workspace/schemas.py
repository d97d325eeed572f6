"""What the routes take and answer. Inputs are strict (JSON's true is no number, "7" no
id) and forbid unknown fields, so a mistyped field is a 422 naming it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from pulse_shared.http_body import WholeNumber
from pulse_workspace.invites import SECRET_PATTERN
from pulse_workspace.tokens import TOKEN_PATTERN

MAX_ID = 2**63 - 1
RoleName = Literal["owner", "admin", "analyst", "viewer"]
BusinessId = Annotated[int, Field(gt=0, le=MAX_ID), WholeNumber]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _iana_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Europe/Berlin") from None
    return value


def _email(value: str) -> str:
    """Lower-cased, as invites keep it. Special-use domains (pulse.local) are refused
    unless the app allowed them at start (dev and tests: pulse_workspace.app)."""
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"not an email address: {exc}") from None


TimeZone = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(_iana_zone)
]
Email = Annotated[str, StringConstraints(min_length=3, max_length=320), AfterValidator(_email)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SessionIn(Strict):
    id_token: str = Field(min_length=1, max_length=8192, description="The provider's ID token")


class BusinessIn(Strict):
    name: Name
    timezone: TimeZone = Field(description="IANA time zone, e.g. Europe/Berlin")


class RoleIn(Strict):
    role: RoleName


class InviteIn(Strict):
    email: Email
    role: RoleName


class AcceptIn(Strict):
    secret: str = Field(pattern=SECRET_PATTERN, description="The secret of the invite link")


class TokenIn(Strict):
    name: Name
    expires_in_days: int | None = Field(default=None, ge=1, le=365)


class ExchangeIn(Strict):
    api_token: str = Field(pattern=TOKEN_PATTERN, description="pulse_pat_...")


class OperatorMemberIn(Strict):
    business_id: BusinessId
    user_id: UserId
    # None: a member keeps the role it has; a new member becomes owner.
    role: RoleName | None = None
    email: Email | None = None
    name: Name | None = None


class OperatorTokenIn(Strict):
    user_id: UserId
    ttl_s: int = Field(ge=1, le=366 * 24 * 3600)


class OperatorOwnerIn(Strict):
    business_id: BusinessId
    email: Email


class UserOut(BaseModel):
    user_id: str
    email: str | None
    name: str | None


class SessionOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme
    expires_in: int
    user: UserOut


class AccessTokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme
    expires_in: int


class BusinessOut(BaseModel):
    business_id: int
    name: str | None
    timezone: str
    role: RoleName


class MeOut(BaseModel):
    user: UserOut
    businesses: list[BusinessOut]


class MemberOut(BaseModel):
    user_id: str
    email: str | None
    name: str | None
    role: RoleName
    joined_at: datetime


class InviteOut(BaseModel):
    id: int
    email: str
    role: RoleName
    created_at: datetime
    expires_at: datetime
    invited_by: str


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    user_id: str


class NewTokenOut(TokenOut):
    token: str = Field(description="The token itself: shown this once, never again")


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]


class AuditOut(BaseModel):
    entries: list[AuditEntry]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page")


class OperatorMemberOut(BaseModel):
    business_id: int
    user_id: str
    role: RoleName
    previous_role: RoleName | None


class OperatorOwnerOut(BaseModel):
    outcome: Literal["owner", "invited"]
    business_id: int
    user_id: str | None = None
    invite: InviteOut | None = None
    link: str | None = Field(default=None, description="The invite's link, in dev only")
