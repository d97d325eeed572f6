"""The security headers on every answer of the dashboard's server.

The page is Vite's build: one module script and one stylesheet from ``/assets/``, no inline
script or ``<style>``, no images, fonts or frames; it calls only ``/api/`` on its own
origin. Styles: React and Recharts set them through the CSSOM (``element.style``), which a
policy does not govern (it governs ``style`` attributes in markup, ``setAttribute('style')``
and ``<style>`` elements, none of which the page uses), so ``style-src 'self'`` holds
without ``'unsafe-inline'``; the e2e fails on any violation.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",  # anything not named below: fonts, media, workers, frames
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",  # the /api/ proxy
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    # The page links nowhere and its calls are same-origin: nothing needs a Referer.
    "referrer-policy": "no-referrer",
    # frame-ancestors for browsers that predate it.
    "x-frame-options": "DENY",
}
_NAMES = {name.encode() for name in SECURITY_HEADERS}
_HEADERS = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]


class SecurityHeaders:
    """Sets the headers on every HTTP answer, replacing any the app (or query-api, through
    the proxy) set. Placed outside Starlette's error middleware, so a 500 carries them too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _NAMES]
                message = {**message, "headers": [*kept, *_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_secured)
