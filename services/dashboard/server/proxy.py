"""What the proxies may send upstream: which paths, headers and bodies.

``/api/``: only query-api's ``/api/v1/`` is the page's: its ``/metrics``, ``/docs``,
``/openapi.json`` and health checks are not. ``/connect/``: only two routes of each ingest
service, ``POST /connect/authorize`` and ``POST /connect/disconnect``, asked for as
``/connect/<service>/<authorize|disconnect>`` (service: linkedin, twitter, meta).
``/workspace/``: the workspace service's member routes under ``/v1/`` (``WORKSPACE_ROUTES``),
never its ``/v1/sessions`` (this server's alone) nor ``/v1/operator/``. ``/reporter/``: the
reporter's member routes under ``/v1/`` (``REPORTER_ROUTES``) and its public unsubscribe
link, never its ``/metrics``, ``/docs`` or health checks.

The path is decided as the upstream would read it, after every layer of percent-encoding is
peeled off and the segments are normalised, and the upstream URL is built from that
normalised path alone, which needs no encoding: what is decided is what the upstream
receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

import httpx
from starlette.requests import Request

PREFIX = ("api", "v1")
MAX_BODY = 64 * 1024
# The ingest services whose connect routes the page calls, and those routes. Their bodies
# are a business id, a platform, an account id and a return URL (2 KiB at most).
CONNECT_SERVICES = ("linkedin", "twitter", "meta")
CONNECT_ACTIONS = ("authorize", "disconnect")
CONNECT_MAX_BODY = 8 * 1024
# Layers of percent-encoding peeled off; a path encoded more often than this means to hide
# something (the page encodes none) and is refused.
MAX_LAYERS = 3
# RFC 3986's unreserved characters: every segment of query-api's paths is made of them.
SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")

# Request headers query-api reads; everything else (cookies, hop-by-hop headers, a
# client's own X-Forwarded-For) stays here. Accept-Encoding goes along because the answer
# is relayed byte for byte: it must be in a coding the client asked for.
FORWARDED = ("authorization", "content-type", "accept", "accept-encoding")
# To an ingest service: what its two routes read. Its answer is asked for uncompressed
# (small JSON), since it is relayed byte for byte whatever the client accepts.
CONNECT_FORWARDED = ("authorization", "content-type", "accept")
# From an ingest service's answer: what the page reads (a JSON body, a 429's wait, a 401's
# challenge); no cookie or other header of a service is set on this origin.
CONNECT_RELAYED = ("content-type", "retry-after", "www-authenticate", "cache-control")

# Hop-by-hop headers (RFC 9110 7.6.1) and those this server sets itself: not relayed back.
NOT_RELAYED = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", "date", "server",
}  # fmt: skip

# query-api's reader statements stop after 10 s, the export's after 300 s; a read waits
# this long for the next bytes (an export streams for as long as they keep coming).
TIMEOUT = httpx.Timeout(10.0, read=30.0)
EXPORT_TIMEOUT = httpx.Timeout(10.0, read=330.0)
# The reporter's previews (a PDF rendered now, 90 days of alerts) give up after 45 s.
PREVIEW_TIMEOUT = httpx.Timeout(10.0, read=60.0)


def normalised(raw_path: bytes, segment_shape: re.Pattern[str] = SEGMENT) -> list[str] | None:
    """The segments of ``raw_path`` (as sent, percent-encoded) as a server reads them:
    every layer of percent-encoding peeled off, backslashes as slashes, empty and ``.``
    segments dropped, ``..`` resolved; None when a segment holds anything else than
    ``SEGMENT``'s characters, or the path is encoded more than ``MAX_LAYERS`` times."""
    try:
        path = raw_path.decode("ascii")
        for _ in range(MAX_LAYERS + 1):
            decoded = unquote(path, errors="strict")
            if decoded == path:
                break
            path = decoded
        else:
            return None
    except UnicodeDecodeError:
        return None
    segments: list[str] = []
    for segment in path.replace("\\", "/").split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            segments = segments[:-1]
        elif segment_shape.fullmatch(segment):
            segments.append(segment)
        else:
            return None
    return segments


def upstream_path(raw_path: bytes) -> str | None:
    """The query-api path for a request to ``raw_path`` (as sent, percent-encoded), or None
    when, decoded and normalised, it is not under ``/api/v1/``."""
    segments = normalised(raw_path)
    if segments is None:
        return None
    if tuple(segments[: len(PREFIX)]) != PREFIX or len(segments) == len(PREFIX):
        return None
    return "/" + "/".join(segments)


def connect_target(raw_path: bytes) -> tuple[str, str] | None:
    """The ingest service and its connect route for a request to ``raw_path``:
    ``/connect/<service>/<action>`` once decoded and normalised, with a service of
    ``CONNECT_SERVICES`` and an action of ``CONNECT_ACTIONS``; None for anything else."""
    segments = normalised(raw_path)
    if segments is None or len(segments) != 3 or segments[0] != "connect":
        return None
    _, service, action = segments
    if service not in CONNECT_SERVICES or action not in CONNECT_ACTIONS:
        return None
    return service, action


# The workspace routes the page calls, by their segments after /v1/ (ID: a business,
# invite or token id; USER: a member's user id, the identity provider's subject, which
# may hold a few characters more than a path's unreserved ones), and their methods.
ID, USER = re.compile(r"[A-Za-z0-9-]{1,64}"), re.compile(r"[A-Za-z0-9._~|@:+=-]{1,255}")
WORKSPACE_ROUTES: tuple[tuple[tuple[str | re.Pattern[str], ...], frozenset[str]], ...] = (
    (("me",), frozenset({"GET"})),
    (("businesses",), frozenset({"POST"})),
    (("businesses", ID, "members"), frozenset({"GET"})),
    (("businesses", ID, "members", USER), frozenset({"PATCH", "DELETE"})),
    (("businesses", ID, "leave"), frozenset({"POST"})),
    (("businesses", ID, "invites"), frozenset({"GET", "POST"})),
    (("businesses", ID, "invites", ID), frozenset({"DELETE"})),
    (("businesses", ID, "tokens"), frozenset({"GET", "POST"})),
    (("businesses", ID, "tokens", ID), frozenset({"DELETE"})),
    (("businesses", ID, "audit"), frozenset({"GET"})),
    (("invites", "accept"), frozenset({"POST"})),
    (("token",), frozenset({"POST"})),
)


def matches(pattern: tuple[str | re.Pattern[str], ...], segments: list[str]) -> bool:
    return len(pattern) == len(segments) and all(
        part == segment if isinstance(part, str) else part.fullmatch(segment)
        for part, segment in zip(pattern, segments, strict=True)
    )


def workspace_route(raw_path: bytes) -> tuple[str, frozenset[str]] | None:
    """The workspace path (``/v1/...``, each segment percent-encoded as needed) for a
    request to ``raw_path`` under ``/workspace/``, and the methods of that route; None
    for a path that is not one of ``WORKSPACE_ROUTES`` once decoded and normalised."""
    segments = normalised(raw_path, USER)
    if segments is None or segments[:1] != ["workspace"]:
        return None
    segments = segments[1:]
    for pattern, methods in WORKSPACE_ROUTES:
        if matches(pattern, segments):
            return "/v1/" + "/".join(quote(s, safe="") for s in segments), methods
    return None


@dataclass(frozen=True)
class ReporterRoute:
    """A reporter route the page (or a report's reader) calls: its segments after /v1/,
    its methods, the largest body it takes, whether it renders a preview (whose answer may
    take most of a minute), and whether it is public (the unsubscribe link: its token is
    the credential, no session goes)."""

    pattern: tuple[str | re.Pattern[str], ...]
    methods: frozenset[str]
    max_body: int = MAX_BODY
    preview: bool = False
    public: bool = False

    @property
    def timeout(self) -> httpx.Timeout:
        return PREVIEW_TIMEOUT if self.preview else TIMEOUT


# A logo is at most 512 KiB (the reporter's branding route checks it again).
LOGO_MAX_BODY = 512 * 1024
_SCHEDULE = ("businesses", ID, "reports", "schedules", ID)
_ALERTS = ("businesses", ID, "alerts")
REPORTER_ROUTES = (
    ReporterRoute(_SCHEDULE[:4], frozenset({"GET", "POST"})),
    ReporterRoute(_SCHEDULE, frozenset({"PATCH", "DELETE"})),
    ReporterRoute((*_SCHEDULE, "send-now"), frozenset({"POST"})),
    ReporterRoute((*_SCHEDULE, "preview.pdf"), frozenset({"GET"}), preview=True),
    ReporterRoute(("businesses", ID, "reports", "deliveries"), frozenset({"GET"})),
    ReporterRoute(("businesses", ID, "reports", "branding"), frozenset({"GET", "PUT"})),
    ReporterRoute(
        ("businesses", ID, "reports", "branding", "logo"),
        frozenset({"GET", "PUT", "DELETE"}),
        max_body=LOGO_MAX_BODY,
    ),
    ReporterRoute(_ALERTS, frozenset({"GET"})),
    ReporterRoute((*_ALERTS, ID, "read"), frozenset({"POST"})),
    ReporterRoute((*_ALERTS, "read-all"), frozenset({"POST"})),
    ReporterRoute((*_ALERTS, "settings"), frozenset({"GET", "PUT"})),
    ReporterRoute((*_ALERTS, "preview"), frozenset({"GET"}), preview=True),
    ReporterRoute(("unsubscribe",), frozenset({"GET", "POST"}), public=True),
)


def reporter_route(raw_path: bytes) -> tuple[str, ReporterRoute] | None:
    """The reporter path (``/v1/...``) for a request to ``raw_path`` under ``/reporter/``,
    and its route; None for a path that is not one of ``REPORTER_ROUTES`` once decoded
    and normalised."""
    segments = normalised(raw_path)
    if segments is None or segments[:2] != ["reporter", "v1"]:
        return None
    segments = segments[2:]
    for route in REPORTER_ROUTES:
        if matches(route.pattern, segments):
            return "/v1/" + "/".join(segments), route
    return None


def upstream_headers(
    request: Request, client: str | None, names: tuple[str, ...] = FORWARDED
) -> dict[str, str]:
    """The request's headers the upstream needs (``names``), and the client's address,
    ``client`` (the upstream trusts it only from this server)."""
    headers = {name: request.headers[name] for name in names if name in request.headers}
    if client is not None:
        headers["x-forwarded-for"] = client
    return headers


def answer_headers(answer: httpx.Response) -> dict[str, str]:
    """query-api's headers for the client: end-to-end ones only."""
    named = {h.strip().lower() for h in answer.headers.get("connection", "").split(",")}
    return {k: v for k, v in answer.headers.items() if k.lower() not in NOT_RELAYED | named}


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes | None:
    """The request's body, or None when it is over ``limit`` (declared or sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def timeout_for(path: str) -> httpx.Timeout:
    return EXPORT_TIMEOUT if path == "/api/v1/analytics/export" else TIMEOUT
