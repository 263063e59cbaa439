"""Availability through the API: working hours, time off and holidays refuse bookings and
moves with their codes, on the compiled `scheduleAppointment` and the resolvers alike."""

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from graph.core.ids import parse_uuid_id, to_global_id
from tests.support.factories import ClinicWorld, make_clinic, session_booking
from tests.support.graphql_client import error_codes, graphql

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id startsAt } }"""
RESCHEDULE = """mutation($input: RescheduleAppointmentInput!) {
  rescheduleAppointment(input: $input) { id startsAt } }"""


def next_monday() -> date:
    """A Monday at least a week ahead, on the clinic's calendar."""
    today = datetime.now(SAO_PAULO).date() + timedelta(days=7)
    return today + timedelta(days=(7 - today.weekday()) % 7)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SAO_PAULO).astimezone(UTC)


async def working_week(conn: asyncpg.Connection, world: ClinicWorld) -> None:
    """Mon–Fri 08–12 and 13–18 for the world's physiotherapist."""
    await conn.execute(
        "INSERT INTO working_hours (clinic_id, physiotherapist_id, weekday, starts_at, ends_at)"
        " SELECT $1, $2, d, s::time, e::time FROM generate_series(1, 5) d,"
        " (VALUES ('08:00', '12:00'), ('13:00', '18:00')) v(s, e)",
        world.clinic_id,
        world.physio.physiotherapist_id,
    )


async def count(conn: asyncpg.Connection, world: ClinicWorld) -> int:
    found: int = await conn.fetchval(
        "SELECT count(*) FROM appointments WHERE clinic_id = $1", world.clinic_id
    )
    return found


async def test_bookings_outside_availability_are_refused(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    await working_week(superuser, world)
    monday = next_monday()
    await superuser.execute(
        "INSERT INTO time_off (clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
        " VALUES ($1, $2, $3, $4, 'Congresso')",
        world.clinic_id, world.physio.physiotherapist_id,
        local(monday + timedelta(days=1), 0), local(monday + timedelta(days=2), 0),
    )  # fmt: skip
    await superuser.execute(
        "INSERT INTO clinic_holidays (clinic_id, day, name) VALUES ($1, $2, 'Feriado')",
        world.clinic_id, monday + timedelta(days=3),
    )  # fmt: skip
    token = world.token(world.receptionist)
    cases = [
        (local(monday, 12, 0), "OUTSIDE_WORKING_HOURS"),  # the lunch break
        (local(monday, 17, 45), "OUTSIDE_WORKING_HOURS"),  # past 18:00
        (local(monday + timedelta(days=5), 9), "OUTSIDE_WORKING_HOURS"),  # Saturday
        (local(monday + timedelta(days=1), 9), "SLOT_UNAVAILABLE"),  # time off
        (local(monday + timedelta(days=3), 9), "SLOT_UNAVAILABLE"),  # holiday
    ]
    before = await count(superuser, world)
    for _ in range(2):  # the second time through a plan the compiler keeps
        for starts, code in cases:
            body = await graphql(
                client, SCHEDULE, {"input": session_booking(world, starts)}, token=token
            )
            assert error_codes(body) == [code], (starts, body)
            assert body["errors"][0]["extensions"]["field"] == "startsAt"
            assert "appointments_" not in body["errors"][0]["message"]
    assert await count(superuser, world) == before

    made = await graphql(
        client, SCHEDULE, {"input": session_booking(world, local(monday, 11, 30))}, token=token
    )
    assert "errors" not in made, made
    appointment = made["data"]["scheduleAppointment"]["id"]
    for starts, code in cases:
        moved = await graphql(
            client, RESCHEDULE, {"input": {"id": appointment, "startsAt": starts.isoformat()}},
            token=token,
        )  # fmt: skip
        assert error_codes(moved) == [code], (starts, moved)
    stored = await superuser.fetchval(
        "SELECT starts_at FROM appointments WHERE clinic_id = $1 AND status = 'scheduled'",
        world.clinic_id,
    )
    assert stored == local(monday, 11, 30)


async def test_a_physiotherapist_without_hours_is_bookable_any_time(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    await working_week(superuser, world)  # for physio, not other_physio
    saturday_night = local(next_monday() + timedelta(days=5), 22)
    booking = session_booking(world, saturday_night, patient_index=3, physio=world.other_physio)
    body = await graphql(
        client, SCHEDULE, {"input": booking}, token=world.token(world.receptionist)
    )
    assert "errors" not in body, body
    assert await count(superuser, world) == 1


SET_HOURS = """mutation($input: SetWorkingHoursInput!) {
  setWorkingHours(input: $input) { id workingHours { weekday start end } } }"""
HOURS_OF = """query($id: ID!) { node(id: $id) { ... on Physiotherapist {
  workingHours { weekday start end } } } }"""
ADD_OFF = """mutation($input: AddTimeOffInput!) {
  addTimeOff(input: $input) { id startsAt endsAt reason physiotherapist { name } } }"""
REMOVE_OFF = """mutation($id: ID!) { removeTimeOff(input: { id: $id }) { id reason } }"""
TIME_OFF_OF = """query($id: ID!, $from: DateTime, $to: DateTime) { node(id: $id) {
  ... on Physiotherapist { timeOff(from: $from, to: $to) { id reason } } } }"""
ADD_HOLIDAY = """mutation($input: AddClinicHolidayInput!) {
  addClinicHoliday(input: $input) { id date name } }"""
REMOVE_HOLIDAY = """mutation($id: ID!) { removeClinicHoliday(input: { id: $id }) { id name } }"""
HOLIDAYS = (
    """query($from: Date, $to: Date) { clinicHolidays(from: $from, to: $to) { date name } }"""
)

WEEK = [
    {"weekday": day, "start": start, "end": end}
    for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")
    for start, end in (("08:00:00", "12:00:00"), ("13:00:00", "18:00:00"))
]


def physio_id(world: ClinicWorld, other: bool = False) -> str:
    who = world.other_physio if other else world.physio
    assert who.physiotherapist_id is not None
    return to_global_id("Physiotherapist", who.physiotherapist_id)


async def stored_week(conn: asyncpg.Connection, world: ClinicWorld) -> list[tuple[Any, ...]]:
    rows = await conn.fetch(
        "SELECT weekday, starts_at, ends_at FROM working_hours WHERE physiotherapist_id = $1"
        " ORDER BY weekday, starts_at",
        world.physio.physiotherapist_id,
    )
    return [tuple(row) for row in rows]


async def test_set_working_hours_replaces_the_week(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    body = await graphql(
        client, SET_HOURS, {"input": {"physiotherapistId": physio_id(world), "weekly": WEEK}},
        token=token,
    )  # fmt: skip
    assert "errors" not in body, body
    answered = body["data"]["setWorkingHours"]["workingHours"]
    assert answered[:2] == [
        {"weekday": "MONDAY", "start": "08:00:00", "end": "12:00:00"},
        {"weekday": "MONDAY", "start": "13:00:00", "end": "18:00:00"},
    ]
    assert len(answered) == 10 and len(await stored_week(superuser, world)) == 10

    saturday = [{"weekday": "SATURDAY", "start": "09:00:00", "end": "13:00:00"}]
    for who in (world.admin, world.physio):  # a physiotherapist sets their own week
        body = await graphql(
            client, SET_HOURS,
            {"input": {"physiotherapistId": physio_id(world), "weekly": saturday}},
            token=world.token(who),
        )  # fmt: skip
        assert body["data"]["setWorkingHours"]["workingHours"] == saturday, body
    assert await stored_week(superuser, world) == [(6, time(9), time(13))]
    read = await graphql(client, HOURS_OF, {"id": physio_id(world)}, token=token)
    assert read["data"]["node"]["workingHours"] == saturday
    cleared = await graphql(
        client, SET_HOURS, {"input": {"physiotherapistId": physio_id(world), "weekly": []}},
        token=token,
    )  # fmt: skip
    assert cleared["data"]["setWorkingHours"]["workingHours"] == []
    assert await stored_week(superuser, world) == []


async def test_hostile_working_hours_are_refused_and_change_nothing(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    other = await make_clinic(superuser)
    admin = world.token(world.admin)
    first = await graphql(
        client, SET_HOURS, {"input": {"physiotherapistId": physio_id(world), "weekly": WEEK}},
        token=admin,
    )  # fmt: skip
    assert "errors" not in first, first
    before = await stored_week(superuser, world)

    def interval(day: str, start: str, end: str) -> dict[str, str]:
        return {"weekday": day, "start": start, "end": end}

    many = [interval("MONDAY", "08:00:00", "08:01:00")] * 10_000
    cases = [
        ([interval("MONDAY", "08:00:00", "12:00:00"), interval("MONDAY", "11:00:00", "14:00:00")],
         physio_id(world), admin, "BAD_USER_INPUT", "weekly"),
        ([interval("MONDAY", "12:00:00", "08:00:00")], physio_id(world), admin,
         "BAD_USER_INPUT", "weekly"),
        ([interval("MONDAY", "08:00:00", "08:00:00")], physio_id(world), admin,
         "BAD_USER_INPUT", "weekly"),
        ([interval("MONDAY", "08:00:00+03:00", "12:00:00+03:00")], physio_id(world), admin,
         "BAD_USER_INPUT", "weekly"),
        (many, physio_id(world), admin, "BAD_USER_INPUT", "weekly"),
        (WEEK, physio_id(other), admin, "NOT_FOUND", "physiotherapistId"),
        (WEEK, to_global_id("Patient", world.patient_ids[0]), admin, "BAD_USER_INPUT",
         "physiotherapistId"),
        # A physiotherapist sets only their own week; patients none.
        (WEEK, physio_id(world, other=True), world.token(world.physio), "FORBIDDEN",
         "physiotherapistId"),
        (WEEK, physio_id(world), world.token(world.patient), "FORBIDDEN", None),
    ]  # fmt: skip
    for weekly, physio, token, code, field in cases:
        body = await graphql(
            client, SET_HOURS, {"input": {"physiotherapistId": physio, "weekly": weekly}},
            token=token,
        )  # fmt: skip
        assert error_codes(body) == [code], (weekly[:2], body)
        assert body["errors"][0]["extensions"].get("field") == field, body
    assert await stored_week(superuser, world) == before
    assert (
        await superuser.fetchval(
            "SELECT count(*) FROM working_hours WHERE clinic_id = $1", other.clinic_id
        )
        == 0
    )


async def test_racing_replacements_leave_one_whole_week(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    weeks = [
        [{"weekday": day, "start": f"{8 + n:02}:00:00", "end": f"{12 + n:02}:00:00"}
         for day in ("MONDAY", "WEDNESDAY", "FRIDAY")]
        for n in range(4)
    ]  # fmt: skip
    answers = await asyncio.gather(
        *(
            graphql(client, SET_HOURS,
                    {"input": {"physiotherapistId": physio_id(world), "weekly": week}},
                    token=token)
            for week in weeks
        )
    )  # fmt: skip
    assert all("errors" not in body for body in answers), answers
    stored = await stored_week(superuser, world)
    starts = {start for _, start, _ in stored}
    assert len(stored) == 3 and len(starts) == 1  # one request's week, whole


async def test_time_off(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    other = await make_clinic(superuser)
    start = local(next_monday(), 0)
    week_later = (start + timedelta(days=7)).isoformat()

    def off(physio: str, ends: str = week_later, reason: str = "Congresso") -> dict[str, Any]:
        return {"input": {"physiotherapistId": physio, "startsAt": start.isoformat(),
                          "endsAt": ends, "reason": reason}}  # fmt: skip

    admin = world.token(world.admin)
    twenty_years = (start + timedelta(days=365 * 20)).isoformat()
    cases = [
        (off(physio_id(world), twenty_years), admin, "BAD_USER_INPUT", "endsAt"),
        (off(physio_id(world), start.isoformat()), admin, "BAD_USER_INPUT", "endsAt"),
        (off(physio_id(world), (start - timedelta(days=1)).isoformat()), admin,
         "BAD_USER_INPUT", "endsAt"),
        (off(physio_id(world), reason="   "), admin, "BAD_USER_INPUT", "reason"),
        (off(physio_id(world), reason="x" * 201), admin, "BAD_USER_INPUT", "reason"),
        (off(physio_id(other)), admin, "NOT_FOUND", "physiotherapistId"),
        (off(physio_id(world, other=True)), world.token(world.physio), "FORBIDDEN",
         "physiotherapistId"),
        (off(physio_id(world)), world.token(world.patient), "FORBIDDEN", None),
    ]  # fmt: skip
    for variables, token, code, field in cases:
        body = await graphql(client, ADD_OFF, variables, token=token)
        assert error_codes(body) == [code], (variables, body)
        assert body["errors"][0]["extensions"].get("field") == field, body
    assert (
        await superuser.fetchval(
            "SELECT count(*) FROM time_off WHERE clinic_id = ANY($1::uuid[])",
            [world.clinic_id, other.clinic_id],
        )
        == 0
    )

    mine = await graphql(client, ADD_OFF, off(physio_id(world)), token=world.token(world.physio))
    assert "errors" not in mine, mine
    assert mine["data"]["addTimeOff"]["physiotherapist"] == {"name": "Ana Souza"}
    theirs = await graphql(
        client, ADD_OFF, off(physio_id(world, other=True), reason="Férias"),
        token=world.token(world.receptionist),
    )  # fmt: skip
    assert "errors" not in theirs, theirs

    read = {"id": physio_id(world), "from": start.isoformat(), "to": week_later}
    for who in (world.admin, world.receptionist, world.physio):
        seen = await graphql(client, TIME_OFF_OF, read, token=world.token(who))
        assert [o["reason"] for o in seen["data"]["node"]["timeOff"]] == ["Congresso"], seen
    before = {"id": physio_id(world), "to": start.isoformat()}
    none = await graphql(client, TIME_OFF_OF, before, token=admin)
    assert none["data"]["node"]["timeOff"] == []
    hidden = await graphql(client, TIME_OFF_OF, read, token=world.token(world.patient))
    assert error_codes(hidden) == ["FORBIDDEN"]
    assert "Congresso" not in str(hidden)

    colleague = theirs["data"]["addTimeOff"]["id"]
    refused = await graphql(client, REMOVE_OFF, {"id": colleague}, token=world.token(world.physio))
    assert error_codes(refused) == ["FORBIDDEN"]
    foreign = await graphql(client, REMOVE_OFF, {"id": colleague}, token=other.token(other.admin))
    assert error_codes(foreign) == ["NOT_FOUND"]
    removed = await graphql(client, REMOVE_OFF, {"id": colleague}, token=admin)
    assert removed["data"]["removeTimeOff"]["reason"] == "Férias"
    again = await graphql(client, REMOVE_OFF, {"id": colleague}, token=admin)
    assert error_codes(again) == ["NOT_FOUND"]
    assert await superuser.fetchval(
        "SELECT array_agg(reason) FROM time_off WHERE clinic_id = $1", world.clinic_id
    ) == ["Congresso"]


async def test_clinic_holidays(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    other = await make_clinic(superuser)
    receptionist = world.token(world.receptionist)
    added = await graphql(
        client, ADD_HOLIDAY, {"input": {"date": "2031-04-21", "name": " Tiradentes "}},
        token=receptionist,
    )  # fmt: skip
    assert added["data"]["addClinicHoliday"]["name"] == "Tiradentes", added
    cases = [
        ({"date": "2031-04-21", "name": "De novo"}, receptionist, "CONFLICT", "date"),
        ({"date": "2031-05-01", "name": "  "}, receptionist, "BAD_USER_INPUT", "name"),
        ({"date": "1950-05-01", "name": "Antigo"}, receptionist, "BAD_USER_INPUT", "date"),
        ({"date": "2031-05-01", "name": "Trabalho"}, world.token(world.physio), "FORBIDDEN",
         None),
        ({"date": "2031-05-01", "name": "Trabalho"}, world.token(world.patient), "FORBIDDEN",
         None),
    ]  # fmt: skip
    for value, token, code, field in cases:
        body = await graphql(client, ADD_HOLIDAY, {"input": value}, token=token)
        assert error_codes(body) == [code], (value, body)
        assert body["errors"][0]["extensions"].get("field") == field, body
    for who in (world.patient, world.physio, world.admin):
        seen = await graphql(client, HOLIDAYS, {"from": "2031-01-01"}, token=world.token(who))
        assert seen["data"]["clinicHolidays"] == [{"date": "2031-04-21", "name": "Tiradentes"}]
    theirs = await graphql(client, HOLIDAYS, {}, token=other.token(other.admin))
    assert theirs["data"]["clinicHolidays"] == []
    holiday = added["data"]["addClinicHoliday"]["id"]
    foreign = await graphql(client, REMOVE_HOLIDAY, {"id": holiday}, token=other.token(other.admin))
    assert error_codes(foreign) == ["NOT_FOUND"]
    removed = await graphql(client, REMOVE_HOLIDAY, {"id": holiday}, token=receptionist)
    assert removed["data"]["removeClinicHoliday"]["name"] == "Tiradentes"
    assert (
        await superuser.fetchval(
            "SELECT count(*) FROM clinic_holidays WHERE clinic_id = $1", world.clinic_id
        )
        == 0
    )


async def overridden(conn: asyncpg.Connection, appointment: Any) -> bool:
    value: bool = await conn.fetchval(
        "SELECT outside_working_hours FROM appointments WHERE id = $1", appointment
    )
    return value


async def test_only_an_admin_overrides_the_working_hours(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    await working_week(superuser, world)
    saturday = local(next_monday() + timedelta(days=5), 9)
    override = {**session_booking(world, saturday), "outsideWorkingHours": True}
    schedule = """mutation($input: ScheduleAppointmentInput!) {
      scheduleAppointment(input: $input) { id startsAt } }"""
    for who in (world.receptionist, world.physio):
        body = await graphql(client, schedule, {"input": override}, token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"], body
        assert body["errors"][0]["extensions"]["field"] == "outsideWorkingHours"
    assert await count(superuser, world) == 0
    admin = world.token(world.admin)
    for _ in range(2):  # the compiled mutation, then its kept plan: each books one
        made = await graphql(client, schedule, {"input": override}, token=admin)
        assert "errors" not in made, made
        stored = parse_uuid_id(made["data"]["scheduleAppointment"]["id"], "Appointment")
        assert await overridden(superuser, stored) is True
        override = {**override, "patientId": to_global_id("Patient", world.patient_ids[1]),
                    "startsAt": (saturday + timedelta(hours=1)).isoformat()}  # fmt: skip
    appointment = made["data"]["scheduleAppointment"]["id"]
    # The holiday rule is not the admin's to lift.
    await superuser.execute(
        "INSERT INTO clinic_holidays (clinic_id, day, name) VALUES ($1, $2, 'Feriado')",
        world.clinic_id, next_monday() + timedelta(days=6),
    )  # fmt: skip
    sunday = (saturday + timedelta(days=1)).isoformat()
    reschedule = """mutation($input: RescheduleAppointmentInput!) {
      rescheduleAppointment(input: $input) { startsAt } }"""
    moved = {"id": appointment, "startsAt": sunday, "outsideWorkingHours": True}
    holiday = await graphql(client, reschedule, {"input": moved}, token=admin)
    assert error_codes(holiday) == ["SLOT_UNAVAILABLE"], holiday
    later = (saturday + timedelta(hours=3)).isoformat()
    refused = await graphql(
        client, reschedule, {"input": {**moved, "startsAt": later}},
        token=world.token(world.receptionist),
    )  # fmt: skip
    assert error_codes(refused) == ["FORBIDDEN"]
    # Moved by the front desk without the override: only into the hours.
    plain = {"id": appointment, "startsAt": later}
    outside = await graphql(
        client, reschedule, {"input": plain}, token=world.token(world.receptionist)
    )
    assert error_codes(outside) == ["OUTSIDE_WORKING_HOURS"]
    inside = {"id": appointment, "startsAt": local(next_monday(), 9).isoformat()}
    ok = await graphql(client, reschedule, {"input": inside}, token=world.token(world.receptionist))
    assert "errors" not in ok, ok
    assert await overridden(superuser, stored) is False
