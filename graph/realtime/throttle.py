"""At most one delivery per clinic and interval for a topic that asks for it
(`Topic.min_interval`): `complianceStatusChanged` is recomputed once per clinic and second,
however many of the score's inputs change meanwhile. The first change goes at once; changes
within the interval after it wait for its end and then go together, once."""

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graph.realtime.event import Event

if TYPE_CHECKING:
    from graph.realtime.broker import Topic


@dataclass
class _Window:
    last: float = float("-inf")
    held: list[Event] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class Throttles:
    def __init__(self, release: Callable[[list[Event], "Topic"], None]) -> None:
        """`release(events, topic)`: deliver a clinic's held events of `topic` (only its)."""
        self._release = release
        self._windows: dict[tuple[uuid.UUID, Topic], _Window] = {}

    def admit(self, clinic_id: uuid.UUID, topic: "Topic", events: list[Event]) -> bool:
        """Whether `events` (the clinic's in a batch) go to `topic`'s subscribers now; if not,
        they are held for the end of the clinic's interval."""
        loop = asyncio.get_running_loop()
        window = self._windows.setdefault((clinic_id, topic), _Window())
        now = loop.time()
        if window.timer is None and now - window.last >= topic.min_interval:
            window.last = now
            return True
        window.held.extend(event for event in events if event.table in topic.tables)
        if window.timer is None:
            window.timer = loop.call_at(
                window.last + topic.min_interval, self._end_of_window, clinic_id, topic
            )
        return False

    def _end_of_window(self, clinic_id: uuid.UUID, topic: "Topic") -> None:
        window = self._windows[(clinic_id, topic)]
        events, window.held, window.timer = window.held, [], None
        window.last = asyncio.get_running_loop().time()
        if events:
            self._release(events, topic)

    def forget(self, clinic_id: uuid.UUID) -> None:
        """The clinic has no subscribers left: nothing of it is held."""
        for key in [key for key in self._windows if key[0] == clinic_id]:
            timer = self._windows.pop(key).timer
            if timer is not None:
                timer.cancel()
