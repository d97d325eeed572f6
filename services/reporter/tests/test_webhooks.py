"""Webhook delivery against real local HTTP(S) servers that verify the Standard Webhooks
signature on their own, and the SSRF guard. No wall clock in the signatures (a clock is
passed in) and no sleeping (the backoff's sleep is recorded instead)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pulse_reporter import webhooks
from pulse_reporter.alert_text import AlertText
from pulse_reporter.webhooks import Destination, WebhookPolicy

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_760_000_000
TEXT = AlertText(
    title="LinkedIn engagement 41% below usual on Tue 14 Oct",
    sentence="Engagement on LinkedIn was 412 on Tue 14 Oct, 41% below your usual Tuesday "
    "(median 700 over the last 6 Tuesdays)",
    link="https://pulse.example.com/?business=42&platform=linkedin&range=custom"
    "&from=2025-08-19&to=2025-10-14#/trends",
)
LOOPBACK = webhooks.parse_networks(["127.0.0.0/8", "::1/128"])
TEN = webhooks.parse_networks(["10.0.0.0/8"])
LOCAL = WebhookPolicy(allow_http=True, allowed_networks=LOOPBACK)
HTTP_DATE_IN_30_S = (datetime.fromtimestamp(NOW, UTC) + timedelta(seconds=30)).strftime(
    "%a, %d %b %Y %H:%M:%S GMT"
)


# --- a receiver, as a Slack-like endpoint verifying Standard Webhooks would be --------------


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes, now: int) -> bool:
    """The receiver's side, written from the specification, not from the sender's code."""
    key = base64.b64decode(secret.split("_", 1)[1])
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(timestamp)) > 300:
        return False
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    offered = [s.split(",", 1) for s in headers["webhook-signature"].split(" ")]
    return any(v == "v1" and hmac.compare_digest(sig, expected) for v, sig in offered)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    url: str
    replies: list[tuple[int, dict[str, str], bytes]]
    received: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)


def handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = verify_standard_webhook(SECRET, headers, body, NOW)
            receiver.received.append(Received(self.path, headers, body, verified))
            status, extra, reply = receiver.replies.pop(0) if receiver.replies else (200, {}, b"ok")
            if not verified:
                status, reply = 401, b"bad signature"
            self.send_response(status)
            for name, value in {**extra, "Content-Length": str(len(reply))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def receiver(
    replies: Sequence[tuple[int, dict[str, str], bytes]] = (),
    tls: ssl.SSLContext | None = None,
    host_name: str = "127.0.0.1",
) -> Iterator[Receiver]:
    """A real HTTP(S) server on 127.0.0.1 (ephemeral port) in a thread."""
    r = Receiver("", list(replies))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(r))
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: r.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    r.url = f"{'https' if tls else 'http'}://{host_name}:{server.server_address[1]}/hooks/T1"
    # A short poll so that shutdown() returns at once, not after half a second.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield r
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Sleeps:
    """Records the backoff instead of waiting it."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def fixed_clock() -> float:
    return float(NOW)


async def send(
    url: str,
    policy: WebhookPolicy = LOCAL,
    sleeps: Sleeps | None = None,
    *,
    clock: Callable[[], float] = fixed_clock,
    resolver: webhooks.Resolver = webhooks.system_resolver,
    ssl_context: ssl.SSLContext | None = None,
) -> webhooks.DeliveryOutcome:
    return await webhooks.deliver(
        Destination(url, SECRET),
        webhooks.slack_message(TEXT),
        "msg_alert_7_dest_3",
        policy,
        resolver=resolver,
        clock=clock,
        sleep=sleeps or Sleeps(),
        ssl_context=ssl_context,
    )


# --- signing and the message ----------------------------------------------------------------


def test_the_signature_reproduces_the_standard_webhooks_test_vector() -> None:
    key = webhooks.secret_key(SECRET)
    body = b'{"test": 2432232314}'

    signature = webhooks.signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secrets_are_whsec_base64_of_enough_bytes() -> None:
    fresh = webhooks.new_secret()

    assert fresh.startswith("whsec_")
    assert len(webhooks.secret_key(fresh)) == 32
    for bad in ("whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError, match="webhook secret"):
            webhooks.secret_key(bad)
    assert "MfKQ" not in repr(Destination("https://hooks.example.com/", SECRET))


def test_the_slack_message_carries_text_and_one_section_escaped() -> None:
    text = AlertText(
        "X account “<b> & co” needs reconnecting", "A <b> & c", "https://p.example/?a=1&b=2"
    )

    message = webhooks.slack_message(text)

    assert message["text"] == "A &lt;b&gt; &amp; c https://p.example/?a=1&amp;b=2"
    assert message["blocks"] == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*X account “&lt;b&gt; &amp; co” needs reconnecting*\nA &lt;b&gt; &amp; c\n"
                "<https://p.example/?a=1&amp;b=2|Open in Pulse>",
            },
        }
    ]  # fmt: skip


# --- the SSRF guard -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.0.0.5/hook", "10.0.0.5 is a private address"),
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("https://[::1]/hook", "::1 is a loopback address"),
        ("https://[fd00::1]/hook", "fd00::1 is a unique-local address"),
        ("https://100.64.0.1/hook", "100.64.0.1 is a carrier-grade NAT address"),
        ("https://[::ffff:127.0.0.1]/", "127.0.0.1 is a loopback address (inside the IPv6 address"),
        ("https://[64:ff9b::a00:1]/", "10.0.0.1 is a private address (inside the IPv6"),
        ("https://224.0.0.251/", "multicast"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://240.0.0.1/", "reserved"),
        ("https://[fe80::1]/", "link-local"),
        ("https://localhost/hook", "localhost is a loopback name"),
        ("https://api.localhost/hook", "loopback name"),
        ("https://2130706433/", "an IP address in a non-standard form"),
        ("https://0x7f.1/", "an IP address in a non-standard form"),
        ("http://hooks.example.com/x", "must use https"),
        ("ftp://hooks.example.com/x", "scheme must be https, not 'ftp'"),
        ("javascript:alert(1)", "scheme"),
        ("https://user:pw@hooks.example.com/x", "must not contain a user name or password"),
        ("https://hooks.example.com/" + "a" * 2_000, "at most 2,000"),
        ("https://hooks.example.com\\@10.0.0.1/", "backslashes"),
        ("https://hooks.exa mple.com/", "spaces"),
        ("https://hooks.example.com:0/", "port"),
        ("https://under_score.example.com/", "not a valid DNS name"),
    ],
)
def test_a_url_is_refused_with_a_reason_naming_the_problem(url: str, reason: str) -> None:
    problem = webhooks.url_problem(url, WebhookPolicy())

    assert problem is not None
    assert reason in problem


@pytest.mark.parametrize(
    ("url", "policy"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXX", WebhookPolicy()),
        ("https://8.8.8.8/hook", WebhookPolicy()),
        ("https://[2606:4700::1111]/hook", WebhookPolicy()),
        ("https://bücher.example/hook", WebhookPolicy()),
        ("http://hooks.example.com/x", WebhookPolicy(allow_http=True)),
        ("https://10.1.2.3/hook", WebhookPolicy(allowed_networks=TEN)),
        ("https://[::ffff:10.1.2.3]/", WebhookPolicy(allowed_networks=TEN)),
        ("https://localhost/hook", WebhookPolicy(allowed_networks=LOOPBACK)),
    ],
)  # fmt: skip
def test_a_public_or_allowed_url_is_accepted(url: str, policy: WebhookPolicy) -> None:
    assert webhooks.url_problem(url, policy) is None


async def test_a_host_name_resolving_to_loopback_is_refused_after_real_resolution() -> None:
    url = httpx.URL("https://localhost:8443/hook")  # the system resolver, /etc/hosts

    with pytest.raises(webhooks.WebhookRefused, match=r"localhost resolves to .* loopback"):
        await webhooks.resolve_checked(url, WebhookPolicy())
    allowed = await webhooks.resolve_checked(url, WebhookPolicy(allowed_networks=LOOPBACK))
    assert ipaddress.ip_address("127.0.0.1") in allowed or ipaddress.ip_address("::1") in allowed


async def test_every_resolved_address_must_be_public() -> None:
    async def mixed(host: str, port: int) -> list[webhooks.IPAddress]:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.0.0.7")]

    with pytest.raises(
        webhooks.WebhookRefused, match=r"10\.0\.0\.7: 10\.0\.0\.7 is a private address"
    ):
        await webhooks.resolve_checked(
            httpx.URL("https://hooks.example.com/"), WebhookPolicy(), mixed
        )


@pytest.mark.parametrize(
    "target",
    ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"],
)
async def test_a_private_target_is_never_contacted_without_the_allowance(target: str) -> None:
    with receiver(host_name=target) as r:
        outcome = await send(r.url, WebhookPolicy(allow_http=True))

    assert (outcome.outcome, outcome.attempts) == ("refused", 0)
    assert outcome.reason is not None
    assert "loopback" in outcome.reason
    assert r.received == []


# --- delivery to a real server ----------------------------------------------------------------


async def test_a_signed_message_is_delivered_to_an_allowed_local_server() -> None:
    sleeps = Sleeps()
    with receiver() as r:
        outcome = await send(r.url, sleeps=sleeps)

    assert outcome == webhooks.DeliveryOutcome("msg_alert_7_dest_3", "delivered", 1, 200)
    [got] = r.received
    assert got.verified
    assert got.path == "/hooks/T1"
    assert json.loads(got.body) == webhooks.slack_message(TEXT)
    assert got.headers["webhook-id"] == "msg_alert_7_dest_3"
    assert got.headers["webhook-timestamp"] == str(NOW)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["host"] == r.url.split("/")[2]
    assert sleeps.waits == []


async def test_a_503_is_retried_with_the_same_id_and_a_fresh_signature() -> None:
    ticks = iter(range(NOW, NOW + 100))
    sleeps = Sleeps()
    with receiver([(503, {}, b"busy")]) as r:
        outcome = await send(r.url, sleeps=sleeps, clock=lambda: float(next(ticks)))

    assert (outcome.outcome, outcome.attempts, outcome.status_code) == ("delivered", 2, 200)
    first, second = r.received
    assert first.verified
    assert second.verified
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert sleeps.waits == [1.0]


async def test_a_400_is_not_retried() -> None:
    sleeps = Sleeps()
    with receiver([(400, {}, b"invalid_payload")]) as r:
        outcome = await send(r.url, sleeps=sleeps)

    assert (outcome.outcome, outcome.attempts, outcome.status_code) == ("rejected", 1, 400)
    assert outcome.reason == "HTTP 400: invalid_payload"
    assert len(r.received) == 1
    assert sleeps.waits == []


async def test_retries_are_bounded_with_exponential_backoff() -> None:
    sleeps = Sleeps()
    with receiver([(503, {}, b"down")] * 10) as r:
        outcome = await send(r.url, sleeps=sleeps)

    assert (outcome.outcome, outcome.attempts, outcome.status_code) == ("failed", 4, 503)
    assert len(r.received) == LOCAL.max_attempts == 4
    assert sleeps.waits == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        ("7", 7.0),
        ("3600", 60.0),  # capped
        (HTTP_DATE_IN_30_S, 30.0),
        ("soon", 1.0),  # unreadable: the backoff's own
    ],
)  # fmt: skip
async def test_a_429_waits_as_long_as_retry_after_says_within_a_cap(
    retry_after: str, wait: float
) -> None:
    sleeps = Sleeps()
    with receiver([(429, {"Retry-After": retry_after}, b"slow down")]) as r:
        outcome = await send(r.url, sleeps=sleeps)

    assert (outcome.outcome, outcome.attempts) == ("delivered", 2)
    assert sleeps.waits == [wait]
    assert len(r.received) == 2


async def test_a_redirect_is_not_followed() -> None:
    with receiver([(302, {"Location": "/elsewhere"}, b"")]) as r:
        outcome = await send(r.url)

    assert (outcome.outcome, outcome.status_code) == ("rejected", 302)
    assert [got.path for got in r.received] == ["/hooks/T1"]


async def test_connection_errors_are_retried_then_given_up() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()

    outcome = await send(f"http://127.0.0.1:{port}/hook", sleeps=sleeps)

    assert (outcome.outcome, outcome.attempts, outcome.status_code) == ("failed", 4, None)
    assert outcome.reason is not None
    assert outcome.reason.startswith("gave up: ConnectError")
    assert sleeps.waits == [1.0, 2.0, 4.0]


async def test_an_attempt_that_gets_no_answer_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        policy = WebhookPolicy(allow_http=True, allowed_networks=LOOPBACK, timeout_s=0.2,
                               max_attempts=2)  # fmt: skip

        outcome = await send(f"http://127.0.0.1:{port}/hook", policy)

    assert (outcome.outcome, outcome.attempts) == ("failed", 2)
    assert outcome.reason is not None
    assert "Timeout" in outcome.reason


# --- https to the checked address, with the real host name ----------------------------------


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


def tls_for(host_name: str) -> Tls:
    """A throwaway CA and a certificate for ``host_name`` signed by it."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pulse test CA")])
    start = datetime.combine(date(2025, 1, 1), datetime.min.time(), UTC)
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(1)
        .not_valid_before(start).not_valid_after(start + timedelta(days=36_500))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
        .not_valid_before(start).not_valid_after(start + timedelta(days=36_500))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:  # load_cert_chain reads files only
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return Tls(server, client)


async def to_loopback(host: str, port: int) -> list[webhooks.IPAddress]:
    """A DNS stand-in for the test names: the thing under test is the connection."""
    return [ipaddress.ip_address("127.0.0.1")]


async def test_https_goes_to_the_checked_address_with_the_host_name_for_sni_and_tls() -> None:
    tls = tls_for("hooks.test")
    policy = WebhookPolicy(allowed_networks=LOOPBACK)
    with receiver(tls=tls.server, host_name="hooks.test") as r:
        outcome = await send(r.url, policy, resolver=to_loopback, ssl_context=tls.client)

    assert outcome.outcome == "delivered"
    [got] = r.received
    assert got.verified
    assert got.headers["host"] == r.url.split("/")[2]  # hooks.test:<port>
    assert r.server_names == ["hooks.test"]


async def test_a_certificate_for_another_name_fails_once_and_is_not_retried() -> None:
    tls = tls_for("hooks.test")
    policy = WebhookPolicy(allowed_networks=LOOPBACK)
    sleeps = Sleeps()
    with receiver(tls=tls.server, host_name="other.test") as r:
        outcome = await send(r.url, policy, sleeps, resolver=to_loopback, ssl_context=tls.client)

    assert (outcome.outcome, outcome.attempts) == ("failed", 1)
    assert outcome.reason is not None
    assert "other.test" in outcome.reason
    assert r.received == []
    assert sleeps.waits == []
