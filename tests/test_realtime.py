"""Subscriptions over real websockets against running `fisioflow serve` processes."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.exceptions import InvalidStatus

from graph.auth import issue_token
from graph.ids import to_global_id
from tests.conftest import JWT_SECRET
from tests.factories import (
    ClinicWorld,
    add_appointment,
    add_prescription,
    add_prontuario,
    library_exercise,
    make_clinic,
)
from tests.servers import Server, running_server
from tests.wsclient import LEGACY_WS, GraphQLWebSocket

APPOINTMENT_CHANGED = """subscription($physio: ID, $patient: ID) {
  appointmentChanged(physiotherapistId: $physio, patientId: $patient) {
    op appointment { id status patient { name } physiotherapist { name } }
  }
}"""
PAYMENT_CHANGED = "subscription { paymentChanged { op payment { id amount status } } }"
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id } }"""
CANCEL = """mutation($id: ID!) { cancelAppointment(input: {id: $id}) { id } }"""


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    with running_server(database_url, FISIOFLOW_MAX_SUBSCRIPTIONS_PER_CONNECTION="3") as s:
        yield s


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def _mutate(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


_slots = iter(range(1, 100_000))


async def _schedule(http: httpx.AsyncClient, world: ClinicWorld, patient_index: int = 0) -> str:
    """A new appointment (a fresh slot each call); its global id."""
    physio = world.physio.physiotherapist_id
    assert physio is not None
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2, hours=next(_slots))
    data = await _mutate(
        http,
        SCHEDULE,
        {
            "input": {
                "patientId": to_global_id("Patient", world.patient_ids[patient_index]),
                "physiotherapistId": to_global_id("Physiotherapist", physio),
                "startsAt": starts.isoformat(),
                "durationMinutes": 30,
                "type": "SESSION",
            }
        },
        world.token(world.receptionist),
    )
    appointment_id: str = data["scheduleAppointment"]["id"]
    return appointment_id


async def _subscribed(
    server: Server, token: str, query: str, variables: dict[str, Any] | None = None
) -> GraphQLWebSocket:
    ws = await GraphQLWebSocket.open(server.ws)
    assert (await ws.init(token))["type"] == "connection_ack"
    await ws.subscribe("1", query, variables)
    await asyncio.sleep(0.2)  # the server registers the subscriber
    return ws


async def test_events_reach_their_clinic_only(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    mine = await make_clinic(superuser, "Clínica Realtime A")
    theirs = await make_clinic(superuser, "Clínica Realtime B")
    watcher = await _subscribed(server, mine.token(mine.receptionist), APPOINTMENT_CHANGED)
    outsider = await _subscribed(server, theirs.token(theirs.admin), APPOINTMENT_CHANGED)

    appointment = await _schedule(http, mine)
    event = await watcher.next_data()
    assert event["data"]["appointmentChanged"] == {
        "op": "CREATED",
        "appointment": {
            "id": appointment,
            "status": "SCHEDULED",
            "patient": {
                "name": event["data"]["appointmentChanged"]["appointment"]["patient"]["name"]
            },
            "physiotherapist": {"name": "Ana Souza"},
        },
    }
    assert event["data"]["appointmentChanged"]["appointment"]["patient"]["name"].startswith(
        "Paciente 000"
    )
    await _mutate(http, CANCEL, {"id": appointment}, mine.token(mine.receptionist))
    cancelled = await watcher.next_data()
    assert cancelled["data"]["appointmentChanged"]["op"] == "UPDATED"
    assert cancelled["data"]["appointmentChanged"]["appointment"]["status"] == "CANCELLED"

    assert await outsider.silent_for(1.0)
    await watcher.close()
    await outsider.close()


async def test_patient_receives_only_own_events(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    patient = world.token(world.patient)
    own = await _subscribed(server, patient, APPOINTMENT_CHANGED)
    snooping = await _subscribed(
        server,
        patient,
        APPOINTMENT_CHANGED,
        {"patient": to_global_id("Patient", world.patient_ids[1])},
    )
    other = await _schedule(http, world, patient_index=1)
    mine = await _schedule(http, world, patient_index=0)
    event = await own.next_data()
    assert event["data"]["appointmentChanged"]["appointment"]["id"] == mine
    assert other != mine
    assert await own.silent_for(0.5)
    assert await snooping.silent_for(0.5)
    await own.close()
    await snooping.close()


async def test_roles_without_access_cannot_subscribe(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    ws = await _subscribed(server, world.token(world.physio), PAYMENT_CHANGED)
    message = await ws.receive()
    assert message["type"] in ("next", "error")
    payload = message["payload"]
    errors = payload["errors"] if message["type"] == "next" else payload
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    await ws.close()


EXECUTION_LOGGED = """subscription { exerciseExecutionLogged {
  id painLevel patient { name } prescription { id } } }"""
LOG = """mutation($input: LogExerciseExecutionInput!) {
  logExerciseExecution(input: $input) { id } }"""


async def test_clinical_events_reach_only_those_who_may_read_them(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    physio, other = world.physio.physiotherapist_id, world.other_physio.physiotherapist_id
    assert physio is not None and other is not None
    prescription = await add_prescription(
        superuser,
        world,
        world.patient_ids[0],
        physio,
        exercise_id=await library_exercise(superuser),
        starts_on=date.today() - timedelta(days=7),
    )
    treating = await _subscribed(server, world.token(world.physio), EXECUTION_LOGGED)
    not_treating = await _subscribed(server, world.token(world.other_physio), EXECUTION_LOGGED)
    reception = await _subscribed(server, world.token(world.receptionist), EXECUTION_LOGGED)
    refused = await reception.receive()
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    agenda_query = (
        "subscription { appointmentChanged { appointment { id prontuario { diagnosis } } } }"
    )
    front_desk = await _subscribed(server, world.token(world.receptionist), agenda_query)
    admin = await _subscribed(server, world.token(world.admin), agenda_query)

    logged = await _mutate(
        http,
        LOG,
        {
            "input": {
                "prescriptionId": to_global_id("ExercisePrescription", prescription),
                "setsDone": 3,
                "painLevel": 4,
            }
        },
        world.token(world.patient),
    )
    event = await treating.next_data()
    execution = event["data"]["exerciseExecutionLogged"]
    assert execution["id"] == logged["logExerciseExecution"]["id"]
    assert execution["painLevel"] == 4
    assert await not_treating.silent_for(0.7)

    async with superuser.transaction():
        appointment = await add_appointment(
            superuser, world, world.patient_ids[0], physio, datetime.now(UTC) - timedelta(hours=3)
        )
        await add_prontuario(
            superuser, world, world.patient_ids[0], physio, appointment_id=appointment
        )
    expected_id = to_global_id("Appointment", appointment)
    seen_by_front_desk = (await front_desk.next_data())["data"]["appointmentChanged"]
    seen_by_admin = (await admin.next_data())["data"]["appointmentChanged"]
    assert seen_by_front_desk["appointment"] == {"id": expected_id, "prontuario": None}
    assert seen_by_admin["appointment"]["id"] == expected_id
    assert seen_by_admin["appointment"]["prontuario"] is not None
    for ws in (treating, not_treating, reception, front_desk, admin):
        await ws.close()


async def test_listen_connection_comes_back_after_being_killed(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    watcher = await _subscribed(server, world.token(world.admin), APPOINTMENT_CHANGED)
    killed = await superuser.fetchval(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity"
        " where application_name = 'fisioflow-listener' and datname = current_database()"
    )
    assert killed >= 1
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        appointment = await _schedule(http, world)
        try:
            event = await watcher.next_data(within=1.5)
        except TimeoutError:
            assert asyncio.get_running_loop().time() < deadline, "no event after reconnecting"
            continue
        assert event["data"]["appointmentChanged"]["appointment"]["id"] == appointment
        break
    await watcher.close()


async def test_mutation_on_one_process_reaches_subscriber_on_another(
    server: Server, database_url: str, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    watcher = await _subscribed(server, world.token(world.receptionist), APPOINTMENT_CHANGED)
    with running_server(database_url) as other:
        async with httpx.AsyncClient(base_url=other.http) as other_http:
            appointment = await _schedule(other_http, world)
    event = await watcher.next_data()
    assert event["data"]["appointmentChanged"]["appointment"]["id"] == appointment
    await watcher.close()


async def test_protocol_close_codes(server: Server, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    early = await GraphQLWebSocket.open(server.ws)
    await early.subscribe("1", APPOINTMENT_CHANGED)
    assert await early.closed_with() == 4401

    forged = await GraphQLWebSocket.open(server.ws)
    await forged.send(
        {"type": "connection_init", "payload": {"Authorization": "Bearer not.a.token"}}
    )
    assert await forged.closed_with() == 4403

    anonymous = await GraphQLWebSocket.open(server.ws)
    await anonymous.send({"type": "connection_init", "payload": {}})
    assert await anonymous.closed_with() == 4403

    legacy = await GraphQLWebSocket.open(server.ws, protocol=LEGACY_WS)
    await legacy.send({"id": "1", "type": "start", "payload": {"query": APPOINTMENT_CHANGED}})
    assert await legacy.closed_with() == 4401

    legacy_ok = await GraphQLWebSocket.open(server.ws, protocol=LEGACY_WS)
    await legacy_ok.send(
        {
            "type": "connection_init",
            "payload": {"Authorization": f"Bearer {world.token(world.admin)}"},
        }
    )
    assert (await legacy_ok.receive())["type"] == "connection_ack"
    await legacy_ok.close()


async def test_queries_go_over_http(server: Server, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    ws = await _subscribed(server, world.token(world.admin), "{ me { email } }")
    message = await ws.receive()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    await ws.close()


async def test_subscriptions_per_connection_are_capped(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    ws = await GraphQLWebSocket.open(server.ws)
    await ws.init(world.token(world.admin))
    for n in range(3):
        await ws.subscribe(str(n), APPOINTMENT_CHANGED)
    await ws.subscribe("overflow", APPOINTMENT_CHANGED)
    refused = await ws.receive()
    assert refused["type"] == "error"
    assert refused["id"] == "overflow"
    await ws.close()


async def test_an_expiring_token_ends_the_connection(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = issue_token(world.admin, JWT_SECRET, 2)[0]
    ws = await _subscribed(server, token, APPOINTMENT_CHANGED)
    assert await ws.closed_with(within=8) == 4403


async def test_foreign_browser_origins_are_refused(server: Server) -> None:
    with pytest.raises(InvalidStatus):
        await GraphQLWebSocket.open(server.ws, origin="https://evil.example")


async def test_shutdown_closes_sockets_going_away(
    database_url: str, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    with running_server(database_url) as doomed:
        ws = await _subscribed(doomed, world.token(world.admin), APPOINTMENT_CHANGED)
        stopping = asyncio.get_running_loop().run_in_executor(None, doomed.stop)
        assert await ws.closed_with(within=20) == 1001
        await stopping


async def test_several_workers_serve_and_deliver(
    database_url: str, superuser: asyncpg.Connection
) -> None:
    """`--workers 2`: whichever worker takes a mutation, the subscriber's worker delivers it."""
    world = await make_clinic(superuser)
    with running_server(database_url, "--workers", "2") as workers:
        ws = await _subscribed(workers, world.token(world.admin), APPOINTMENT_CHANGED)
        created = []
        for _ in range(6):
            async with httpx.AsyncClient(base_url=workers.http) as fresh_connection:
                created.append(await _schedule(fresh_connection, world))
        received = [
            (await ws.next_data())["data"]["appointmentChanged"]["appointment"]["id"]
            for _ in created
        ]
        assert received == created
        await ws.close()


async def test_compliance_status_follows_checks(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    query = "subscription { complianceStatusChanged { overallScore recentChecks { checkType } } }"
    officer = await _subscribed(server, world.token(world.admin), query)
    front_desk = await _subscribed(server, world.token(world.receptionist), query)
    patient = await _subscribed(server, world.token(world.patient), query)
    refused = await patient.receive()
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"

    run = """mutation { runComplianceCheck(input: {framework: LGPD,
               checkType: "consent_coverage"}) { id } }"""
    await _mutate(http, run, {}, world.token(world.admin))
    for watcher in (officer, front_desk):
        status = (await watcher.next_data())["data"]["complianceStatusChanged"]
        assert {"checkType": "consent_coverage"} in status["recentChecks"]
        assert 0 <= status["overallScore"] <= 100
    for ws in (officer, front_desk, patient):
        await ws.close()
