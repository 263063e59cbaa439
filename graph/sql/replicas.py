"""Streaming read replicas (`FISIOFLOW_REPLICA_URLS`): which database a query reads from.

A query reads from a replica that answers and is at most `max_lag` seconds behind; a mutation,
a subscription's re-reads and every query that cannot use a replica go to the primary
(`DATABASE_URL`). A login's own writes stay visible to it: after its mutation commits, the
primary's WAL position is remembered for that login (`note_write`), and its queries read from
the primary until a replica has replayed that position. A request can ask for the primary
(`X-FisioFlow-Read-From: primary`) or for a position of its own (`X-FisioFlow-Min-LSN`, the
`X-FisioFlow-LSN` a mutation's response carried: what another server process cannot know).

A monitor samples, every `check_seconds`, the primary's WAL position and each replica's replay
position. A replica's lag is how long ago the primary stood where the replica stands now
(0 when it has replayed the newest sample), which stays 0 on an idle primary, unlike
`now() - pg_last_xact_replay_timestamp()`. A replica that does not answer, or that is no longer
in recovery (promoted: it may have diverged), is skipped until it answers as a replica again.
Between samples a replica may be ahead of what was sampled, never behind it, so a choice made
on the samples never shows a login less than its own writes.
"""

import asyncio
import itertools
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from graph.core.errors import DATABASE_ERRORS
from graph.core.lru import LruCache

log = logging.getLogger("fisioflow.replicas")

PRIMARY_POSITION = text("select pg_current_wal_lsn()::text")
REPLICA_POSITION = text("select pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
# Logins whose last write is remembered (a login absent reads from any replica).
REMEMBERED_WRITERS = 10_000


def parse_lsn(value: str) -> int:
    """A `pg_lsn` as text (`16/B374D848`) as a number that orders like it; ValueError if it
    is not one."""
    high, _, low = value.strip().partition("/")
    if not high or not low:
        raise ValueError(f"not a WAL position: {value!r}")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


@dataclass
class Replica:
    url: str
    engine: AsyncEngine
    replayed: int | None = None  # None: not answering as a replica
    lag: float = float("inf")

    @property
    def name(self) -> str:
        """host:port/database, for logs (never the password)."""
        url = make_url(self.url)
        return f"{url.host or url.query.get('host') or ''}:{url.port or ''}/{url.database or ''}"


class ReadRouting:
    def __init__(
        self,
        primary: AsyncEngine,
        replicas: Sequence[tuple[str, AsyncEngine]],
        *,
        max_lag: float,
        check_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.replicas = [Replica(url, engine) for url, engine in replicas]
        self._max_lag = max_lag
        self._check_seconds = check_seconds
        self._clock = clock
        # (time, primary position) samples covering the last `max_lag` seconds and one more.
        self._samples: deque[tuple[float, int]] = deque()
        self._writes: LruCache[int] = LruCache(REMEMBERED_WRITERS)
        self._turn = itertools.count()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Sample once (so the first requests may use a replica), then every `check_seconds`."""
        await self.check()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for replica in self.replicas:
            await replica.engine.dispose()

    def replica_for_query(
        self, user_id: uuid.UUID | None, min_position: int | None
    ) -> Replica | None:
        """Where a query of `user_id` reads: a replica that has replayed that login's last
        write and `min_position`, and is not too far behind; None: the primary."""
        needed = min_position or 0
        if user_id is not None:
            found, written = self._writes.get(user_id)
            if found and written is not None:
                needed = max(needed, written)
        eligible = [
            replica
            for replica in self.replicas
            if replica.replayed is not None
            and replica.replayed >= needed
            and replica.lag <= self._max_lag
        ]
        if not eligible:
            return None
        return eligible[next(self._turn) % len(eligible)]

    def skip(self, replica: Replica) -> None:
        """A replica a request could not reach: not used again until it answers a check."""
        replica.replayed, replica.lag = None, float("inf")
        log.warning("replica %s skipped: a request could not reach it", replica.name)

    async def note_write(self, user_id: uuid.UUID | None) -> int:
        """After a mutation committed: the primary's position now, remembered for the login
        (its next queries read what it wrote)."""
        async with self.primary.connect() as connection:
            position = parse_lsn(str((await connection.execute(PRIMARY_POSITION)).scalar_one()))
        if user_id is not None:
            self._writes.put(user_id, position)
        return position

    async def check(self) -> None:
        """One sample of the primary's position and every replica's."""
        now = self._clock()
        try:
            async with self.primary.connect() as connection:
                position = str((await connection.execute(PRIMARY_POSITION)).scalar_one())
            self._samples.append((now, parse_lsn(position)))
        except (*DATABASE_ERRORS, OSError):  # the replicas' lag is measured from the last one
            log.warning("the primary's WAL position could not be read")
        while len(self._samples) > 1 and self._samples[1][0] < now - self._max_lag - 1:
            self._samples.popleft()
        await asyncio.gather(*(self._check_replica(replica, now) for replica in self.replicas))

    async def _check_replica(self, replica: Replica, now: float) -> None:
        was_up = replica.replayed is not None
        try:
            async with replica.engine.connect() as connection:
                in_recovery, replayed = (await connection.execute(REPLICA_POSITION)).one()
        except (*DATABASE_ERRORS, OSError):
            in_recovery, replayed = False, None
        if not in_recovery or replayed is None:
            replica.replayed, replica.lag = None, float("inf")
            if was_up:
                log.warning("replica %s skipped: not answering as a replica", replica.name)
            return
        replica.replayed = parse_lsn(str(replayed))
        replica.lag = self._lag(replica.replayed, now)
        if not was_up:
            log.info("replica %s in use", replica.name)

    def _lag(self, replayed: int, now: float) -> float:
        """How long ago the primary was last sampled at or before `replayed`."""
        if not self._samples or replayed >= self._samples[-1][1]:
            return 0.0
        reached = [at for at, position in self._samples if position <= replayed]
        # Behind every sample kept: more than `max_lag` behind, or not known to be less.
        return now - reached[-1] if reached else float("inf")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._check_seconds)
            try:
                await self.check()
            except Exception:  # whatever it was, the next round samples again
                log.exception("checking the replicas failed")
