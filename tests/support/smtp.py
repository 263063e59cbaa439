"""A real SMTP server on a free local port (aiosmtpd, in its own thread), keeping what it got."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One message as the server took it: the envelope and the parsed message."""

    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    """What the server received; `answers` are replies to DATA it gives first, in order (e.g.
    "451 4.3.0 try later"), before it accepts messages with 250."""

    received: list[Received] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    # Set when a message is accepted (a server in another process sends it).
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answers:
            return self.answers.pop(0)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        self.arrived.set()
        return "250 OK"


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, str]]:
    """A running server and the `FISIOFLOW_SMTP_URL` that reaches it (no TLS: it is local)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{controller.port}?starttls=off"
    finally:
        controller.stop()
