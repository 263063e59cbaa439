"""The seeders: volume data set (shape, validity, determinism), demo clinic, create-clinic.

Seeds go into databases of their own (created and dropped here), not the shared test database.
"""

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from graph.core.calendar import CLINIC_TIME_ZONE
from graph.core.validators import cpf_is_valid
from graph.security.passwords import verify_password
from graph.sql import migrate
from seed.admin import create_clinic
from seed.calendar import Calendar
from seed.demo import DEMO_CLINIC_NAME, DEMO_INACTIVE_LOGIN, DEMO_PASSWORD, seed_demo
from seed.identifiers import cpf_for_index, is_valid_cns
from seed.loader import shared_library
from seed.reference import CONDITIONS
from seed.volume import SeedSummary, seed_volume
from tests.support.database import create_database, drop_database, plain_dsn

CLINICS, PATIENTS = 2, 60
ANCHOR = date(2026, 3, 10)
# What one seeded patient brings, on average (see seed/generator.py).
PER_PATIENT = {"appointments": 10, "payments": 7.5, "prontuarios": 6, "consents": 1.85}


async def migrated_database(server_url: str) -> str:
    url = await create_database(server_url)
    await asyncio.to_thread(migrate.upgrade, url)
    return url


@pytest.fixture(scope="module")
async def seeded(server_url: str) -> AsyncIterator[tuple[str, SeedSummary]]:
    """A fresh database with the small volume seed."""
    url = await migrated_database(server_url)
    stages: dict[str, int] = {}
    summary = await seed_volume(
        plain_dsn(url), CLINICS, PATIENTS, lambda stage, n: stages.__setitem__(stage, n),
        anchor=ANCHOR,
    )  # fmt: skip
    assert stages["done"] == PATIENTS
    assert stages["patients"] == PATIENTS
    yield url, summary
    await drop_database(server_url, url)


@pytest.fixture
async def db(seeded: tuple[str, SeedSummary]) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(plain_dsn(seeded[0]))
    yield connection
    await connection.close()


async def count(db: asyncpg.Connection, table: str, where: str = "true") -> int:
    return int(await db.fetchval(f"select count(*) from {table} where {where}"))


async def test_conditions_prescribe_library_exercises(db: asyncpg.Connection) -> None:
    names = {e.name for _, e in await shared_library(db)}
    assert all(set(condition.exercises) <= names for condition in CONDITIONS)


def test_cpf_helpers() -> None:
    assert cpf_is_valid("52998224725")
    assert not cpf_is_valid("52998224724")
    assert not cpf_is_valid("11111111111")
    cpfs = [cpf_for_index(i, 7) for i in range(20_000)]
    assert len(set(cpfs)) == len(cpfs) and all(map(cpf_is_valid, cpfs))
    # Salts that land on and around an all-same-digit base still give valid, distinct CPFs.
    near_bad = [cpf_for_index(0, salt) for salt in range(111_111_100, 111_111_125)]
    assert len(set(near_bad)) == len(near_bad) and all(map(cpf_is_valid, near_bad))


async def test_row_counts(seeded: tuple[str, SeedSummary], db: asyncpg.Connection) -> None:
    _, summary = seeded
    assert len(summary.clinic_ids) == CLINICS and summary.triggers_disabled
    for table, rows in summary.rows.items():
        assert await count(db, table) == rows, table
    assert await count(db, "clinics") == CLINICS
    assert await count(db, "patients") == PATIENTS
    assert await count(db, "physiotherapists") == 2 * CLINICS  # ~1 per 40 patients, at least 2
    for table, per_patient in PER_PATIENT.items():
        assert 0.7 * per_patient <= await count(db, table) / PATIENTS <= 1.3 * per_patient, table
    for table in ("prontuario_addenda", "exercise_prescriptions", "exercise_executions"):
        assert await count(db, table) > 0, table
    # The shared library is the migration's: the seed adds none.
    assert await count(db, "exercises", "clinic_id is null") == len(await shared_library(db)) > 0
    assert await db.fetchval(
        "select count(*) = count(distinct name) from exercises where clinic_id is null"
    )
    assert await count(db, "compliance_checks") == 8 * CLINICS
    assert await count(db, "appointment_series") == 3 * CLINICS
    assert await count(db, "appointments", "series_id is not null") > 0
    assert await count(db, "compliance_issues") > 0
    assert await count(db, "audit_log") == 0  # triggers were off for the bulk load
    sql = "select role, count(*) from users group by role"
    roles: dict[str, int] = {r[0]: r[1] for r in await db.fetch(sql)}
    assert roles["admin"] == roles["receptionist"] == CLINICS
    assert roles["physiotherapist"] == 2 * CLINICS
    assert roles.get("patient", 0) <= PATIENTS // 5


async def test_every_reference_resolves(db: asyncpg.Connection) -> None:
    """Foreign keys are not checked while triggers are off: check each one here."""
    constraints = await db.fetch(
        """select conrelid::regclass::text as child, confrelid::regclass::text as parent,
                  (select array_agg(attname order by k.i) from unnest(conkey) with ordinality
                   k(n, i) join pg_attribute on attrelid = conrelid and attnum = k.n) as cols,
                  (select array_agg(attname order by k.i) from unnest(confkey) with ordinality
                   k(n, i) join pg_attribute on attrelid = confrelid and attnum = k.n) as refs
           from pg_constraint where contype = 'f' and connamespace = 'public'::regnamespace"""
    )
    assert len(constraints) > 20
    for c in constraints:
        not_null = " and ".join(f"c.{col} is not null" for col in c["cols"])
        match = " and ".join(
            f"p.{r} = c.{col}" for col, r in zip(c["cols"], c["refs"], strict=True)
        )
        dangling = await db.fetchval(
            f"select count(*) from {c['child']} c where {not_null} "
            f"and not exists (select from {c['parent']} p where {match})"
        )
        assert dangling == 0, f"{c['child']}({c['cols']}) -> {c['parent']}"


async def test_identifiers_valid_and_unique(db: asyncpg.Connection) -> None:
    rows = await db.fetch("select cpf, cns from patients")
    cpfs = [r["cpf"] for r in rows]
    assert all(map(cpf_is_valid, cpfs)) and len(set(cpfs)) == len(cpfs)
    assert all(is_valid_cns(r["cns"]) for r in rows if r["cns"] is not None)
    crefitos = await db.fetch("select crefito from physiotherapists")
    assert all(re.fullmatch(r"CREFITO-\d{1,2}/\d{6}-F", r["crefito"]) for r in crefitos)


async def test_no_double_booking(db: asyncpg.Connection) -> None:
    overlaps = await db.fetchval(
        """select count(*) from appointments a join appointments b
             on a.physiotherapist_id = b.physiotherapist_id and a.id < b.id
            and tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)"""
    )
    assert overlaps == 0  # not even among cancelled/no-show ones
    patient_overlaps = await db.fetchval(
        """select count(*) from appointments a join appointments b
             on a.patient_id = b.patient_id and a.id < b.id
            and tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)"""
    )
    assert patient_overlaps == 0  # a patient is in one session at a time (migration 0008)
    sql = "select starts_at < $1, array_agg(distinct status) from appointments group by 1"
    statuses: dict[bool, list[str]] = {
        r[0]: r[1] for r in await db.fetch(sql, Calendar(ANCHOR).now)
    }
    assert set(statuses[True]) <= {"completed", "cancelled", "no_show", "checked_in"}
    assert set(statuses[False]) <= {"scheduled", "confirmed", "cancelled", "checked_in"}


# Migration 0018's transitions (None: the booking).
LEGAL = {
    (None, "scheduled"), ("scheduled", "confirmed"), ("scheduled", "checked_in"),
    ("confirmed", "checked_in"), ("scheduled", "cancelled"), ("confirmed", "cancelled"),
    ("scheduled", "no_show"), ("confirmed", "no_show"), ("checked_in", "completed"),
    ("scheduled", "completed"), ("confirmed", "completed"),
}  # fmt: skip


async def test_every_appointment_has_its_status_history(db: asyncpg.Connection) -> None:
    rows = await db.fetch(
        """select a.id, a.status, a.starts_at, a.cancel_reason, a.no_show_reason,
                  a.checked_in_at, array_agg(h.from_status order by h.id) as froms,
                  array_agg(h.to_status order by h.id) as tos,
                  array_agg(h.changed_at order by h.id) as times,
                  array_agg(h.reason order by h.id) as reasons,
                  bool_and(h.actor_id is not null and u.clinic_id = a.clinic_id) as actors
             from appointments a
             join appointment_status_changes h on h.appointment_id = a.id
             left join users u on u.id = h.actor_id
            group by a.id"""
    )
    assert len(rows) == await count(db, "appointments")
    seen = set()
    for r in rows:
        steps = list(zip(r["froms"], r["tos"], strict=True))
        assert steps[0] == (None, "scheduled") and r["tos"][-1] == r["status"], steps
        assert set(steps) <= LEGAL, steps
        assert all(a[1] == b[0] for a, b in itertools.pairwise(steps)), steps
        assert r["times"] == sorted(r["times"]) and r["actors"], r
        assert r["reasons"][-1] == (r["cancel_reason"] or r["no_show_reason"]), r
        assert (r["checked_in_at"] is not None) == ("checked_in" in r["tos"]), r
        seen.add(r["status"])
    assert seen >= {"scheduled", "confirmed", "completed", "cancelled", "no_show"}


async def test_the_agenda_fits_the_availability(db: asyncpg.Connection) -> None:
    """Triggers are off for the bulk load: the seeded appointments pass the availability rule
    of the booking trigger anyway (working hours with a lunch break, no holiday, no time off),
    which every physiotherapist and clinic has."""
    refused = await db.fetch(
        "select availability_refusal(clinic_id, physiotherapist_id, starts_at, ends_at) as why,"
        " count(*) from appointments group by 1"
    )
    assert {r["why"]: r["count"] for r in refused}.keys() == {None}, refused
    assert await count(db, "working_hours") == 2 * CLINICS * 5 * 2  # Mon–Fri, two intervals
    assert await count(db, "time_off") == 2 * CLINICS
    assert await count(db, "clinic_holidays") >= CLINICS
    lunch = await count(
        db, "appointments", "(starts_at at time zone 'America/Sao_Paulo')::time = '12:00'"
    )
    assert lunch == 0


async def test_payments_consistent(db: asyncpg.Connection) -> None:
    rows = await db.fetch("select amount, status, paid_at, refunded_at from payments")
    assert all(r["amount"] > 0 for r in rows)
    assert all(r["amount"].as_tuple().exponent == -2 for r in rows)  # numeric(12,2): "150.00"
    assert {r["status"] for r in rows} >= {"paid", "pending"}
    assert all((r["status"] == "refunded") == (r["refunded_at"] is not None) for r in rows)


async def test_seeding_is_deterministic_and_rerun_skips(
    server_url: str, seeded: tuple[str, SeedSummary], db: asyncpg.Connection
) -> None:
    checksum = """select md5(string_agg(x, ',' order by x)) from (
        select id::text || cpf || name as x from patients
        union all select id::text || starts_at::text || status from appointments
        union all select id::text || amount::text || status from payments
        union all select id::text || coalesce(evolution, diagnosis) from prontuarios) t"""
    other = await migrated_database(server_url)
    try:
        await seed_volume(plain_dsn(other), CLINICS, PATIENTS, anchor=ANCHOR)
        connection = await asyncpg.connect(plain_dsn(other))
        try:
            assert await connection.fetchval(checksum) == await db.fetchval(checksum)
        finally:
            await connection.close()
    finally:
        await drop_database(server_url, other)

    before = await count(db, "appointments")
    sqlalchemy_url = seeded[0].replace("postgresql://", "postgresql+asyncpg://")  # also taken
    again = await seed_volume(sqlalchemy_url, CLINICS, PATIENTS, anchor=ANCHOR)
    assert again.clinic_ids == [] and len(again.skipped_clinic_ids) == CLINICS
    assert await count(db, "appointments") == before


async def test_seed_demo_is_idempotent(
    seeded: tuple[str, SeedSummary], db: asyncpg.Connection
) -> None:
    first = await seed_demo(plain_dsn(seeded[0]))
    second = await seed_demo(plain_dsn(seeded[0]))
    assert first == second
    assert await count(db, "clinics", f"name = '{DEMO_CLINIC_NAME}'") == 1
    assert {login.role for login in first} == {
        "admin", "physiotherapist", "receptionist", "patient"
    }  # fmt: skip
    assert "admin@demo.fisioflow.dev" in {login.email for login in first}
    assert sum(login.role == "patient" for login in first) == 3
    users = {
        r["email"]: r
        for r in await db.fetch(
            "select email, role, password_hash from users where email = any($1::text[])",
            [login.email for login in first],
        )
    }
    for login in first:
        assert login.password == DEMO_PASSWORD and users[login.email]["role"] == login.role
    assert verify_password(users[first[0].email]["password_hash"], DEMO_PASSWORD)
    demo = "(select id from clinics where name = 'Clínica FisioFlow Demo')"
    assert await count(db, "patients", f"clinic_id = {demo}") == 8
    for table in (
        "appointments",
        "appointment_status_changes",
        "payments",
        "prontuarios",
        "exercise_executions",
    ):
        assert await count(db, table, f"clinic_id = {demo}") > 0, table
    # A few recurring series, one ended early; each tells the truth about its appointments.
    series = await db.fetch(
        "select s.*, (select count(*) from appointments a where a.series_id = s.id) as booked,"
        " (select count(*) from appointments a where a.series_id = s.id"
        "  and a.status = 'cancelled') as cancelled,"
        " (select array_agg(a.starts_at order by a.starts_at) from appointments a"
        "  where a.series_id = s.id) as starts"
        f" from appointment_series s where s.clinic_id = {demo} order by s.first_starts_at"
    )
    assert len(series) == 3
    assert sorted(r["count"] for r in series) == [8, 10, 12]
    for r in series:
        assert r["booked"] + len(r["skipped_starts"]) == r["count"]
        assert r["starts"][0] == r["first_starts_at"] or r["first_starts_at"] in r["skipped_starts"]
        for start in r["starts"]:
            local = start.astimezone(CLINIC_TIME_ZONE)
            assert local.isoweekday() in r["iso_weekdays"]
            assert local.time() == r["first_starts_at"].astimezone(CLINIC_TIME_ZONE).time()
    ended = [r for r in series if r["cancelled_at"] is not None]
    assert len(ended) == 1 and 0 < ended[0]["cancelled"] < ended[0]["booked"]
    assert all(r["cancelled"] == 0 for r in series if r["cancelled_at"] is None)
    # One login the admin deactivated (someone who left), not among the usable logins.
    inactive = await db.fetch(
        f"select email, role from users where clinic_id = {demo} and not active"
    )
    assert [(r["email"], r["role"]) for r in inactive] == [(DEMO_INACTIVE_LOGIN, "receptionist")]
    assert DEMO_INACTIVE_LOGIN not in {login.email for login in first}
    statuses = {
        r["status"]
        for r in await db.fetch(
            f"select distinct status from appointments where clinic_id = {demo}"
        )
    }
    # checked_in too when a session is near (the demo is laid out around today's hours).
    assert statuses >= {"scheduled", "confirmed", "completed", "cancelled"}, statuses


async def test_create_clinic(seeded: tuple[str, SeedSummary], db: asyncpg.Connection) -> None:
    dsn = plain_dsn(seeded[0])
    clinic_id = await create_clinic(dsn, "Clínica Nova", "dona@clinicanova.com.br", "s3nha-forte")
    admin = await db.fetchrow("select * from users where clinic_id = $1", clinic_id)
    assert admin is not None and admin["role"] == "admin"
    assert verify_password(admin["password_hash"], "s3nha-forte")
    assert await db.fetchval("select name from clinics where id = $1", clinic_id) == "Clínica Nova"
    with pytest.raises(ValueError, match="e-mail"):
        await create_clinic(dsn, "X", "not-an-email", "long-enough")
    with pytest.raises(ValueError, match="10 characters"):
        await create_clinic(dsn, "X", "a@b.com", "short")
    with pytest.raises(ValueError, match="name"):
        await create_clinic(dsn, "  ", "a@b.com", "long-enough")
    with pytest.raises(ValueError, match="already exists"):
        await create_clinic(dsn, "Outra", "DONA@clinicanova.com.br", "long-enough")
