"""Login attempts limited per (e-mail, client address) pair, per e-mail and per address.

Three sliding windows of `FISIOFLOW_LOGIN_WINDOW_SECONDS` count failed logins:

- per (e-mail, address) pair, `FISIOFLOW_LOGIN_MAX_FAILURES_PER_EMAIL_AND_ADDRESS`: the
  lock-out a guesser meets. It is per pair so that an attacker elsewhere cannot lock a
  clinic's staff out of their own account from their own address;
- per e-mail across all addresses, `FISIOFLOW_LOGIN_MAX_FAILURES_PER_EMAIL` (higher): the
  ceiling that still stops guessing spread over many addresses;
- per address across all e-mails, `FISIOFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS`: stops one
  address spraying a password over many e-mails.

Once a window is full, logins it covers are refused with `RATE_LIMITED` and
`extensions.retryAfter` (seconds until its oldest failure leaves the window), before any
password is checked, even a correct one.

Atomic under concurrency: `attempt()` checks and *reserves* in one step, with no await in
between, counting the attempt as a failure in all three windows before the password is
hashed. A successful login gives its reservation back and clears its pair's failures (not
the e-mail's ceiling nor the address's: one valid login must not unlock guessing elsewhere).
So N concurrent guesses for one e-mail from one address evaluate at most the pair limit, and
a correct password sent while they are being checked is refused once the limit is reserved.
An attempt that ends in anything but success once the password was checked (a wrong
password, an inactive login) stays counted; one whose login could not even be read (the
database down) is withdrawn, so an outage locks nobody out. Only failures count: a clinic's
staff behind one NAT address may all log in every morning.

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

from graph.core.errors import RATE_LIMITED, ApiError
from graph.core.settings import Settings
from graph.observability.metrics import metrics_of

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

    def hit(self, key: str, at: float) -> None:
        hits = self._recent(key)
        if hits is None:
            hits = self._hits[key] = deque()
        self._hits.move_to_end(key)
        hits.append(at)
        while len(self._hits) > MAX_KEYS:
            self._hits.popitem(last=False)

    def give_back(self, key: str, at: float) -> None:
        """Undo one `hit(key, at)` (nothing if it already left the window)."""
        hits = self._hits.get(key)
        if hits is not None and at in hits:
            hits.remove(at)
            if not hits:
                del self._hits[key]

    def clear(self, key: str) -> None:
        self._hits.pop(key, None)


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


class LoginRateLimiter:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        window = float(settings.login_window_seconds)
        self.clock = clock
        self.by_pair = SlidingWindow(
            settings.login_max_failures_per_email_and_address, window, clock
        )
        self.by_email = SlidingWindow(settings.login_max_failures_per_email, window, clock)
        self.by_address = SlidingWindow(settings.login_max_failures_per_address, window, clock)

    def attempt(self, email: str, address: str) -> "LoginAttempt":
        """Reserve a login attempt by `email` from `address`, counted as a failure until it
        succeeds; RATE_LIMITED (nothing reserved) when a window is full."""
        normalized = email.strip().lower()
        keys = (
            (self.by_pair, _key("pair", f"{normalized}\0{address}")),
            (self.by_email, _key("email", normalized)),
            (self.by_address, _key("address", address)),
        )
        waits = [wait for window, key in keys if (wait := window.retry_after(key)) is not None]
        if waits:
            seconds = max(1, math.ceil(max(waits)))
            error = ApiError(
                RATE_LIMITED, f"Too many failed logins; try again in {seconds} seconds"
            )
            error.extensions["retryAfter"] = seconds
            raise error
        at = self.clock()
        for window, key in keys:
            window.hit(key, at)
        return LoginAttempt(keys, at)


class LoginAttempt:
    """A reserved attempt: a failure in every window unless `succeeded()` is called."""

    def __init__(self, keys: tuple[tuple[SlidingWindow, str], ...], at: float) -> None:
        self.keys = keys
        self.at = at

    def withdrawn(self) -> None:
        """No password was checked (the database failed first): nothing to count."""
        for window, key in self.keys:
            window.give_back(key, self.at)

    def succeeded(self) -> None:
        (pair, pair_key), *others = self.keys
        pair.clear(pair_key)
        for window, key in others:
            window.give_back(key, self.at)


_fallback: dict[int, LoginRateLimiter] = {}


def login_attempt(context: Any, email: str) -> LoginAttempt:
    """Reserve a login by `email` from the request's client address (RATE_LIMITED, counted
    in the app's metrics, when it must wait)."""
    request = getattr(context, "request", None)
    app = getattr(request, "scope", {}).get("app") if request is not None else None
    limiter = getattr(getattr(app, "state", None), "login_limiter", None)
    if not isinstance(limiter, LoginRateLimiter):  # the schema run outside an app
        settings = context.settings
        limiter = _fallback.setdefault(id(settings), LoginRateLimiter(settings))
    client = getattr(request, "client", None)
    address = client.host if client is not None else "unknown"
    try:
        return limiter.attempt(email, address)
    except ApiError:
        metrics = metrics_of(request)
        if metrics is not None:
            metrics.login_rate_limited.inc()
        raise
