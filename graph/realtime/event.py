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
    payload: dict[str, Any]

    @classmethod
    def parse(cls, raw: str) -> "Event":
        """From a notification: the row's refs with `seq`, `table`, `op`, `id`, `clinic_id`."""
        data = orjson.loads(raw)
        return cls(
            seq=int(data["seq"]),
            table=str(data["table"]),
            op=str(data["op"]),
            id=uuid.UUID(str(data["id"])),
            clinic_id=uuid.UUID(str(data["clinic_id"])),
            payload=data,
        )

    @classmethod
    def of_log(cls, row: Mapping[Any, Any]) -> "Event":
        """From a row of the log (`seq, clinic_id, table_name, op, row_id, refs` as text)."""
        return cls(
            seq=int(row["seq"]),
            table=str(row["table_name"]),
            op=str(row["op"]),
            id=uuid.UUID(str(row["row_id"])),
            clinic_id=uuid.UUID(str(row["clinic_id"])),
            payload=orjson.loads(row["refs"]),
        )
