"""A server process's background chores (the event log's retention, the compliance clock,
appointment reminders, webhooks): a round every so many seconds until the process stops (none
when the interval is 0); a failed round is logged in one line (a database away now is back at
the next round) and the next one comes as planned."""

import asyncio
import logging
from abc import ABC, abstractmethod


class Periodic(ABC):
    def __init__(self, seconds: float, *, first_at_start: bool, log: logging.Logger) -> None:
        self._seconds = seconds
        self._first_at_start = first_at_start
        self._log = log
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def round(self) -> None:
        """One round of the chore."""

    def start(self) -> None:
        if self._seconds > 0:
            self._task = asyncio.create_task(self._run(), name=type(self).__name__)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        if not self._first_at_start:
            await asyncio.sleep(self._seconds)
        while True:
            try:
                await self.round()
            except Exception as error:
                self._log.warning("%s failed: %s", type(self).__name__, error)
            await asyncio.sleep(self._seconds)
