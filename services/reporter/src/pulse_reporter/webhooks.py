"""Alerts to Slack-compatible incoming webhooks: signed, retried, never inside the network.

- **Message**: Slack's incoming-webhook JSON, ``{"text": "<sentence> <link>", "blocks":
  [one mrkdwn section]}``; clients that read only ``text`` get the whole alert.
- **Signature**: Standard Webhooks (standardwebhooks.com): ``webhook-id`` (stable for an
  alert and destination, the same on every retry, so a receiver can drop duplicates),
  ``webhook-timestamp`` (Unix seconds, fresh on every attempt) and ``webhook-signature:
  v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, the key the base64 part of the
  destination's ``whsec_...`` secret. Written with the stdlib ``hmac``: the scheme is
  three lines, and a test checks them against the specification's published vector, so
  the ``standardwebhooks`` package would add a dependency and no safety. Swapping it in
  is a change to :func:`signature` alone.
- **Retries** (tenacity): on connection errors, timeouts, 429 and 5xx, with exponential
  backoff, or the ``Retry-After`` the destination asks for (capped); never on another
  4xx, a redirect or a certificate that does not verify (retrying will not change it);
  ``max_attempts`` in all, each bounded by ``timeout_s`` from connect to response
  headers. The response body is never read beyond a short excerpt for the log.
- **No request forgery (SSRF)**: :func:`url_problem` refuses, at input time and without
  DNS, what is wrong with a URL itself; :func:`deliver` then resolves the host ONCE,
  refuses it if any address it resolves to is not public (unless inside an
  operator-allowed network), and connects to exactly those checked addresses: the
  request goes to ``https://<checked IP>/...`` with the ``Host`` header and the TLS SNI
  (httpcore's ``sni_hostname``) set to the real host name, and the certificate verified
  against that name. A DNS answer that changes between the check and the connection
  (rebinding) is never asked for. Redirects are not followed and environment proxies
  are ignored, so nothing else chooses where the request goes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from pulse_reporter.alert_text import AlertText
from pulse_shared.ingest.signing import retry_after_seconds

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver: TypeAlias = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
Sleep: TypeAlias = Callable[[float], Awaitable[None]]

MAX_URL_LENGTH = 2_000
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
USER_AGENT = "Pulse-Reporter/1 (alerts)"
EXCERPT_BYTES = 200

_CARRIER_GRADE_NAT = ipaddress.IPv4Network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


@dataclass(frozen=True)
class WebhookPolicy:
    """The operator's settings for webhook delivery."""

    allow_http: bool = False  # plain http targets (a development setting)
    allowed_networks: tuple[Network, ...] = ()  # private networks webhooks may reach
    timeout_s: float = 10.0  # one attempt, connect to response headers
    max_attempts: int = 4
    backoff_first_s: float = 1.0  # then doubled per attempt
    backoff_max_s: float = 30.0
    retry_after_cap_s: float = 60.0


def parse_networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """Settings' ``["127.0.0.0/8", "::1"]`` as networks (ValueError names a bad one)."""
    return tuple(ipaddress.ip_network(spec.strip(), strict=True) for spec in specs)


@dataclass(frozen=True)
class Destination:
    url: str
    secret: str = field(repr=False)  # whsec_<base64>, never logged


Outcome: TypeAlias = Literal["delivered", "refused", "rejected", "failed"]


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of one delivery, for the delivery log.

    ``refused``: never sent (the URL or its addresses are not allowed); ``rejected``: the
    destination answered with a 3xx or 4xx other than 429, not retried; ``failed``: every
    attempt met a connection error, a timeout, a 429 or a 5xx, or the certificate did not
    verify (not retried). ``attempts`` counts the requests tried."""

    webhook_id: str
    outcome: Outcome
    attempts: int
    status_code: int | None = None
    reason: str | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


class WebhookRefused(Exception):
    """A destination Pulse will not send to; the message says why."""


# --- addresses and URLs -------------------------------------------------------------------


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: IPv4-mapped, NAT64, 6to4."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address ("loopback", ...), or None when it is."""
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("carrier-grade NAT", ip in _CARRIER_GRADE_NAT),
        ("unique-local", ip in _UNIQUE_LOCAL),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def address_problem(ip: IPAddress, allowed: Iterable[Network] = ()) -> str | None:
    """Why a webhook may not go to ``ip``, or None. An address inside an allowed network
    is fine; an IPv6 address carrying an IPv4 one is judged by that IPv4 address."""
    allowed = tuple(allowed)
    if any(ip in network for network in allowed):
        return None
    inner = embedded_ipv4(ip)
    if inner is not None:
        problem = address_problem(inner, allowed)
        return None if problem is None else f"{problem} (inside the IPv6 address {ip})"
    kind = address_kind(ip)
    return None if kind is None else f"{ip} is a {kind} address"


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def hostname_problem(name: str, allowed: Iterable[Network]) -> str | None:
    """What is wrong with a host name (not an IP literal), without asking DNS."""
    name = name.rstrip(".").lower()
    labels = name.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return f"the host name {name!r} is not a valid DNS name"
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        return f"the host {name!r} looks like an IP address in a non-standard form"
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        problem = address_problem(ipaddress.IPv4Address("127.0.0.1"), allowed)
        return None if problem is None else f"{name} is a loopback name"
    return None


def url_problem(url: str, policy: WebhookPolicy) -> str | None:
    """Why ``url`` cannot be a webhook destination, naming what is wrong; None when it
    can (as far as the URL itself tells: its host's addresses are checked on delivery).
    Parsed by httpx, the parser that sends it, so no two parsers can disagree."""
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is {len(url):,} characters long; at most {MAX_URL_LENGTH:,}"
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in url):
        return "the URL contains spaces, control characters or backslashes"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as e:
        return f"the URL is not valid: {e}"
    if parsed.scheme not in ("https", "http"):
        return f"the URL's scheme must be https, not {parsed.scheme or 'missing'!r}"
    if parsed.scheme == "http" and not policy.allow_http:
        return "the URL must use https (plain http is not allowed)"
    if parsed.userinfo:
        return "the URL must not contain a user name or password"
    if not parsed.raw_host:
        return "the URL has no host"
    if parsed.port == 0:
        return "the URL's port must be 1-65535"
    host = parsed.raw_host.decode("ascii")
    literal = ip_literal(host)
    if literal is None:
        return hostname_problem(host, policy.allowed_networks)
    problem = address_problem(literal, policy.allowed_networks)
    return None if problem is None else f"the URL's host {problem}"


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives ``host``, in its order, once each."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def default_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


async def resolve_checked(
    url: httpx.URL, policy: WebhookPolicy, resolver: Resolver = system_resolver
) -> list[IPAddress]:
    """The addresses to connect to: the literal, or every address the host resolves to,
    each allowed (else WebhookRefused naming the first that is not)."""
    host = url.raw_host.decode("ascii")
    literal = ip_literal(host)
    if literal is not None:
        addresses: Sequence[IPAddress] = [literal]
    else:
        try:
            addresses = await resolver(host, default_port(url))
        except OSError as e:
            raise WebhookRefused(f"{host} could not be resolved ({e})") from e
    if not addresses:
        raise WebhookRefused(f"{host} resolves to no address")
    for address in addresses:
        problem = address_problem(address, policy.allowed_networks)
        if problem is not None:
            raise WebhookRefused(f"{host} resolves to {address}: {problem}")
    return list(addresses)


# --- signing and the message --------------------------------------------------------------


def new_secret() -> str:
    """A destination's signing secret, in the Standard Webhooks form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the prefix optional, as receivers do)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError as e:
        raise ValueError("a webhook secret is whsec_ followed by base64") from e
    if len(key) < 16:
        raise ValueError("a webhook secret must hold at least 16 bytes")
    return key


def signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` (Standard Webhooks)."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, webhook_id, timestamp, body),
    }


def slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup: escaped, an account name cannot make a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(text: AlertText) -> dict[str, Any]:
    """The incoming-webhook JSON: ``text`` (the sentence and the link, for notifications
    and clients without blocks) and one section with the title in bold."""
    sentence, link = slack_escape(text.sentence), slack_escape(text.link)
    section = f"*{slack_escape(text.title)}*\n{sentence}\n<{link}|Open in Pulse>"
    return {
        "text": f"{sentence} {link}",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": section}}],
    }


def encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


# --- delivery -----------------------------------------------------------------------------


class RetryableResponse(Exception):
    """A 429 or 5xx: worth another attempt, after ``retry_after`` seconds if it said so."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class RejectedResponse(Exception):
    """A 3xx or a 4xx other than 429: the destination's final answer."""

    def __init__(self, status: int, excerpt: str) -> None:
        super().__init__(f"HTTP {status}: {excerpt}" if excerpt else f"HTTP {status}")
        self.status = status


RETRYABLE = (httpx.TransportError, TimeoutError, RetryableResponse)


def certificate_refused(error: BaseException) -> bool:
    """The TLS certificate did not verify (for the host name): no retry will change it."""
    seen: BaseException | None = error
    for _ in range(8):  # httpx wraps httpcore, which wraps ssl
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def worth_retrying(error: BaseException) -> bool:
    return isinstance(error, RETRYABLE) and not certificate_refused(error)


def backoff(policy: WebhookPolicy) -> Callable[[RetryCallState], float]:
    """Seconds before the next attempt: the destination's Retry-After (capped), else
    ``backoff_first_s`` doubled per attempt up to ``backoff_max_s``."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, RetryableResponse) and error.retry_after is not None:
            return min(error.retry_after, policy.retry_after_cap_s)
        return min(policy.backoff_first_s * 2.0 ** (state.attempt_number - 1), policy.backoff_max_s)

    return wait


def pinned_request(
    client: httpx.AsyncClient,
    url: httpx.URL,
    address: IPAddress,
    headers: Mapping[str, str],
    body: bytes,
) -> httpx.Request:
    """A POST to ``address`` itself, saying ``url``'s host in Host and (https) the SNI, so
    TLS verifies the certificate against the host name while no DNS is asked again."""
    host = url.raw_host.decode("ascii")
    extensions = {"sni_hostname": host} if url.scheme == "https" and not ip_literal(host) else {}
    return client.build_request(
        "POST",
        url.copy_with(host=str(address)),
        content=body,
        headers={**headers, "Host": url.netloc.decode("ascii")},
        extensions=extensions,
    )  # fmt: skip


async def excerpt(response: httpx.Response) -> str:
    """The first bytes of an error response, for the log (a body is never read whole)."""
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= EXCERPT_BYTES:
            break
    return data[:EXCERPT_BYTES].decode("utf-8", "replace")


async def post_once(
    client: httpx.AsyncClient,
    request: httpx.Request,
    policy: WebhookPolicy,
    clock: Callable[[], float],
) -> int:
    """One attempt: the 2xx status, or RetryableResponse / RejectedResponse."""
    async with asyncio.timeout(policy.timeout_s):
        response = await client.send(request, stream=True)
        try:
            status = response.status_code
            text = "" if 200 <= status < 300 else await excerpt(response)
        finally:
            await response.aclose()
    if 200 <= status < 300:
        return status
    if status == 429 or status >= 500:
        retry_after = retry_after_seconds(
            response.headers.get("retry-after"), datetime.fromtimestamp(clock(), UTC)
        )
        raise RetryableResponse(status, retry_after)
    raise RejectedResponse(status, text)


def new_client(policy: WebhookPolicy, ssl_context: ssl.SSLContext | None) -> httpx.AsyncClient:
    """No environment proxies, no redirects: the checked address is where it goes. One
    client per delivery, so no pooled connection verified for one name serves another."""
    return httpx.AsyncClient(
        verify=ssl_context if ssl_context is not None else True,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(policy.timeout_s),
    )


async def deliver(
    destination: Destination,
    message: Mapping[str, Any],
    webhook_id: str,
    policy: WebhookPolicy = WebhookPolicy(),
    *,
    resolver: Resolver = system_resolver,
    clock: Callable[[], float] = time.time,
    sleep: Sleep = asyncio.sleep,
    ssl_context: ssl.SSLContext | None = None,
) -> DeliveryOutcome:
    """POSTs ``message`` (JSON) to the destination, signed, with retries; never raises for
    the destination's sake: the outcome says what happened. ``webhook_id`` must be the
    same whenever this alert goes to this destination again. A malformed secret is a
    ValueError (check it with :func:`secret_key` when the destination is saved).
    ``resolver``, ``clock``, ``sleep`` and ``ssl_context`` are for tests and private CAs."""
    problem = url_problem(destination.url, policy)
    if problem is not None:
        return DeliveryOutcome(webhook_id, "refused", 0, reason=problem)
    url = httpx.URL(destination.url)
    try:
        addresses = await resolve_checked(url, policy, resolver)
    except WebhookRefused as e:
        return DeliveryOutcome(webhook_id, "refused", 0, reason=str(e))
    key, body = secret_key(destination.secret), encode(message)
    attempts, status = 0, 0
    async with new_client(policy, ssl_context) as client:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(policy.max_attempts),
                wait=backoff(policy),
                retry=retry_if_exception(worth_retrying),
                sleep=sleep,
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    headers = {
                        **signed_headers(key, webhook_id, int(clock()), body),
                        "Content-Type": "application/json",
                        "User-Agent": USER_AGENT,
                    }
                    address = addresses[(attempts - 1) % len(addresses)]
                    request = pinned_request(client, url, address, headers, body)
                    status = await post_once(client, request, policy, clock)
        except RejectedResponse as e:
            return DeliveryOutcome(webhook_id, "rejected", attempts, e.status, str(e))
        except RetryableResponse as e:
            return DeliveryOutcome(webhook_id, "failed", attempts, e.status, f"gave up: {e}")
        except (httpx.TransportError, TimeoutError) as e:
            reason = f"gave up: {type(e).__name__}: {e}".rstrip(": ")
            return DeliveryOutcome(webhook_id, "failed", attempts, None, reason)
    return DeliveryOutcome(webhook_id, "delivered", attempts, status)
