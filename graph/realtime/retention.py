"""The event log's retention: each server process purges events older than
`FISIOFLOW_EVENT_RETENTION_DAYS`, at start and then hourly.

`purge_events` (migration 0020) deletes a prefix of the log and raises `purged_through`; two
processes purging at once only wait for each other (the second finds nothing left to delete),
so no process needs to be the one that purges.
"""

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from graph.core.periodic import Periodic
from graph.sql.event_log import PURGE

log = logging.getLogger("fisioflow.retention")

PURGE_EVERY_SECONDS = 3600.0


class Retention(Periodic):
    def __init__(self, engine: AsyncEngine, days: int) -> None:
        super().__init__(PURGE_EVERY_SECONDS, first_at_start=True, log=log)
        self._engine = engine
        self._days = days

    async def purge(self) -> int:
        """Purge once, as the server's own login; the seq purged through (0: nothing)."""
        async with self._engine.begin() as connection:
            return int((await connection.execute(PURGE, {"days": self._days})).scalar_one())

    async def round(self) -> None:
        through = await self.purge()
        if through:
            log.info("event log purged through seq %d", through)
