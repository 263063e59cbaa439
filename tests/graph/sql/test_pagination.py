"""Cursors through the API: opaque (no personal data), the same bytes on the resolvers, the
compiled path and the fast path, and refused as BAD_USER_INPUT on `after`/`before` when they
are not this server's cursor of this list, on every path, without a fault or a traceback."""

import base64
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from graph.core.cursors import CursorCodec
from tests.support.apps import JWT_SECRET, app_client
from tests.support.factories import ClinicWorld, add_appointment, make_clinic
from tests.support.graphql_client import error_codes, graphql

PATIENTS = """query($first: Int, $after: String, $last: Int, $before: String) {
  patients(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { startCursor endCursor }
    edges { cursor node { id name } }
  }
}"""

APPOINTMENTS = """query($after: String) {
  appointments(first: 2, after: $after) { edges { cursor node { id startsAt } } }
}"""

NESTED = """query($after: String) {
  patients(first: 1) { edges { node { name
    appointments(first: 2, after: $after) { edges { cursor node { id } } } } } }
}"""


def _raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _refused(body: dict[str, Any], field: str = "after") -> str:
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == field
    message: str = body["errors"][0]["message"]
    return message


async def _world(superuser: asyncpg.Connection) -> ClinicWorld:
    world = await make_clinic(superuser, "Clínica dos Cursores", patients_per_physio=3)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    for i in range(3):
        await add_appointment(
            superuser, world, world.patient_ids[0], physio, start + timedelta(hours=i)
        )
    return world


async def test_cursors_hold_no_name_and_match_on_every_path(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await _world(superuser)
    token = world.token(world.admin)
    # First through the normal path (compiled, checked against the resolvers' answer by the
    # differential client), then again: the fast path; the same bytes every time.
    first = await graphql(client, PATIENTS, {"first": 5}, token)
    again = await graphql(client, PATIENTS, {"first": 5}, token)
    assert again == first
    page = first["data"]["patients"]
    names = [edge["node"]["name"] for edge in page["edges"]]
    cursors = [edge["cursor"] for edge in page["edges"]]
    assert len(set(cursors)) == len(cursors) == 5
    assert page["pageInfo"]["startCursor"] == cursors[0]
    assert page["pageInfo"]["endCursor"] == cursors[-1]
    for cursor in cursors:
        raw = _raw(cursor)
        assert not any(name.encode() in raw for name in names)
        assert b"patients" not in raw
        with pytest.raises(ValueError):  # ciphertext, not the JSON plaintext
            json.loads(raw)
    following = await graphql(client, PATIENTS, {"first": 2, "after": cursors[1]}, token)
    assert [e["node"]["name"] for e in following["data"]["patients"]["edges"]] == names[2:4]
    backward = await graphql(client, PATIENTS, {"last": 1, "before": cursors[1]}, token)
    assert backward["data"]["patients"]["edges"][0]["cursor"] == cursors[0]


async def test_the_same_secret_gives_the_same_cursors_and_another_is_refused(
    database_url: str, client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await _world(superuser)
    token = world.token(world.admin)
    ours = await graphql(client, PATIENTS, {"first": 3}, token)
    async with app_client(database_url) as replica:  # no cursor secret: the JWT secret's
        assert await graphql(replica, PATIENTS, {"first": 3}, token) == ours
    explicit = "a separate cursor secret for replicas, " + uuid.uuid4().hex
    async with app_client(database_url, cursor_secret=explicit) as other:
        theirs = await graphql(other, PATIENTS, {"first": 3}, token)
        foreign = theirs["data"]["patients"]["pageInfo"]["endCursor"]
        assert foreign != ours["data"]["patients"]["pageInfo"]["endCursor"]
        assert "errors" not in await graphql(other, PATIENTS, {"after": foreign}, token)
    assert _refused(await graphql(client, PATIENTS, {"after": foreign}, token)) == (
        "Malformed cursor"
    )


async def test_forged_cursors_are_bad_input_on_every_path_and_logged_without_a_fault(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    world = await _world(superuser)
    token = world.token(world.admin)
    page = await graphql(client, PATIENTS, {"first": 3}, token)
    cursor = page["data"]["patients"]["edges"][1]["cursor"]
    raw = _raw(cursor)
    plain = json.dumps(["patients", "Paciente 000", str(uuid.uuid4())], separators=(", ", ": "))
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0x01
    forged = [
        _b64(bytes(flipped)),
        _b64(raw[:-1]),
        cursor[:-3],
        _b64(raw[:16]),
        _b64(plain.encode()),  # the old form, names in clear
        _b64(raw[16:] + raw[:16]),
        CursorCodec.from_secret("not this server's secret " + "z" * 20).encode(
            "patients", ["Paciente 000", uuid.uuid4()]
        ),
    ]
    appointments = await graphql(client, APPOINTMENTS, {}, token)
    appointment_cursor = appointments["data"]["appointments"]["edges"][0]["cursor"]
    with caplog.at_level(logging.INFO):
        for bad in forged:
            for _ in range(2):  # the normal path, then a repeat the fast path would serve
                body = await graphql(client, PATIENTS, {"first": 2, "after": bad}, token)
                assert _refused(body) == "Malformed cursor", bad
            body = await graphql(client, PATIENTS, {"last": 2, "before": bad}, token)
            assert _refused(body, "before") == "Malformed cursor"
            assert _refused(await graphql(client, NESTED, {"after": bad}, token))
        for _ in range(2):
            body = await graphql(client, PATIENTS, {"first": 2, "after": appointment_cursor}, token)
            assert _refused(body) == "Not a cursor of this list"
        nested = await graphql(client, NESTED, {"after": cursor}, token)
        assert _refused(nested) == "Not a cursor of this list"
    # What the server logs (its logging config drops strawberry's own error log): no fault.
    logged = [r for r in caplog.records if r.name != "strawberry.execution"]
    faults = [r for r in logged if r.exc_info or r.levelno >= logging.ERROR]
    assert not faults, [r.getMessage() for r in faults]


async def test_the_resolvers_alone_refuse_forged_cursors(
    database_url: str, superuser: asyncpg.Connection
) -> None:
    world = await _world(superuser)
    token = world.token(world.admin)
    async with app_client(database_url, compile_queries=False) as resolvers:
        page = await graphql(resolvers, PATIENTS, {"first": 2}, token)
        cursor = page["data"]["patients"]["pageInfo"]["endCursor"]
        raw = bytearray(_raw(cursor))
        raw[0] ^= 0x40
        body = await graphql(resolvers, PATIENTS, {"after": _b64(bytes(raw))}, token)
        assert _refused(body) == "Malformed cursor"
        assert "errors" not in await graphql(resolvers, PATIENTS, {"after": cursor}, token)
        assert CursorCodec.from_secret(JWT_SECRET).decode(cursor, "after")[0] == "patients"
