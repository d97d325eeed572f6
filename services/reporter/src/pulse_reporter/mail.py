"""A report as a mail message, and the signed unsubscribe link each recipient gets.

- **One message per recipient**, each with its own unsubscribe link (in the text, the HTML
  and the ``List-Unsubscribe`` header, with ``List-Unsubscribe-Post`` for RFC 8058's
  one-click unsubscribe) and its own ``Message-ID``: the delivery's, with a suffix from
  the address, so it is the same on every attempt and a re-send can be recognised.
- **The unsubscribe token** names the schedule and the address and carries an
  HMAC-SHA256 over both with the first of PULSE_REPORTER_LINK_KEYS (stdlib ``hmac``:
  a single MAC of two fields needs no library); verifying accepts any listed key, so keys
  rotate without breaking the links already mailed. It never expires: a report mailed a
  year ago must still stop the next one.
- The message is written with lines up to RFC 5322's 998 characters, so a long
  ``List-Unsubscribe`` URL stays one header line (folding it at 78 would encode it, and
  mail clients would not find the link).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlencode

from pulse_reporter.rendering import RenderedEmail
from pulse_reporter.report_data import Report

MAIL_POLICY = policy.SMTP.clone(max_line_length=998)
TOKEN_PURPOSE = b"pulse-reporter/unsubscribe"
MAX_TOKEN_CHARS = 1000
MAX_SCHEDULE_ID = 2**63 - 1


class InvalidToken(ValueError):
    """Not an unsubscribe token of ours (malformed, or signed with no listed key)."""


# --- the unsubscribe token -----------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise InvalidToken("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error) as exc:
        raise InvalidToken("not base64url") from exc


def _mac(key: bytes, schedule_id: int, email: str) -> bytes:
    signed = b"\x00".join((TOKEN_PURPOSE, str(schedule_id).encode(), email.encode()))
    return hmac.new(key, signed, hashlib.sha256).digest()


def unsubscribe_token(keys: Sequence[bytes], schedule_id: int, email: str) -> str:
    """``<schedule id>.<address, base64url>.<HMAC, base64url>``, signed with ``keys[0]``."""
    address = email.lower()
    mac = _mac(keys[0], schedule_id, address)
    return f"{schedule_id}.{_b64(address.encode())}.{_b64(mac)}"


def verify_unsubscribe_token(keys: Sequence[bytes], token: str) -> tuple[int, str]:
    """The schedule id and the address of a token signed with any of ``keys``; raises
    :class:`InvalidToken` otherwise."""
    parts = token.split(".") if len(token) <= MAX_TOKEN_CHARS else []
    if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit():
        raise InvalidToken("not an unsubscribe token")
    schedule_id = int(parts[0])
    try:
        email = _unb64(parts[1]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidToken("not an unsubscribe token") from exc
    given = _unb64(parts[2])
    if not 0 < schedule_id <= MAX_SCHEDULE_ID or "@" not in email:
        raise InvalidToken("not an unsubscribe token")
    # Every key is tried (no early exit), each compared in constant time.
    matches = [hmac.compare_digest(_mac(k, schedule_id, email), given) for k in keys]
    if not any(matches):
        raise InvalidToken("the token's signature does not verify")
    return schedule_id, email


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url}/v1/unsubscribe?{urlencode({'token': token})}"


# --- the message ---------------------------------------------------------------------


def recipient_message_id(message_id: str, email: str) -> str:
    """The delivery's Message-ID made the recipient's: ``<report-12-2026-11-23.<12 hex of
    the address's SHA-256>@domain>``."""
    local, _, domain = message_id.strip("<>").partition("@")
    tag = hashlib.sha256(email.lower().encode()).hexdigest()[:12]
    return f"<{local}.{tag}@{domain}>"


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].rstrip("-")


def attachment_stem(report: Report) -> str:
    """``acme-bakery-2026-11`` (a month), ``acme-bakery-week-2026-11-23`` (a week)."""
    business = _slug(report.business_name) or f"business-{report.business_id}"
    start = report.period.start
    if report.kind == "monthly":
        return f"{business}-{start:%Y-%m}"
    return f"{business}-week-{start.isoformat()}"


def report_message(
    *,
    sender: str,
    recipient: str,
    rendered: RenderedEmail,
    message_id: str,
    date: datetime,
    unsubscribe: str,
    pdf: bytes,
    stem: str,
    csv: bytes | None = None,
) -> EmailMessage:
    """One recipient's message: the text and HTML alternatives (``rendered``, made with
    this recipient's ``unsubscribe`` URL), the PDF attached (``<stem>.pdf``), the CSV when
    given (``<stem>-posts.csv``)."""
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # RFC 3834: mailed by a program, so auto-responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{stem}.pdf")
    if csv is not None:
        message.add_attachment(csv, maintype="text", subtype="csv", filename=f"{stem}-posts.csv")
    return message
