"""Subscriptions against running `fisioflow serve` processes, through third-party clients: Python
`gql` for both protocols (tests/support/subscribers.py), the `websockets` library for
raw-protocol checks (close codes before connection_init, binary frames), npm `graphql-ws` in
test_js_clients.py."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from gql.transport.exceptions import TransportError, TransportServerError
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websockets_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from graph.core.ids import to_global_id
from graph.security.auth import issue_token
from tests.support.apps import JWT_SECRET
from tests.support.factories import (
    ClinicWorld,
    add_appointment,
    add_prescription,
    add_prontuario,
    library_exercise,
    make_clinic,
    session_booking,
)
from tests.support.servers import Server, running_server
from tests.support.subscribers import (
    LEGACY_WS,
    TRANSPORT_WS,
    Connection,
    Subscription,
    close_code,
    close_test_connections,
    closed_at_test_end,
    subscribed_for_test,
)

pytestmark = pytest.mark.usefixtures("close_connections")

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
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2, hours=next(_slots))
    data = await _mutate(
        http,
        SCHEDULE,
        {"input": session_booking(world, starts, patient_index)},
        world.token(world.receptionist),
    )
    appointment_id: str = data["scheduleAppointment"]["id"]
    return appointment_id


async def test_events_reach_their_clinic_only(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    mine = await make_clinic(superuser, "Clínica Realtime A")
    theirs = await make_clinic(superuser, "Clínica Realtime B")
    watcher = await subscribed_for_test(
        server.ws, mine.token(mine.receptionist), APPOINTMENT_CHANGED
    )
    outsider = await subscribed_for_test(server.ws, theirs.token(theirs.admin), APPOINTMENT_CHANGED)

    appointment = await _schedule(http, mine)
    event = (await watcher.data())["appointmentChanged"]
    assert event == {
        "op": "CREATED",
        "appointment": {
            "id": appointment,
            "status": "SCHEDULED",
            "patient": {"name": event["appointment"]["patient"]["name"]},
            "physiotherapist": {"name": "Ana Souza"},
        },
    }
    assert event["appointment"]["patient"]["name"].startswith("Paciente 000")
    await _mutate(http, CANCEL, {"id": appointment}, mine.token(mine.receptionist))
    cancelled = (await watcher.data())["appointmentChanged"]
    assert cancelled["op"] == "UPDATED"
    assert cancelled["appointment"]["status"] == "CANCELLED"

    assert await outsider.silent_for(1.0)


async def test_legacy_protocol_delivers_events_too(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """gql over the legacy graphql-ws ("apollo") protocol: text frames, `data` messages."""
    world = await make_clinic(superuser)
    connection = await Connection.open(server.ws, world.token(world.admin), LEGACY_WS)
    closed_at_test_end(connection)
    assert connection.subprotocol == "graphql-ws"
    watcher = await connection.subscribe(APPOINTMENT_CHANGED)
    appointment = await _schedule(http, world)
    event = (await watcher.data())["appointmentChanged"]
    assert (event["op"], event["appointment"]["id"]) == ("CREATED", appointment)


async def test_patient_receives_only_own_events(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    patient = world.token(world.patient)
    own = await subscribed_for_test(server.ws, patient, APPOINTMENT_CHANGED)
    snooping = await subscribed_for_test(
        server.ws,
        patient,
        APPOINTMENT_CHANGED,
        {"patient": to_global_id("Patient", world.patient_ids[1])},
    )
    other = await _schedule(http, world, patient_index=1)
    mine = await _schedule(http, world, patient_index=0)
    event = await own.data()
    assert event["appointmentChanged"]["appointment"]["id"] == mine
    assert other != mine
    assert await own.silent_for(0.5)
    assert await snooping.silent_for(0.5)


async def test_roles_without_access_cannot_subscribe(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    refused = await subscribed_for_test(server.ws, world.token(world.physio), PAYMENT_CHANGED)
    assert (await refused.errors())[0]["extensions"]["code"] == "FORBIDDEN"


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
    treating = await subscribed_for_test(server.ws, world.token(world.physio), EXECUTION_LOGGED)
    not_treating = await subscribed_for_test(
        server.ws, world.token(world.other_physio), EXECUTION_LOGGED
    )
    reception = await subscribed_for_test(
        server.ws, world.token(world.receptionist), EXECUTION_LOGGED
    )
    assert (await reception.errors())[0]["extensions"]["code"] == "FORBIDDEN"
    agenda_query = (
        "subscription { appointmentChanged { appointment { id prontuario { diagnosis } } } }"
    )
    front_desk = await subscribed_for_test(server.ws, world.token(world.receptionist), agenda_query)
    admin = await subscribed_for_test(server.ws, world.token(world.admin), agenda_query)

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
    execution = (await treating.data())["exerciseExecutionLogged"]
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
    seen_by_front_desk = (await front_desk.data())["appointmentChanged"]
    seen_by_admin = (await admin.data())["appointmentChanged"]
    assert seen_by_front_desk["appointment"] == {"id": expected_id, "prontuario": None}
    assert seen_by_admin["appointment"]["id"] == expected_id
    assert seen_by_admin["appointment"]["prontuario"] is not None


async def test_listen_connection_comes_back_after_being_killed(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    watcher = await subscribed_for_test(server.ws, world.token(world.admin), APPOINTMENT_CHANGED)
    killed = await superuser.fetchval(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity"
        " where application_name = 'fisioflow-listener' and datname = current_database()"
    )
    assert killed >= 1
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        appointment = await _schedule(http, world)
        try:
            event = await watcher.data(within=1.5)
        except TimeoutError:
            assert asyncio.get_running_loop().time() < deadline, "no event after reconnecting"
            continue
        assert event["appointmentChanged"]["appointment"]["id"] == appointment
        break


async def test_mutation_on_one_process_reaches_subscriber_on_another(
    server: Server, database_url: str, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    watcher = await subscribed_for_test(
        server.ws, world.token(world.receptionist), APPOINTMENT_CHANGED
    )
    with running_server(database_url) as other:
        async with httpx.AsyncClient(base_url=other.http) as other_http:
            appointment = await _schedule(other_http, world)
    event = await watcher.data()
    assert event["appointmentChanged"]["appointment"]["id"] == appointment


async def _refused_with(
    server: Server, token: str | None, protocol: str = TRANSPORT_WS
) -> BaseException:
    """What gql raises when the server will not acknowledge its connection_init."""
    with pytest.raises(TransportError) as refused:
        await Connection.open(server.ws, token, protocol)
    return refused.value


async def test_refused_tokens_close_with_4403(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    assert close_code(await _refused_with(server, "not.a.token")) == 4403
    assert close_code(await _refused_with(server, None)) == 4403
    claims = {"sub": str(world.admin.user_id), "exp": int(time.time()) + 600}
    forged = jwt.encode(claims, "a-key-of-32-bytes-that-is-not-the-servers")
    assert close_code(await _refused_with(server, forged)) == 4403
    # The legacy protocol answers connection_error with the reason, as its clients expect.
    legacy = await _refused_with(server, "not.a.token", LEGACY_WS)
    assert isinstance(legacy, TransportServerError)


async def test_deactivated_and_anonymized_logins_are_refused_at_connection_init(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """A valid, unexpired token of a login that may no longer act gets no connection_ack."""
    world = await make_clinic(superuser)
    receptionist = world.token(world.receptionist)
    patient = world.token(world.patient)
    before = await Connection.open(server.ws, receptionist)
    await before.close()

    await superuser.execute(
        "update users set active = false where id = $1", world.receptionist.user_id
    )
    assert close_code(await _refused_with(server, receptionist)) == 4403
    assert isinstance(await _refused_with(server, receptionist, LEGACY_WS), TransportServerError)

    anonymize = """mutation($input: AnonymizePatientInput!) {
      anonymizePatient(input: $input) { anonymizedAt } }"""
    patient_id = to_global_id("Patient", world.patient_ids[0])
    await _mutate(http, anonymize, {"input": {"patientId": patient_id}}, world.token(world.admin))
    assert close_code(await _refused_with(server, patient)) == 4403

    # The raw protocol, as any other client meets it: no ack, close 4403 after connection_init.
    async with websockets_connect(server.ws, subprotocols=[Subprotocol(TRANSPORT_WS)]) as raw:
        await raw.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {patient}"}}
            )
        )
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(raw.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def _raw_closed_with(connection: ClientConnection, message: dict[str, Any]) -> int | None:
    """Send one message; the close code that follows (a reply instead fails the test)."""
    await connection.send(json.dumps(message))
    with pytest.raises(ConnectionClosed) as closed:
        reply = await asyncio.wait_for(connection.recv(), 10)
        raise AssertionError(f"expected a close, got {reply!r}")
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_protocol_close_codes(server: Server, superuser: asyncpg.Connection) -> None:
    """Raw-protocol checks no well-behaved client library can make (gql always inits first)."""
    world = await make_clinic(superuser)
    modern, legacy = Subprotocol(TRANSPORT_WS), Subprotocol(LEGACY_WS)
    async with websockets_connect(server.ws, subprotocols=[modern]) as early:
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": APPOINTMENT_CHANGED}}
        assert await _raw_closed_with(early, subscribe) == 4401
    async with websockets_connect(server.ws, subprotocols=[legacy]) as early:
        start = {"id": "1", "type": "start", "payload": {"query": APPOINTMENT_CHANGED}}
        assert await _raw_closed_with(early, start) == 4401
    async with websockets_connect(server.ws, subprotocols=[modern]) as binary:
        await binary.send(b'{"type": "connection_init", "payload": {}}')
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(binary.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    for protocol in (modern, legacy):
        async with websockets_connect(server.ws, subprotocols=[protocol]) as raw:
            token = world.token(world.admin)
            await raw.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                )
            )
            ack = await asyncio.wait_for(raw.recv(), 10)
            assert isinstance(ack, str), "messages are JSON text frames"
            assert json.loads(ack) == {"type": "connection_ack"}


async def test_queries_go_over_http(server: Server, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    query = await subscribed_for_test(server.ws, world.token(world.admin), "{ me { email } }")
    assert (await query.errors())[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_subscriptions_per_connection_are_capped(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    connection = await Connection.open(server.ws, world.token(world.admin))
    closed_at_test_end(connection)
    running = [await connection.subscribe(APPOINTMENT_CHANGED, settle=0) for _ in range(3)]
    await asyncio.sleep(0.3)
    overflow = await connection.subscribe(APPOINTMENT_CHANGED)
    assert await overflow.errors()
    for subscription in running:
        assert await subscription.silent_for(0.1)


async def test_websocket_messages_are_capped_like_http_bodies(
    database_url: str, superuser: asyncpg.Connection
) -> None:
    """A message over FISIOFLOW_MAX_BODY_BYTES closes the socket with 1009 (message too big);
    one just under it is read and answered."""
    world = await make_clinic(superuser)
    limit = 64 * 1024
    query = "subscription($pad: ID) { appointmentChanged(patientId: $pad) { op } }"
    with running_server(database_url, FISIOFLOW_MAX_BODY_BYTES=str(limit)) as small:
        connection = await Connection.open(small.ws, world.token(world.admin))
        under = await connection.subscribe(query, {"pad": "x" * (limit - 1024)})
        assert (await under.errors())[0]["extensions"]["code"] == "BAD_USER_INPUT"
        over = await connection.subscribe(query, {"pad": "x" * (limit + 1)})
        assert await over.closed_with() == 1009
        await connection.close()


async def test_an_expiring_token_ends_the_connection(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = issue_token(world.admin, JWT_SECRET, 2)[0]
    watcher = await subscribed_for_test(server.ws, token, APPOINTMENT_CHANGED)
    assert await watcher.closed_with(within=8) == 4403


async def test_foreign_browser_origins_are_refused(server: Server) -> None:
    with pytest.raises(TransportError) as refused:
        await Connection.open(server.ws, None, origin="https://evil.example")
    cause: BaseException | None = refused.value
    while cause is not None and not isinstance(cause, InvalidStatus):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, InvalidStatus)
    assert cause.response.status_code == 403


async def test_shutdown_closes_sockets_going_away(
    database_url: str, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    with running_server(database_url) as doomed:
        watcher = await subscribed_for_test(
            doomed.ws, world.token(world.admin), APPOINTMENT_CHANGED
        )
        stopping = asyncio.get_running_loop().run_in_executor(None, doomed.stop)
        assert await watcher.closed_with(within=20) == 1001
        await stopping


async def _until_live(watcher: Subscription, http: httpx.AsyncClient, world: ClinicWorld) -> None:
    """Book until the watcher sees its own booking: from then on its subscription is registered.

    graphql-transport-ws acknowledges no `subscribe`, and a loaded machine may take longer than
    the client's settling pause to register it; an event committed before then is, rightly,
    not the subscriber's. Events arrive in commit order, so the last booking's event ends it.
    """
    for _ in range(20):
        booked = await _schedule(http, world)
        try:
            while (await watcher.data(2))["appointmentChanged"]["appointment"]["id"] != booked:
                continue
            return
        except TimeoutError:
            continue
    raise AssertionError("the subscription never went live")


async def test_several_workers_serve_and_deliver(
    database_url: str, superuser: asyncpg.Connection
) -> None:
    """`--workers 2`: whichever worker takes a mutation, the subscriber's worker delivers it."""
    world = await make_clinic(superuser)
    with running_server(database_url, "--workers", "2") as workers:
        watcher = await subscribed_for_test(
            workers.ws, world.token(world.admin), APPOINTMENT_CHANGED
        )
        async with httpx.AsyncClient(base_url=workers.http) as warm_up:
            await _until_live(watcher, warm_up, world)
        created = []
        for _ in range(6):
            async with httpx.AsyncClient(base_url=workers.http) as fresh_connection:
                created.append(await _schedule(fresh_connection, world))
        received = [
            (await watcher.data())["appointmentChanged"]["appointment"]["id"] for _ in created
        ]
        assert received == created
        await close_test_connections()


async def test_compliance_status_follows_checks(
    server: Server, http: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    query = "subscription { complianceStatusChanged { overallScore recentChecks { checkType } } }"
    officer = await subscribed_for_test(server.ws, world.token(world.admin), query)
    front_desk = await subscribed_for_test(server.ws, world.token(world.receptionist), query)
    patient = await subscribed_for_test(server.ws, world.token(world.patient), query)
    assert (await patient.errors())[0]["extensions"]["code"] == "FORBIDDEN"

    run = """mutation { runComplianceCheck(input: {framework: LGPD,
               checkType: "consent_coverage"}) { id } }"""
    await _mutate(http, run, {}, world.token(world.admin))
    for watcher in (officer, front_desk):
        status = (await watcher.data())["complianceStatusChanged"]
        assert {"checkType": "consent_coverage"} in status["recentChecks"]
        assert 0 <= status["overallScore"] <= 100
