"""Mail over SMTP, for every service that sends it (the workspace's invites, the reporter's
reports and alerts): the SMTP settings, and :class:`Mailer`, which hands one message to the
server. Submission with STARTTLS by default; ``tls`` is implicit TLS (port 465); ``none``
only in dev and tests. Sending is blocking (smtplib), so it runs in a worker thread,
bounded by a timeout."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from pulse_shared.settings import PulseSettings

# A refused recipient: the server's reply code and text.
Refusal = tuple[int, str]


class MailFailed(Exception):
    """The mail server refused the message or could not be reached.

    ``refused``: the recipients the server refused, each with its reply; empty when the
    whole message failed (server unreachable, authentication, timeout). When it names only
    some of the message's recipients, ``sent_to_others`` says the rest were accepted."""

    def __init__(
        self, detail: str, refused: dict[str, Refusal] | None = None, sent_to_others: bool = False
    ) -> None:
        super().__init__(detail)
        self.refused: dict[str, Refusal] = dict(refused or {})
        self.sent_to_others = sent_to_others

    @property
    def permanent(self) -> bool:
        """Every refusal is permanent (a 5xx reply: no such mailbox, not an address):
        sending again will not change it. A 4xx (mailbox busy, greylisting) or a server
        that could not be reached may pass later."""
        return bool(self.refused) and all(code >= 500 for code, _ in self.refused.values())


class MailSettings(PulseSettings):
    """The SMTP server and the sender, read from PULSE_SMTP_* and PULSE_MAIL_FROM: a
    service's ``Settings`` derives from this class instead of PulseSettings."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # starttls (submission, the default), tls (implicit, port 465), none (dev and test only).
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = "Pulse <no-reply@pulse.local>"

    @field_validator("smtp_username", "smtp_password", mode="before")
    @classmethod
    def _smtp_empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _smtp_safe(self) -> MailSettings:
        if self.smtp_tls == "none" and self.environment not in ("dev", "test"):
            raise ValueError("PULSE_SMTP_TLS=none is for dev and tests; use starttls or tls")
        return self


def _refusals(refused: dict[str, tuple[int, bytes]]) -> dict[str, Refusal]:
    return {
        address: (code, reply.decode("utf-8", "replace")[:200])
        for address, (code, reply) in refused.items()
    }


class Mailer:
    """Hands messages to the SMTP server of ``settings``, one connection per message."""

    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings

    def _send(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
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
            return smtp.send_message(message)

    async def send(self, message: EmailMessage) -> None:
        """Raises :class:`MailFailed` unless the server took the message for every one of
        its recipients."""
        try:
            refused = await asyncio.to_thread(self._send, message)
        except smtplib.SMTPRecipientsRefused as exc:
            refusals = _refusals(exc.recipients)
            raise MailFailed(f"every recipient refused: {refusals}"[:300], refusals) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailFailed(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
        if refused:
            refusals = _refusals(refused)
            raise MailFailed(f"some recipients refused: {refusals}"[:300], refusals, True)
