"""Opaque cursors: sealed and opened by graph/core/cursors.py, sealed identically in SQL by
`gql_cursor` (migration 0010), refused when tampered with, cut, made with another key or in
the old plain form."""

import base64
import datetime
import json
import uuid

import asyncpg
import pytest

from graph.core.cursors import CursorCodec
from graph.core.errors import ApiError
from graph.core.settings import Settings

CODEC = CursorCodec.from_secret("a cursor secret for these tests, " + "k" * 20)
ROW_ID = uuid.UUID("6f1c9d3e-8a52-4f0b-9a77-1e2d3c4b5a69")
WHEN = datetime.datetime(2026, 11, 28, 13, 5, 7, 123456, tzinfo=datetime.UTC)


def _raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def _refused(codec: CursorCodec, cursor: str) -> None:
    with pytest.raises(ApiError) as refusal:
        codec.decode(cursor, "after")
    assert refusal.value.extensions == {"code": "BAD_USER_INPUT", "field": "after"}
    assert str(refusal.value) == "Malformed cursor"


def test_a_cursor_opens_to_its_kind_and_sort_key() -> None:
    key = ["Maria José da Conceição", WHEN, datetime.date(1990, 5, 17), ROW_ID, 7, None]
    cursor = CODEC.encode("patients", key)
    assert CODEC.decode(cursor, "after") == (
        "patients",
        "Maria José da Conceição",
        1795871107123456,
        "1990-05-17",
        str(ROW_ID),
        7,
        None,
    )


def test_a_cursor_shows_nothing_of_its_row() -> None:
    cursor = CODEC.encode("patients", ["Maria da Silva", ROW_ID])
    raw = _raw(cursor)
    for clear in (b"Maria", b"patients", str(ROW_ID).encode(), b'["'):
        assert clear not in raw
    assert "Maria" not in cursor and set(cursor) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_the_same_row_has_the_same_cursor_and_rows_share_no_prefix() -> None:
    first = CODEC.encode("patients", ["Maria", ROW_ID])
    assert CODEC.encode("patients", ["Maria", ROW_ID]) == first
    again = CursorCodec.from_secret("a cursor secret for these tests, " + "k" * 20)
    assert again.encode("patients", ["Maria", ROW_ID]) == first  # another replica, same secret
    neighbour = CODEC.encode("patients", ["Mariana", ROW_ID])
    assert _raw(first)[:4] != _raw(neighbour)[:4]


def test_lengths_show_no_more_than_a_block() -> None:
    sizes = {len(_raw(CODEC.encode("patients", ["x" * n, ROW_ID]))) for n in range(1, 16)}
    assert len(sizes) <= 2  # 15 names of different lengths, at most two sizes (one boundary)
    assert all((size - 16) % 16 == 0 for size in sizes)


def test_a_tampered_cursor_is_malformed() -> None:
    cursor = CODEC.encode("appointments", [WHEN, ROW_ID])
    raw = _raw(cursor)
    for position in range(len(raw)):
        for bit in (0x01, 0x80):
            flipped = bytearray(raw)
            flipped[position] ^= bit
            _refused(CODEC, base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip("="))


def test_a_cut_or_lengthened_cursor_is_malformed() -> None:
    cursor = CODEC.encode("patients", ["Maria", ROW_ID])
    for size in range(len(cursor)):
        _refused(CODEC, cursor[:size])
    for extra in ("A", "AAAA", cursor[:22], "=", "==", " ", "\x00", "é"):
        _refused(CODEC, cursor + extra)
    raw = _raw(cursor)
    for cut in (raw[:-16], raw[16:], raw + raw[-16:], raw[:16] + raw[32:]):
        _refused(CODEC, base64.urlsafe_b64encode(cut).decode().rstrip("="))


def test_a_cursor_of_another_key_or_the_old_plain_form_is_malformed() -> None:
    other = CursorCodec.from_secret("another server's cursor secret, " + "o" * 20)
    _refused(CODEC, other.encode("patients", ["Maria", ROW_ID]))
    plain = json.dumps(["patients", "Maria", str(ROW_ID)], separators=(", ", ": "))
    _refused(CODEC, base64.urlsafe_b64encode(plain.encode()).decode().rstrip("="))
    # padded to a multiple of 16 bytes, as a sealed cursor is: still no tag that verifies
    padded = (plain + " " * (-(len(plain) + 16) % 16)).encode()
    _refused(CODEC, base64.urlsafe_b64encode(b"\0" * 16 + padded).decode().rstrip("="))


def test_a_sealed_value_that_is_no_sort_key_is_malformed() -> None:
    for text in ("not json", '{"a": 1}', "[[1]]", '["patients", {"x": 1}]', "7"):
        _refused(CODEC, CODEC.seal(text.encode()))


def test_the_cursor_secret_defaults_to_the_jwt_secret_and_production_refuses_a_weak_one() -> None:
    strong = "Zq3" + "".join(chr(ord("a") + i % 26) + str(i % 10) for i in range(20))
    settings = Settings(jwt_secret=strong)
    assert settings.resolved_cursor_secret() == strong
    assert Settings(jwt_secret=strong, cursor_secret="own").resolved_cursor_secret() == "own"
    for weak in ("short", "x" * 64, "changeme" * 5):
        production = Settings(env="production", jwt_secret=strong, cursor_secret=weak)
        with pytest.raises(RuntimeError, match="FISIOFLOW_CURSOR_SECRET"):
            production.resolved_cursor_secret()
    own = Settings(env="production", jwt_secret=strong, cursor_secret=strong[::-1])
    assert own.resolved_cursor_secret() == strong[::-1]


PAYLOADS = [
    '["patients", "Maria", "6f1c9d3e-8a52-4f0b-9a77-1e2d3c4b5a69"]',
    '["appointments", 1795871107123456, "6f1c9d3e-8a52-4f0b-9a77-1e2d3c4b5a69"]',
    '["patients", "Zoë Ñandú 山田 🙂", null]',
    *("x" * n for n in range(1, 140)),
    "é" * 300,
]


async def test_postgresql_seals_as_python_does(superuser: asyncpg.Connection) -> None:
    sealed = await superuser.fetch(
        "select p, gql_cursor(p, decode($2, 'hex')) as cursor from unnest($1::text[]) p",
        PAYLOADS,
        CODEC.sql_keys,
    )
    for row in sealed:
        assert row["cursor"] == CODEC.seal(row["p"].encode()), row["p"]
        opened = CODEC.open(row["cursor"])
        assert opened is not None and opened.rstrip(b" ") == row["p"].encode()
    values = ["patients", 'Zoë d\'Ávila "Ju" \\ 山田', None, 12, WHEN, ROW_ID]
    in_sql = await superuser.fetchval(
        "select gql_cursor(json_build_array($1::text, $2::text, null::text, $3::int,"
        " gql_cursor_value($4), $5::uuid)::text, decode($6, 'hex'))",
        *values[:2],
        values[3],
        WHEN,
        ROW_ID,
        CODEC.sql_keys,
    )
    assert in_sql == CODEC.encode("patients", values[1:])
