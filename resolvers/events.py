"""What the areas' subscriptions share: the kind of change, filters on the re-read row, and
the position every delivered event carries (`cursor`) and every subscription resumes from
(`after`).

Each event is re-read under the subscriber's own identity (graph/realtime/broker.py). A
subscription field takes `after: After = None`, passes it to `info.context.events(topic,
matches, after=after)` and gives each event it yields `event_cursor(info, event)`; with
`after`, the events since that position the subscriber may see come first, as their rows are
now (graph/realtime/replay.py), then live ones.
"""

import enum
import uuid
from typing import Annotated, Any

import strawberry

from graph.api.context import Info
from graph.core.ids import parse_uuid_id
from graph.realtime.event import Event
from graph.realtime.positions import position_cursor

CURSOR_DESCRIPTION = (
    "The event's position: pass it as `after` to resubscribe from here (no gap, no duplicate)."
)
OPTIONAL_CURSOR_DESCRIPTION = (
    "The event's position when delivered by a subscription (pass it as `after` to resubscribe"
    " from here); null when read by a query."
)

After = Annotated[
    str | None,
    strawberry.argument(
        description=(
            "Resume after this event's `cursor`: first the events since then that you may see"
            " (their rows as they are now), then live ones. CURSOR_EXPIRED when the events"
            " after it are no longer kept (refetch instead)."
        )
    ),
]


@strawberry.enum
class ChangeOp(enum.Enum):
    CREATED = "INSERT"
    UPDATED = "UPDATE"
    DELETED = "DELETE"


def event_cursor(info: Info, event: Event) -> str:
    """The `cursor` of a delivered event: its position in the log, sealed."""
    return position_cursor(info.context.cursors, event.seq)


def optional_cursor(info: Info, seq: int | None) -> str | None:
    """The `cursor` of a type that a query reads too: null but when a subscription set it."""
    return None if seq is None else position_cursor(info.context.cursors, seq)


def optional_id(value: strawberry.ID | None, type_name: str, field: str) -> uuid.UUID | None:
    return parse_uuid_id(value, type_name, field=field) if value else None


def row_matches(**wanted: uuid.UUID | None) -> Any:
    """An event filter: every given column of the re-read row equals the wanted id."""
    required = {column: value for column, value in wanted.items() if value is not None}

    def matches(event: Event, row: Any) -> bool:
        return all(row[column] == value for column, value in required.items())

    return matches
