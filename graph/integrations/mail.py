"""Sending e-mail through the SMTP server of `FISIOFLOW_SMTP_URL` (graph/core/smtp.py) with
aiosmtplib.

Failures are sorted for the worker: a 5xx answer to the recipient or the message is permanent
(trying again gets the same answer); anything else (no connection, a timeout, a 4xx, a dropped
connection, and a refused login or sender, which are the server's configuration, fixed by an
operator, not the e-mail's fault) is transient and retried. What is recorded of a failure is
its class and SMTP code, never the server's text, which may repeat the address.
"""

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from graph.core.smtp import SmtpAddress


@dataclass(frozen=True)
class SmtpServer:
    address: SmtpAddress
    timeout_seconds: float

    async def send(self, message: EmailMessage) -> None:
        address = self.address
        await aiosmtplib.send(
            message,
            hostname=address.host,
            port=address.port,
            username=address.username,
            password=address.password,
            use_tls=address.security == "tls",
            start_tls=address.security == "starttls",
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
