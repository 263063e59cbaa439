"""The signing keys of an external identity provider (`FISIOFLOW_JWKS_URL`), whose RS256
tokens the server accepts beside its own HS256 ones.

The key set is fetched when the server starts, and again when a token names a key id not
seen yet (at most once per `REFRESH_INTERVAL` seconds: a rotation at the provider). Fetches
run in a thread, never on a request's path: a token signed with a key not fetched yet is
refused with UNAUTHENTICATED while the refresh runs, and accepted once it is done.
"""

import asyncio
import json
import logging
import time
import urllib.request
from typing import Any

from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError

log = logging.getLogger("fisioflow.jwks")

ALGORITHM = "RS256"
REFRESH_INTERVAL = 30.0
FETCH_TIMEOUT = 5.0


class JwksKeys:
    def __init__(self, url: str) -> None:
        self.url = url
        self._keys: dict[str | None, PyJWK] = {}
        self._last_fetch = float("-inf")
        self._refreshing: asyncio.Task[None] | None = None

    def key(self, key_id: str | None) -> PyJWK | None:
        """The RS256 key a token's header names (a token without `kid`: the provider's only
        key), or None, which also asks for a refresh."""
        found = self._keys.get(key_id)
        if found is None and key_id is None and len(self._keys) == 1:
            found = next(iter(self._keys.values()))
        if found is None:
            self._refresh_soon()
        return found

    async def refresh(self) -> None:
        self._last_fetch = time.monotonic()
        try:
            document = await asyncio.to_thread(self._fetch)
            keys = {
                key.key_id: key
                for key in PyJWKSet.from_dict(document).keys
                if key.algorithm_name == ALGORITHM
            }
        except (OSError, ValueError, PyJWKError, PyJWKSetError) as error:
            log.warning("fetching the identity provider's keys failed: %s", type(error).__name__)
            return
        self._keys = keys

    def _fetch(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url, timeout=FETCH_TIMEOUT) as response:
            document: dict[str, Any] = json.loads(response.read())
        return document

    def _refresh_soon(self) -> None:
        if time.monotonic() - self._last_fetch < REFRESH_INTERVAL:
            return
        if self._refreshing is not None and not self._refreshing.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._refreshing = loop.create_task(self.refresh())
