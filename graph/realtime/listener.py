"""The broker's LISTEN connection and its position in the event log: no gap, no duplicate.

`position` is the seq of the last event handed on. NOTIFY is not durable (what is committed
while the connection is down is never notified to it), but the log is, and its `seq` is commit
order (migration 0020): whoever has handled every event up to n misses nothing by reading
`seq > n`. So each time the connection (re)opens, the listener LISTENs first, holding back the
notifications that arrive, then reads the log after its position in pages (`events_after`, as
the server's own login on this same connection), handing each page on, and only then lets the
held notifications through, dropping any at or below its position (they were in the pages).
On the first connection the position starts at the log's current end: the server delivers
what is committed after it starts.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable

import asyncpg

from graph.realtime.event import Event
from graph.sql.event_log import CATCH_UP, LOG_END, LOG_END_LOCK

log = logging.getLogger("fisioflow.broker")

CHANNEL = "fisioflow_events"
APPLICATION_NAME = "fisioflow-listener"


class Listener:
    """Hands every committed event to `handle` exactly once, in commit order, across
    reconnections (`handle` is called synchronously, with events in seq order)."""

    def __init__(
        self,
        dsn: str,
        handle: Callable[[list[Event]], None],
        *,
        reconnect_delays: Iterable[float] = (0.1, 0.5, 1, 2, 5),
        page_size: int = 1000,
    ) -> None:
        self._dsn = dsn
        self._handle = handle
        self._delays = tuple(reconnect_delays)
        self._page_size = page_size
        self._connection: asyncpg.Connection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._connected = asyncio.Event()
        # Notifications that arrive while the log is being read (None: none are held).
        self._held: list[Event] | None = None
        self.position: int | None = None

    async def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise())
        await asyncio.wait_for(self._connected.wait(), timeout=30)

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        await self._close()

    async def _supervise(self) -> None:
        """Keep one LISTEN connection open; after a loss, reconnect with growing delays."""
        attempt = 0
        while True:
            try:
                await self._listen()
                attempt = 0
                await self._lost.wait()
                log.warning("LISTEN connection lost; reconnecting")
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("LISTEN connection failed: %s", type(error).__name__)
            self._connected.clear()
            self._held = None
            await self._close()
            await asyncio.sleep(self._delays[min(attempt, len(self._delays) - 1)])
            attempt += 1

    async def _listen(self) -> None:
        """LISTEN, then catch up from the log, then let the held notifications through."""
        self._lost.clear()
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": APPLICATION_NAME}
        )
        self._connection = connection
        connection.add_termination_listener(lambda _: self._lost.set())
        self._held = []
        await connection.add_listener(CHANNEL, self._on_notify)
        if self.position is None:
            async with connection.transaction():
                await connection.execute(LOG_END_LOCK)
                self.position = int(await connection.fetchval(LOG_END))
        await self._catch_up(connection)
        held, self._held = self._held, None
        self._accept(held)
        self._connected.set()

    async def _catch_up(self, connection: asyncpg.Connection) -> None:
        while True:
            assert self.position is not None
            rows = await connection.fetch(CATCH_UP, self.position, self._page_size)
            if not rows:
                return
            self._accept([Event.of_log(dict(row.items())) for row in rows])

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()

    def _on_notify(self, connection: object, pid: int, channel: str, raw: object) -> None:
        try:
            event = Event.parse(str(raw))
        except (ValueError, KeyError, TypeError):
            log.error("unreadable notification on %s", channel)
            return
        if self._held is not None:
            self._held.append(event)
        else:
            self._accept([event])

    def _accept(self, events: list[Event]) -> None:
        """Hand on the events after the position, and move it to the last one."""
        assert self.position is not None
        fresh = [event for event in events if event.seq > self.position]
        if fresh:
            self.position = fresh[-1].seq
            self._handle(fresh)
