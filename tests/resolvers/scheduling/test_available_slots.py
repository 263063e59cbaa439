"""`availableSlots`: what it offers, for whom, in one statement; and that every offered slot
books and no refused time is offered (a property test over generated weeks)."""

import random
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from graph.core.ids import to_global_id
from tests.resolvers.scheduling.test_availability import local, next_monday, working_week
from tests.support.factories import ClinicWorld, add_appointment, make_clinic, session_booking
from tests.support.graphql_client import StatementCounter, error_codes, graphql

SLOTS = """query($physio: ID, $from: DateTime!, $to: DateTime!, $minutes: Int!) {
  availableSlots(physiotherapistId: $physio, from: $from, to: $to, durationMinutes: $minutes) {
    startsAt endsAt } }"""
SLOTS_WITH_PHYSIO = """query($from: DateTime!, $to: DateTime!) {
  availableSlots(from: $from, to: $to, durationMinutes: 60) {
    startsAt physiotherapist { name } } }"""
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id } }"""


def physio_gid(world: ClinicWorld, other: bool = False) -> str:
    who = world.other_physio if other else world.physio
    assert who.physiotherapist_id is not None
    return to_global_id("Physiotherapist", who.physiotherapist_id)


def window(day: datetime, days: int = 1) -> dict[str, str]:
    return {"from": day.isoformat(), "to": (day + timedelta(days=days)).isoformat()}


def starts(body: dict[str, Any]) -> list[datetime]:
    assert "errors" not in body, body
    return [datetime.fromisoformat(s["startsAt"]) for s in body["data"]["availableSlots"]]


def grid(day: Any, start: time, end: time, minutes: int) -> list[datetime]:
    """Every 15 minutes from `start` while a slot of `minutes` still ends by `end`."""
    first = local(day, start.hour, start.minute)
    last = local(day, end.hour, end.minute) - timedelta(minutes=minutes)
    return [
        first + timedelta(minutes=15 * n)
        for n in range(int((last - first) / timedelta(minutes=15)) + 1)
    ]


async def test_slots_follow_hours_appointments_time_off_and_holidays(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    await working_week(superuser, world)
    monday = next_monday()
    token = world.token(world.receptionist)
    variables = {"physio": physio_gid(world), "minutes": 60, **window(local(monday, 0))}
    offered = starts(await graphql(client, SLOTS, variables, token=token))
    expected = grid(monday, time(8), time(12), 60) + grid(monday, time(13), time(18), 60)
    assert offered == expected
    assert offered[0] == local(monday, 8) and offered[-1] == local(monday, 17)

    patient = world.patient_ids[0]
    physio = world.physio.physiotherapist_id
    assert physio is not None
    await add_appointment(superuser, world, patient, physio, local(monday, 9), 60)
    await add_appointment(superuser, world, patient, physio, local(monday, 14), 30, "cancelled")
    await superuser.execute(
        "INSERT INTO time_off (clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
        " VALUES ($1, $2, $3, $4, 'Médico')",
        world.clinic_id, physio, local(monday, 16), local(monday, 18),
    )  # fmt: skip
    offered = starts(await graphql(client, SLOTS, variables, token=token))
    busy = {local(monday, 8) + timedelta(minutes=15 * n) for n in range(1, 8)}  # 08:15–09:45
    late = {s for s in expected if s + timedelta(minutes=60) > local(monday, 16)}
    assert offered == [s for s in expected if s not in busy | late]

    await superuser.execute(
        "INSERT INTO clinic_holidays (clinic_id, day, name) VALUES ($1, $2, 'Feriado')",
        world.clinic_id, monday,
    )  # fmt: skip
    assert starts(await graphql(client, SLOTS, variables, token=token)) == []
    two_days = {**variables, **window(local(monday, 0), 2)}
    tuesday = monday + timedelta(days=1)
    assert starts(await graphql(client, SLOTS, two_days, token=token)) == expected_of(tuesday)


def expected_of(day: Any) -> list[datetime]:
    return grid(day, time(8), time(12), 60) + grid(day, time(13), time(18), 60)


async def test_slots_of_every_physiotherapist_and_none_without_hours(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    world = await make_clinic(superuser)
    await working_week(superuser, world)
    monday = next_monday()
    other = world.other_physio.physiotherapist_id
    await superuser.execute(
        "INSERT INTO working_hours (clinic_id, physiotherapist_id, weekday, starts_at, ends_at)"
        " VALUES ($1, $2, 1, '10:00', '11:00')",
        world.clinic_id, other,
    )  # fmt: skip
    token = world.token(world.admin)
    statements.reset()
    body = await graphql(client, SLOTS_WITH_PHYSIO, window(local(monday, 0)), token=token)
    assert "errors" not in body, body
    slots = body["data"]["availableSlots"]
    # One statement for the slots, one batched read of their physiotherapists (and the
    # identity settings), whatever the number of slots.
    assert statements.count == 3, statements.statements
    bruno = [s["startsAt"] for s in slots if s["physiotherapist"]["name"] == "Bruno Lima"]
    assert [datetime.fromisoformat(s) for s in bruno] == [local(monday, 10)]
    assert len(slots) == len(expected_of(monday)) + 1
    assert [s["startsAt"] for s in slots] == sorted(s["startsAt"] for s in slots)

    # No working hours at all: offered nowhere (though bookable at any time).
    await superuser.execute("DELETE FROM working_hours WHERE physiotherapist_id = $1", other)
    only = {"physio": physio_gid(world, other=True), "minutes": 30, **window(local(monday, 0))}
    assert starts(await graphql(client, SLOTS, only, token=token)) == []
    # Inactive: offered nowhere.
    await superuser.execute(
        "UPDATE physiotherapists SET active = false WHERE id = $1", world.physio.physiotherapist_id
    )
    assert starts(await graphql(client, SLOTS_WITH_PHYSIO.replace("physiotherapist { name }", ""),
                                window(local(monday, 0)), token=token)) == []  # fmt: skip


async def test_slots_refuse_bad_windows_and_never_the_past(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    other = await make_clinic(superuser)
    await working_week(superuser, world)
    token = world.token(world.receptionist)
    now = datetime.now(UTC)
    cases = [
        ({"from": now.isoformat(), "to": (now + timedelta(days=32)).isoformat()}, 60, "to"),
        ({"from": now.isoformat(), "to": now.isoformat()}, 60, "to"),
        ({"from": now.isoformat(), "to": (now - timedelta(days=1)).isoformat()}, 60, "to"),
        ({**window(now), "from": now.replace(tzinfo=None).isoformat()}, 60, "from"),
        (window(now), 4, "durationMinutes"),
        (window(now), 481, "durationMinutes"),
        (window(now), -1, "durationMinutes"),
    ]  # fmt: skip
    for span, minutes, field in cases:
        variables = {"physio": physio_gid(world), "minutes": minutes, **span}
        body = await graphql(client, SLOTS, variables, token=token)
        assert error_codes(body) == ["BAD_USER_INPUT"], (span, minutes, body)
        assert body["errors"][0]["extensions"]["field"] == field
    wrong_type = {"physio": to_global_id("Patient", world.patient_ids[0]), "minutes": 60,
                  **window(now)}  # fmt: skip
    body = await graphql(client, SLOTS, wrong_type, token=token)
    assert body["errors"][0]["extensions"]["field"] == "physiotherapistId"
    # The past is never offered: this week's window from a week ago.
    past = {"physio": physio_gid(world), "minutes": 30, **window(now - timedelta(days=8), 10)}
    assert all(s >= now for s in starts(await graphql(client, SLOTS, past, token=token)))
    # Another clinic's physiotherapist: nothing, from their hours or anyone's.
    theirs = {"physio": physio_gid(world), "minutes": 30, **window(now, 14)}
    assert starts(await graphql(client, SLOTS, theirs, token=other.token(other.admin))) == []


async def test_a_patient_sees_slots_of_who_treats_them_when_self_booking_is_on(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    await working_week(superuser, world)
    other = world.other_physio.physiotherapist_id
    await superuser.execute(
        "INSERT INTO working_hours (clinic_id, physiotherapist_id, weekday, starts_at, ends_at)"
        " VALUES ($1, $2, 1, '10:00', '11:00')",
        world.clinic_id, other,
    )  # fmt: skip
    monday = next_monday()
    # Another patient's session with the patient's physiotherapist hides that time too.
    physio = world.physio.physiotherapist_id
    assert physio is not None
    await add_appointment(superuser, world, world.patient_ids[1], physio, local(monday, 8), 60)
    token = world.token(world.patient)
    variables = window(local(monday, 0))
    assert starts(await graphql(client, SLOTS_WITH_PHYSIO, variables, token=token)) == []
    await superuser.execute(
        "UPDATE clinics SET patient_self_booking = true WHERE id = $1", world.clinic_id
    )
    body = await graphql(client, SLOTS_WITH_PHYSIO, variables, token=token)
    names = {s["physiotherapist"]["name"] for s in body["data"]["availableSlots"]}
    assert names == {"Ana Souza"}, body  # Bruno does not treat this patient
    offered = starts(body)
    assert local(monday, 8) not in offered and local(monday, 9) in offered
    assert "Médico" not in str(body)


# Every 15 minutes from each working interval's start, in the window, slot ends inside it:
# the candidates availableSlots draws from, with whether the database would refuse each (the
# availability rule as app_slot_refusal says it, a live appointment of the physiotherapist, or
# the past). Run as the superuser with the clinic's identity set for app_slot_refusal.
ORACLE = """
SELECT s AS starts_at,
       app_slot_refusal(w.physiotherapist_id, s, s + make_interval(mins => $4)) IS NULL
       AND NOT EXISTS (SELECT FROM appointments a
                       WHERE a.physiotherapist_id = w.physiotherapist_id
                         AND a.status NOT IN ('cancelled', 'no_show')
                         AND tstzrange(a.starts_at, a.ends_at)
                             && tstzrange(s, s + make_interval(mins => $4)))
       AND s >= now() AS bookable
FROM working_hours w
CROSS JOIN generate_series(CAST($2 AT TIME ZONE 'America/Sao_Paulo' AS date),
                           CAST($3 AT TIME ZONE 'America/Sao_Paulo' AS date),
                           interval '1 day') AS d
CROSS JOIN LATERAL generate_series(
    (CAST(d AS date) + w.starts_at) AT TIME ZONE 'America/Sao_Paulo',
    (CAST(d AS date) + w.ends_at) AT TIME ZONE 'America/Sao_Paulo' - make_interval(mins => $4),
    interval '15 minutes') AS s
WHERE w.physiotherapist_id = $1 AND w.weekday = extract(isodow FROM d)
  AND s >= $2 AND s + make_interval(mins => $4) <= $3
ORDER BY s
"""


async def random_week(conn: asyncpg.Connection, world: ClinicWorld, rng: random.Random) -> None:
    """Working intervals, time off, a holiday and appointments drawn at random."""
    physio = world.physio.physiotherapist_id
    monday = next_monday()
    for weekday in range(1, 8):
        cursor = rng.choice([6, 7, 8, 9]) * 60
        for _ in range(rng.randint(0, 3)):
            start = cursor + rng.choice([0, 15, 30, 45, 60])
            end = start + rng.choice([30, 45, 60, 90, 120, 180, 240])
            if end >= 24 * 60:
                break
            await conn.execute(
                "INSERT INTO working_hours (clinic_id, physiotherapist_id, weekday, starts_at,"
                " ends_at) VALUES ($1, $2, $3, $4, $5)",
                world.clinic_id, physio, weekday, time(start // 60, start % 60),
                time(end // 60, end % 60),
            )  # fmt: skip
            cursor = end
    for _ in range(rng.randint(0, 2)):
        begin = local(monday + timedelta(days=rng.randint(0, 6)), rng.randint(6, 18))
        await conn.execute(
            "INSERT INTO time_off (clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
            " VALUES ($1, $2, $3, $4, 'Curso')",
            world.clinic_id, physio, begin, begin + timedelta(minutes=rng.choice([60, 180, 600])),
        )  # fmt: skip
    if rng.random() < 0.5:
        await conn.execute(
            "INSERT INTO clinic_holidays (clinic_id, day, name) VALUES ($1, $2, 'Feriado')",
            world.clinic_id, monday + timedelta(days=rng.randint(0, 6)),
        )  # fmt: skip
    for n in range(rng.randint(0, 6)):
        begin = local(monday + timedelta(days=rng.randint(0, 6)), rng.randint(6, 20),
                      rng.choice([0, 10, 15, 30, 50]))  # fmt: skip
        try:  # written as maintenance: the random ones may fall anywhere, or overlap
            await conn.execute(
                "INSERT INTO appointments (clinic_id, patient_id, physiotherapist_id, starts_at,"
                " ends_at, type) VALUES ($1, $2, $3, $4, $5, 'session')",
                world.clinic_id, world.patient_ids[n % 2], physio, begin,
                begin + timedelta(minutes=rng.choice([30, 50, 60])),
            )  # fmt: skip
        except asyncpg.PostgresError:
            continue


@pytest.mark.parametrize("seed", range(6))
async def test_every_offered_slot_books_and_no_refused_time_is_offered(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, seed: int
) -> None:
    rng = random.Random(seed)
    world = await make_clinic(superuser)
    await random_week(superuser, world, rng)
    minutes = rng.choice([15, 30, 45, 60, 90])
    span = window(local(next_monday(), 0), 7)
    variables = {"physio": physio_gid(world), "minutes": minutes, **span}
    token = world.token(world.receptionist)
    body = await graphql(client, SLOTS, variables, token=token)
    offered = starts(body)

    async with superuser.transaction():
        await superuser.execute(
            "SELECT set_config('app.clinic_id', $1, true)", str(world.clinic_id)
        )
        oracle = await superuser.fetch(
            ORACLE, world.physio.physiotherapist_id, datetime.fromisoformat(span["from"]),
            datetime.fromisoformat(span["to"]), minutes,
        )  # fmt: skip
    bookable = [row["starts_at"] for row in oracle if row["bookable"]]
    refused = {row["starts_at"] for row in oracle if not row["bookable"]}
    assert not refused & set(offered), sorted(refused & set(offered))
    assert offered == bookable  # nothing bookable left out either

    for slot in rng.sample(body["data"]["availableSlots"], min(4, len(offered))):
        start = datetime.fromisoformat(slot["startsAt"])
        booking = {**session_booking(world, start, patient_index=2), "durationMinutes": minutes}
        made = await graphql(client, SCHEDULE, {"input": booking}, token=token)
        assert "errors" not in made, (seed, slot, made)
        await superuser.execute(  # a fresh state for the next one
            "UPDATE appointments SET status = 'cancelled' WHERE clinic_id = $1"
            " AND patient_id = $2 AND status = 'scheduled'",
            world.clinic_id, world.patient_ids[2],
        )  # fmt: skip
