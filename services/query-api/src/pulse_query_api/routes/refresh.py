"""POST /api/v1/analytics/refresh: give me fresh numbers now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisError

from pulse_query_api.refresh import RefreshPublisher
from pulse_query_api.scope import member_business
from pulse_query_api.settings import Settings
from pulse_shared.events import PLATFORMS, RefreshRequested
from pulse_shared.http_auth import Caller, CallerDep
from pulse_shared.http_body import (
    WHOLE_NUMBER_NOTE,
    WholeNumber,
    json_body_openapi,
    parse_json_body,
)
from pulse_shared.http_ratelimit import RateLimiter
from pulse_shared.roles import Permission

router = APIRouter(prefix="/api/v1/analytics", tags=["refresh"])

PlatformName = Literal["linkedin", "twitter", "facebook", "instagram"]


class RefreshIn(BaseModel):
    # Strict: JSON's true is not the business 1, nor "7" the number 7.
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"business_id": 42, "platforms": ["linkedin", "twitter"]}]},
    )

    business_id: Annotated[
        int,
        Field(
            gt=0,
            le=2**63 - 1,
            description=f"The business. {WHOLE_NUMBER_NOTE}",
        ),
        WholeNumber,
    ]
    platforms: list[PlatformName] = Field(
        default_factory=lambda: list(PLATFORMS),
        min_length=1,
        max_length=len(PLATFORMS),
        description="Which platforms to re-poll (default: all)",
    )


class RefreshOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "0f8b7c9e-1d2a-4b3c-8d4e-5f6a7b8c9d0e",
                    "business_id": 42,
                    "platforms": ["linkedin", "twitter"],
                    "requested_at": "2026-11-25T10:00:00Z",
                }
            ]
        }
    )

    request_id: str = Field(description="The refresh.requested.v1 event id")
    business_id: int
    platforms: list[str]
    requested_at: datetime
    repeated: bool = Field(
        default=False,
        description="True when a refresh of the business was already requested within the "
        "window (PULSE_REFRESH_WINDOW_S): this answer is that request, nothing new was sent",
    )


async def refresh_body(request: Request, caller: CallerDep) -> tuple[Caller, RefreshIn]:
    """The caller, then the body: nothing of a body is parsed for a caller without a valid
    token (BodyLimit has already capped its size)."""
    return caller, parse_json_body(await request.body(), RefreshIn)


def get_publisher(request: Request) -> RefreshPublisher:
    publisher: RefreshPublisher = request.app.state.refresh
    return publisher


@router.post(
    "/refresh",
    status_code=202,
    response_model=RefreshOut,
    summary="Ask the ingest services to re-poll the business's posts now",
    responses={
        400: {"description": "The body is not JSON"},
        401: {"description": "No valid bearer token"},
        403: {"description": "A viewer, or a read-only API token: may not ask for a refresh"},
        404: {"description": "No such business among the caller's"},
        422: {"description": "An invalid body; the message names the field"},
        413: {"description": "The body is larger than a refresh request can be"},
        429: {"description": "Too many requests from this token or address (Retry-After)"},
        503: {"description": "Kafka or the refresh limiter is unreachable: nothing was sent"},
    },
    # The body is read by refresh_body, after the token is checked; declared here for the
    # OpenAPI description.
    openapi_extra=json_body_openapi(RefreshIn),
)
async def refresh(
    request: Request,
    caller_and_body: Annotated[tuple[Caller, RefreshIn], Depends(refresh_body)],
    publisher: Annotated[RefreshPublisher, Depends(get_publisher)],
) -> RefreshOut:
    caller, body = caller_and_body
    # 404 unless a member; 403 for a viewer or an API token.
    await member_business(request, caller, body.business_id, Permission.REFRESH)
    platforms = list(dict.fromkeys(body.platforms))  # each once, in the order asked
    event = RefreshRequested(
        business_id=body.business_id, platforms=platforms, requested_at=datetime.now(UTC)
    )
    settings: Settings = request.app.state.settings
    return await publish_once(
        request.app.state.limiter, publisher, event, settings.refresh_window_s
    )


async def publish_once(
    limiter: RateLimiter, publisher: RefreshPublisher, event: RefreshRequested, window_s: int
) -> RefreshOut:
    """At most one refresh per business per window: a refresh re-polls every post of the
    business, spending platform budgets that every tenant shares. A repeat inside the
    window is answered with the refresh already under way. Without Redis to say whether
    one is, nothing is published (closed, not open)."""
    answer = RefreshOut(
        request_id=str(event.event_id), business_id=event.business_id,
        platforms=list(event.platforms), requested_at=event.requested_at,
    )  # fmt: skip
    claim = f"refresh:{event.business_id}"
    try:
        earlier = await limiter.claim_once(claim, answer.model_dump_json(), window_s)
    except (RedisError, OSError):
        raise HTTPException(
            503, "refresh unavailable right now (its limiter cannot be reached); try again"
        ) from None
    if earlier is not None:
        return RefreshOut.model_validate_json(earlier).model_copy(update={"repeated": True})
    if not await publisher.publish(event):
        await limiter.release(claim)
        raise HTTPException(503, "refresh unavailable right now (Kafka unreachable); try again")
    return answer
