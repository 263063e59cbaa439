"""Fan-out groups (graph/realtime/groups.py, graph/http/fanout.py): subscribers of one cohort
running one operation share one execution per event, over real websockets.

The app is served by uvicorn in the test's process (tests/support/servers.serving), so the
SQL statements it sends can be counted while the third-party `websockets` client reads the
raw frames."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest
import websockets
from sqlalchemy import event
from starlette.applications import Starlette

from graph.core.identity import Identity, Role
from graph.core.ids import to_global_id
from tests.support.apps import custom_app
from tests.support.factories import (
    ClinicWorld,
    add_appointment,
    add_prontuario,
    add_user,
    make_clinic,
)
from tests.support.graphql_client import StatementCounter
from tests.support.servers import serving

AGENDA = """subscription { appointmentChanged { op appointment { id startsAt
  patient { name } physiotherapist { name } prontuario { id } } } }"""


@pytest.fixture(scope="module")
async def served(database_url: str) -> AsyncIterator[tuple[Starlette, str]]:
    async with custom_app(database_url) as app, serving(app) as url:
        yield app, url


@pytest.fixture
def statements(served: tuple[Starlette, str]) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    engine = served[0].state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


class Socket:
    """One graphql-transport-ws connection; the frames it received, kept until asked for."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.frames: list[tuple[str, dict[str, Any]]] = []

    @classmethod
    async def open(cls, url: str, token: str) -> "Socket":
        ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {token}"}
        await ws.send(orjson.dumps({"type": "connection_init", "payload": payload}).decode())
        assert orjson.loads(await ws.recv())["type"] == "connection_ack"
        return cls(ws)

    async def subscribe(self, operation_id: str, query: str = AGENDA) -> None:
        message = {"id": operation_id, "type": "subscribe", "payload": {"query": query}}
        await self.ws.send(orjson.dumps(message).decode())

    async def complete(self, operation_id: str) -> None:
        await self.ws.send(orjson.dumps({"id": operation_id, "type": "complete"}).decode())

    def _take(self, wanted: Any) -> tuple[str, dict[str, Any]] | None:
        for index, (raw, message) in enumerate(self.frames):
            if wanted(message):
                del self.frames[index]
                return raw, message
        return None

    async def frame(self, wanted: Any, within: float = 10) -> tuple[str, dict[str, Any]]:
        """The first frame (kept or new) that `wanted` accepts: its raw text and message."""
        async with asyncio.timeout(within):
            while (found := self._take(wanted)) is None:
                raw = str(await self.ws.recv())
                self.frames.append((raw, orjson.loads(raw)))
        return found

    async def event_of(
        self, operation_id: str, appointment: str, within: float = 10
    ) -> tuple[str, dict[str, Any]]:
        """The `next` frame of `operation_id` about `appointment` (a global id)."""

        def wanted(message: dict[str, Any]) -> bool:
            if message.get("id") != operation_id or message["type"] != "next":
                return False
            data = message["payload"].get("data") or {}
            return bool(data) and data["appointmentChanged"]["appointment"]["id"] == appointment

        return await self.frame(wanted, within)


_hours = iter(range(1, 100_000))


async def _appointment(
    conn: asyncpg.Connection, world: ClinicWorld, *, with_record: bool = False
) -> tuple[str, uuid.UUID]:
    """A new appointment (and, asked, its prontuário) committed at once: its global id, and
    the prontuário's id (or the appointment's, without one)."""
    physio = world.physio.physiotherapist_id
    assert physio is not None
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30, hours=next(_hours))
    async with conn.transaction():
        appointment = await add_appointment(conn, world, world.patient_ids[0], physio, starts)
        record = appointment
        if with_record:
            record = await add_prontuario(
                conn, world, world.patient_ids[0], physio, appointment_id=appointment
            )
    return to_global_id("Appointment", appointment), record


async def _listening(
    conn: asyncpg.Connection, world: ClinicWorld, subscribers: list[tuple[Socket, str]]
) -> None:
    """Change appointments until every subscriber got one: then all are registered."""
    for _ in range(20):
        appointment, _ = await _appointment(conn, world)
        try:
            for socket, operation_id in subscribers:
                await socket.event_of(operation_id, appointment, within=2)
            return
        except TimeoutError:
            continue
    raise AssertionError("a subscription never started")


async def _admins(conn: asyncpg.Connection, world: ClinicWorld, n: int) -> list[Identity]:
    """`n` admins of the clinic: one cohort."""
    more = [
        await add_user(conn, world.clinic_id, f"admin.{uuid.uuid4().hex[:8]}@t.dev", Role.ADMIN)
        for _ in range(n - 1)
    ]
    return [world.admin, *more]


async def _sockets(
    stack: AsyncExitStack, url: str, world: ClinicWorld, who: list[Identity]
) -> list[Socket]:
    sockets = []
    for identity in who:
        socket = await Socket.open(url, world.token(identity))
        stack.push_async_callback(socket.ws.close)
        sockets.append(socket)
    return sockets


async def test_a_group_costs_the_statements_of_one_subscriber(
    served: tuple[Starlette, str], superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    _, url = served
    world = await make_clinic(superuser)
    admins = await _admins(superuser, world, 6)
    async with AsyncExitStack() as stack:
        first, *others = await _sockets(stack, url, world, admins)
        await first.subscribe("1")
        await _listening(superuser, world, [(first, "1")])

        statements.reset()
        alone, _ = await _appointment(superuser, world, with_record=True)
        await first.event_of("1", alone)
        one = sorted(statements.statements)

        for socket in others:
            await socket.subscribe("1")
        everyone = [(socket, "1") for socket in [first, *others]]
        await _listening(superuser, world, everyone)
        statements.reset()
        together, _ = await _appointment(superuser, world, with_record=True)
        for socket, operation_id in everyone:
            await socket.event_of(operation_id, together)
        assert sorted(statements.statements) == one
        # the record is read once, and audited for the group's six members in one statement
        assert len([s for s in one if "audit_record_reads_for" in s]) == 1


async def test_members_get_the_same_text_framed_with_their_own_id(
    served: tuple[Starlette, str], superuser: asyncpg.Connection
) -> None:
    """Same cohort and operation: byte-identical frames but for the id. Another cohort (the
    front desk, which may not read prontuários) never gets the group's frame."""
    _, url = served
    world = await make_clinic(superuser)
    admins = await _admins(superuser, world, 2)
    async with AsyncExitStack() as stack:
        first, second, desk = await _sockets(stack, url, world, [*admins, world.receptionist])
        await first.subscribe("a")
        await second.subscribe("b")
        await desk.subscribe("a")
        await _listening(superuser, world, [(first, "a"), (second, "b"), (desk, "a")])
        appointment, record = await _appointment(superuser, world, with_record=True)
        raw_a, shown = await first.event_of("a", appointment)
        raw_b, _ = await second.event_of("b", appointment)
        raw_desk, seen_by_desk = await desk.event_of("a", appointment)

    assert raw_a.startswith('{"id":"a","type":"next","payload":')
    assert raw_b == raw_a.replace('{"id":"a"', '{"id":"b"', 1)
    prontuario = {"id": to_global_id("Prontuario", record)}
    assert shown["payload"]["data"]["appointmentChanged"]["appointment"]["prontuario"] == prontuario
    assert (
        seen_by_desk["payload"]["data"]["appointmentChanged"]["appointment"]["prontuario"] is None
    )
    assert raw_desk != raw_a


async def test_each_receiving_member_has_its_read_recorded_before_the_frame(
    served: tuple[Starlette, str], superuser: asyncpg.Connection
) -> None:
    _, url = served
    world = await make_clinic(superuser)
    admins = await _admins(superuser, world, 3)
    async with AsyncExitStack() as stack:
        sockets = await _sockets(stack, url, world, admins)
        for socket in sockets:
            await socket.subscribe("s")
        await _listening(superuser, world, [(socket, "s") for socket in sockets])
        appointment, record = await _appointment(superuser, world, with_record=True)
        for socket in sockets:
            await socket.event_of("s", appointment)
            # already committed: the client holds the frame
        readers = await superuser.fetch(
            "select actor_id, actor_role from audit_log where operation = 'SELECT'"
            " and table_name = 'prontuarios' and record_id = $1",
            record,
        )
    assert sorted((r["actor_id"], r["actor_role"]) for r in readers) == sorted(
        (admin.user_id, "admin") for admin in admins
    )


async def test_a_member_that_leaves_stops_receiving_and_the_others_go_on(
    served: tuple[Starlette, str], superuser: asyncpg.Connection
) -> None:
    """Completed by the client, or its socket closed: the rest of the group is served."""
    app, url = served
    world = await make_clinic(superuser)
    admins = await _admins(superuser, world, 3)
    broker = app.state.broker
    async with AsyncExitStack() as stack:
        shared, staying, leaving = await _sockets(stack, url, world, admins)
        await shared.subscribe("done")
        await shared.subscribe("on")
        await staying.subscribe("x")
        await leaving.subscribe("x")
        subscribers = [(shared, "done"), (shared, "on"), (staying, "x"), (leaving, "x")]
        await _listening(superuser, world, subscribers)
        before = broker.subscriber_count

        await shared.complete("done")
        await leaving.ws.close()
        first, _ = await _appointment(superuser, world)
        await shared.event_of("on", first)
        await staying.event_of("x", first)
        second, _ = await _appointment(superuser, world)
        await shared.event_of("on", second)
        await staying.event_of("x", second)
        assert not [frame for frame in shared.frames if frame[1].get("id") == "done"]
        assert broker.subscriber_count == before - 2


async def test_a_member_ended_mid_stream_is_told_and_its_group_goes_on(
    served: tuple[Starlette, str], superuser: asyncpg.Connection
) -> None:
    """The group's first member (whose identity its source read as) is deactivated: it gets
    UNAUTHENTICATED and `complete`; the others keep receiving, read as one of them."""
    _, url = served
    world = await make_clinic(superuser)
    admins = await _admins(superuser, world, 2)
    async with AsyncExitStack() as stack:
        founder, other = await _sockets(stack, url, world, admins)
        await founder.subscribe("1")
        await _listening(superuser, world, [(founder, "1")])
        await other.subscribe("1")
        await _listening(superuser, world, [(founder, "1"), (other, "1")])

        await superuser.execute("update users set active = false where id = $1", admins[0].user_id)
        _, told = await founder.frame(lambda m: m["type"] == "next" and "errors" in m["payload"])
        assert told["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        await founder.frame(lambda m: m["type"] == "complete" and m["id"] == "1")
        appointment, record = await _appointment(superuser, world, with_record=True)
        _, shown = await other.event_of("1", appointment)
        assert shown["payload"]["data"]["appointmentChanged"]["appointment"]["prontuario"] == {
            "id": to_global_id("Prontuario", record)
        }
