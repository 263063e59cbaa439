"""Sending e-mail through the SMTP server of `FISIOFLOW_SMTP_URL` (aiosmtplib).

`smtp://user:pass@host:587` upgrades with STARTTLS and refuses a server that does not offer
it (credentials never cross the network in clear), unless `?starttls=off` says the server is
trusted (a relay on this machine, the tests' aiosmtpd); `smtps://user:pass@host:465` speaks
TLS from the first byte. User and password are URL-encoded (`%40` for an `@`).

Failures are sorted for the worker: a 5xx answer to the recipient or the message is permanent
(trying again gets the same answer); anything else (no connection, a timeout, a 4xx, a dropped
connection, and a refused login or sender, which are the server's configuration, fixed by an
operator, not the e-mail's fault) is transient and retried. What is recorded of a failure is
its class and SMTP code, never the server's text, which may repeat the address.
"""

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

Security = Literal["tls", "starttls", "off"]


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    security: Security
    timeout_seconds: float

    @classmethod
    def from_url(cls, url: str, timeout_seconds: float) -> "SmtpServer":
        """Raises ValueError for what is not an SMTP URL of the forms above."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("FISIOFLOW_SMTP_URL: use smtp://user:pass@host:port or smtps://...")
        starttls = parse_qs(parts.query).get("starttls", ["required"])[-1]
        if starttls not in ("required", "off"):
            raise ValueError("FISIOFLOW_SMTP_URL: starttls is `required` (default) or `off`")
        security: Security = "tls" if parts.scheme == "smtps" else "starttls"
        if security == "starttls" and starttls == "off":
            security = "off"
        default_port = {"tls": 465, "starttls": 587, "off": 25}[security]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            security=security,
            timeout_seconds=timeout_seconds,
        )

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            timeout=self.timeout_seconds,
        )


@dataclass(frozen=True)
class SendFailure:
    """Why an e-mail did not go: `permanent` ones are not tried again."""

    permanent: bool
    summary: str


def classify(error: Exception) -> SendFailure:
    """A failed send as the worker records it: the error's class and SMTP code only."""
    codes: list[int] = []
    configuration = isinstance(
        error, aiosmtplib.SMTPAuthenticationError | aiosmtplib.SMTPSenderRefused
    )
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
    elif isinstance(error, aiosmtplib.SMTPResponseException):
        codes = [error.code]
    name = type(error).__name__
    summary = f"{name} {'/'.join(map(str, codes))}" if codes else name
    permanent = not configuration and bool(codes) and all(code >= 500 for code in codes)
    return SendFailure(permanent=permanent, summary=summary)
