"""The unsubscribe link every report carries: public (the token is the credential).

- ``GET /v1/unsubscribe?token=`` (the link in the mail's text and HTML) answers a page
  with one button; it changes nothing, because mail scanners and link previews open every
  link of a message, and a GET that unsubscribed would unsubscribe people who never
  clicked.
- ``POST /v1/unsubscribe?token=`` records it: that button, and RFC 8058's one-click
  unsubscribe (the mail client POSTs ``List-Unsubscribe=One-Click`` to the
  ``List-Unsubscribe`` URL; the body says nothing the token does not, so it is not read).

A token that is not ours is a 422 naming the ``token`` field. Recording twice is harmless.
"""

from __future__ import annotations

import html
from typing import Annotated
from urllib.parse import urlencode

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse

from pulse_reporter.mail import MAX_TOKEN_CHARS, InvalidToken, verify_unsubscribe_token
from pulse_reporter.store import connected
from pulse_reporter.worker import utc_now

router = APIRouter(tags=["unsubscribe"])

Token = Annotated[
    str,
    Query(
        min_length=1,
        max_length=MAX_TOKEN_CHARS,
        description="The token of the unsubscribe link (the schedule and the address, signed)",
    ),
]
# The token is in the URL: no cache keeps the page, no Referer carries it anywhere.
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport"
content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto; padding: 0 1em;">
<h1 style="font-size: 1.4em;">{title}</h1>{body}</body></html>
"""


def _verified(request: Request, token: str) -> tuple[int, str]:
    try:
        return verify_unsubscribe_token(request.app.state.link_keys, token)
    except InvalidToken as exc:
        error = {"loc": ("query", "token"), "msg": str(exc), "type": "value_error"}
        raise RequestValidationError([error]) from None


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=html.escape(title), body=body), headers=HEADERS)


@router.get(
    "/v1/unsubscribe",
    summary="The unsubscribe link's page: one button that unsubscribes",
    response_class=HTMLResponse,
)
async def confirm(request: Request, token: Token) -> HTMLResponse:
    _, email = _verified(request, token)
    action = html.escape("?" + urlencode({"token": token}), quote=True)
    return _page(
        "Unsubscribe from these reports?",
        f"<p>{html.escape(email)} will receive this scheduled report no more.</p>"
        f'<form method="post" action="{action}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>',
    )


@router.post(
    "/v1/unsubscribe",
    summary="Unsubscribe (the page's button, and RFC 8058 one-click)",
    response_class=HTMLResponse,
)
async def unsubscribe(request: Request, token: Token) -> HTMLResponse:
    schedule_id, email = _verified(request, token)
    pool: asyncpg.Pool = request.app.state.pool
    async with connected(pool) as store:
        await store.record_unsubscribe(schedule_id, email, utc_now())
    return _page(
        "Unsubscribed",
        f"<p>{html.escape(email)} will receive this scheduled report no more.</p>",
    )
