""" "Treats" is earned (issue 12, item 5) and a patient is in one session at a time (item 9),
through the API: care-team mutations, booking only patients one treats, book-then-cancel, and
SLOT_UNAVAILABLE for a patient booked twice, on the normal and the fast path."""

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from graph.core.identity import Identity
from graph.core.ids import to_global_id
from tests.support.factories import ClinicWorld, add_appointment, add_prontuario, make_clinic
from tests.support.graphql_client import StatementCounter, error_codes, graphql

ADD = """mutation($input: CareTeamMemberInput!) {
  addCareTeamMember(input: $input) { id careTeam { name } } }"""
REMOVE = """mutation($input: CareTeamMemberInput!) {
  removeCareTeamMember(input: $input) { id careTeam { name } } }"""
RECORDS = """query($id: ID!) { node(id: $id) { ... on Patient {
  prontuarios(first: 10) { totalCount } prescriptions(first: 10) { totalCount } } } }"""
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id status } }"""
CANCEL = """mutation($id: ID!) { cancelAppointment(input: {id: $id}) { status } }"""
RESCHEDULE = """mutation($id: ID!, $at: DateTime!) {
  rescheduleAppointment(input: {id: $id, startsAt: $at}) { startsAt } }"""
LATER = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=30)


def member(world: ClinicWorld, patient: int, physio: Identity) -> dict[str, Any]:
    assert physio.physiotherapist_id is not None
    return {
        "input": {
            "patientId": to_global_id("Patient", world.patient_ids[patient]),
            "physiotherapistId": to_global_id("Physiotherapist", physio.physiotherapist_id),
        }
    }


def booking(world: ClinicWorld, patient: int, physio: Identity, hours: float) -> dict[str, Any]:
    assert physio.physiotherapist_id is not None
    return {
        "input": {
            "patientId": to_global_id("Patient", world.patient_ids[patient]),
            "physiotherapistId": to_global_id("Physiotherapist", physio.physiotherapist_id),
            "startsAt": (LATER + timedelta(hours=hours)).isoformat(),
            "durationMinutes": 50,
            "type": "SESSION",
        }
    }


async def records_seen(client: httpx.AsyncClient, world: ClinicWorld, patient: int) -> Any:
    variables = {"id": to_global_id("Patient", world.patient_ids[patient])}
    body = await graphql(client, RECORDS, variables, token=world.token(world.physio))
    assert "errors" not in body, body
    node = body["data"]["node"]
    return node["prontuarios"]["totalCount"], node["prescriptions"]["totalCount"]


async def test_the_front_desk_grants_and_takes_back_a_care_team_place(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    stranger = 4  # Bruno's patient, with a record by Bruno
    assert world.other_physio.physiotherapist_id is not None
    await add_prontuario(
        superuser, world, world.patient_ids[stranger], world.other_physio.physiotherapist_id
    )
    assert await records_seen(client, world, stranger) == (0, 0)

    added = await graphql(
        client, ADD, member(world, stranger, world.physio), world.token(world.receptionist)
    )
    assert added["data"]["addCareTeamMember"]["careTeam"] == [{"name": "Ana Souza"}], added
    again = await graphql(
        client, ADD, member(world, stranger, world.physio), world.token(world.admin)
    )
    assert again["data"]["addCareTeamMember"]["careTeam"] == [{"name": "Ana Souza"}]
    assert (await records_seen(client, world, stranger))[0] == 1

    removed = await graphql(
        client, REMOVE, member(world, stranger, world.physio), world.token(world.admin)
    )
    assert removed["data"]["removeCareTeamMember"]["careTeam"] == []
    assert await records_seen(client, world, stranger) == (0, 0)

    audit = await superuser.fetch(
        "select operation, actor_id from audit_log where table_name = 'care_team_members'"
        " and clinic_id = $1 order by id",
        world.clinic_id,
    )
    assert [(row["operation"], row["actor_id"]) for row in audit] == [
        ("INSERT", world.receptionist.user_id),
        ("DELETE", world.admin.user_id),
    ]


async def test_nobody_grants_it_to_themself(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world, other = await make_clinic(superuser), await make_clinic(superuser)
    for who in (world.physio, world.patient):
        for mutation in (ADD, REMOVE):
            body = await graphql(client, mutation, member(world, 4, world.physio), world.token(who))
            assert error_codes(body) == ["FORBIDDEN"], (who.role, body)
    # Another clinic's patient or physiotherapist: NOT_FOUND, with the field to fix.
    token = world.token(world.admin)
    foreign_patient = member(world, 4, world.physio)
    foreign_patient["input"]["patientId"] = to_global_id("Patient", other.patient_ids[0])
    foreign_physio = member(world, 4, other.physio)
    for mutation in (ADD, REMOVE):
        for variables, field in (
            (foreign_patient, "patientId"),
            (foreign_physio, "physiotherapistId"),
        ):
            body = await graphql(client, mutation, variables, token)
            assert error_codes(body) == ["NOT_FOUND"], body
            assert body["errors"][0]["extensions"]["field"] == field
    assert not await superuser.fetchval(
        "select count(*) from care_team_members where clinic_id = any($1::uuid[])",
        [world.clinic_id, other.clinic_id],
    )


async def test_a_physiotherapist_books_only_patients_they_treat(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """On the normal path and, once compiled, on the fast path: a stranger is FORBIDDEN and
    nothing is written; assigned and care-team patients can be booked."""
    world = await make_clinic(superuser)
    token = world.token(world.physio)
    for n, patient in enumerate((0, 1)):  # assigned to Ana: compiled, then the fast path
        done = await graphql(client, SCHEDULE, booking(world, patient, world.physio, n), token)
        assert done["data"]["scheduleAppointment"]["status"] == "SCHEDULED", done
    for hours in (5, 6):  # a stranger, on the fast path and again
        refused = await graphql(client, SCHEDULE, booking(world, 4, world.physio, hours), token)
        assert error_codes(refused) == ["FORBIDDEN"], refused
        assert refused["errors"][0]["extensions"]["field"] == "patientId"
    await graphql(client, ADD, member(world, 4, world.physio), world.token(world.receptionist))
    done = await graphql(client, SCHEDULE, booking(world, 4, world.physio, 7), token)
    assert done["data"]["scheduleAppointment"]["status"] == "SCHEDULED", done
    booked = await superuser.fetch(
        "select patient_id from appointments where physiotherapist_id = $1",
        world.physio.physiotherapist_id,
    )
    assert sorted(row["patient_id"] for row in booked) == sorted(
        [world.patient_ids[0], world.patient_ids[1], world.patient_ids[4]]
    )


async def test_booking_and_cancelling_opens_nothing(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """The outside tester's attack, through the API: a stranger booked on the physio's agenda
    (by the front desk: the physio may not) and then cancelled leaves no access behind; a
    no-show neither. While the appointment is live, the physio treats the patient."""
    world = await make_clinic(superuser)
    assert world.other_physio.physiotherapist_id is not None
    await add_prontuario(
        superuser, world, world.patient_ids[5], world.other_physio.physiotherapist_id
    )
    front_desk = world.token(world.receptionist)
    booked = await graphql(client, SCHEDULE, booking(world, 5, world.physio, 1), front_desk)
    appointment = booked["data"]["scheduleAppointment"]["id"]
    assert (await records_seen(client, world, 5))[0] == 1
    cancelled = await graphql(client, CANCEL, {"id": appointment}, world.token(world.physio))
    assert cancelled["data"]["cancelAppointment"]["status"] == "CANCELLED", cancelled
    assert await records_seen(client, world, 5) == (0, 0)
    assert world.physio.physiotherapist_id is not None
    await add_appointment(
        superuser, world, world.patient_ids[5], world.physio.physiotherapist_id,
        LATER - timedelta(days=40), status="no_show",
    )  # fmt: skip
    assert await records_seen(client, world, 5) == (0, 0)
    # And the physio cannot book them again on their own.
    again = await graphql(
        client, SCHEDULE, booking(world, 5, world.physio, 3), world.token(world.physio)
    )
    assert error_codes(again) == ["FORBIDDEN"]


async def test_a_patient_is_not_booked_twice_at_once(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    first = await graphql(client, SCHEDULE, booking(world, 0, world.physio, 0), token)
    assert "errors" not in first, first
    # Same patient, another physiotherapist, overlapping: refused (then on the fast path).
    for hours in (0.5, -0.5):
        taken = await graphql(client, SCHEDULE, booking(world, 0, world.other_physio, hours), token)
        assert error_codes(taken) == ["SLOT_UNAVAILABLE"], taken
    later = await graphql(client, SCHEDULE, booking(world, 0, world.other_physio, 1), token)
    assert "errors" not in later, later
    moved = await graphql(
        client,
        RESCHEDULE,
        {
            "id": later["data"]["scheduleAppointment"]["id"],
            "at": (LATER + timedelta(minutes=20)).isoformat(),
        },
        token,
    )
    assert error_codes(moved) == ["SLOT_UNAVAILABLE"], moved
    count = await superuser.fetchval(
        "select count(*) from appointments where patient_id = $1", world.patient_ids[0]
    )
    assert count == 2
    # Once the first is cancelled, the slot is the patient's to take again.
    await graphql(client, CANCEL, {"id": first["data"]["scheduleAppointment"]["id"]}, token)
    retaken = await graphql(client, SCHEDULE, booking(world, 0, world.other_physio, -0.5), token)
    assert "errors" not in retaken, retaken


async def test_the_care_team_is_read_in_one_statement_per_level(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    world = await make_clinic(superuser)
    for patient in range(6):
        for physio in (world.physio, world.other_physio):
            await superuser.execute(
                "insert into care_team_members (clinic_id, patient_id, physiotherapist_id)"
                " values ($1, $2, $3)",
                world.clinic_id, world.patient_ids[patient], physio.physiotherapist_id,
            )  # fmt: skip
    counts = {}
    for size in (2, 6):
        query = f"{{ patients(first: {size}) {{ edges {{ node {{ careTeam {{ name }} }} }} }} }}"
        statements.reset()
        body = await graphql(client, query, token=world.token(world.admin))
        counts[size] = statements.count
        teams = [edge["node"]["careTeam"] for edge in body["data"]["patients"]["edges"]]
        assert teams == [[{"name": "Ana Souza"}, {"name": "Bruno Lima"}]] * size
    assert counts[2] == counts[6], statements.statements
    # A patient sees their own team.
    own = await graphql(
        client, "{ me { patient { careTeam { name } } } }", token=world.token(world.patient)
    )
    assert own["data"]["me"]["patient"]["careTeam"] == [
        {"name": "Ana Souza"},
        {"name": "Bruno Lima"},
    ]
