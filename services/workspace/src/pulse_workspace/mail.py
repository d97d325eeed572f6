"""Invites leave by SMTP (submission with STARTTLS by default). Sending is blocking
(smtplib), so it runs in a worker thread, bounded by a timeout."""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from pulse_workspace.settings import Settings


class MailFailed(Exception):
    """The mail server refused the message or could not be reached."""


@dataclass(frozen=True)
class Invitation:
    to: str
    business: str
    inviter: str
    role: str
    link: str


def invitation_message(invitation: Invitation, sender: str) -> EmailMessage:
    """Plain text and HTML, naming the business and the inviter."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = invitation.to
    message["Subject"] = f"{invitation.inviter} invited you to {invitation.business} on Pulse"
    message.set_content(
        f"{invitation.inviter} invited you to join {invitation.business} on Pulse as "
        f"{invitation.role}.\n\nAccept the invite (sign in with this address, "
        f"{invitation.to}):\n{invitation.link}\n\nThe link works once. If you did not "
        "expect it, ignore this mail.\n"
    )
    e = html.escape
    message.add_alternative(
        f"<p>{e(invitation.inviter)} invited you to join <strong>{e(invitation.business)}"
        f"</strong> on Pulse as {e(invitation.role)}.</p>"
        f'<p><a href="{e(invitation.link)}">Accept the invite</a> (sign in with this '
        f"address, {e(invitation.to)}).</p><p>The link works once. If you did not expect "
        "it, ignore this mail.</p>",
        subtype="html",
    )
    return message


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _send(self, message: EmailMessage) -> None:
        s = self._settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_tls == "tls":
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=context
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
        with smtp:
            if s.smtp_tls == "starttls":
                smtp.starttls(context=context)
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_username, password)
            smtp.send_message(message)

    async def send(self, message: EmailMessage) -> None:
        try:
            await asyncio.to_thread(self._send, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailFailed(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
