"""Event cursors: opaque, round-trip to their position, and nothing else opens as one."""

import pytest

from graph.core.cursors import CursorCodec
from graph.core.errors import ApiError
from graph.realtime.positions import position_after, position_cursor

CODEC = CursorCodec.from_secret("positions-test-secret")


def test_a_cursor_opens_to_its_position() -> None:
    for seq in (0, 1, 2**40):
        cursor = position_cursor(CODEC, seq)
        assert cursor != str(seq) and len(cursor) >= 32
        assert position_after(CODEC, cursor) == seq


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        CODEC.encode("patients", ["Maria", "0c0ffee0-0000-0000-0000-000000000000"]),
        CODEC.encode("events", ["12"]),
        CODEC.encode("events", [-1]),
        CursorCodec.from_secret("another-server").encode("events", [5]),
    ],
)
def test_anything_else_is_bad_input_on_after(cursor: str) -> None:
    with pytest.raises(ApiError) as raised:
        position_after(CODEC, cursor)
    assert raised.value.extensions["code"] == "BAD_USER_INPUT"
    assert raised.value.extensions.get("field") == "after"
