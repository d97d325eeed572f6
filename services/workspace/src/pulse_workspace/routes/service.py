"""Access tokens for Pulse's own services: the reporter reads analytics through query-api as
a client (so no formula is written twice), with a short-lived token for one business at a
time. Bearer PULSE_REPORTER_SERVICE_TOKEN; without it configured the route does not exist
(404), as the operator's routes.

The token names ``service:reporter``, the business, and the claim that makes it a
service's (pulse_shared.http_auth.TOKEN_SERVICE_CLAIM): query-api then looks up no
membership (the reporter is no member of anything) and allows read and export only.
Nothing changes here, so nothing is audited."""

# No `from __future__ import annotations`: FastAPI reads the annotations below.

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field

from pulse_shared.http_auth import UNAUTHORIZED, service_subject
from pulse_shared.http_body import json_body_openapi
from pulse_workspace.deps import PoolDep, SettingsDep, SignerDep, body_after
from pulse_workspace.routes import ERRORS
from pulse_workspace.rules import not_found
from pulse_workspace.schemas import AccessTokenOut, BusinessId, Strict
from pulse_workspace.settings import Settings
from pulse_workspace.store import reading

REPORTER = "reporter"


class ServiceTokenIn(Strict):
    business_id: BusinessId = Field(description="The business the token reads")


class ReporterBearer(HTTPBearer):
    """The reporter's bearer (PULSE_REPORTER_SERVICE_TOKEN), compared in constant time;
    without one configured (or a blank one), the route does not exist."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        settings: Settings = request.app.state.settings
        secret = settings.reporter_service_token
        if secret is None or not secret.get_secret_value().strip():
            raise HTTPException(404, "Not Found")
        credentials: HTTPAuthorizationCredentials | None = await super().__call__(request)
        expected = secret.get_secret_value().encode()
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, expected):
            raise HTTPException(401, "not the reporter's service token", headers=UNAUTHORIZED)


reporter = ReporterBearer(auto_error=False, description="PULSE_REPORTER_SERVICE_TOKEN")
router = APIRouter(prefix="/v1/service", tags=["service"])
# What the route may answer besides success (a member route's 403 does not apply).
RESPONSES: dict[int | str, dict[str, Any]] = {
    **{status: ERRORS[status] for status in (400, 413, 422, 429)},
    401: {"description": "Not the reporter's bearer (PULSE_REPORTER_SERVICE_TOKEN)"},
    404: {"description": "No such business; or no reporter's bearer configured here"},
}


@router.post(
    "/tokens",
    response_model=AccessTokenOut,
    responses=RESPONSES,
    summary="A short-lived access token for the reporter to read one business",
    # The body is read by body_after, after the bearer is checked; declared here.
    openapi_extra=json_body_openapi(ServiceTokenIn),
)
async def service_token(
    body: Annotated[ServiceTokenIn, Depends(body_after(reporter, ServiceTokenIn))],
    pool: PoolDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> AccessTokenOut:
    async with reading(pool) as store:
        if await store.business(body.business_id) is None:
            raise not_found(body.business_id)
    token = signer.mint(
        service_subject(REPORTER),
        settings.workspace_token_ttl_s,
        datetime.now(UTC),
        business_id=body.business_id,
        service=REPORTER,
    )
    return AccessTokenOut(**token.answer())
