"""Invites leave by SMTP through pulse_shared.mail (its Mailer and MailFailed, re-exported
here)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage

from pulse_shared.mail import Mailer as Mailer
from pulse_shared.mail import MailFailed as MailFailed


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
