"""Optional stage timing of the realtime path (FISIOFLOW_REALTIME_STAGE_TIMING), for
bench/subscriptions.py to put beside each event's commit and arrival times.

For each event (its log position) and stage, the clock logs when the stage was first and last
done, as `realtime stage <stage> seq=<position> first=<ns> last=<ns>` (`time.monotonic_ns()`:
the machine's clock, shared with the bench's processes). Stages: `notified` (the listener
handed the event on), `logins` (its clinic's subscribers' logins were checked), `reread` (a
cohort's re-read returned), `resolved` (a group's source executed and encoded its result and
queued it for the members) and `written` (a member's frame went to its socket). A stage done
many times for one event (`reread`: once per cohort, `written`: once per member) is logged
once, a moment after its first time: no log line per frame. Off (the default), a mark costs
one attribute check.
"""

import asyncio
import logging
import time

log = logging.getLogger("fisioflow.realtime.stages")

# How long after a stage's first mark for an event its last time is logged.
SETTLE_SECONDS = 1.0


class StageClock:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._times: dict[tuple[str, int], tuple[int, int]] = {}

    def mark(self, stage: str, position: int) -> None:
        if not self.enabled:
            return
        key, now = (stage, position), time.monotonic_ns()
        first = self._times.get(key, (now, now))[0]
        if first == now:
            asyncio.get_running_loop().call_later(SETTLE_SECONDS, self._log, key)
        self._times[key] = (first, now)

    def _log(self, key: tuple[str, int]) -> None:
        first, last = self._times.pop(key)
        log.info("realtime stage %s seq=%d first=%d last=%d", key[0], key[1], first, last)
