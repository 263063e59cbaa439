"""What the areas' subscriptions share: the kind of change, and filters on the re-read row.

Each event is re-read under the subscriber's own identity (graph/realtime/broker.py).
"""

import enum
import uuid
from typing import Any

import strawberry

from graph.core.ids import parse_uuid_id
from graph.realtime.broker import Event


@strawberry.enum
class ChangeOp(enum.Enum):
    CREATED = "INSERT"
    UPDATED = "UPDATE"
    DELETED = "DELETE"


def optional_id(value: strawberry.ID | None, type_name: str, field: str) -> uuid.UUID | None:
    return parse_uuid_id(value, type_name, field=field) if value else None


def row_matches(**wanted: uuid.UUID | None) -> Any:
    """An event filter: every given column of the re-read row equals the wanted id."""
    required = {column: value for column, value in wanted.items() if value is not None}

    def matches(event: Event, row: Any) -> bool:
        return all(row[column] == value for column, value in required.items())

    return matches
