"""The compliance clock: every `FISIOFLOW_COMPLIANCE_CLOCK_SECONDS`, each server process asks
`compliance_clock_tick()` (migration 0026) to turn the deadlines passed since the last tick into
events of the log, so `complianceStatusChanged` sends the status again when a data-subject
request becomes due soon or overdue, a completed session's prontuário becomes late, or a
recorded check expires. The function tells each moment once, whichever process ticks first."""

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from graph.sql.event_log import COMPLIANCE_CLOCK_TICK

log = logging.getLogger("fisioflow.compliance_clock")


class ComplianceClock:
    def __init__(self, engine: AsyncEngine, seconds: float) -> None:
        self._engine = engine
        self._seconds = seconds
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> int:
        """One tick, as the server's own login: how many clinics had a deadline pass."""
        async with self._engine.begin() as connection:
            return int((await connection.execute(COMPLIANCE_CLOCK_TICK)).scalar_one())

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._seconds)
            try:
                await self.tick()
            except Exception:  # a database away now is back at the next tick
                log.warning("the compliance clock could not tick", exc_info=True)
