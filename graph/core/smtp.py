"""What `FISIOFLOW_SMTP_URL` says: where the SMTP server is, how to reach it, who logs in.

`smtp://user:pass@host:587` upgrades with STARTTLS and refuses a server that does not offer
it (credentials never cross the network in clear), unless `?starttls=off` says the server is
trusted (a relay on this machine, the tests' aiosmtpd); `smtps://user:pass@host:465` speaks
TLS from the first byte. User and password are URL-encoded (`%40` for an `@`). Checked when
the settings load, so a server with a bad URL does not start.
"""

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

Security = Literal["tls", "starttls", "off"]
DEFAULT_PORTS: dict[Security, int] = {"tls": 465, "starttls": 587, "off": 25}


@dataclass(frozen=True)
class SmtpAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    security: Security

    @classmethod
    def from_url(cls, url: str) -> "SmtpAddress":
        """Raises ValueError for what is not an SMTP URL of the forms above."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("use smtp://user:pass@host:port or smtps://user:pass@host:port")
        starttls = parse_qs(parts.query).get("starttls", ["required"])[-1]
        if starttls not in ("required", "off"):
            raise ValueError("starttls is `required` (the default) or `off`")
        security: Security = "tls" if parts.scheme == "smtps" else "starttls"
        if security == "starttls" and starttls == "off":
            security = "off"
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[security],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            security=security,
        )
