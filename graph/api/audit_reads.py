"""Audit of clinical-record reads ("who opened which prontuário, when"), cheaply and surely.

`await record_reads(info, "prontuarios", ids)` logs one audit row (operation 'SELECT') per
record the caller is shown, under the caller's identity. Calls made in the same event-loop
tick are batched, per request and table, into one statement (the SECURITY DEFINER function
`audit_record_reads(table, ids[])`, migration 0005): a nested list of prontuários across 50
patients costs one extra INSERT for the whole level, not one per patient. A record read twice
in a request is logged once.

The rows survive whatever else the response holds: they are written in the open transaction,
and if that transaction does not commit (an error elsewhere in the response, a failed sibling
of a batch, an aborted transaction), graph/sql/session.RequestDb writes them again at once in a
short transaction of their own under the same identity, before the response is sent. In a
subscription event they are committed at once, before the event is delivered.
"""

import uuid
from collections.abc import Iterable

from graph.api.context import Info


async def record_reads(info: Info, table: str, ids: Iterable[uuid.UUID | None]) -> None:
    """Log that the caller read these rows of `table` (e.g. "prontuarios")."""
    wanted = list(dict.fromkeys(i for i in ids if i is not None))
    if not wanted:
        return
    db = info.context.db

    async def write(batch: list[uuid.UUID]) -> list[None]:
        await db.record_reads(table, batch)
        return [None] * len(batch)

    await info.context.loaders.batch(("record_reads", table), write).load_many(wanted)
