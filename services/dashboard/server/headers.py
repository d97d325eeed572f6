"""The security headers on every answer of the dashboard's server.

The page is Vite's build: one module script and one stylesheet from ``/assets/``, no inline
script or ``<style>``, no fonts or frames; its only images are posts' thumbnails from the
platforms' image hosts (``THUMBNAIL_HOSTS``); it calls only ``/api/`` on its own origin.
Styles: React and Recharts set them through the CSSOM (``element.style``), which a policy
does not govern (it governs ``style`` attributes in markup, ``setAttribute('style')``
and ``<style>`` elements, none of which the page uses), so ``style-src 'self'`` holds
without ``'unsafe-inline'``; the e2e fails on any violation.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Where discovery's ``thumbnail_url``s live: Meta's, X's and LinkedIn's image CDNs (each
# ingest service's listing.py). The browser loads them straight from there, named here, not
# through this server: a proxy would make the server fetch addresses that third-party APIs
# chose (an SSRF surface, and the images' bandwidth) to hide only what the page already
# withholds (no Referer, no credentials: the images are the business's public posts). A
# thumbnail elsewhere (a LinkedIn article's own site) is not shown: the page checks the
# host against web/platforms.ts's THUMBNAIL_HOSTS, the same list.
THUMBNAIL_HOSTS = (
    "https://*.fbcdn.net",  # Facebook's full_picture
    "https://*.cdninstagram.com",  # Instagram's media_url / thumbnail_url
    "https://pbs.twimg.com",  # X's preview_image_url / url
    "https://media.licdn.com",  # LinkedIn's article thumbnails
)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",  # anything not named below: fonts, media, workers, frames
        "script-src 'self'",
        "style-src 'self'",
        " ".join(["img-src 'self'", *THUMBNAIL_HOSTS]),
        "connect-src 'self'",  # the /api/ proxy
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# A report's PDF preview, opened in a tab of its own: Chrome shows a PDF in a document it
# makes up, with its viewer in an <embed> and styles of its own, which a policy naming
# object-src 'none' or default-src 'none' blocks (crbug.com/271452). The PDF's policy keeps
# what still applies: no framing, no base, no form. nosniff and the exact Content-Type
# keep the bytes a PDF; its viewer runs no script of this origin.
PDF_CONTENT_SECURITY_POLICY = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    # Its calls are same-origin; its links to posts and its thumbnails need no Referer.
    "referrer-policy": "no-referrer",
    # frame-ancestors for browsers that predate it.
    "x-frame-options": "DENY",
}
_NAMES = {name.encode() for name in SECURITY_HEADERS}
_HEADERS = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
_PDF_HEADERS = [
    (name, PDF_CONTENT_SECURITY_POLICY.encode() if name == b"content-security-policy" else value)
    for name, value in _HEADERS
]


def is_pdf(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        k.lower() == b"content-type" and v.split(b";")[0].strip().lower() == b"application/pdf"
        for k, v in headers
    )


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
                headers = message.get("headers", [])
                kept = [(k, v) for k, v in headers if k.lower() not in _NAMES]
                ours = _PDF_HEADERS if is_pdf(headers) else _HEADERS
                message = {**message, "headers": [*kept, *ours]}
            await send(message)

        await self.app(scope, receive, send_secured)
