"""A position in the event log as clients see it: the opaque `cursor` of every event a
subscription delivers, and the `after` a subscription resumes from.

The position is the event's `seq` (migration 0020: commit order), sealed like page cursors
(graph/core/cursors.py), so a client cannot tell one from the other or make one up.
"""

from graph.core.cursors import CursorCodec
from graph.core.errors import bad_input

KIND = "events"


def position_cursor(codec: CursorCodec, seq: int) -> str:
    return codec.encode(KIND, [seq])


def position_after(codec: CursorCodec, cursor: str, field: str = "after") -> int:
    """The `seq` a cursor of `position_cursor` holds; BAD_USER_INPUT on `field` otherwise (a
    page cursor included)."""
    values = codec.decode(cursor, field)
    if len(values) != 2 or values[0] != KIND or type(values[1]) is not int or values[1] < 0:
        raise bad_input(field, "Not a cursor of an event")
    return values[1]
