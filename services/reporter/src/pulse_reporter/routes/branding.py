"""How the business's reports look: its colour and logo. Every member sees them; those who
may manage reports change them.

A logo is PNG, JPEG or WebP, at most 512 KiB and 4096 pixels a side, and its bytes must be
an image of the type its Content-Type says (Pillow opens it with that decoder only). SVG is
refused: an SVG is a document that can carry scripts and links, and the logo is shown in
the dashboard as well as embedded in the PDF; sanitising SVG well is a project of its own.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations below.

import io
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from PIL import Image

from pulse_reporter.deps import MANAGER, Api, ApiDep, ManagerDep, ReaderDep, body_after
from pulse_reporter.rendering import DEFAULT_COLOUR, EmbeddedImage
from pulse_reporter.routes import ERRORS, invalid
from pulse_reporter.schemas import BrandingIn, BrandingOut, LogoOut
from pulse_reporter.store import api_connected
from pulse_shared.http_body import json_body_openapi

router = APIRouter(prefix="/v1/businesses/{business_id}/reports/branding", tags=["branding"])

# The logo's media types and the one decoder each is opened with.
LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_SIDE = 4096
# The path whose body may be as large as a logo (app.py's body limits).
LOGO_PATH = r"/v1/businesses/[^/]+/reports/branding/logo"


def logo_url(business_id: int) -> str:
    return f"/v1/businesses/{business_id}/reports/branding/logo"


def branding(business_id: int, row: asyncpg.Record | None) -> BrandingOut:
    if row is None:
        return BrandingOut(colour=DEFAULT_COLOUR, logo=None, updated_at=None)
    logo = None
    if row["logo_media_type"] is not None:
        logo = LogoOut(
            media_type=row["logo_media_type"], bytes=row["logo_bytes"], url=logo_url(business_id)
        )
    return BrandingOut(colour=row["colour"], logo=logo, updated_at=row["updated_at"])


async def current(api: Api, business_id: int) -> BrandingOut:
    async with api_connected(api.pool) as store:
        return branding(business_id, await store.branding(business_id))


@router.get(
    "", response_model=BrandingOut, responses=ERRORS, summary="The reports' colour and logo"
)
async def get_branding(who: ReaderDep, api: ApiDep) -> BrandingOut:
    return await current(api, who.business_id)


@router.put(
    "",
    response_model=BrandingOut,
    responses=ERRORS,
    summary="Set the reports' colour",
    openapi_extra=json_body_openapi(BrandingIn),
)
async def set_colour(
    who: ManagerDep,
    body: Annotated[BrandingIn, Depends(body_after(MANAGER, BrandingIn))],
    api: ApiDep,
) -> BrandingOut:
    async with api_connected(api.pool) as store:
        await store.set_colour(who.business_id, body.colour.lower(), api.clock())
    return await current(api, who.business_id)


def checked_logo(data: bytes, content_type: str) -> EmbeddedImage:
    """The upload as an image of its declared type, or a 422 naming what is wrong."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "image/svg+xml":
        invalid(("header", "content-type"), "SVG is refused (it can carry scripts and links): "
                "upload a PNG, JPEG or WebP")  # fmt: skip
    decoder = LOGO_TYPES.get(media_type)
    if decoder is None:
        invalid(("header", "content-type"), f"must be one of {', '.join(LOGO_TYPES)}")
    if not 0 < len(data) <= MAX_LOGO_BYTES:
        invalid(("body",), f"a logo is 1 to {MAX_LOGO_BYTES:,} bytes")
    try:
        with Image.open(io.BytesIO(data), formats=[decoder]) as image:
            width, height = image.size
            image.verify()
        logo = EmbeddedImage(data, media_type)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        invalid(("body",), f"the bytes are not a {media_type} image")
    if max(width, height) > MAX_LOGO_SIDE:
        invalid(("body",), f"a logo is at most {MAX_LOGO_SIDE} pixels a side")
    return logo


@router.put(
    "/logo",
    response_model=BrandingOut,
    responses=ERRORS,
    summary="Upload the reports' logo: the body is the image (PNG, JPEG or WebP, <= 512 KiB)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in LOGO_TYPES},
        }
    },
)
async def upload_logo(
    request: Request,
    who: ManagerDep,
    api: ApiDep,
    content_type: Annotated[str, Header(max_length=200, description="The image's type")],
) -> BrandingOut:
    # Read after the caller is let in: nothing of a stranger's upload is looked at.
    logo = checked_logo(await request.body(), content_type)
    async with api_connected(api.pool) as store:
        await store.set_logo(
            who.business_id, logo.data, logo.media_type, DEFAULT_COLOUR, api.clock()
        )
    return await current(api, who.business_id)


@router.get(
    "/logo",
    response_class=Response,
    responses={
        **ERRORS,
        200: {
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in LOGO_TYPES}
        },
    },
    summary="The reports' logo itself",
)
async def get_logo(who: ReaderDep, api: ApiDep) -> Response:
    async with api_connected(api.pool) as store:
        row = await store.logo(who.business_id)
    if row is None:
        raise HTTPException(404, "the business has no logo")
    return Response(
        row["logo"],
        media_type=row["logo_media_type"],
        headers={
            "Cache-Control": "private, no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.delete("/logo", response_model=BrandingOut, responses=ERRORS, summary="Remove the logo")
async def remove_logo(who: ManagerDep, api: ApiDep) -> BrandingOut:
    async with api_connected(api.pool) as store:
        await store.remove_logo(who.business_id, api.clock())
    return await current(api, who.business_id)
