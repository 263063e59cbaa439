"""Scheduling through the ASGI app: the agenda's rules, its access matrix and its cost."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from graph.core.ids import to_global_id
from tests.support.factories import ClinicWorld, add_appointment, add_payment, make_clinic
from tests.support.graphql_client import StatementCounter, error_codes, graphql

SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) {
    id startsAt endsAt durationMinutes type status price
    patient { name } physiotherapist { name }
  }
}"""
RESCHEDULE = """mutation($input: RescheduleAppointmentInput!) {
  rescheduleAppointment(input: $input) { id startsAt durationMinutes status } }"""
CANCEL = """mutation($input: CancelAppointmentInput!) {
  cancelAppointment(input: $input) { id status cancelReason } }"""
COMPLETE = """mutation($input: CompleteAppointmentInput!) {
  completeAppointment(input: $input) { id status } }"""
APPOINTMENTS = """query($filter: AppointmentFilter, $first: Int, $after: String) {
  appointments(filter: $filter, first: $first, after: $after) {
    totalCount edges { cursor node { id status startsAt patient { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def _slot(days: int, hour: int = 10, minute: int = 0) -> datetime:
    base = datetime.now(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return base + timedelta(days=days)


def _schedule_input(
    world: ClinicWorld, starts_at: datetime | str, minutes: int = 50, **extra: Any
) -> dict[str, Any]:
    physio = world.physio.physiotherapist_id
    assert physio is not None
    return {
        "input": {
            "patientId": to_global_id("Patient", world.patient_ids[0]),
            "physiotherapistId": to_global_id("Physiotherapist", physio),
            "startsAt": starts_at if isinstance(starts_at, str) else starts_at.isoformat(),
            "durationMinutes": minutes,
            "type": "SESSION",
            **extra,
        }
    }


async def _count(conn: asyncpg.Connection, world: ClinicWorld) -> int:
    count: int = await conn.fetchval(
        "select count(*) from appointments where clinic_id = $1", world.clinic_id
    )
    return count


async def test_receptionist_schedules(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    body = await graphql(
        client,
        SCHEDULE,
        _schedule_input(world, _slot(3), 45, price="150.5"),
        token=world.token(world.receptionist),
    )
    assert "errors" not in body, body
    made = body["data"]["scheduleAppointment"]
    assert made["durationMinutes"] == 45
    assert made["status"] == "SCHEDULED"
    assert made["price"] == "150.50"
    assert made["physiotherapist"] == {"name": "Ana Souza"}
    assert datetime.fromisoformat(made["startsAt"]) == _slot(3)
    assert datetime.fromisoformat(made["startsAt"]).utcoffset() is not None


async def test_bad_input_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    before = await _count(superuser, world)
    naive = _slot(3).replace(tzinfo=None).isoformat()
    cases = [
        (_schedule_input(world, _slot(3), 4), "durationMinutes"),
        (_schedule_input(world, _slot(3), 481), "durationMinutes"),
        (_schedule_input(world, naive), "startsAt"),
        (_schedule_input(world, _slot(-1)), "startsAt"),
        (_schedule_input(world, _slot(3), price="10.001"), "price"),
        (_schedule_input(world, _slot(3), price="0"), "price"),
        (_schedule_input(world, _slot(3), price="-20"), "price"),
    ]
    for variables, field in cases:
        body = await graphql(client, SCHEDULE, variables, token=token)
        assert error_codes(body) == ["BAD_USER_INPUT"], (field, body)
        assert body["errors"][0]["extensions"]["field"] == field
    assert await _count(superuser, world) == before


async def test_other_clinics_people_do_not_exist(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    mine = await make_clinic(superuser)
    theirs = await make_clinic(superuser)
    variables = _schedule_input(mine, _slot(4))
    variables["input"]["patientId"] = to_global_id("Patient", theirs.patient_ids[0])
    body = await graphql(client, SCHEDULE, variables, token=mine.token(mine.admin))
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["errors"][0]["extensions"]["field"] == "patientId"
    variables = _schedule_input(mine, _slot(4))
    physio = theirs.physio.physiotherapist_id
    assert physio is not None
    variables["input"]["physiotherapistId"] = to_global_id("Physiotherapist", physio)
    body = await graphql(client, SCHEDULE, variables, token=mine.token(mine.admin))
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["errors"][0]["extensions"]["field"] == "physiotherapistId"


async def test_no_double_booking_and_freed_slots(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    first = await graphql(client, SCHEDULE, _schedule_input(world, _slot(5), 60), token=token)
    appointment_id = first["data"]["scheduleAppointment"]["id"]

    overlapping = await graphql(
        client, SCHEDULE, _schedule_input(world, _slot(5, 10, 30), 60), token=token
    )
    assert error_codes(overlapping) == ["SLOT_UNAVAILABLE"]
    adjacent = await graphql(
        client, SCHEDULE, _schedule_input(world, _slot(5, 11), 30), token=token
    )
    assert "errors" not in adjacent, adjacent

    cancelled = await graphql(
        client, CANCEL, {"input": {"id": appointment_id, "reason": "Paciente viajou"}}, token=token
    )
    assert cancelled["data"]["cancelAppointment"] == {
        "id": appointment_id,
        "status": "CANCELLED",
        "cancelReason": "Paciente viajou",
    }
    retaken = await graphql(client, SCHEDULE, _schedule_input(world, _slot(5), 60), token=token)
    assert "errors" not in retaken, retaken

    physio = world.physio.physiotherapist_id
    assert physio is not None
    await add_appointment(
        superuser, world, world.patient_ids[1], physio, _slot(6), 60, status="no_show"
    )
    after_no_show = await graphql(
        client, SCHEDULE, _schedule_input(world, _slot(6), 60), token=token
    )
    assert "errors" not in after_no_show, after_no_show


async def test_ten_concurrent_requests_for_one_slot(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    variables = _schedule_input(world, _slot(7, 14), 50)
    bodies = await asyncio.gather(
        *(graphql(client, SCHEDULE, variables, token=token) for _ in range(10))
    )
    outcomes = sorted("ok" if "errors" not in b else error_codes(b)[0] for b in bodies)
    assert outcomes == ["SLOT_UNAVAILABLE"] * 9 + ["ok"]
    assert await _count(superuser, world) == 1


async def test_physiotherapist_runs_only_own_agenda(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    own = await graphql(
        client, SCHEDULE, _schedule_input(world, _slot(8)), token=world.token(world.physio)
    )
    assert "errors" not in own, own
    others = await graphql(
        client, SCHEDULE, _schedule_input(world, _slot(9)), token=world.token(world.other_physio)
    )
    assert error_codes(others) == ["FORBIDDEN"]
    patient = await graphql(
        client, SCHEDULE, _schedule_input(world, _slot(9)), token=world.token(world.patient)
    )
    assert error_codes(patient) == ["FORBIDDEN"]

    appointment = own["data"]["scheduleAppointment"]["id"]
    moved_by_other = await graphql(
        client,
        RESCHEDULE,
        {"input": {"id": appointment, "startsAt": _slot(10).isoformat()}},
        token=world.token(world.other_physio),
    )
    assert error_codes(moved_by_other) == ["FORBIDDEN"]
    moved = await graphql(
        client,
        RESCHEDULE,
        {"input": {"id": appointment, "startsAt": _slot(10).isoformat()}},
        token=world.token(world.physio),
    )
    assert moved["data"]["rescheduleAppointment"]["durationMinutes"] == 50
    assert datetime.fromisoformat(moved["data"]["rescheduleAppointment"]["startsAt"]) == _slot(10)


async def test_patient_sees_and_cancels_only_own_future(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    mine_future = await add_appointment(superuser, world, world.patient_ids[0], physio, _slot(2))
    mine_past = await add_appointment(superuser, world, world.patient_ids[0], physio, _slot(-2))
    other = await add_appointment(superuser, world, world.patient_ids[1], physio, _slot(3))
    token = world.token(world.patient)

    listed = await graphql(client, APPOINTMENTS, {"first": 50}, token=token)
    ids = {e["node"]["id"] for e in listed["data"]["appointments"]["edges"]}
    assert ids == {to_global_id("Appointment", mine_future), to_global_id("Appointment", mine_past)}

    not_mine = await graphql(
        client, CANCEL, {"input": {"id": to_global_id("Appointment", other)}}, token=token
    )
    assert error_codes(not_mine) == ["NOT_FOUND"]
    past = await graphql(
        client, CANCEL, {"input": {"id": to_global_id("Appointment", mine_past)}}, token=token
    )
    assert error_codes(past) == ["INVALID_STATE"]
    future = await graphql(
        client, CANCEL, {"input": {"id": to_global_id("Appointment", mine_future)}}, token=token
    )
    assert future["data"]["cancelAppointment"]["status"] == "CANCELLED"
    moved = await graphql(
        client,
        RESCHEDULE,
        {
            "input": {
                "id": to_global_id("Appointment", mine_future),
                "startsAt": _slot(4).isoformat(),
            }
        },
        token=token,
    )
    assert error_codes(moved) == ["FORBIDDEN"]
    statuses = await superuser.fetch(
        "select id, status from appointments where id = any($1::uuid[])", [mine_past, other]
    )
    assert {row["status"] for row in statuses} == {"scheduled"}


async def test_state_rules(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    token = world.token(world.receptionist)
    future = to_global_id(
        "Appointment",
        await add_appointment(superuser, world, world.patient_ids[0], physio, _slot(2)),
    )
    past = to_global_id(
        "Appointment",
        await add_appointment(superuser, world, world.patient_ids[0], physio, _slot(-1)),
    )
    early = await graphql(client, COMPLETE, {"input": {"id": future}}, token=token)
    assert error_codes(early) == ["INVALID_STATE"]
    done = await graphql(client, COMPLETE, {"input": {"id": past}}, token=token)
    assert done["data"]["completeAppointment"]["status"] == "COMPLETED"
    again = await graphql(client, COMPLETE, {"input": {"id": past}}, token=token)
    assert error_codes(again) == ["INVALID_STATE"]
    cancel_done = await graphql(client, CANCEL, {"input": {"id": past}}, token=token)
    assert error_codes(cancel_done) == ["INVALID_STATE"]
    await graphql(client, CANCEL, {"input": {"id": future}}, token=token)
    move_cancelled = await graphql(
        client, RESCHEDULE, {"input": {"id": future, "startsAt": _slot(3).isoformat()}}, token=token
    )
    assert error_codes(move_cancelled) == ["INVALID_STATE"]


async def test_filters_and_per_parent_pages(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    physio, other = world.physio.physiotherapist_id, world.other_physio.physiotherapist_id
    assert physio is not None and other is not None
    for day in range(1, 6):
        await add_appointment(superuser, world, world.patient_ids[0], physio, _slot(day, 8))
        await add_appointment(superuser, world, world.patient_ids[1], other, _slot(day, 9))
    await add_appointment(
        superuser, world, world.patient_ids[1], other, _slot(6, 9), status="cancelled"
    )
    token = world.token(world.admin)

    window = await graphql(
        client,
        APPOINTMENTS,
        {"filter": {"from": _slot(2, 0).isoformat(), "to": _slot(4, 0).isoformat()}},
        token=token,
    )
    assert window["data"]["appointments"]["totalCount"] == 4
    cancelled = await graphql(
        client, APPOINTMENTS, {"filter": {"status": ["CANCELLED"]}}, token=token
    )
    assert cancelled["data"]["appointments"]["totalCount"] == 1
    by_physio = await graphql(
        client,
        APPOINTMENTS,
        {"filter": {"physiotherapistId": to_global_id("Physiotherapist", physio)}},
        token=token,
    )
    assert by_physio["data"]["appointments"]["totalCount"] == 5

    nested = """query($after: String) { patients(first: 2) { edges { node {
        appointments(first: 2, after: $after, filter: {status: [SCHEDULED]}) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { startsAt } } } } } } }"""
    first = await graphql(client, nested, token=token)
    pages = [e["node"]["appointments"] for e in first["data"]["patients"]["edges"]]
    assert [p["totalCount"] for p in pages] == [5, 5]
    assert all(p["pageInfo"]["hasNextPage"] for p in pages)
    starts = [[e["node"]["startsAt"] for e in p["edges"]] for p in pages]
    assert [datetime.fromisoformat(s).hour for s in starts[0]] == [8, 8]
    assert [datetime.fromisoformat(s).hour for s in starts[1]] == [9, 9]

    second = await graphql(
        client, nested, {"after": pages[0]["pageInfo"]["endCursor"]}, token=token
    )
    next_page = second["data"]["patients"]["edges"][0]["node"]["appointments"]["edges"]
    assert [e["node"]["startsAt"] for e in next_page] != starts[0]
    assert datetime.fromisoformat(next_page[0]["node"]["startsAt"]) == _slot(3, 8)


async def _patients_with_history(conn: asyncpg.Connection, patients: int) -> ClinicWorld:
    world = await make_clinic(conn, patients_per_physio=1)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    for n in range(patients):
        patient_id: uuid.UUID = await conn.fetchval(
            "insert into patients (clinic_id, name) values ($1, $2) returning id",
            world.clinic_id,
            f"Histórico {n:03d}",
        )
        for k in range(3):
            when = _slot(-(n * 3 + k) - 1, 7 + k)
            appointment = await add_appointment(conn, world, patient_id, physio, when, 30)
            await add_payment(conn, world, patient_id, appointment_id=appointment)
    return world


async def test_statement_count_is_independent_of_page_size(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    world = await _patients_with_history(superuser, 50)
    query = """query($n: Int!) { patients(first: $n) { edges { node {
        appointments(first: 10) { edges { node {
          physiotherapist { name } payments { amount } } } } } } } }"""
    counts = {}
    for n in (5, 50):
        statements.reset()
        body = await graphql(client, query, {"n": n}, token=world.token(world.admin))
        assert "errors" not in body, body
        edges = body["data"]["patients"]["edges"]
        assert len(edges) == n
        first = edges[0]["node"]["appointments"]["edges"]
        assert len(first) == 3
        assert first[0]["node"]["payments"] == [{"amount": "120.00"}]
        counts[n] = statements.count
    assert counts[5] == counts[50], statements.statements


async def test_scheduling_is_one_statement(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    """The write and its RETURNING serve the response (plus the identity settings)."""
    world = await make_clinic(superuser)
    statements.reset()
    body = await graphql(
        client,
        "mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) {"
        " id startsAt status } }",
        _schedule_input(world, _slot(11)),
        token=world.token(world.receptionist),
    )
    assert body["data"]["scheduleAppointment"]["status"] == "SCHEDULED"
    assert statements.count == 2, statements.statements
