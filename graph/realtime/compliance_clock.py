"""The compliance clock: every `FISIOFLOW_COMPLIANCE_CLOCK_SECONDS`, each server process asks
`compliance_clock_tick()` (migration 0026) to turn the deadlines passed since the last tick into
events of the log, so `complianceStatusChanged` sends the status again when a data-subject
request becomes due soon or overdue, a completed session's prontuário becomes late, or a
recorded check expires. The function tells each moment once, whichever process ticks first."""

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from graph.core.periodic import Periodic
from graph.sql.event_log import COMPLIANCE_CLOCK_TICK

log = logging.getLogger("fisioflow.compliance_clock")


class ComplianceClock(Periodic):
    def __init__(self, engine: AsyncEngine, seconds: float) -> None:
        super().__init__(seconds, first_at_start=False, log=log)
        self._engine = engine

    async def round(self) -> None:
        """One tick, as the server's own login."""
        async with self._engine.begin() as connection:
            await connection.execute(COMPLIANCE_CLOCK_TICK)
