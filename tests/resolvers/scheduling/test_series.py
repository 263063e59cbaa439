"""Recurring series through the API: occurrences in the clinic's zone (daylight saving too),
all or nothing, skipped conflicts, cancellation, roles, other clinics, hostile input, races."""

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from graph.core.ids import to_global_id
from tests.support.database import plain_dsn
from tests.support.factories import ClinicWorld, add_appointment, make_clinic
from tests.support.graphql_client import error_codes, graphql
from tests.support.servers import Server, running_server

SCHEDULE_SERIES = """mutation($input: ScheduleAppointmentSeriesInput!) {
  scheduleAppointmentSeries(input: $input) {
    id firstStartsAt durationMinutes type weekdays count conflicts cancelledAt
    patient { name } physiotherapist { name }
    appointments(first: 100) {
      totalCount edges { node { id startsAt endsAt status series { id } } }
    }
  }
}"""
CANCEL_SERIES = """mutation($input: CancelAppointmentSeriesInput!) {
  cancelAppointmentSeries(input: $input) {
    id cancelledAt appointments(first: 100) { edges { node { startsAt status } } }
  }
}"""
PAGE = """query($id: ID!, $after: String) {
  node(id: $id) { ... on AppointmentSeries {
    appointments(first: 4, after: $after) {
      edges { node { startsAt } } pageInfo { hasNextPage endCursor } } } }
}"""
SERIES_OF_APPOINTMENT = """query($id: ID!) {
  node(id: $id) { ... on Appointment { series { id count weekdays } } }
}"""

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
NEW_YORK = ZoneInfo("America/New_York")
LISBON = ZoneInfo("Europe/Lisbon")


def next_weekday(weekday: int, weeks_ahead: int = 2) -> date:
    """A date of this ISO weekday at least `weeks_ahead` weeks from today."""
    day = datetime.now(UTC).date() + timedelta(weeks=weeks_ahead)
    return day + timedelta(days=(weekday - day.isoweekday()) % 7)


def local(day: date, at: time, zone: ZoneInfo = SAO_PAULO) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def series_input(
    world: ClinicWorld,
    first: datetime,
    weekdays: list[str],
    count: int,
    *,
    patient: int = 0,
    physio: uuid.UUID | None = None,
    minutes: int = 50,
    **extra: Any,
) -> dict[str, Any]:
    physiotherapist = physio or world.physio.physiotherapist_id
    assert physiotherapist is not None
    return {
        "input": {
            "patientId": to_global_id("Patient", world.patient_ids[patient]),
            "physiotherapistId": to_global_id("Physiotherapist", physiotherapist),
            "firstStartsAt": first.isoformat(),
            "durationMinutes": minutes,
            "type": "SESSION",
            "weekdays": weekdays,
            "count": count,
            **extra,
        }
    }


def starts(series: dict[str, Any]) -> list[datetime]:
    edges = series["appointments"]["edges"]
    return [datetime.fromisoformat(edge["node"]["startsAt"]) for edge in edges]


async def rows(conn: asyncpg.Connection, world: ClinicWorld) -> tuple[int, int]:
    """(series, appointments) of the clinic."""
    series = await conn.fetchval(
        "select count(*) from appointment_series where clinic_id = $1", world.clinic_id
    )
    appointments = await conn.fetchval(
        "select count(*) from appointments where clinic_id = $1", world.clinic_id
    )
    return series, appointments


async def test_ten_sessions_mondays_and_wednesdays(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    first = local(next_weekday(1), time(8))
    body = await graphql(
        client,
        SCHEDULE_SERIES,
        series_input(world, first, ["WEDNESDAY", "MONDAY"], 10),
        token=world.token(world.receptionist),
    )
    assert "errors" not in body, body
    series = body["data"]["scheduleAppointmentSeries"]
    assert series["weekdays"] == ["MONDAY", "WEDNESDAY"]
    assert (series["count"], series["conflicts"], series["type"]) == (10, [], "SESSION")
    assert series["physiotherapist"] == {"name": "Ana Souza"}
    made = starts(series)
    assert series["appointments"]["totalCount"] == len(made) == 10
    assert made[0] == first
    assert [m.astimezone(SAO_PAULO).time() for m in made] == [time(8)] * 10
    assert [m.astimezone(SAO_PAULO).isoweekday() for m in made] == [1, 3] * 5
    assert made[-1].astimezone(SAO_PAULO).date() == first.date() + timedelta(days=4 * 7 + 2)
    for edge in series["appointments"]["edges"]:
        assert edge["node"]["series"] == {"id": series["id"]}
        assert edge["node"]["status"] == "SCHEDULED"
        end = datetime.fromisoformat(edge["node"]["endsAt"])
        assert end - datetime.fromisoformat(edge["node"]["startsAt"]) == timedelta(minutes=50)
    assert await rows(superuser, world) == (1, 10)
    # What the answer says is in the database, with its author.
    stored = await superuser.fetchrow(
        "select iso_weekdays, count, created_by, skipped_starts from appointment_series"
        " where clinic_id = $1",
        world.clinic_id,
    )
    assert (stored["iso_weekdays"], stored["count"]) == ([1, 3], 10)
    assert stored["created_by"] == world.receptionist.user_id
    assert stored["skipped_starts"] == []

    # appointments(first, after) pages through them; Appointment.series leads back.
    token = world.token(world.admin)
    seen: list[datetime] = []
    after = None
    while True:
        page = await graphql(client, PAGE, {"id": series["id"], "after": after}, token=token)
        connection = page["data"]["node"]["appointments"]
        seen += [datetime.fromisoformat(e["node"]["startsAt"]) for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == made
    appointment_id = series["appointments"]["edges"][0]["node"]["id"]
    back = await graphql(client, SERIES_OF_APPOINTMENT, {"id": appointment_id}, token=token)
    assert back["data"]["node"]["series"] == {
        "id": series["id"],
        "count": 10,
        "weekdays": ["MONDAY", "WEDNESDAY"],
    }


@pytest.mark.parametrize(
    ("zone", "first_day", "change_day"),
    [
        # The US spring forward of 2027 (March 14) and fall back (November 7), Mondays.
        (NEW_YORK, date(2027, 3, 1), date(2027, 3, 14)),
        (NEW_YORK, date(2027, 10, 25), date(2027, 11, 7)),
        # Portugal springs forward on March 28, 2027.
        (LISBON, date(2027, 3, 15), date(2027, 3, 28)),
    ],
)
async def test_daylight_saving_keeps_the_wall_clock(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    zone: ZoneInfo,
    first_day: date,
    change_day: date,
) -> None:
    world = await make_clinic(superuser)
    await superuser.execute(
        "update clinics set time_zone = $1 where id = $2", str(zone), world.clinic_id
    )
    first = local(first_day, time(8), zone)
    body = await graphql(
        client,
        SCHEDULE_SERIES,
        series_input(world, first, ["MONDAY"], 4),
        token=world.token(world.admin),
    )
    assert "errors" not in body, body
    made = starts(body["data"]["scheduleAppointmentSeries"])
    assert [m.astimezone(zone) for m in made] == [
        local(first_day + timedelta(weeks=n), time(8), zone) for n in range(4)
    ]
    # The instants moved by the hour the clocks did: stored as instants, expanded in the zone.
    offsets = {m.astimezone(zone).utcoffset() for m in made}
    assert len(offsets) == 2
    assert any(m.date() > change_day for m in made) and made[0].date() < change_day


async def test_a_wall_time_daylight_saving_skips_moves_forward_by_the_gap(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    # 02:30 does not exist in New York on Sunday, March 14, 2027 (02:00 → 03:00): that
    # occurrence is at 03:30 EDT, the instant 02:30 EST would have been; the others at 02:30.
    world = await make_clinic(superuser)
    await superuser.execute(
        "update clinics set time_zone = 'America/New_York' where id = $1", world.clinic_id
    )
    first = local(date(2027, 3, 7), time(2, 30), NEW_YORK)
    body = await graphql(
        client,
        SCHEDULE_SERIES,
        series_input(world, first, ["SUNDAY"], 3),
        token=world.token(world.admin),
    )
    assert "errors" not in body, body
    made = starts(body["data"]["scheduleAppointmentSeries"])
    assert made == [
        datetime(2027, 3, 7, 7, 30, tzinfo=UTC),
        datetime(2027, 3, 14, 7, 30, tzinfo=UTC),
        datetime(2027, 3, 21, 6, 30, tzinfo=UTC),
    ]
    assert [m.astimezone(NEW_YORK).time() for m in made] == [time(2, 30), time(3, 30), time(2, 30)]


async def test_a_conflict_at_the_tenth_occurrence_writes_nothing(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    first = local(next_weekday(1), time(8))
    tenth = first + timedelta(weeks=4, days=2)  # Mondays and Wednesdays: the 10th, a Wednesday
    await add_appointment(
        superuser, world, world.patient_ids[1], physio, tenth + timedelta(minutes=30)
    )
    # The patient is busy elsewhere at the 3rd (another physiotherapist): a conflict as well.
    other = world.other_physio.physiotherapist_id
    assert other is not None
    third = first + timedelta(weeks=1)
    await add_appointment(
        superuser, world, world.patient_ids[0], other, third - timedelta(minutes=20)
    )
    # Cancelled and no-show appointments do not hold their slot.
    fifth = first + timedelta(weeks=2)
    await add_appointment(superuser, world, world.patient_ids[2], physio, fifth, status="cancelled")
    before = await rows(superuser, world)
    body = await graphql(
        client,
        SCHEDULE_SERIES,
        series_input(world, first, ["MONDAY", "WEDNESDAY"], 10),
        token=world.token(world.receptionist),
    )
    assert error_codes(body) == ["SLOT_UNAVAILABLE"], body
    conflicts = body["errors"][0]["extensions"]["conflicts"]
    assert [datetime.fromisoformat(c) for c in conflicts] == [third, tenth]
    assert body["data"] is None
    assert await rows(superuser, world) == before


async def test_holidays_time_off_and_working_hours_are_conflicts(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """Ana works Mondays 07:00-12:00 and Wednesdays 07:00-10:00: a 09:30 session of 50
    minutes does not fit on Wednesdays. The 2nd Monday she is on a course, the 3rd is a
    clinic holiday. Of six occurrences only the first is free."""
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    for weekday, ends in ((1, time(12)), (3, time(10))):
        await superuser.execute(
            "insert into working_hours (clinic_id, physiotherapist_id, weekday, starts_at,"
            " ends_at) values ($1, $2, $3, '07:00', $4)",
            world.clinic_id, physio, weekday, ends,
        )  # fmt: skip
    first = local(next_weekday(1), time(9, 30))
    mondays = [first + timedelta(weeks=n) for n in range(3)]
    wednesdays = [m + timedelta(days=2) for m in mondays]
    await superuser.execute(
        "insert into time_off (clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
        " values ($1, $2, $3, $4, 'Curso de RPG')",
        world.clinic_id, physio, mondays[1] - timedelta(hours=2), mondays[1] + timedelta(hours=8),
    )  # fmt: skip
    await superuser.execute(
        "insert into clinic_holidays (clinic_id, day, name) values ($1, $2, 'Feriado municipal')",
        world.clinic_id,
        mondays[2].date(),
    )
    variables = series_input(world, first, ["MONDAY", "WEDNESDAY"], 6)
    body = await graphql(client, SCHEDULE_SERIES, variables, token=world.token(world.admin))
    assert error_codes(body) == ["SLOT_UNAVAILABLE"], body
    conflicts = [datetime.fromisoformat(c) for c in body["errors"][0]["extensions"]["conflicts"]]
    assert conflicts == sorted([*mondays[1:], *wednesdays])
    assert await rows(superuser, world) == (0, 0)

    variables["input"]["skipConflicts"] = True
    body = await graphql(client, SCHEDULE_SERIES, variables, token=world.token(world.admin))
    assert "errors" not in body, body
    series = body["data"]["scheduleAppointmentSeries"]
    assert starts(series) == [first]
    assert [datetime.fromisoformat(c) for c in series["conflicts"]] == conflicts
    assert await rows(superuser, world) == (1, 1)


async def test_skip_conflicts_books_the_free_ones(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    first = local(next_weekday(2), time(14))
    taken = first + timedelta(weeks=2)
    await add_appointment(superuser, world, world.patient_ids[1], physio, taken)
    body = await graphql(
        client,
        SCHEDULE_SERIES,
        series_input(world, first, ["TUESDAY"], 5, skipConflicts=True),
        token=world.token(world.physio),
    )
    assert "errors" not in body, body
    series = body["data"]["scheduleAppointmentSeries"]
    assert [datetime.fromisoformat(c) for c in series["conflicts"]] == [taken]
    assert starts(series) == [first + timedelta(weeks=n) for n in (0, 1, 3, 4)]
    assert await rows(superuser, world) == (1, 5)
    stored = await superuser.fetchval(
        "select skipped_starts from appointment_series where clinic_id = $1", world.clinic_id
    )
    assert stored == [taken]

    # When every occurrence is taken there is nothing to book: SLOT_UNAVAILABLE, no series.
    again = await graphql(
        client,
        SCHEDULE_SERIES,
        series_input(world, first + timedelta(weeks=1), ["TUESDAY"], 2, skipConflicts=True),
        token=world.token(world.admin),
    )
    assert error_codes(again) == ["SLOT_UNAVAILABLE"]
    conflicts = again["errors"][0]["extensions"]["conflicts"]
    assert [datetime.fromisoformat(c) for c in conflicts] == [
        first + timedelta(weeks=1),
        taken,
    ]
    assert await rows(superuser, world) == (1, 5)


async def test_hostile_and_bad_input_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    monday = local(next_weekday(1), time(9))
    cases = [
        (series_input(world, monday, ["MONDAY"], 0), "count"),
        (series_input(world, monday, ["MONDAY"], 61), "count"),
        (series_input(world, monday, ["MONDAY"], 10_000), "count"),
        (series_input(world, monday, ["MONDAY"], -1), "count"),
        (series_input(world, monday, [], 5), "weekdays"),
        (series_input(world, monday, ["MONDAY", "MONDAY"], 5), "weekdays"),
        (series_input(world, monday, ["MONDAY"] * 10_000, 5), "weekdays"),
        (series_input(world, monday, ["TUESDAY"], 5), "firstStartsAt"),
        (series_input(world, monday - timedelta(weeks=3), ["MONDAY"], 5), "firstStartsAt"),
        (series_input(world, monday.replace(tzinfo=None), ["MONDAY"], 5), "firstStartsAt"),
        (series_input(world, monday, ["MONDAY"], 5, minutes=4), "durationMinutes"),
        (series_input(world, monday, ["MONDAY"], 5, minutes=481), "durationMinutes"),
    ]
    for variables, field in cases:
        body = await graphql(client, SCHEDULE_SERIES, variables, token=token)
        assert error_codes(body) == ["BAD_USER_INPUT"], (field, body)
        assert body["errors"][0]["extensions"]["field"] == field, body
    wrong_type = series_input(world, monday, ["MONDAY"], 5)
    wrong_type["input"]["patientId"] = to_global_id("Appointment", uuid.uuid4())
    body = await graphql(client, SCHEDULE_SERIES, wrong_type, token=token)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "patientId"
    unknown_day = series_input(world, monday, ["FUNDAY"], 5)
    body = await graphql(client, SCHEDULE_SERIES, unknown_day, token=token)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert await rows(superuser, world) == (0, 0)

    # The most a request can ask: every day of the week, 60 times: 60 appointments.
    body = await graphql(
        client, SCHEDULE_SERIES, series_input(world, monday, [
            "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"
        ], 60), token=token
    )  # fmt: skip
    assert "errors" not in body, body
    made = starts(body["data"]["scheduleAppointmentSeries"])
    assert made == [local(monday.date() + timedelta(days=n), time(9)) for n in range(60)]
    assert await rows(superuser, world) == (1, 60)


async def test_roles_and_other_clinics(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    theirs = await make_clinic(superuser)
    monday = local(next_weekday(1), time(10))
    variables = series_input(world, monday, ["MONDAY"], 3)

    anonymous = await graphql(client, SCHEDULE_SERIES, variables)
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    patient = await graphql(client, SCHEDULE_SERIES, variables, token=world.token(world.patient))
    assert error_codes(patient) == ["FORBIDDEN"]
    not_their_agenda = await graphql(
        client, SCHEDULE_SERIES, variables, token=world.token(world.other_physio)
    )
    assert error_codes(not_their_agenda) == ["FORBIDDEN"]
    # A physiotherapist books on their own agenda only patients they treat (patient 3 is
    # Bruno's, and has no appointment with Ana).
    untreated = series_input(world, monday, ["MONDAY"], 3, patient=3)
    body = await graphql(client, SCHEDULE_SERIES, untreated, token=world.token(world.physio))
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["errors"][0]["extensions"]["field"] == "patientId"

    other_patient = series_input(world, monday, ["MONDAY"], 3)
    other_patient["input"]["patientId"] = to_global_id("Patient", theirs.patient_ids[0])
    body = await graphql(client, SCHEDULE_SERIES, other_patient, token=world.token(world.admin))
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["errors"][0]["extensions"]["field"] == "patientId"
    other_physio = theirs.physio.physiotherapist_id
    assert other_physio is not None
    body = await graphql(
        client,
        SCHEDULE_SERIES,
        series_input(world, monday, ["MONDAY"], 3, physio=other_physio),
        token=world.token(world.admin),
    )
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["errors"][0]["extensions"]["field"] == "physiotherapistId"
    assert await rows(superuser, world) == (0, 0)
    assert await rows(superuser, theirs) == (0, 0)

    # The physiotherapist books their own patient; the other clinic cannot see or cancel it.
    own = await graphql(client, SCHEDULE_SERIES, variables, token=world.token(world.physio))
    assert "errors" not in own, own
    series_id = own["data"]["scheduleAppointmentSeries"]["id"]
    for who in (theirs.admin, theirs.receptionist):
        body = await graphql(
            client, CANCEL_SERIES, {"input": {"id": series_id}}, token=theirs.token(who)
        )
        assert error_codes(body) == ["NOT_FOUND"]
        seen = await graphql(client, PAGE, {"id": series_id}, token=theirs.token(who))
        assert seen["data"]["node"] is None
    # Its patient reads it (their own); another patient of the clinic does not.
    mine = await graphql(client, PAGE, {"id": series_id}, token=world.token(world.patient))
    assert len(mine["data"]["node"]["appointments"]["edges"]) == 3
    other = await make_clinic(superuser)
    assert (await graphql(client, PAGE, {"id": series_id}, token=other.token(other.patient)))[
        "data"
    ]["node"] is None
    bad = await graphql(
        client,
        CANCEL_SERIES,
        {"input": {"id": to_global_id("Patient", world.patient_ids[0])}},
        token=world.token(world.admin),
    )
    assert error_codes(bad) == ["BAD_USER_INPUT"]
    assert bad["errors"][0]["extensions"]["field"] == "id"


async def test_cancel_the_remaining_occurrences(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    first = local(next_weekday(3), time(7, 30))
    body = await graphql(
        client,
        SCHEDULE_SERIES,
        series_input(world, first, ["WEDNESDAY", "FRIDAY"], 6),
        token=world.token(world.receptionist),
    )
    series = body["data"]["scheduleAppointmentSeries"]
    made = starts(series)
    # The 5th was confirmed (it is cancelled with the rest); the 6th was cancelled before (it
    # keeps its reason). (A future session cannot be completed: migration 0018.)
    series_db_id = await superuser.fetchval(
        "select id from appointment_series where clinic_id = $1", world.clinic_id
    )
    for start, status, reason in ((made[4], "confirmed", None), (made[5], "cancelled", "viagem")):
        await superuser.execute(
            "update appointments set status = $3, cancel_reason = $4"
            " where series_id = $1 and starts_at = $2",
            series_db_id,
            start,
            status,
            reason,
        )
    for who in (world.patient, world.other_physio):
        refused = await graphql(
            client, CANCEL_SERIES, {"input": {"id": series["id"]}}, token=world.token(who)
        )
        assert error_codes(refused) == ["FORBIDDEN"], refused
    audit_before = await superuser.fetchval("select max(id) from audit_log")
    body = await graphql(
        client,
        CANCEL_SERIES,
        {"input": {"id": series["id"], "from": made[3].isoformat(), "reason": "alta"}},
        token=world.token(world.physio),
    )
    assert "errors" not in body, body
    cancelled = body["data"]["cancelAppointmentSeries"]
    assert cancelled["cancelledAt"] is not None
    statuses = [edge["node"]["status"] for edge in cancelled["appointments"]["edges"]]
    assert statuses == ["SCHEDULED"] * 3 + ["CANCELLED"] * 3
    stored = await superuser.fetch(
        "select id, status, cancel_reason from appointments where series_id = $1"
        " order by starts_at",
        series_db_id,
    )
    assert [(r["status"], r["cancel_reason"]) for r in stored] == [("scheduled", None)] * 3 + [
        ("cancelled", "alta")
    ] * 2 + [("cancelled", "viagem")]
    # Each cancellation audited with its actor, and the series' own.
    audited = await superuser.fetch(
        "select record_id, actor_id from audit_log where table_name = 'appointments'"
        " and operation = 'UPDATE' and new_data ->> 'status' = 'cancelled' and id > $1",
        audit_before,
    )
    assert sorted(r["record_id"] for r in audited) == sorted(r["id"] for r in stored[3:5])
    assert {r["actor_id"] for r in audited} == {world.physio.user_id}
    series_audit = await superuser.fetchval(
        "select actor_id from audit_log where table_name = 'appointment_series'"
        " and operation = 'UPDATE' and record_id = $1 and id > $2",
        series_db_id,
        audit_before,
    )
    assert series_audit == world.physio.user_id

    # Again, with the default `from` (now): the rest, and never a past one.
    again = await graphql(
        client, CANCEL_SERIES, {"input": {"id": series["id"]}}, token=world.token(world.admin)
    )
    edges = again["data"]["cancelAppointmentSeries"]["appointments"]["edges"]
    assert [e["node"]["status"] for e in edges] == ["CANCELLED"] * 6
    assert again["data"]["cancelAppointmentSeries"]["cancelledAt"] == cancelled["cancelledAt"]


# -- races, against a real server ----------------------------------------------------------


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    with running_server(database_url) as s:
        yield s


async def _post(http: httpx.AsyncClient, variables: dict[str, Any], token: str) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": SCHEDULE_SERIES, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("skip", [False, True])
async def test_racing_series_never_both_win(
    server: Server, superuser: asyncpg.Connection, skip: bool
) -> None:
    """Two series for overlapping slots (the same physiotherapist, other patients), sent at
    once, several rounds: the slots are booked once; a loser answers SLOT_UNAVAILABLE with its
    conflicts (or, skipping, lists them), never INTERNAL."""
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    async with httpx.AsyncClient(base_url=server.http, timeout=60) as http:
        for round_ in range(4):
            first = local(next_weekday(1, weeks_ahead=2 + round_ * 10), time(8))
            bodies = await asyncio.gather(
                *(
                    _post(
                        http,
                        series_input(
                            world, first, ["MONDAY", "THURSDAY"], 8, patient=n, skipConflicts=skip
                        ),
                        token,
                    )
                    for n in range(3)
                )
            )
            won = [b for b in bodies if "errors" not in b]
            for body in bodies:
                assert error_codes(body) in ([], ["SLOT_UNAVAILABLE"]), body
            if not skip:
                assert len(won) == 1, bodies
                for lost in (b for b in bodies if "errors" in b):
                    conflicts = lost["errors"][0]["extensions"]["conflicts"]
                    assert conflicts, lost
            booked = await superuser.fetch(
                "select starts_at from appointments where clinic_id = $1 and starts_at >= $2"
                " and starts_at < $2 + interval '6 weeks' and status = 'scheduled'",
                world.clinic_id,
                first,
            )
            assert len(booked) == len({r["starts_at"] for r in booked}) == 8
            series = await superuser.fetch(
                "select s.id, s.skipped_starts, count(a.id) as made from appointment_series s"
                " left join appointments a on a.series_id = s.id where s.clinic_id = $1"
                " and s.first_starts_at = $2 group by s.id",
                world.clinic_id,
                first,
            )
            # Every series row tells the truth: booked + skipped = asked.
            assert sum(r["made"] for r in series) == 8
            for r in series:
                assert r["made"] + len(r["skipped_starts"]) == 8
            assert len(series) == len(won)


@pytest.mark.parametrize("skip", [False, True])
async def test_a_slot_taken_between_the_check_and_the_insert(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, database_url: str, skip: bool
) -> None:
    """Another transaction books the 3rd slot, uncommitted: the series' check cannot see it,
    its insert waits for it, and when it commits the series lost that slot: SLOT_UNAVAILABLE
    listing it and nothing written, or (skipping) the series without it, saying so."""
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    first = local(next_weekday(5), time(16))
    third = first + timedelta(weeks=2)
    other = await asyncpg.connect(plain_dsn(database_url))
    try:
        transaction = other.transaction()
        await transaction.start()
        await add_appointment(other, world, world.patient_ids[1], physio, third)
        request = asyncio.create_task(
            graphql(
                client,
                SCHEDULE_SERIES,
                series_input(world, first, ["FRIDAY"], 4, skipConflicts=skip),
                token=world.token(world.admin),
            )
        )
        await asyncio.sleep(1.5)
        assert not request.done()  # waiting on the uncommitted booking of the 3rd slot
        await transaction.commit()
        body = await asyncio.wait_for(request, 30)
    finally:
        await other.close()
    if skip:
        assert "errors" not in body, body
        series = body["data"]["scheduleAppointmentSeries"]
        assert [datetime.fromisoformat(c) for c in series["conflicts"]] == [third]
        assert starts(series) == [first + timedelta(weeks=n) for n in (0, 1, 3)]
        assert await rows(superuser, world) == (1, 4)
    else:
        assert error_codes(body) == ["SLOT_UNAVAILABLE"], body
        conflicts = body["errors"][0]["extensions"]["conflicts"]
        assert [datetime.fromisoformat(c) for c in conflicts] == [third]
        assert await rows(superuser, world) == (0, 1)
