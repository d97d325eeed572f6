"""The control API (``/_sim/...``): what tests and demos use to steer the simulator and
to read its exact numbers. Not part of any platform; unauthenticated, for local use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pulse_platform_sim.faults import Fault
from pulse_platform_sim.population import Account, Api, Business, Post, SimUser
from pulse_platform_sim.publisher import publish_population
from pulse_platform_sim.state import BusinessConflict, SimState, sim_of
from pulse_platform_sim.tokens import TokenStatus
from pulse_platform_sim.truth import (
    facebook_fan_count,
    normalised_metrics,
    platform_numbers,
    x_tweet_count,
)
from pulse_platform_sim.webhooks import KINDS
from pulse_shared.events import ContentType, Platform
from pulse_shared.topics import POSTS_PUBLISHED

router = APIRouter(prefix="/_sim", tags=["simulator control"])

PlatformName = Literal["twitter", "x", "linkedin", "facebook", "instagram"]
ApiName = Literal["twitter", "x", "linkedin", "meta", "facebook", "instagram"]


def _platform(name: str) -> Platform:
    return "twitter" if name == "x" else name  # type: ignore[return-value]


def _api(name: str) -> Api:
    if name in ("meta", "facebook", "instagram"):
        return "meta"
    return "twitter" if name in ("twitter", "x") else "linkedin"


def _utc(at: datetime | None, sim: SimState) -> datetime:
    if at is None:
        return sim.clock.now()
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


# --- faults -------------------------------------------------------------------------------


class FaultRequest(BaseModel):
    platform: ApiName
    kind: Literal["error", "timeout", "rate_limit", "5xx", "429"]
    count: int = Field(default=1, ge=1, le=100_000)
    status: int = Field(default=503, ge=500, le=599, description="for kind=error")
    hang_seconds: float | None = Field(default=None, ge=0, description="for kind=timeout")
    meta_code: Literal[4, 17, 32, 613, 80001, 80002] = Field(
        default=4, description="for a Meta rate_limit: the throttling error code"
    )


@router.post("/faults", summary="Make the next N answers of a platform fail")
async def inject_fault(request: Request, body: FaultRequest) -> dict[str, Any]:
    sim = sim_of(request)
    kind = {"5xx": "error", "429": "rate_limit"}.get(body.kind, body.kind)
    fault = Fault(
        kind=kind,  # type: ignore[arg-type]
        remaining=body.count,
        status=body.status,
        hang_s=sim.settings.fault_hang_s if body.hang_seconds is None else body.hang_seconds,
        meta_code=body.meta_code,
    )
    sim.faults.inject(_api(body.platform), fault)
    return {"pending": sim.faults.pending()}


@router.get("/faults", summary="Faults still pending")
async def pending_faults(request: Request) -> dict[str, Any]:
    return {"pending": sim_of(request).faults.pending()}


@router.delete("/faults", summary="Drop pending faults")
async def clear_faults(request: Request, platform: ApiName | None = None) -> dict[str, Any]:
    sim = sim_of(request)
    sim.faults.clear(_api(platform) if platform else None)
    return {"pending": sim.faults.pending()}


# --- tokens -------------------------------------------------------------------------------


class TokenRequest(BaseModel):
    platform: PlatformName | None = None
    account_id: str | None = None
    token: str | None = Field(default=None, description="instead of platform + account_id")
    user: str | None = Field(
        default=None,
        description="a simulated user (sim-user-1, ...): all their tokens, on ``platform`` "
        "if given: the OAuth-issued ones and the standing tokens of their accounts",
    )
    include_refresh: bool = Field(
        default=False, description="expire: the user's refresh tokens too (revoke: always)"
    )


def _user_tokens(sim: SimState, body: TokenRequest, status: TokenStatus) -> dict[str, Any]:
    user = sim.population.user(body.user or "")
    if user is None:
        raise HTTPException(404, f"no user {body.user}")
    api = _api(body.platform) if body.platform else None
    principals = sim.tokens.tokens_of(user, api)
    for principal in principals:
        sim.tokens.set_status(principal.token, status)
    grants = sim.tokens.grants_of(user, api)
    for grant in grants:
        if status == "revoked":
            grant.revoked = True
        elif status == "valid":
            grant.revoked = grant.refresh_expired = False
        elif body.include_refresh:
            grant.refresh_expired = True
    return {"status": status, "tokens": len(principals), "grants": len(grants)}


def _set_token(sim: SimState, body: TokenRequest, status: TokenStatus) -> dict[str, Any]:
    if body.user is not None:
        return _user_tokens(sim, body, status)
    if body.token is not None:
        token = body.token
        if not sim.tokens.known(token):
            raise HTTPException(404, "no such token")
    else:
        if body.platform is None or body.account_id is None:
            raise HTTPException(422, "give token, user, or platform and account_id")
        account = sim.population.account(_platform(body.platform), body.account_id)
        if account is None:
            raise HTTPException(404, f"no {body.platform} account {body.account_id}")
        token = account.access_token
    sim.tokens.set_status(token, status)
    return {"status": status}


@router.post("/tokens/expire", summary="Expire a token, an account's or a user's tokens")
async def expire_token(request: Request, body: TokenRequest) -> dict[str, Any]:
    return _set_token(sim_of(request), body, "expired")


@router.post("/tokens/revoke", summary="Revoke a token, an account's or a user's tokens")
async def revoke_token(request: Request, body: TokenRequest) -> dict[str, Any]:
    return _set_token(sim_of(request), body, "revoked")


@router.post("/tokens/restore", summary="Make tokens valid again")
async def restore_token(request: Request, body: TokenRequest) -> dict[str, Any]:
    return _set_token(sim_of(request), body, "valid")


@router.get("/oauth/grants", summary="Consents given through the OAuth flows")
async def oauth_grants(request: Request, user: str | None = None) -> dict[str, Any]:
    sim = sim_of(request)
    now = sim.clock.now()
    grants = []
    for grant in sim.tokens.grants.values():
        if user is not None and grant.user.user_id != user:
            continue
        tokens = [p for p in sim.tokens.issued() if p.grant is grant]
        grants.append(
            {
                "grant_id": grant.grant_id,
                "platform": grant.api,
                "user": grant.user.user_id,
                "scopes": grant.scopes,
                "created_at": grant.created_at.isoformat(),
                "revoked": grant.revoked,
                "refresh_token": grant.refresh_token,
                "refresh_status": grant.refresh_status(now) if grant.refresh_token else None,
                "refresh_expires_at": _iso(grant.refresh_expires_at),
                "tokens": [
                    {
                        "access_token": p.token,
                        "kind": p.kind,
                        "account_id": p.account.account_id if p.account else None,
                        "status": sim.tokens.status_of(p.token),
                        "expires_at": _iso(p.expires_at),
                    }
                    for p in tokens
                ],
            }
        )
    return {"grants": grants}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


# --- simulated users and their posts ----------------------------------------------------


def _user_view(sim: SimState, user: SimUser) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "name": user.name,
        "business_ids": list(user.business_ids),
        "linkedin_member_urn": user.linkedin_urn,
        "meta_user_id": user.meta_user_id,
        "accounts": [
            {"platform": a.platform, "account_id": a.account_id, "name": a.name}
            for b in sim.population.businesses
            if b.business_id in user.business_ids
            for a in b.accounts.values()
        ],
    }


@router.get("/users", summary="The simulated people and the accounts they administer")
async def users(request: Request) -> dict[str, Any]:
    sim = sim_of(request)
    return {"users": [_user_view(sim, u) for u in sim.population.users]}


class NewPostRequest(BaseModel):
    platform: PlatformName
    account_id: str | None = Field(default=None, description="default: business_id's account")
    business_id: int | None = Field(default=None, description="default: the first business")
    content_type: ContentType | None = None
    content: str | None = None


@router.post("/posts", summary="Publish a native post now (never announced to Pulse)")
async def create_post(request: Request, body: NewPostRequest) -> dict[str, Any]:
    sim = sim_of(request)
    platform = _platform(body.platform)
    if body.account_id is not None:
        account = sim.population.account(platform, body.account_id)
    else:
        business = (
            sim.population.business(body.business_id)
            if body.business_id is not None
            else sim.population.businesses[0]
        )
        account = business.accounts[platform] if business else None
    if account is None:
        raise HTTPException(404, f"no such {platform} account")
    if platform == "instagram" and body.content_type in ("text", "link"):
        raise HTTPException(422, "Instagram posts are images, videos or carousels")
    post = sim.population.create_post(
        sim.settings.seed, account, sim.clock.now(), body.content_type, body.content
    )
    return _post_view(sim, post)


@router.delete("/posts", summary="Delete a post: gone from listings and lookups")
async def delete_post(request: Request, platform: PlatformName, post_id: str) -> dict[str, Any]:
    sim = sim_of(request)
    if not sim.population.delete_post(_platform(platform), post_id, sim.clock.now()):
        raise HTTPException(404, f"no {platform} post {post_id} (or already deleted)")
    return {"deleted": True, "platform": _platform(platform), "post_id": post_id}


# --- businesses added while running ---------------------------------------------------


class NewBusinessRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    business_id: int = Field(
        gt=0, le=2**63 - 1, description="a Pulse business id above PULSE_SIM_BUSINESS_ID_OFFSET"
    )


def _check_above_offset(business_id: int, offset: int) -> None:
    """Simulator business ``business_id - offset`` must be 1 or more: a 422 shaped as the
    body model's own."""
    if business_id > offset:
        return
    message = f"Input should be greater than {offset} (PULSE_SIM_BUSINESS_ID_OFFSET)"
    error = {"type": "greater_than", "loc": ("body", "business_id"), "msg": message}
    raise RequestValidationError([{**error, "input": business_id, "ctx": {"gt": offset}}])


@router.post(
    "/businesses",
    status_code=201,
    summary="Simulate one more Pulse business: accounts, past posts and its administrator",
    responses={
        200: {"description": "added before: the same business"},
        409: {"description": "a business the simulator started with (or its accounts taken)"},
    },
)
async def add_business(
    request: Request, response: Response, body: NewBusinessRequest
) -> dict[str, Any]:
    sim = sim_of(request)
    _check_above_offset(body.business_id, sim.settings.business_id_offset)
    try:
        business, created = sim.add_business(body.business_id)
    except BusinessConflict as exc:
        raise HTTPException(409, str(exc)) from None
    if not created:
        response.status_code = 200
    admin = sim.population.admin_of(business.business_id)
    assert admin is not None
    posts = [p for a in business.accounts.values() for p in sim.population.posts_of(a)]
    return {
        **_business_view(sim, business, include_posts=False),
        "created": created,
        "administrator": _user_view(sim, admin),
        "history": {
            "start": business.accounts["linkedin"].growth_start.isoformat(),
            "posts": len(posts),
            "last_published_at": _iso(max((p.published_at for p in posts), default=None)),
        },
    }


# --- reset, clock, requests -----------------------------------------------------------


class ResetRequest(BaseModel):
    clock: bool = True


@router.post("/reset", summary="Back to the starting state")
async def reset(request: Request, body: ResetRequest | None = None) -> dict[str, Any]:
    sim = sim_of(request)
    sim.reset(clock=body.clock if body else True)
    return {"reset": True, "now": sim.clock.now().isoformat()}


class ClockRequest(BaseModel):
    advance_seconds: float | None = None
    set: AwareDatetime | None = None
    freeze: bool | None = None
    reset: bool = False


def _clock(sim: SimState) -> dict[str, Any]:
    return {
        "now": sim.clock.now().isoformat(),
        "offset_seconds": round(sim.clock.offset.total_seconds(), 3),
        "frozen": sim.clock.frozen,
    }


@router.get("/clock", summary="Simulated time")
async def read_clock(request: Request) -> dict[str, Any]:
    return _clock(sim_of(request))


@router.post("/clock", summary="Shift, set or freeze simulated time")
async def move_clock(request: Request, body: ClockRequest) -> dict[str, Any]:
    clock = sim_of(request).clock
    if body.reset:
        clock.reset()
    if body.freeze is True:
        clock.freeze()
    elif body.freeze is False:
        clock.unfreeze()
    if body.set is not None:
        clock.set(body.set)
    if body.advance_seconds is not None:
        clock.advance(body.advance_seconds)
    return _clock(sim_of(request))


@router.get("/requests", summary="Platform requests counted per rate-limit window")
async def requests(
    request: Request, platform: ApiName | None = None, endpoint: str | None = None
) -> dict[str, Any]:
    sim = sim_of(request)
    snapshot = sim.requests.snapshot(_api(platform) if platform else None, endpoint)
    s = sim.settings
    snapshot["limits"] = {
        "twitter": {
            "window_seconds": s.twitter_window_s,
            "GET /2/tweets": {
                "app": s.twitter_tweets_app_limit,
                "user": s.twitter_tweets_user_limit,
            },
            "GET /2/users/:id": {
                "app": s.twitter_users_app_limit,
                "user": s.twitter_users_user_limit,
            },
            "GET /2/users": {"app": s.twitter_users_app_limit, "user": s.twitter_users_user_limit},
            "GET /2/users/me": {"user": s.twitter_users_me_user_limit},
            "GET /2/users/:id/tweets": {
                "app": s.twitter_user_tweets_app_limit,
                "user": s.twitter_user_tweets_user_limit,
            },
        },
        "linkedin": {
            "window_seconds": 86_400,
            "per_resource": {
                "app": s.linkedin_app_daily_limit,
                "member": s.linkedin_member_daily_limit,
            },
        },
        "meta": {
            "app": {"calls": s.meta_app_calls_per_window, "window_seconds": s.meta_app_window_s},
            "business_use_case": {
                "calls": s.meta_buc_calls_per_window,
                "window_seconds": s.meta_buc_window_s,
            },
        },
    }
    return snapshot


# --- truth and population -------------------------------------------------------------


def _find_post(sim: SimState, platform: str, post_id: str) -> Post:
    post = sim.population.post(_platform(platform), post_id, include_deleted=True)
    if post is None:
        raise HTTPException(404, f"no {platform} post {post_id}")
    return post


@router.get("/truth", summary="A post's exact numbers at an instant")
async def truth(
    request: Request,
    platform: PlatformName,
    post_id: str,
    at: Annotated[datetime | None, Query(description="ISO 8601; default: simulated now")] = None,
) -> dict[str, Any]:
    sim = sim_of(request)
    post = _find_post(sim, platform, post_id)
    instant = _utc(at, sim)
    return {
        "platform": post.platform,
        "post_id": post.post_id,
        "business_id": post.business_id,
        "account_id": post.account_id,
        "content_type": post.content_type,
        "published_at": post.published_at.isoformat(),
        "at": instant.isoformat(),
        "published": post.published_at <= instant,
        "platform_metrics": platform_numbers(post, instant),
        "metrics": normalised_metrics(post, instant),
    }


@router.get("/truth/account", summary="An account's exact follower count at an instant")
async def account_truth(
    request: Request,
    platform: PlatformName,
    account_id: str,
    at: Annotated[datetime | None, Query(description="ISO 8601; default: simulated now")] = None,
) -> dict[str, Any]:
    sim = sim_of(request)
    account = sim.population.account(_platform(platform), account_id)
    if account is None:
        raise HTTPException(404, f"no {platform} account {account_id}")
    instant = _utc(at, sim)
    answer: dict[str, Any] = {
        "platform": account.platform,
        "account_id": account.account_id,
        "business_id": account.business_id,
        "at": instant.isoformat(),
        "followers": account.followers_at(instant),
    }
    if account.platform == "facebook":
        answer["fan_count"] = facebook_fan_count(account, instant)
    if account.platform == "twitter":
        answer["tweet_count"] = x_tweet_count(sim.population, account, instant)
    return answer


def _account_view(sim: SimState, account: Account) -> dict[str, Any]:
    return {
        "platform": account.platform,
        "account_id": account.account_id,
        "name": account.name,
        "handle": account.handle,
        "access_token": account.access_token,
        "token_status": sim.tokens.status_of(account.access_token),
        "followers": account.followers_at(sim.clock.now()),
    }


def _post_view(sim: SimState, post: Post) -> dict[str, Any]:
    deleted = sim.population.deleted_at(post.platform, post.post_id)
    return {
        "platform": post.platform,
        "post_id": post.post_id,
        "account_id": post.account_id,
        "published_at": post.published_at.isoformat(),
        "content_type": post.content_type,
        "content": post.content,
        "url": post.url,
        "video_duration_s": post.video_duration_s,
        "local_weekday": post.local_weekday,
        "local_hour": post.local_hour,
        "native": sim.population.is_native(post),
        "deleted_at": _iso(deleted),
    }


def _business_view(sim: SimState, business: Business, include_posts: bool) -> dict[str, Any]:
    pop = sim.population
    item: dict[str, Any] = {
        "business_id": business.business_id,
        "name": business.name,
        "timezone": business.timezone,
        "added_at_runtime": pop.is_runtime(business.business_id),
        "accounts": [_account_view(sim, a) for a in business.accounts.values()],
    }
    if include_posts:
        now = sim.clock.now()
        item["posts"] = [
            _post_view(sim, p) for a in business.accounts.values() for p in pop.posts_of(a, now)
        ]
    return item


@router.get("/population", summary="Businesses, accounts (with tokens) and posts")
async def population(
    request: Request, business_id: int | None = None, include_posts: bool = True
) -> dict[str, Any]:
    sim = sim_of(request)
    pop = sim.population
    now = sim.clock.now()
    apps = pop.apps
    businesses = [
        _business_view(sim, b, include_posts)
        for b in pop.businesses
        if business_id is None or b.business_id == business_id
    ]
    return {
        "anchor": pop.anchor.isoformat(),
        "start": pop.start.isoformat(),
        "now": now.isoformat(),
        "apps": {
            "twitter": {
                "consumer_key": apps.twitter_consumer_key,
                "consumer_secret": apps.twitter_consumer_secret,
                "bearer_token": apps.twitter_bearer_token,
            },
            "linkedin": {
                "client_id": apps.linkedin_client_id,
                "client_secret": apps.linkedin_client_secret,
            },
            "meta": {
                "app_id": apps.meta_app_id,
                "app_secret": apps.meta_app_secret,
                "verify_token": apps.meta_verify_token,
            },
        },
        "oauth": {
            api: {
                "client_id": p.client_id,
                "client_secret": p.client_secret,
                "redirect_uris": list(p.redirect_uris),
            }
            for api, p in sim.oauth.providers.items()
        },
        "users": [_user_view(sim, u) for u in pop.users],
        "businesses": businesses,
    }


# --- webhooks and publishing ---------------------------------------------------------------


class WebhookRequest(BaseModel):
    platform: PlatformName
    post_id: str
    kind: str | None = Field(default=None, description="default: the platform's first kind")


def _webhook_post(sim: SimState, body: WebhookRequest) -> tuple[Post, str]:
    post = _find_post(sim, body.platform, body.post_id)
    kind = body.kind or KINDS[post.platform][0]
    if kind not in KINDS[post.platform]:
        raise HTTPException(422, f"kind must be one of {list(KINDS[post.platform])}")
    return post, kind


@router.post("/webhooks/send", summary="Deliver a signed webhook about a post")
async def send_webhook(request: Request, body: WebhookRequest) -> dict[str, Any]:
    sim = sim_of(request)
    post, kind = _webhook_post(sim, body)
    deliveries = await sim.webhooks.send(post, kind)
    return {"deliveries": [d.__dict__ for d in deliveries]}


@router.post("/webhooks/build", summary="A signed delivery, returned instead of sent")
async def build_webhook(request: Request, body: WebhookRequest) -> dict[str, Any]:
    sim = sim_of(request)
    post, kind = _webhook_post(sim, body)
    headers, raw = sim.webhooks.signed(post, kind)
    return {"headers": headers, "body": raw.decode()}


class VerifyRequest(BaseModel):
    platform: ApiName


@router.post("/webhooks/verify", summary="Run the platform's handshake against its targets")
async def verify_webhooks(request: Request, body: VerifyRequest) -> dict[str, Any]:
    results = await sim_of(request).webhooks.verify(_api(body.platform))
    return {"handshakes": [r.__dict__ for r in results]}


class TargetsRequest(BaseModel):
    platform: ApiName
    urls: list[str]


@router.get("/webhooks/targets", summary="Where deliveries go, per API")
async def read_targets(request: Request) -> dict[str, list[str]]:
    return {api: list(urls) for api, urls in sim_of(request).webhooks.targets.items()}


@router.put("/webhooks/targets", summary="Replace one API's delivery targets")
async def set_targets(request: Request, body: TargetsRequest) -> dict[str, list[str]]:
    sim = sim_of(request)
    sim.webhooks.targets[_api(body.platform)] = list(body.urls)
    return {api: list(urls) for api, urls in sim.webhooks.targets.items()}


class PublishRequest(BaseModel):
    business_ids: list[int] | None = None


@router.post("/publish", summary="Publish posts.published.v1 for the posts published so far")
async def publish(request: Request, body: PublishRequest | None = None) -> dict[str, Any]:
    sim = sim_of(request)
    try:
        count = await publish_population(
            sim.population, sim.pulse, sim.clock.now(), body.business_ids if body else None
        )
    except Exception as exc:  # Kafka away: say so rather than a bare 500
        raise HTTPException(
            503, f"could not publish to Kafka: {type(exc).__name__}: {exc}"
        ) from exc
    return {"published": count, "topic": sim.pulse.topic(POSTS_PUBLISHED)}
