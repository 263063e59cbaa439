"""Audit of clinical-record reads ("who opened which prontuário, when"), cheaply.

`await record_reads(info, "prontuarios", ids)` logs one audit row (operation 'SELECT') per
record the caller was shown, under the caller's identity. Calls made in the same event-loop
tick are batched, per request and table, into one statement (the SECURITY DEFINER function
`audit_record_reads(table, ids[])`, migration 0005): a nested list of prontuários across 50
patients costs one extra INSERT for the whole level, not one per patient. A record read twice
in a request is logged once.

The rows are written in the request's transaction, so they commit with it: a request that
ends in an error (and is rolled back) leaves no read trail, exactly as it leaves no writes.
"""

import uuid
from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Uuid

from graph.context import Info

_RECORD_READS = text("select audit_record_reads(:table_name, :ids)").bindparams(
    bindparam("ids", type_=ARRAY(Uuid()))
)


async def record_reads(info: Info, table: str, ids: Iterable[uuid.UUID | None]) -> None:
    """Log that the caller read these rows of `table` (e.g. "prontuarios")."""
    wanted = list(dict.fromkeys(i for i in ids if i is not None))
    if not wanted:
        return
    db = info.context.db

    async def write(batch: list[uuid.UUID]) -> list[None]:
        await db.fetch(_RECORD_READS, {"table_name": table, "ids": batch})
        return [None] * len(batch)

    await info.context.loaders.batch(("record_reads", table), write).load_many(wanted)
