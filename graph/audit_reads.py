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
import weakref
from collections.abc import Iterable

from aiodataloader import DataLoader
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Uuid

from graph.context import Info
from graph.session import RequestDb

_RECORD_READS = text("select audit_record_reads(:table_name, :ids)").bindparams(
    bindparam("ids", type_=ARRAY(Uuid()))
)

# Per request transaction: one batching loader per table. Weak keys: gone with the request.
_BATCHERS: "weakref.WeakKeyDictionary[RequestDb, dict[str, DataLoader[uuid.UUID, None]]]"
_BATCHERS = weakref.WeakKeyDictionary()


def _batcher(db: RequestDb, table: str) -> "DataLoader[uuid.UUID, None]":
    per_table = _BATCHERS.setdefault(db, {})
    loader = per_table.get(table)
    if loader is None:

        async def write(ids: list[uuid.UUID]) -> list[None]:
            await db.fetch(_RECORD_READS, {"table_name": table, "ids": ids})
            return [None] * len(ids)

        loader = per_table[table] = DataLoader(write)
    return loader


async def record_reads_in(db: RequestDb, table: str, ids: Iterable[uuid.UUID | None]) -> None:
    """Log that `db`'s identity read these rows of `table`."""
    wanted = list(dict.fromkeys(i for i in ids if i is not None))
    if wanted:
        await _batcher(db, table).load_many(wanted)


async def record_reads(info: Info, table: str, ids: Iterable[uuid.UUID | None]) -> None:
    """Log that the caller read these rows of `table` (e.g. "prontuarios")."""
    await record_reads_in(info.context.db, table, ids)
