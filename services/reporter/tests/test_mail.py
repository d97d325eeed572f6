"""The report's mail message and its unsubscribe token (pure: no server), and how the shared
Mailer's failure tells a refused address from a server that could not be reached."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from pulse_reporter.mail import (
    InvalidToken,
    attachment_stem,
    recipient_message_id,
    report_message,
    unsubscribe_token,
    unsubscribe_url,
    verify_unsubscribe_token,
)
from pulse_reporter.rendering import RenderedEmail
from pulse_shared.mail import MailFailed
from services.reporter.tests.delivery_support import fresh_report

OLD_KEY, NEW_KEY = secrets.token_bytes(32), secrets.token_bytes(32)
PUBLIC = "https://pulse.example.com/reporter"
RENDERED = RenderedEmail(
    subject="Acme Bakery: weekly report, 23\u201329 Nov 2026",
    html="<p>Numbers</p>",
    text="Numbers\n",
)


# --- the unsubscribe token -------------------------------------------------------------


def test_a_token_names_its_schedule_and_address_lower_cased() -> None:
    token = unsubscribe_token([NEW_KEY], 42, "Someone@Example.COM")
    assert verify_unsubscribe_token([NEW_KEY], token) == (42, "someone@example.com")
    assert token == unsubscribe_token([NEW_KEY], 42, "someone@example.com")
    assert unsubscribe_url(PUBLIC, token) == f"{PUBLIC}/v1/unsubscribe?token={token}"


def test_keys_rotate_without_breaking_links_already_mailed() -> None:
    mailed = unsubscribe_token([OLD_KEY], 42, "a@example.com")
    # The new key signs from now on; the old one still verifies while it is listed.
    assert verify_unsubscribe_token([NEW_KEY, OLD_KEY], mailed) == (42, "a@example.com")
    with pytest.raises(InvalidToken, match="signature"):
        verify_unsubscribe_token([NEW_KEY], mailed)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_changed_schedule_address_or_signature_is_refused() -> None:
    schedule, address, mac = unsubscribe_token([NEW_KEY], 42, "a@example.com").split(".")
    forged = [
        f"43.{address}.{mac}",
        f"{schedule}.{_b64(b'b@example.com')}.{mac}",
        f"{schedule}.{address}.{_b64(secrets.token_bytes(32))}",
        f"{schedule}.{address}.",
    ]
    for token in forged:
        with pytest.raises(InvalidToken):
            verify_unsubscribe_token([NEW_KEY], token)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "1.2", "1.x.y.z", "-1.YUBi.AA", "0.YUBi.AA", "\u0661\u0662.YUBi.AA",
     "1.not base64.AA", "1.YWJj.AA", "1.__8.AA", "9" * 30 + ".YUBi.AA", "1." + "A" * 2000],
    ids=["empty", "one-part", "two-parts", "four-parts", "negative", "zero", "arabic-digits",
         "not-base64", "no-at", "not-utf8", "huge-id", "too-long"],
)  # fmt: skip
def test_what_is_not_a_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_unsubscribe_token([NEW_KEY], token)


# --- the message -----------------------------------------------------------------------


def test_each_recipient_has_a_message_id_of_its_own_stable_across_attempts() -> None:
    delivery = "<report-12-2026-11-23@pulse.example>"
    a = recipient_message_id(delivery, "a@example.com")
    assert a == recipient_message_id(delivery, "A@Example.com")
    assert a != recipient_message_id(delivery, "b@example.com")
    assert a.startswith("<report-12-2026-11-23.")
    assert a.endswith("@pulse.example>")


def test_the_attachment_is_named_after_the_business_and_the_period() -> None:
    weekly = fresh_report("weekly", business_id=7, name="Acme Bäckerei & Co.")
    assert attachment_stem(weekly) == "acme-backerei-co-week-2026-11-23"
    monthly = fresh_report("monthly", business_id=7, name="Acme Bakery")
    assert attachment_stem(monthly) == "acme-bakery-2026-11"
    nameless = fresh_report("weekly", business_id=7, name="日本の店")
    assert attachment_stem(nameless) == "business-7-week-2026-11-23"


def message(csv: bytes | None = None) -> EmailMessage:
    url = unsubscribe_url(PUBLIC, "1." + "A" * 120)  # longer than a folded line
    return report_message(
        sender="Pulse Reports <reports@pulse.example>",
        recipient="a@example.com",
        rendered=RENDERED,
        message_id="<report-12-2026-11-23.0123456789ab@pulse.example>",
        date=datetime(2026, 11, 30, 13, 5, tzinfo=UTC),
        unsubscribe=url,
        pdf=b"%PDF-1.7 not really",
        stem="acme-bakery-week-2026-11-23",
        csv=csv,
    )


def test_the_message_as_the_mail_server_receives_it() -> None:
    sent = message_from_bytes(message().as_bytes(), policy=policy.default)
    assert isinstance(sent, EmailMessage)
    assert sent["Subject"] == RENDERED.subject
    assert sent["Message-ID"] == "<report-12-2026-11-23.0123456789ab@pulse.example>"
    assert sent["Date"].datetime == datetime(2026, 11, 30, 13, 5, tzinfo=UTC)
    assert sent["List-Unsubscribe"] == f"<{PUBLIC}/v1/unsubscribe?token=1.{'A' * 120}>"
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent["Auto-Submitted"] == "auto-generated"
    # One header line, not encoded words: a mail client finds the link.
    raw = message().as_bytes()
    assert b"\r\nList-Unsubscribe: <https://" in raw
    assert b"=?utf-8?" not in raw.split(b"\r\nList-Unsubscribe:")[1].split(b"\r\n")[0]
    body = sent.get_body(("plain",))
    html = sent.get_body(("html",))
    assert body is not None
    assert body.get_content().splitlines() == ["Numbers"]
    assert html is not None
    assert html.get_content().splitlines() == ["<p>Numbers</p>"]
    [pdf] = sent.iter_attachments()
    assert isinstance(pdf, EmailMessage)
    assert pdf.get_filename() == "acme-bakery-week-2026-11-23.pdf"
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content() == b"%PDF-1.7 not really"


def test_the_per_post_csv_is_attached_when_asked_for() -> None:
    raw = message(csv=b"post_id,likes\n1,2\n").as_bytes()
    sent = message_from_bytes(raw, policy=policy.default)
    assert isinstance(sent, EmailMessage)
    names = [(p.get_filename(), p.get_content_type()) for p in sent.iter_attachments()]
    assert names == [
        ("acme-bakery-week-2026-11-23.pdf", "application/pdf"),
        ("acme-bakery-week-2026-11-23-posts.csv", "text/csv"),
    ]


# --- the shared Mailer's failures ------------------------------------------------------


def test_a_refusal_for_good_is_permanent_and_an_unreachable_server_is_not() -> None:
    assert MailFailed("x", {"a@b": (553, "not an address")}).permanent
    assert not MailFailed("x", {"a@b": (450, "mailbox busy")}).permanent
    assert not MailFailed("x", {"a@b": (553, "no"), "c@d": (451, "later")}).permanent
    assert not MailFailed("ConnectionRefusedError: [Errno 111]").permanent
