"""Availability in the database (0014): `app_slot_refusal` for every role, in the clinic's time
zone and across daylight saving, never about another clinic; the `appointments_availability`
trigger and the admin-only `outside_working_hours` override. A private database: clinic A
(São Paulo) and clinic B, written once as the superuser; every check runs as a request does,
in a rolled-back transaction."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from graph.sql import migrate
from tests.support.database import create_database, drop_database, plain_dsn

CLINIC_A, CLINIC_B = uuid.uuid4(), uuid.uuid4()
# HOURS: Mon–Fri 08–12 and 13–18 (a lunch break); FREE: no working hours declared at all;
# OTHER: clinic B's, with hours only on Sundays and a time off over all of 2027.
HOURS, FREE, OTHER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
PATIENT, OTHER_PATIENT = uuid.uuid4(), uuid.uuid4()
ROLES = ("admin", "physiotherapist", "receptionist", "patient")


def at(local: str) -> datetime:
    """An instant given as São Paulo wall time (UTC-3 all year since 2019)."""
    return datetime.fromisoformat(local + "-03:00")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


SEED = [
    ("INSERT INTO clinics (id, name) VALUES ($1, 'A'), ($2, 'B')", [CLINIC_A, CLINIC_B]),
    (
        "INSERT INTO physiotherapists (id, clinic_id, name, email, crefito) VALUES"
        " ($1, $4, 'Ana', 'ana@a.test', 'CREFITO-3/1-F'),"
        " ($2, $4, 'Bia', 'bia@a.test', 'CREFITO-3/2-F'),"
        " ($3, $5, 'Caio', 'caio@b.test', 'CREFITO-3/3-F')",
        [HOURS, FREE, OTHER, CLINIC_A, CLINIC_B],
    ),
    (
        "INSERT INTO patients (id, clinic_id, physiotherapist_id, name)"
        " VALUES ($1, $3, $4, 'Davi'), ($2, $5, $6, 'Eva')",
        [PATIENT, OTHER_PATIENT, CLINIC_A, HOURS, CLINIC_B, OTHER],
    ),
    (
        "INSERT INTO working_hours (clinic_id, physiotherapist_id, weekday, starts_at, ends_at)"
        " SELECT $1, $2, d, s::time, e::time FROM generate_series(1, 5) d,"
        " (VALUES ('08:00', '12:00'), ('13:00', '18:00')) v(s, e)",
        [CLINIC_A, HOURS],
    ),
    (
        "INSERT INTO working_hours (clinic_id, physiotherapist_id, weekday, starts_at, ends_at)"
        " VALUES ($1, $2, 7, '10:00', '11:00')",
        [CLINIC_B, OTHER],
    ),
    (
        "INSERT INTO time_off (clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
        " VALUES ($1, $2, $3, $4, 'Congresso'), ($1, $5, $3, $4, 'Curso'),"
        " ($6, $7, '2027-01-01', '2027-12-31', 'Licença')",
        [
            *(CLINIC_A, HOURS, at("2027-03-24T13:00"), at("2027-03-26T18:00"), FREE),
            *(CLINIC_B, OTHER),
        ],
    ),
    (
        "INSERT INTO clinic_holidays (clinic_id, day, name)"
        " VALUES ($1, '2027-04-21', 'Tiradentes'), ($2, '2027-03-22', 'Feriado de B')",
        [CLINIC_A, CLINIC_B],
    ),
]


@pytest.fixture(scope="module")
async def conn(server_url: str) -> AsyncIterator[asyncpg.Connection]:
    url = await create_database(server_url)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        connection = await asyncpg.connect(plain_dsn(url))
        try:
            async with connection.transaction():
                for sql, args in SEED:
                    await connection.execute(sql, *args)
            yield connection
        finally:
            await connection.close()
    finally:
        await drop_database(server_url, url)


def settings_of(role: str, clinic: uuid.UUID = CLINIC_A) -> list[str]:
    physio = str(HOURS) if role == "physiotherapist" else ""
    patient = str(PATIENT) if role == "patient" else ""
    return [str(uuid.uuid4()), str(clinic), role, physio, patient]


async def as_role(
    conn: asyncpg.Connection,
    role: str | None,
    run: Callable[[asyncpg.Connection], Awaitable[Any]],
) -> Any:
    """Run `run` as a request of `role` in clinic A (None: no identity), rolled back."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute("SET LOCAL ROLE fisioflow_app")
        if role is not None:
            await conn.execute(
                "select set_config('app.user_id', $1, true), set_config('app.clinic_id', $2,"
                " true), set_config('app.role', $3, true), set_config('app.physiotherapist_id',"
                " $4, true), set_config('app.patient_id', $5, true)",
                *settings_of(role),
            )
        return await run(conn)
    finally:
        await transaction.rollback()


# (physiotherapist, starts, ends, refusal)
CASES = [
    (HOURS, at("2027-03-22T08:00"), at("2027-03-22T09:00"), None),
    (HOURS, at("2027-03-22T11:00"), at("2027-03-22T12:00"), None),  # ends as the morning does
    (HOURS, at("2027-03-22T11:30"), at("2027-03-22T12:30"), "outside_working_hours"),  # lunch
    (HOURS, at("2027-03-22T07:30"), at("2027-03-22T08:30"), "outside_working_hours"),
    (HOURS, at("2027-03-22T17:30"), at("2027-03-22T18:30"), "outside_working_hours"),
    (HOURS, at("2027-03-27T09:00"), at("2027-03-27T10:00"), "outside_working_hours"),  # Sat
    # Monday 11:00 UTC is 08:00 in São Paulo: inside; 08:00 UTC is 05:00 there: outside.
    (HOURS, utc("2027-03-22T11:00"), utc("2027-03-22T12:00"), None),
    (HOURS, utc("2027-03-22T08:00"), utc("2027-03-22T09:00"), "outside_working_hours"),
    # Over the lunch break and into a time off: the time off is named first.
    (HOURS, at("2027-03-24T12:30"), at("2027-03-24T13:30"), "time_off"),
    (HOURS, at("2027-03-24T14:00"), at("2027-03-24T15:00"), "time_off"),
    (HOURS, at("2027-03-26T17:00"), at("2027-03-26T18:00"), "time_off"),
    (HOURS, at("2027-04-21T09:00"), at("2027-04-21T10:00"), "clinic_holiday"),
    # 01:00 UTC on the 22nd is still the 21st in São Paulo: the holiday's date is local.
    (HOURS, utc("2027-04-22T01:00"), utc("2027-04-22T02:00"), "clinic_holiday"),
    (HOURS, at("2027-04-20T17:00"), at("2027-04-20T18:00"), None),
    (HOURS, at("2027-04-22T08:00"), at("2027-04-22T09:00"), None),
    # No working hours declared: unconstrained by hours; time off and holidays still count.
    (FREE, at("2027-03-27T03:00"), at("2027-03-27T04:00"), None),
    (FREE, at("2027-03-24T14:00"), at("2027-03-24T15:00"), "time_off"),
    (FREE, at("2027-04-21T03:00"), at("2027-04-21T04:00"), "clinic_holiday"),
    # Clinic B's physiotherapist, asked from clinic A: nothing of B shows (its Sunday-only
    # hours, its 2027 time off, its holiday on 2027-03-22 would all refuse this).
    (OTHER, at("2027-03-22T09:00"), at("2027-03-22T10:00"), None),
]


@pytest.mark.parametrize("role", ROLES)
async def test_slot_refusal_for_every_role(conn: asyncpg.Connection, role: str) -> None:
    async def run(c: asyncpg.Connection) -> list[Any]:
        answers = [
            await c.fetchval("SELECT app_slot_refusal($1, $2, $3)", physio, starts, ends)
            for physio, starts, ends, _ in CASES
        ]
        gate = await c.fetchval("SELECT current_setting('fisioflow.definer', true)")
        scope = await c.fetchval("SELECT current_setting('fisioflow.availability_clinic', true)")
        return [answers, gate, scope]

    answers, gate, scope = await as_role(conn, role, run)
    assert answers == [refusal for *_, refusal in CASES]
    assert (gate, scope) == ("", "")  # restored on exit


async def test_slot_refusal_without_identity_knows_nothing(conn: asyncpg.Connection) -> None:
    async def run(c: asyncpg.Connection) -> list[Any]:
        return [
            await c.fetchval("SELECT app_slot_refusal($1, $2, $3)", physio, starts, ends)
            for physio, starts, ends, _ in CASES
        ]

    assert await as_role(conn, None, run) == [None] * len(CASES)


async def test_slot_refusal_follows_daylight_saving(conn: asyncpg.Connection) -> None:
    """Wall times are expanded per local date: 08:00 in Lisbon is 08:00 UTC before the change
    (2027-03-28) and 07:00 UTC after it."""

    async def run(c: asyncpg.Connection) -> list[str | None]:
        await c.execute("RESET ROLE")
        await c.execute("UPDATE clinics SET time_zone = 'Europe/Lisbon' WHERE id = $1", CLINIC_A)
        await c.execute("SET LOCAL ROLE fisioflow_app")
        cases = [
            ("2027-03-22T08:00", "2027-03-22T09:00"),
            ("2027-03-22T07:00", "2027-03-22T08:00"),
            ("2027-03-29T07:00", "2027-03-29T08:00"),
            ("2027-03-29T16:00", "2027-03-29T17:00"),  # 17:00–18:00 local
            ("2027-03-29T17:00", "2027-03-29T18:00"),  # 18:00–19:00 local
        ]
        return [
            await c.fetchval("SELECT app_slot_refusal($1, $2, $3)", HOURS, utc(s), utc(e))
            for s, e in cases
        ]

    outside = "outside_working_hours"
    assert await as_role(conn, "receptionist", run) == [None, outside, None, None, outside]


async def test_refusal_functions_privileges(conn: asyncpg.Connection) -> None:
    def can(role: str, signature: str) -> Awaitable[bool]:
        return conn.fetchval("SELECT has_function_privilege($1, $2, 'EXECUTE')", role, signature)

    public = "app_slot_refusal(uuid, timestamptz, timestamptz)"
    inner = "availability_refusal(uuid, uuid, timestamptz, timestamptz)"
    assert await can("fisioflow_app", public) and not await can("public", public)
    assert not await can("fisioflow_app", inner)
    volatility = await conn.fetchval(
        "SELECT provolatile FROM pg_proc WHERE oid = $1::regprocedure", public
    )
    assert volatility == b"s"  # STABLE


INSERT = (
    "INSERT INTO appointments (id, clinic_id, patient_id, physiotherapist_id, starts_at,"
    " ends_at, type, status, outside_working_hours)"
    " VALUES ($1, $2, $3, $4, $5, $6, 'session', $7, $8) RETURNING id"
)


async def book(
    c: asyncpg.Connection,
    starts: datetime,
    ends: datetime,
    *,
    physio: uuid.UUID = HOURS,
    status: str = "scheduled",
    override: bool = False,
) -> uuid.UUID:
    appointment = uuid.uuid4()
    await c.execute(INSERT, appointment, CLINIC_A, PATIENT, physio, starts, ends, status, override)
    return appointment


async def refused(
    c: asyncpg.Connection, run: Callable[[], Awaitable[Any]]
) -> tuple[str, str | None]:
    """The SQLSTATE and constraint of the refusal `run` meets, in a rolled-back savepoint."""
    savepoint = c.transaction()
    await savepoint.start()
    try:
        with pytest.raises(asyncpg.PostgresError) as error:
            await run()
    finally:
        await savepoint.rollback()
    return error.value.sqlstate, getattr(error.value, "constraint_name", None)


OUTSIDE = ("23514", "appointments_outside_working_hours")
TIME_OFF = ("23P01", "appointments_time_off")
HOLIDAY = ("23P01", "appointments_clinic_holiday")
NOT_ADMIN = ("42501", None)


@pytest.mark.parametrize("role", ["admin", "receptionist", "physiotherapist"])
async def test_trigger_refuses_what_availability_refuses(
    conn: asyncpg.Connection, role: str
) -> None:
    async def run(c: asyncpg.Connection) -> list[Any]:
        outcomes: list[Any] = []
        for starts, ends in (
            (at("2027-03-22T11:30"), at("2027-03-22T12:30")),
            (at("2027-03-24T14:00"), at("2027-03-24T15:00")),
            (at("2027-04-21T09:00"), at("2027-04-21T10:00")),
        ):
            outcomes.append(await refused(c, lambda s=starts, e=ends: book(c, s, e)))
        # Inside the hours; cancelling it is no booking (a request books only as scheduled:
        # the state machine of migration 0018).
        inside = await book(c, at("2027-03-22T08:00"), at("2027-03-22T09:00"))
        await c.execute("UPDATE appointments SET status = 'cancelled' WHERE id = $1", inside)
        return outcomes

    assert await as_role(conn, role, run) == [OUTSIDE, TIME_OFF, HOLIDAY]


async def test_only_an_admin_books_outside_working_hours(conn: asyncpg.Connection) -> None:
    saturday = (at("2027-03-27T09:00"), at("2027-03-27T10:00"))

    async def admin(c: asyncpg.Connection) -> list[Any]:
        await book(c, *saturday, override=True)
        # The override is about hours only: holidays and time off still refuse.
        outcomes = []
        for starts, ends in (
            (at("2027-04-21T09:00"), at("2027-04-21T10:00")),
            (at("2027-03-24T14:00"), at("2027-03-24T15:00")),
        ):
            outcomes.append(await refused(c, lambda s=starts, e=ends: book(c, s, e, override=True)))
        return outcomes

    assert await as_role(conn, "admin", admin) == [HOLIDAY, TIME_OFF]

    for role in ("receptionist", "physiotherapist"):

        async def other(c: asyncpg.Connection) -> Any:
            return await refused(c, lambda: book(c, *saturday, override=True))

        assert await as_role(conn, role, other) == NOT_ADMIN, role


async def test_moving_an_override_needs_an_admin(conn: asyncpg.Connection) -> None:
    """An admin's override is for the time they chose: the front desk may move the session
    into the hours (dropping the override), not elsewhere outside them."""
    overridden = uuid.uuid4()

    async def run(c: asyncpg.Connection) -> list[Any]:
        await c.execute("select set_config('app.role', 'admin', true)")  # an admin booked it
        await c.execute(
            INSERT, overridden, CLINIC_A, PATIENT, HOURS, at("2027-03-27T09:00"),
            at("2027-03-27T10:00"), "scheduled", True,
        )  # fmt: skip
        await c.execute("select set_config('app.role', 'receptionist', true)")
        move = "UPDATE appointments SET starts_at = $2, ends_at = $3 WHERE id = $1"
        drop = "UPDATE appointments SET outside_working_hours = false WHERE id = $1"
        later = (at("2027-03-27T11:00"), at("2027-03-27T12:00"))
        outcomes = [
            # Keeping the override while moving: admins only.
            await refused(c, lambda: c.execute(move, overridden, *later)),
            # Dropping it at a Saturday time: outside the hours.
            await refused(c, lambda: c.execute(drop, overridden)),
        ]
        # Other changes do not re-check it; moving into the hours without it is fine.
        await c.execute("UPDATE appointments SET notes = 'ok' WHERE id = $1", overridden)
        await c.execute(
            "UPDATE appointments SET starts_at = $2, ends_at = $3, outside_working_hours = false"
            " WHERE id = $1",
            overridden, at("2027-03-22T09:00"), at("2027-03-22T10:00"),
        )  # fmt: skip
        return outcomes

    assert await as_role(conn, "receptionist", run) == [NOT_ADMIN, OUTSIDE]


async def test_only_moves_and_reactivations_are_checked(conn: asyncpg.Connection) -> None:
    """A session booked before a time off was declared can still be confirmed and cancelled;
    re-activating a cancelled session in that time off is refused like a new booking (and the
    state machine of migration 0018 never lets a cancelled session come back anyway)."""
    booked = uuid.uuid4()

    async def run(c: asyncpg.Connection) -> Any:
        await book(c, at("2027-03-23T09:00"), at("2027-03-23T10:00"))
        await c.execute(
            INSERT, booked, CLINIC_A, PATIENT, HOURS, at("2027-03-22T14:00"),
            at("2027-03-22T15:00"), "scheduled", False,
        )  # fmt: skip
        await c.execute(
            "INSERT INTO time_off (clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
            " VALUES ($1, $2, $3, $4, 'Doença')",
            CLINIC_A, HOURS, at("2027-03-22T00:00"), at("2027-03-23T00:00"),
        )  # fmt: skip
        await c.execute("UPDATE appointments SET status = 'confirmed' WHERE id = $1", booked)
        await c.execute("UPDATE appointments SET status = 'cancelled' WHERE id = $1", booked)
        return await refused(
            c,
            lambda: c.execute("UPDATE appointments SET status = 'scheduled' WHERE id = $1", booked),
        )

    assert await as_role(conn, "admin", run) == TIME_OFF


async def test_another_clinics_row_is_not_answered(conn: asyncpg.Connection) -> None:
    """Clinic B's physiotherapist has time off all 2027: a row of clinic B written from clinic
    A meets row-level security, not an availability answer about B."""

    async def run(c: asyncpg.Connection) -> Any:
        with pytest.raises(asyncpg.PostgresError) as error:
            await c.execute(
                INSERT, uuid.uuid4(), CLINIC_B, OTHER_PATIENT, OTHER, at("2027-03-22T09:00"),
                at("2027-03-22T10:00"), "scheduled", False,
            )  # fmt: skip
        return error.value.sqlstate, "row-level security" in error.value.message

    assert await as_role(conn, "admin", run) == ("42501", True)


async def test_hours_and_time_off_constraints(conn: asyncpg.Connection) -> None:
    wh = (
        "INSERT INTO working_hours (clinic_id, physiotherapist_id, weekday, starts_at, ends_at)"
        " VALUES ($1, $2, $3, $4::text::time, $5::text::time)"
    )
    off = (
        "INSERT INTO time_off (clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
        " VALUES ($1, $2, $3, $4, $5)"
    )

    async def run(c: asyncpg.Connection) -> list[Any]:
        attempts: list[tuple[str, list[Any]]] = [
            (wh, [CLINIC_A, HOURS, 1, "11:00", "14:00"]),  # overlaps both Monday intervals
            (wh, [CLINIC_A, HOURS, 6, "14:00", "11:00"]),
            (wh, [CLINIC_A, HOURS, 8, "08:00", "09:00"]),
            (wh, [CLINIC_A, OTHER, 6, "08:00", "09:00"]),  # another clinic's physiotherapist
            (off, [CLINIC_A, HOURS, at("2027-01-02T00:00"), at("2047-01-01T00:00"), "Sabático"]),
            (off, [CLINIC_A, HOURS, at("2027-01-02T00:00"), at("2027-01-01T00:00"), "Curso"]),
            (off, [CLINIC_A, HOURS, at("2027-01-01T00:00"), at("2027-01-02T00:00"), "  "]),
        ]
        outcomes = []
        for sql, args in attempts:
            outcomes.append(await refused(c, lambda sql=sql, args=args: c.execute(sql, *args)))
        await c.execute(wh, CLINIC_A, HOURS, 1, "12:00", "13:00")  # fills the lunch: adjacent
        return outcomes

    assert await as_role(conn, "admin", run) == [
        ("23P01", "working_hours_no_overlap"),
        ("23514", "working_hours_interval_check"),
        ("23514", "working_hours_weekday_check"),
        ("23503", "working_hours_clinic_id_physiotherapist_id_fkey"),
        ("23514", "time_off_duration_check"),
        ("23514", "time_off_interval_check"),
        ("23514", "time_off_reason_check"),
    ]


async def test_busy_intervals_hold_only_ranges_of_the_callers_clinic(
    conn: asyncpg.Connection,
) -> None:
    """app_busy_intervals (0017): live appointments and time off of the caller's clinic as
    ranges, for every role (a patient too), nothing of another clinic, no patient or reason;
    the definer gate is closed again afterwards."""

    async def setup(c: asyncpg.Connection) -> None:
        await c.execute("RESET ROLE")
        for status, hour in (("scheduled", 9), ("cancelled", 10), ("no_show", 11)):
            await c.execute(
                INSERT, uuid.uuid4(), CLINIC_A, PATIENT, FREE,
                at(f"2027-03-29T{hour:02}:00"), at(f"2027-03-29T{hour:02}:30"), status, False,
            )  # fmt: skip
        await c.execute(
            INSERT, uuid.uuid4(), CLINIC_B, OTHER_PATIENT, OTHER, at("2026-12-27T10:00"),
            at("2026-12-27T10:30"), "scheduled", False,
        )  # fmt: skip
        await c.execute("SET LOCAL ROLE fisioflow_app")

    sql = (
        "SELECT physiotherapist_id, lower(during) AS starts FROM app_busy_intervals($1, $2)"
        " ORDER BY 2, 1"
    )
    for role in (*ROLES, None):

        async def run(c: asyncpg.Connection) -> Any:
            await setup(c)
            # Clinic B's Sunday session and its 2027 time off are inside this window too.
            rows = await c.fetch(sql, at("2026-12-20T00:00"), at("2027-04-01T00:00"))
            columns = list(rows[0].keys()) if rows else []
            gate = await c.fetchval("SELECT current_setting('fisioflow.definer', true)")
            return [(r["physiotherapist_id"], r["starts"]) for r in rows], columns, gate

        busy, columns, gate = await as_role(conn, role, run)
        if role is None:
            assert busy == [], busy
            continue
        assert sorted(busy) == sorted(
            [
                (HOURS, at("2027-03-24T13:00")),  # time off
                (FREE, at("2027-03-24T13:00")),  # time off
                (FREE, at("2027-03-29T09:00")),  # the live appointment only
            ]
        ), role
        assert columns == ["physiotherapist_id", "starts"] and gate == ""
    assert not await conn.fetchval(
        "SELECT has_function_privilege('public',"
        " 'app_busy_intervals(timestamptz, timestamptz)', 'EXECUTE')"
    )
