"""Every read of a clinical record leaves a trail, whatever else the response holds
(graph/api/audit_reads.py, graph/sql/session.RequestDb)."""

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import websockets

from graph.core.ids import to_global_id
from tests.support.factories import ClinicWorld, add_appointment, add_prontuario, make_clinic
from tests.support.graphql_client import StatementCounter, error_codes, graphql
from tests.support.servers import Server, running_server

# A nullable field that fails: the rest of the response is still shown.
FAILING_FIELD = "me { physiotherapist { patients(first: 101) { totalCount } } }"


async def read_audits(
    conn: asyncpg.Connection, records: list[uuid.UUID], actor: uuid.UUID
) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "select record_id from audit_log where operation = 'SELECT'"
        " and record_id = any($1::uuid[]) and actor_id = $2",
        records,
        actor,
    )
    return sorted(row["record_id"] for row in rows)


async def records_of(conn: asyncpg.Connection, world: ClinicWorld, n: int) -> list[uuid.UUID]:
    physio = world.physio.physiotherapist_id
    assert physio is not None
    return [await add_prontuario(conn, world, patient, physio) for patient in world.patient_ids[:n]]


async def test_reads_beside_a_failing_field_are_recorded(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    """The response has an error, so its transaction rolls back; the audit rows it took along
    are written again at once in a short transaction of their own (one statement more)."""
    world = await make_clinic(superuser)
    records = await records_of(superuser, world, 3)
    statements.reset()
    body = await graphql(
        client,
        "{ patients(first: 10) { edges { node { prontuarios { edges { node { id } } } } } }"
        f" {FAILING_FIELD} }}",
        token=world.token(world.physio),
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    shown = [
        e["node"]["id"]
        for patient in body["data"]["patients"]["edges"]
        for e in patient["node"]["prontuarios"]["edges"]
    ]
    assert sorted(shown) == sorted(to_global_id("Prontuario", r) for r in records)
    assert len([s for s in statements.statements if "audit_record_reads" in s]) == 2
    assert await read_audits(superuser, records, world.physio.user_id) == sorted(records)


async def test_reads_of_a_batch_operation_are_recorded_whatever_its_sibling_does(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    [record] = await records_of(superuser, world, 1)
    query = "query($id: ID!) { node(id: $id) { ... on Prontuario { id } } }"
    variables = {"id": to_global_id("Prontuario", record)}
    response = await client.post(
        "/graphql",
        json=[{"query": query, "variables": variables}, {"query": f"{{ {FAILING_FIELD} }}"}],
        headers={"Authorization": f"Bearer {world.token(world.physio)}"},
    )
    shown, failed = response.json()
    assert shown["data"]["node"] == {"id": to_global_id("Prontuario", record)}
    assert error_codes(failed) == ["BAD_USER_INPUT"]
    assert await read_audits(superuser, [record], world.physio.user_id) == [record]


EXPORT = """mutation($input: ExportPatientDataInput!) { exportPatientData(input: $input) {
  data patient { physiotherapist { patients(first: 101) { totalCount } } } } }"""


async def test_an_export_with_a_failing_nested_field_is_recorded(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    [record] = await records_of(superuser, world, 1)
    patient = world.patient_ids[0]
    body = await graphql(
        client,
        EXPORT,
        {"input": {"patientId": to_global_id("Patient", patient)}},
        world.token(world.admin),
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    document = body["data"]["exportPatientData"]["data"]
    assert [r["id"] for r in document["prontuarios"]] == [to_global_id("Prontuario", record)]
    assert await read_audits(superuser, [record, patient], world.admin.user_id) == sorted(
        [record, patient]
    )


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    with running_server(database_url) as s:
        yield s


async def _receive(ws: websockets.ClientConnection, within: float = 10) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), within))
    return message


async def _until_subscribed(
    ws: websockets.ClientConnection, conn: asyncpg.Connection, world: ClinicWorld
) -> None:
    """Change appointments until an event arrives: then the subscription is registered."""
    physio = world.other_physio.physiotherapist_id
    assert physio is not None
    for hour in range(1, 40):
        starts_at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        await add_appointment(
            conn, world, world.patient_ids[-1], physio, starts_at + timedelta(hours=hour)
        )
        try:
            await _receive(ws, within=0.5)
            return
        except TimeoutError:
            continue
    raise AssertionError("no event arrived")


async def test_a_prontuario_in_a_subscription_event_is_recorded_for_its_subscriber(
    server: Server, superuser: asyncpg.Connection
) -> None:
    """Recorded before the event is sent: by the time the client holds it, the row is there."""
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    query = "subscription { appointmentChanged { appointment { id prontuario { id } } } }"
    async with websockets.connect(server.ws, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {world.token(world.admin)}"}
        await ws.send(orjson.dumps({"type": "connection_init", "payload": payload}).decode())
        assert (await _receive(ws))["type"] == "connection_ack"
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": query}}
        await ws.send(orjson.dumps(subscribe).decode())
        await _until_subscribed(ws, superuser, world)
        async with superuser.transaction():
            appointment = await add_appointment(
                superuser,
                world,
                world.patient_ids[0],
                physio,
                datetime.now(UTC) - timedelta(hours=2),
            )
            record = await add_prontuario(
                superuser, world, world.patient_ids[0], physio, appointment_id=appointment
            )
        expected = to_global_id("Appointment", appointment)
        while True:
            event = await _receive(ws)
            assert event["type"] == "next", event
            shown = event["payload"]["data"]["appointmentChanged"]["appointment"]
            if shown["id"] == expected:
                break
        assert shown["prontuario"] == {"id": to_global_id("Prontuario", record)}
        assert await read_audits(superuser, [record], world.admin.user_id) == [record]
