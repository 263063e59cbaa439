"""The appointment lifecycle through the API: every transition, who may make it, its history,
and the database's state machine (migration 0018) answering for every path."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from graph.core.identity import Identity
from graph.core.ids import parse_uuid_id, to_global_id
from tests.resolvers.scheduling.test_availability import local, next_monday, working_week
from tests.support.factories import ClinicWorld, add_appointment, make_clinic, session_booking
from tests.support.graphql_client import error_codes, graphql

FIELDS = "id status cancelReason noShowReason checkedInAt"
CONFIRM = f"""mutation($input: ConfirmAppointmentInput!) {{
  confirmAppointment(input: $input) {{ {FIELDS} }} }}"""
CHECK_IN = f"""mutation($input: CheckInAppointmentInput!) {{
  checkInAppointment(input: $input) {{ {FIELDS} }} }}"""
COMPLETE = f"""mutation($input: CompleteAppointmentInput!) {{
  completeAppointment(input: $input) {{ {FIELDS} }} }}"""
CANCEL = f"""mutation($input: CancelAppointmentInput!) {{
  cancelAppointment(input: $input) {{ {FIELDS} }} }}"""
NO_SHOW = f"""mutation($input: MarkNoShowInput!) {{
  markNoShow(input: $input) {{ {FIELDS} }} }}"""
RESCHEDULE = """mutation($input: RescheduleAppointmentInput!) {
  rescheduleAppointment(input: $input) { id status startsAt } }"""
HISTORY = """query($id: ID!) { node(id: $id) { ... on Appointment {
  status statusHistory { id fromStatus toStatus reason actorId actorRole changedAt } } } }"""

MUTATIONS = {
    "confirm": CONFIRM,
    "checkIn": CHECK_IN,
    "complete": COMPLETE,
    "cancel": CANCEL,
    "noShow": NO_SHOW,
}


def _at(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def _physio(world: ClinicWorld) -> uuid.UUID:
    physio = world.physio.physiotherapist_id
    assert physio is not None
    return physio


async def _appointment(
    conn: asyncpg.Connection, world: ClinicWorld, hours: float, patient: int = 0
) -> str:
    """A scheduled appointment of the physiotherapist `hours` from now."""
    appointment = await add_appointment(
        conn, world, world.patient_ids[patient], _physio(world), _at(hours)
    )
    return to_global_id("Appointment", appointment)


async def _do(
    client: httpx.AsyncClient, action: str, appointment: str, who: Identity, world: ClinicWorld,
    **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    return await graphql(
        client, MUTATIONS[action], {"input": {"id": appointment, **extra}}, token=world.token(who)
    )


async def _history(
    client: httpx.AsyncClient, world: ClinicWorld, appointment: str
) -> tuple[str, list[dict[str, Any]]]:
    body = await graphql(client, HISTORY, {"id": appointment}, token=world.token(world.admin))
    assert "errors" not in body, body
    node = body["data"]["node"]
    return node["status"], node["statusHistory"]


async def _snapshot(conn: asyncpg.Connection, appointment: str) -> tuple[Any, ...]:
    """The row and its history as the database holds them."""
    row_id = parse_uuid_id(appointment, "Appointment")
    row = await conn.fetchrow("select * from appointments where id = $1", row_id)
    history = await conn.fetch(
        "select * from appointment_status_changes where appointment_id = $1 order by id", row_id
    )
    assert row is not None
    return dict(row), [dict(h) for h in history]


async def test_a_session_from_booking_to_completion(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    starts_in = 3.0  # seconds: confirmed and checked in before, completed after the start
    appointment = await _appointment(superuser, world, starts_in / 3600)
    confirmed = await _do(client, "confirm", appointment, world.receptionist, world)
    assert confirmed["data"]["confirmAppointment"]["status"] == "CONFIRMED", confirmed
    arrived = _at(-0.1).replace(microsecond=0)
    checked_in = await _do(
        client, "checkIn", appointment, world.receptionist, world, arrivedAt=arrived.isoformat()
    )
    made = checked_in["data"]["checkInAppointment"]
    assert made["status"] == "CHECKED_IN", checked_in
    assert datetime.fromisoformat(made["checkedInAt"]) == arrived

    early = await _do(client, "complete", appointment, world.physio, world)
    assert error_codes(early) == ["INVALID_STATE"], early
    assert "before it starts" in early["errors"][0]["message"]
    await asyncio.sleep(starts_in)
    done = await _do(client, "complete", appointment, world.physio, world)
    assert done["data"]["completeAppointment"]["status"] == "COMPLETED", done

    status, history = await _history(client, world, appointment)
    assert status == "COMPLETED"
    assert [(h["fromStatus"], h["toStatus"]) for h in history] == [
        (None, "SCHEDULED"),
        ("SCHEDULED", "CONFIRMED"),
        ("CONFIRMED", "CHECKED_IN"),
        ("CHECKED_IN", "COMPLETED"),
    ]
    receptionist = to_global_id("User", world.receptionist.user_id)
    physio = to_global_id("User", world.physio.user_id)
    assert [(h["actorId"], h["actorRole"]) for h in history[1:]] == [
        (receptionist, "RECEPTIONIST"),
        (receptionist, "RECEPTIONIST"),
        (physio, "PHYSIOTHERAPIST"),
    ]
    times = [datetime.fromisoformat(h["changedAt"]) for h in history]
    assert times == sorted(times) and times[-1] <= datetime.now(UTC)


async def test_cancellations_and_no_shows_keep_their_reason(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    future = await _appointment(superuser, world, 48)
    missed = await _appointment(superuser, world, -3, patient=1)
    cancelled = await _do(
        client, "cancel", future, world.receptionist, world, reason="  Paciente viajou "
    )
    assert cancelled["data"]["cancelAppointment"]["cancelReason"] == "Paciente viajou"
    no_show = await _do(client, "noShow", missed, world.admin, world, reason="Não atendeu")
    assert no_show["data"]["markNoShow"] == {
        "id": missed,
        "status": "NO_SHOW",
        "cancelReason": None,
        "noShowReason": "Não atendeu",
        "checkedInAt": None,
    }
    for appointment, reason in ((future, "Paciente viajou"), (missed, "Não atendeu")):
        _, history = await _history(client, world, appointment)
        assert history[-1]["reason"] == reason
        assert history[-1]["actorRole"] in ("RECEPTIONIST", "ADMIN")


async def test_illegal_transitions_change_nothing(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    staff = world.receptionist
    # (a future or a started appointment, what was done before, the refused action)
    cases: list[tuple[str, str | None, str]] = [
        ("future", None, "complete"),  # not started
        ("future", None, "noShow"),  # not started
        ("future", None, "checkIn"),  # check-in opens 2 h before
        ("started", None, "confirm"),  # too late to confirm
        ("future", "confirm", "confirm"),  # already confirmed
        ("future", "cancel", "confirm"),  # cancelled is terminal
        ("future", "cancel", "cancel"),
        ("started", "complete", "cancel"),  # completed is terminal
        ("started", "complete", "noShow"),
        ("started", "complete", "checkIn"),
        ("started", "noShow", "complete"),  # no-show is terminal
        ("started", "noShow", "checkIn"),
    ]
    for k, (when, before, action) in enumerate(cases):
        hours = 48 + 2 * k if when == "future" else -3 - 2 * k
        appointment = await _appointment(superuser, world, hours, patient=2)
        if before is not None:
            done = await _do(client, before, appointment, staff, world)
            assert "errors" not in done, (before, done)
        snapshot = await _snapshot(superuser, appointment)
        body = await _do(client, action, appointment, staff, world)
        assert error_codes(body) == ["INVALID_STATE"], (before, action, body)
        assert body["data"] is None
        assert await _snapshot(superuser, appointment) == snapshot, (before, action)

    checked_in = await _appointment(superuser, world, 1, patient=3)
    await _do(client, "checkIn", checked_in, staff, world)
    for action in ("cancel", "noShow", "confirm"):
        snapshot = await _snapshot(superuser, checked_in)
        body = await _do(client, action, checked_in, staff, world)
        assert error_codes(body) == ["INVALID_STATE"], (action, body)
        assert await _snapshot(superuser, checked_in) == snapshot
    moved = await graphql(
        client,
        RESCHEDULE,
        {"input": {"id": checked_in, "startsAt": _at(72).isoformat()}},
        token=world.token(staff),
    )
    assert error_codes(moved) == ["INVALID_STATE"]


async def test_arrival_time_is_validated(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    appointment = await _appointment(superuser, world, 1)
    naive = _at(-0.1).replace(tzinfo=None).isoformat()
    for arrived_at in (_at(0.5).isoformat(), _at(-1.5).isoformat(), naive):
        body = await _do(
            client, "checkIn", appointment, world.receptionist, world, arrivedAt=arrived_at
        )
        assert error_codes(body) == ["BAD_USER_INPUT"], (arrived_at, body)
        assert body["errors"][0]["extensions"]["field"] == "arrivedAt"
    status, history = await _history(client, world, appointment)
    assert status == "SCHEDULED" and len(history) == 1
    now = await _do(client, "checkIn", appointment, world.receptionist, world)
    arrived = datetime.fromisoformat(now["data"]["checkInAppointment"]["checkedInAt"])
    assert abs(arrived - datetime.now(UTC)) < timedelta(minutes=1)


async def test_rescheduling_a_confirmed_appointment_asks_for_confirmation_again(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    appointment = await _appointment(superuser, world, 48)
    await _do(client, "confirm", appointment, world.receptionist, world)
    moved = await graphql(
        client,
        RESCHEDULE,
        {"input": {"id": appointment, "startsAt": _at(96).isoformat()}},
        token=world.token(world.physio),
    )
    assert moved["data"]["rescheduleAppointment"]["status"] == "SCHEDULED", moved
    _, history = await _history(client, world, appointment)
    assert [(h["fromStatus"], h["toStatus"]) for h in history][-1] == ("CONFIRMED", "SCHEDULED")


async def test_who_may_do_what(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    theirs = await make_clinic(superuser)
    own = await _appointment(superuser, world, 48)  # patient 0 (the patient login) with Ana
    other_patients = await _appointment(superuser, world, 50, patient=1)
    elsewhere = await _appointment(superuser, theirs, 48)
    started = await _appointment(superuser, world, -1, patient=2)

    # Another clinic's appointment does not exist, for every role and action.
    for who in (world.admin, world.receptionist, world.physio, world.patient):
        for action in MUTATIONS:
            body = await _do(client, action, elsewhere, who, world)
            assert error_codes(body) in (["NOT_FOUND"], ["FORBIDDEN"]), (who.role, action)
            if who.role.value != "patient" or action in ("confirm", "cancel"):
                assert error_codes(body) == ["NOT_FOUND"], (who.role, action, body)
    # A physiotherapist runs their own agenda only.
    for action in MUTATIONS:
        body = await _do(client, action, started, world.other_physio, world)
        assert error_codes(body) == ["FORBIDDEN"], (action, body)
    # The patient: confirm or cancel their own future appointment; nothing else.
    for action in ("checkIn", "complete", "noShow"):
        body = await _do(client, action, own, world.patient, world)
        assert error_codes(body) == ["FORBIDDEN"], (action, body)
    for action in ("confirm", "cancel"):
        body = await _do(client, action, other_patients, world.patient, world)
        assert error_codes(body) == ["NOT_FOUND"], (action, body)
    confirmed = await _do(client, "confirm", own, world.patient, world)
    assert confirmed["data"]["confirmAppointment"]["status"] == "CONFIRMED", confirmed
    # The patient sees no history (staff only), the staff see the patient's act.
    body = await graphql(client, HISTORY, {"id": own}, token=world.token(world.patient))
    assert body["data"]["node"]["statusHistory"] == []
    _, history = await _history(client, world, own)
    assert history[-1]["actorRole"] == "PATIENT"
    assert history[-1]["actorId"] == to_global_id("User", world.patient.user_id)
    cancelled = await _do(client, "cancel", own, world.patient, world, reason="Gripe")
    assert cancelled["data"]["cancelAppointment"]["cancelReason"] == "Gripe", cancelled

    row, history = await _snapshot(superuser, other_patients)
    assert row["status"] == "scheduled" and len(history) == 1


async def test_patient_cancels_only_before_the_notice_period(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    await superuser.execute(
        "update clinics set patient_cancel_notice_hours = 48 where id = $1", world.clinic_id
    )
    soon = await _appointment(superuser, world, 47)
    later = await _appointment(superuser, world, 49.5)
    snapshot = await _snapshot(superuser, soon)
    refused = await _do(client, "cancel", soon, world.patient, world)
    assert error_codes(refused) == ["INVALID_STATE"], refused
    assert "48 hours" in refused["errors"][0]["message"]
    assert await _snapshot(superuser, soon) == snapshot
    # The clinic still may; the patient still confirms.
    confirmed = await _do(client, "confirm", soon, world.patient, world)
    assert "errors" not in confirmed, confirmed
    by_clinic = await _do(client, "cancel", soon, world.receptionist, world)
    assert by_clinic["data"]["cancelAppointment"]["status"] == "CANCELLED"
    in_time = await _do(client, "cancel", later, world.patient, world)
    assert in_time["data"]["cancelAppointment"]["status"] == "CANCELLED", in_time


async def test_confirm_and_cancel_racing_one_wins(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    for round in range(5):
        appointment = await _appointment(superuser, world, 48 + round)
        bodies = await asyncio.gather(
            _do(client, "confirm", appointment, world.patient, world),
            _do(client, "cancel", appointment, world.receptionist, world),
            _do(client, "confirm", appointment, world.receptionist, world),
        )
        outcomes = ["ok" if "errors" not in b else error_codes(b)[0] for b in bodies]
        status, history = await _history(client, world, appointment)
        # A confirmation may precede the cancellation; nothing follows a cancellation, and
        # a second confirmation never lands.
        transitions = [(h["fromStatus"], h["toStatus"]) for h in history[1:]]
        assert transitions in (
            [("SCHEDULED", "CANCELLED")],
            [("SCHEDULED", "CONFIRMED")],
            [("SCHEDULED", "CONFIRMED"), ("CONFIRMED", "CANCELLED")],
        ), (outcomes, transitions)
        assert outcomes.count("ok") == len(transitions), (outcomes, transitions)
        assert set(outcomes) <= {"ok", "INVALID_STATE"}, outcomes
        assert status == transitions[-1][1]


SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id status price notes patient { id } } }"""


async def _book(
    client: httpx.AsyncClient, world: ClinicWorld, hours: float, **changes: Any
) -> dict[str, Any]:
    physio = changes.pop("physio", world.physio)
    booking = session_booking(world, _at(hours), physio=physio) | changes
    return await graphql(client, SCHEDULE, {"input": booking}, token=world.token(world.patient))


async def test_patient_self_booking(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    resolvers = client.oracle  # type: ignore[attr-defined]
    assert resolvers is not None
    count = "select count(*) from appointments where clinic_id = $1"
    # Off by default: refused on the compiled and on the resolver path alike.
    for path in (client, resolvers):
        body = await _book(path, world, 30)
        assert error_codes(body) == ["FORBIDDEN"], body
    await superuser.execute(
        "update clinics set patient_self_booking = true where id = $1", world.clinic_id
    )
    other_patient = to_global_id("Patient", world.patient_ids[1])
    refused: list[tuple[dict[str, Any], str]] = [
        ({"patientId": other_patient}, "FORBIDDEN"),
        ({"price": "100.00"}, "FORBIDDEN"),
        ({"notes": "Dor no joelho"}, "FORBIDDEN"),
        ({"physio": world.other_physio}, "FORBIDDEN"),  # Bruno does not treat them
    ]
    for path in (client, resolvers):
        for changes, code in refused:
            body = await _book(path, world, 30, **changes)
            assert error_codes(body) == [code], (changes, body)
        past = await _book(path, world, -1)
        assert error_codes(past) == ["BAD_USER_INPUT"], past
    assert await superuser.fetchval(count, world.clinic_id) == 0

    for n, path in enumerate((client, resolvers)):
        booked = await _book(path, world, 30 + n)
        made = booked["data"]["scheduleAppointment"]
        assert made["status"] == "SCHEDULED" and made["price"] is None, booked
        assert made["patient"]["id"] == to_global_id("Patient", world.patient_ids[0])
        _, history = await _history(client, world, made["id"])
        assert [(h["toStatus"], h["actorRole"]) for h in history] == [("SCHEDULED", "PATIENT")]
    # On Bruno's care team, Bruno treats them too.
    await superuser.execute(
        "insert into care_team_members (clinic_id, patient_id, physiotherapist_id)"
        " values ($1, $2, $3)",
        world.clinic_id,
        world.patient_ids[0],
        world.other_physio.physiotherapist_id,
    )
    with_bruno = await _book(client, world, 40, physio=world.other_physio)
    assert "errors" not in with_bruno, with_bruno
    assert await superuser.fetchval(count, world.clinic_id) == 3


async def test_lifecycle_fields_on_every_read_path(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """The agenda list (compiled; the differential client checks it against the resolvers)
    shows the new fields; a history entry is a node of its own."""
    world = await make_clinic(superuser)
    appointment = await _appointment(superuser, world, -2)
    await _do(client, "noShow", appointment, world.receptionist, world, reason="Esqueceu")
    agenda = """{ appointments(first: 5) { edges { node {
        id status cancelReason noShowReason checkedInAt } } } }"""
    body = await graphql(client, agenda, token=world.token(world.admin))
    assert body["data"]["appointments"]["edges"] == [
        {
            "node": {
                "id": appointment,
                "status": "NO_SHOW",
                "cancelReason": None,
                "noShowReason": "Esqueceu",
                "checkedInAt": None,
            }
        }
    ]
    with_history = """{ appointments(first: 5) { edges { node {
        statusHistory { id toStatus reason } } } } }"""
    body = await graphql(client, with_history, token=world.token(world.receptionist))
    history = body["data"]["appointments"]["edges"][0]["node"]["statusHistory"]
    assert [(h["toStatus"], h["reason"]) for h in history] == [
        ("SCHEDULED", None),
        ("NO_SHOW", "Esqueceu"),
    ]
    node = await graphql(
        client,
        "query($id: ID!) { node(id: $id) { ... on AppointmentStatusChange { toStatus } } }",
        {"id": history[1]["id"]},
        token=world.token(world.receptionist),
    )
    assert node["data"]["node"] == {"toStatus": "NO_SHOW"}, node
    hidden = await graphql(
        client,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": history[1]["id"]},
        token=world.token(world.patient),
    )
    assert hidden["data"]["node"] is None, hidden


async def test_a_patient_books_only_inside_working_hours(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """Self-booking meets the same availability trigger as the front desk, and a patient may not
    claim the admin's override."""
    world = await make_clinic(superuser)
    await superuser.execute(
        "update clinics set patient_self_booking = true where id = $1", world.clinic_id
    )
    await working_week(superuser, world)
    monday = next_monday()
    count = "select count(*) from appointments where clinic_id = $1"
    resolvers = client.oracle  # type: ignore[attr-defined]
    assert resolvers is not None
    patient = world.token(world.patient)
    for n, path in enumerate((client, resolvers)):
        evening = session_booking(world, local(monday, 20 + n))
        body = await graphql(path, SCHEDULE, {"input": evening}, token=patient)
        assert error_codes(body) == ["OUTSIDE_WORKING_HOURS"], body
        claimed = evening | {"outsideWorkingHours": True}
        body = await graphql(path, SCHEDULE, {"input": claimed}, token=patient)
        assert error_codes(body) == ["FORBIDDEN"], body
    assert await superuser.fetchval(count, world.clinic_id) == 0

    morning = session_booking(world, local(monday, 9))
    body = await graphql(client, SCHEDULE, {"input": morning}, token=patient)
    assert "errors" not in body, body
    assert await superuser.fetchval(count, world.clinic_id) == 1
