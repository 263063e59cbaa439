"""The event log's retention: each server process purges events older than
`FISIOFLOW_EVENT_RETENTION_DAYS`, at start and then hourly.

`purge_events` (migration 0020) deletes a prefix of the log and raises `purged_through`; two
processes purging at once only wait for each other (the second finds nothing left to delete),
so no process needs to be the one that purges.
"""

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from graph.sql.event_log import PURGE

log = logging.getLogger("fisioflow.retention")

PURGE_EVERY_SECONDS = 3600.0


class Retention:
    def __init__(self, engine: AsyncEngine, days: int) -> None:
        self._engine = engine
        self._days = days
        self._task: asyncio.Task[None] | None = None

    async def purge(self) -> int:
        """Purge once, as the server's own login; the seq purged through (0: nothing)."""
        async with self._engine.begin() as connection:
            return int((await connection.execute(PURGE, {"days": self._days})).scalar_one())

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                through = await self.purge()
            except Exception:  # a database away now is back at the next round
                log.exception("purging the event log failed")
            else:
                if through:
                    log.info("event log purged through seq %d", through)
            await asyncio.sleep(PURGE_EVERY_SECONDS)
