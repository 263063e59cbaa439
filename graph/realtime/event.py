"""One change as the realtime layer handles it: a row of the event log (migration 0020), read
from its NOTIFY payload or from the log itself."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class Event:
    """One change: which row of which table changed, how, and its position in the log."""

    seq: int
    table: str
    op: str
    id: uuid.UUID
    clinic_id: uuid.UUID

    @classmethod
    def parse(cls, raw: str) -> "Event":
        """From a notification: `seq`, `table`, `op`, `id`, `clinic_id` (and the row's refs,
        which the log keeps for whoever reads it at the SQL level)."""
        data = orjson.loads(raw)
        return cls(
            seq=int(data["seq"]),
            table=str(data["table"]),
            op=str(data["op"]),
            id=uuid.UUID(str(data["id"])),
            clinic_id=uuid.UUID(str(data["clinic_id"])),
        )

    @classmethod
    def of_log(cls, row: Mapping[Any, Any]) -> "Event":
        """From a row of the log (`seq, clinic_id, table_name, op, row_id`)."""
        return cls(
            seq=int(row["seq"]),
            table=str(row["table_name"]),
            op=str(row["op"]),
            id=uuid.UUID(str(row["row_id"])),
            clinic_id=uuid.UUID(str(row["clinic_id"])),
        )
