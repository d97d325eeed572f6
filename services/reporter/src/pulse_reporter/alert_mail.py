"""An alert as a mail message: one short message per alert and recipient, its sentence
and the link to the view that shows it.

- **Per alert, not a daily digest**: alerts are rare by design (at the default
  sensitivity, a quiet business hears a false one every few years), so a digest would
  seldom hold more than one; a message per alert has the news in its subject, and is
  sent, retried and recorded on its own (``alert_deliveries`` has a row per alert and
  channel). An event that moves several numbers at once is still one or two alerts: the
  detector drops an engagement-rate alert that engagement or impressions explains.
- **Per recipient**, as the reports: no recipient sees the others' addresses, and an
  address the server refuses fails alone.
- ``Message-ID``: ``<alert-<id>.<12 hex of the address>@<sender's domain>>``, the same on
  every attempt, so a re-send (the at-least-once window, alert_deliveries.py) can be
  recognised.
- No unsubscribe link: who gets alerts is the business's alert settings, which the
  message links to (an owner or admin changes them there).
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlencode

from pulse_reporter.alert_text import AlertText
from pulse_reporter.mail import MAIL_POLICY, recipient_message_id

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
MAX_SUBJECT = 200


def alert_message_id(alert_id: int, domain: str) -> str:
    """The alert's Message-ID, made each recipient's by :func:`recipient_message_id`."""
    return f"<alert-{alert_id}@{domain}>"


def settings_link(dashboard_url: str, business_id: int) -> str:
    """The dashboard's alerts view of the business (its list and its settings)."""
    return f"{dashboard_url.rstrip('/')}/?{urlencode({'business': business_id})}#/alerts"


def one_line(text: str) -> str:
    """Control characters and line breaks as spaces: a header stays one header."""
    return " ".join(_CONTROL.sub(" ", text).split())


def subject(business_name: str, title: str) -> str:
    """ "Acme Bakery: LinkedIn engagement 41% below usual on Tue 14 Oct"."""
    return one_line(f"{business_name}: {title}")[:MAX_SUBJECT]


def text_body(business_name: str, text: AlertText, settings_url: str) -> str:
    return (
        f"{text.sentence}\n\n"
        f"Open in Pulse: {text.link}\n\n"
        f"-- \n"
        f"An alert from Pulse for {one_line(business_name)}. Who gets these is set in the "
        f"business's alert settings: {settings_url}\n"
    )


def html_body(business_name: str, text: AlertText, settings_url: str) -> str:
    e = html.escape
    return (
        '<!doctype html><html><body style="margin:0;padding:24px;background:#f6f7f9;'
        'font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2933">'
        '<div style="max-width:560px;margin:0 auto;background:#fff;border-radius:8px;'
        'padding:24px">'
        f'<p style="margin:0 0 8px;font-size:13px;color:#52606d">{e(one_line(business_name))}</p>'
        f'<h1 style="margin:0 0 16px;font-size:18px">{e(one_line(text.title))}</h1>'
        f'<p style="margin:0 0 20px;font-size:15px;line-height:1.5">{e(text.sentence)}</p>'
        f'<p style="margin:0 0 24px"><a href="{e(text.link)}" style="background:#2563eb;'
        'color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">Open in Pulse</a></p>'
        '<p style="margin:0;font-size:12px;color:#7b8794">Who gets these alerts is set in the '
        f'business\'s <a href="{e(settings_url)}">alert settings</a>.</p>'
        "</div></body></html>"
    )


def alert_message(
    *,
    sender: str,
    recipient: str,
    business_name: str,
    text: AlertText,
    message_id: str,
    date: datetime,
    settings_url: str,
) -> EmailMessage:
    """One recipient's message: text and HTML alternatives; ``message_id`` is the alert's
    (:func:`alert_message_id`), made the recipient's here."""
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject(business_name, text.title)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = recipient_message_id(message_id, recipient)
    # RFC 3834: mailed by a program, so auto-responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text_body(business_name, text, settings_url))
    message.add_alternative(html_body(business_name, text, settings_url), subtype="html")
    return message
