"""Where a webhook may point: `http`/`https` only and, in production, only public addresses.

A URL is checked when it is registered (`check_url`) and its host resolved again before every
send (`resolve`), and the request then goes to the very address checked, so a name that
later resolves to a private address (DNS rebinding) is refused rather than followed.
Development allows private and loopback addresses (tests run their receivers on 127.0.0.1).
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2048
# A resolver that does not answer in this time does not resolve the host.
RESOLVE_SECONDS = 5.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """Why a URL is refused (safe to show to the admin who gave it)."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the address its request goes to."""

    url: SplitResult
    host: str
    port: int
    address: IPAddress

    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return self.url._replace(netloc=f"{host}:{self.port}").geturl()

    def host_header(self) -> str:
        default = 443 if self.url.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def check_url(url: str) -> SplitResult:
    """The URL split, if it is an absolute http(s) URL without credentials or fragment."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"The URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise UnsafeUrl("Not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("The URL must not carry credentials")
    if parts.fragment:
        raise UnsafeUrl("The URL must not have a fragment")
    return parts


def is_public(address: IPAddress) -> bool:
    """Not private, loopback, link-local, multicast, unspecified or reserved (an IPv4 mapped
    into IPv6 judged as itself)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(url: str, allow_private: bool) -> Target:
    """Where `url` is sent now: its first address, after every address its host resolves to
    has been checked (one private address among public ones refuses the URL)."""
    parts = check_url(url)
    host = parts.hostname
    assert host is not None  # check_url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_SECONDS):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, ValueError, TimeoutError):  # ValueError: a NUL, a label IDNA refuses
            raise UnsafeUrl("The URL's host does not resolve") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise UnsafeUrl("The URL's host does not resolve")
    if not allow_private and not all(is_public(address) for address in addresses):
        raise UnsafeUrl("The URL points to a private, loopback or reserved address")
    return Target(parts, host, port, addresses[0])
