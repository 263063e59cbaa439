"""Stage timing of the realtime path (graph/realtime/stages.py, FISIOFLOW_REALTIME_STAGE_TIMING):
one line per event and stage, in the order the stages run, never one per frame; nothing when
off. Over real websockets (the app served by uvicorn in the test's process, so its log is
captured)."""

import asyncio
import logging
import re
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest
import websockets

from graph.core.identity import Role
from graph.core.ids import to_global_id
from graph.realtime.stages import SETTLE_SECONDS
from tests.support.apps import custom_app
from tests.support.factories import ClinicWorld, add_appointment, add_user, make_clinic
from tests.support.servers import serving

QUERY = "subscription { appointmentChanged { op appointment { id } } }"
STAGE = re.compile(r"realtime stage (\w+) seq=(\d+) first=(\d+) last=(\d+)")
ORDER = ["notified", "logins", "reread", "resolved", "written"]
_hours = iter(range(1, 100_000))


async def _subscribed(url: str, token: str, operation_id: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(orjson.dumps({"type": "connection_init", "payload": {"token": token}}).decode())
    assert orjson.loads(await ws.recv())["type"] == "connection_ack"
    subscribe = {"id": operation_id, "type": "subscribe", "payload": {"query": QUERY}}
    await ws.send(orjson.dumps(subscribe).decode())
    return ws


async def _event(conn: asyncpg.Connection, world: ClinicWorld) -> tuple[str, int]:
    """A new appointment, committed: its global id and its event's log position."""
    physio = world.physio.physiotherapist_id
    assert physio is not None
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(days=400, hours=next(_hours))
    async with conn.transaction():
        row = await add_appointment(conn, world, world.patient_ids[0], physio, starts)
    async with conn.transaction():  # the log's own readers' policy (migration 0020)
        await conn.execute("select set_config('fisioflow.definer', 'events', true)")
        seq = await conn.fetchval("select seq from events where row_id = $1", row)
    return to_global_id("Appointment", row), int(seq)


async def _received(ws: websockets.ClientConnection, appointment: str, within: float) -> None:
    async with asyncio.timeout(within):
        while True:
            message = orjson.loads(await ws.recv())
            data = message["payload"]["data"] if message["type"] == "next" else None
            if data and data["appointmentChanged"]["appointment"]["id"] == appointment:
                return


async def _all_listening(
    conn: asyncpg.Connection, world: ClinicWorld, sockets: list[websockets.ClientConnection]
) -> None:
    """Change appointments until every socket got one: then all subscriptions are registered."""
    for _ in range(20):
        appointment, _ = await _event(conn, world)
        try:
            for ws in sockets:
                await _received(ws, appointment, within=2)
            return
        except TimeoutError:
            continue
    raise AssertionError("a subscription never started")


def _lines(text: str, seq: int) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for stage, position, first, last in STAGE.findall(text):
        if int(position) == seq:
            assert stage not in found, f"{stage} logged twice for one event"
            found[stage] = (int(first), int(last))
    return found


@pytest.fixture
def stage_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="fisioflow.realtime.stages")
    return caplog


async def test_each_stage_is_logged_once_per_event_in_the_order_it_runs(
    database_url: str, superuser: asyncpg.Connection, stage_log: pytest.LogCaptureFixture
) -> None:
    """Three admins (one group): `written` is one line for the three frames, and no stage
    starts before the one that feeds it."""
    world = await make_clinic(superuser)
    admins = [world.admin]
    for _ in range(2):
        email = f"admin.{uuid.uuid4().hex[:8]}@t.dev"
        admins.append(await add_user(superuser, world.clinic_id, email, Role.ADMIN))
    async with (
        custom_app(database_url, realtime_stage_timing=True) as app,
        serving(app) as url,
        AsyncExitStack() as stack,
    ):
        sockets = []
        for n, admin in enumerate(admins):
            sockets.append(await _subscribed(url, world.token(admin), f"op-{n}"))
            stack.push_async_callback(sockets[-1].close)
        await _all_listening(superuser, world, sockets)
        appointment, seq = await _event(superuser, world)
        for ws in sockets:
            await _received(ws, appointment, within=10)
        for _ in range(100):  # logged a moment (SETTLE_SECONDS) after its first mark
            if "written" in (lines := _lines(stage_log.text, seq)):
                break
            await asyncio.sleep(0.1)

    assert sorted(lines) == sorted(ORDER)
    firsts = [lines[stage][0] for stage in ORDER]
    assert firsts == sorted(firsts)
    assert all(first <= last for first, last in lines.values())
    assert lines["written"][0] < lines["written"][1]  # three frames: a first and a last


async def test_nothing_is_logged_when_off(
    database_url: str, superuser: asyncpg.Connection, stage_log: pytest.LogCaptureFixture
) -> None:
    world = await make_clinic(superuser)
    async with custom_app(database_url) as app, serving(app) as url:
        ws = await _subscribed(url, world.token(world.admin), "1")
        await _all_listening(superuser, world, [ws])
        await asyncio.sleep(SETTLE_SECONDS * 2)  # when a line would have been logged
        await ws.close()
    assert "realtime stage" not in stage_log.text
