"""Login attempts limited per e-mail and per client address.

Failed logins are counted in a sliding window (`FISIOFLOW_LOGIN_WINDOW_SECONDS`). Once an
e-mail has `FISIOFLOW_LOGIN_MAX_FAILURES_PER_EMAIL` failures in the window, or a client
address `FISIOFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS`, further logins for it are refused with
`RATE_LIMITED` and `extensions.retryAfter` (seconds until the oldest failure leaves the
window), before any password is checked, even a correct one. A successful login clears its
e-mail's failures, not its address's (so one valid account cannot unlock guessing at others
from the same address). Only failures count: a clinic's staff behind one NAT address may
all log in every morning.

The limiter is in-process: with N workers or replicas an attacker gets up to N times the
budget; put a shared limiter (or the proxy's) in front when that matters. The client address
is the connection's peer as uvicorn reports it (uvicorn applies `X-Forwarded-For` only from
trusted proxies: `--forwarded-allow-ips`). Keys are hashed; nothing here is logged.
"""

import hashlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from graph.errors import RATE_LIMITED, ApiError
from graph.settings import Settings

MAX_KEYS = 100_000


class SlidingWindow:
    """Failures per key in the last `window` seconds; at most MAX_KEYS keys kept."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        horizon = self.clock() - self.window
        while hits and hits[0] <= horizon:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def retry_after(self, key: str) -> float | None:
        """Seconds to wait before `key` may try again; None when it may now."""
        hits = self._recent(key)
        if hits is None or len(hits) < self.limit:
            return None
        return hits[len(hits) - self.limit] + self.window - self.clock()

    def hit(self, key: str) -> None:
        hits = self._recent(key)
        if hits is None:
            hits = self._hits[key] = deque()
        self._hits.move_to_end(key)
        hits.append(self.clock())
        while len(self._hits) > MAX_KEYS:
            self._hits.popitem(last=False)

    def clear(self, key: str) -> None:
        self._hits.pop(key, None)


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


class LoginRateLimiter:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        window = float(settings.login_window_seconds)
        self.by_email = SlidingWindow(settings.login_max_failures_per_email, window, clock)
        self.by_address = SlidingWindow(settings.login_max_failures_per_address, window, clock)
        self.refused = 0

    def attempt(self, email: str, address: str) -> "LoginAttempt":
        """Raise RATE_LIMITED if this e-mail or address must wait; else the attempt to report."""
        email_key = _key("email", email.strip().lower())
        address_key = _key("address", address)
        waits = [
            wait
            for wait in (
                self.by_email.retry_after(email_key),
                self.by_address.retry_after(address_key),
            )
            if wait is not None
        ]
        if waits:
            self.refused += 1
            seconds = max(1, math.ceil(max(waits)))
            error = ApiError(
                RATE_LIMITED, f"Too many failed logins; try again in {seconds} seconds"
            )
            error.extensions["retryAfter"] = seconds
            raise error
        return LoginAttempt(self, email_key, address_key)


class LoginAttempt:
    def __init__(self, limiter: LoginRateLimiter, email_key: str, address_key: str) -> None:
        self.limiter = limiter
        self.email_key = email_key
        self.address_key = address_key

    def failed(self) -> None:
        self.limiter.by_email.hit(self.email_key)
        self.limiter.by_address.hit(self.address_key)

    def succeeded(self) -> None:
        self.limiter.by_email.clear(self.email_key)


_fallback: dict[int, LoginRateLimiter] = {}


def login_attempt(context: Any, email: str) -> LoginAttempt:
    """Check the limits for a login by `email` from the request's client address."""
    request = getattr(context, "request", None)
    app = getattr(request, "scope", {}).get("app") if request is not None else None
    limiter = getattr(getattr(app, "state", None), "login_limiter", None)
    if not isinstance(limiter, LoginRateLimiter):  # the schema run outside an app
        settings = context.settings
        limiter = _fallback.setdefault(id(settings), LoginRateLimiter(settings))
    client = getattr(request, "client", None)
    address = client.host if client is not None else "unknown"
    return limiter.attempt(email, address)
