"""Test data written straight into the database as the superuser, and tokens for its people."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import asyncpg

from graph.core.identity import Identity, Role
from graph.core.ids import to_global_id
from graph.security.auth import issue_token
from graph.security.passwords import hash_password
from tests.support.apps import JWT_SECRET

PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)

# Valid CPFs (check digits right), for tests that need real ones.
VALID_CPFS = ["52998224725", "11144477735", "39053344705", "86288366757", "71428793860"]


@dataclass
class ClinicWorld:
    """A clinic with one person of each role, two physiotherapists and some patients."""

    clinic_id: uuid.UUID
    admin: Identity
    receptionist: Identity
    physio: Identity
    other_physio: Identity
    patient: Identity
    patient_ids: list[uuid.UUID] = field(default_factory=list)
    emails: dict[str, str] = field(default_factory=dict)

    def token(self, who: Identity) -> str:
        return issue_token(who, JWT_SECRET, 3600)[0]


def session_booking(
    world: "ClinicWorld", starts: datetime, patient_index: int = 0, physio: Identity | None = None
) -> dict[str, object]:
    """`ScheduleAppointmentInput` of a 30-minute session of one of `world`'s patients with its
    physiotherapist (or `physio`) at `starts`."""
    physiotherapist_id = (physio or world.physio).physiotherapist_id
    assert physiotherapist_id is not None
    return {
        "patientId": to_global_id("Patient", world.patient_ids[patient_index]),
        "physiotherapistId": to_global_id("Physiotherapist", physiotherapist_id),
        "startsAt": starts.isoformat(),
        "durationMinutes": 30,
        "type": "SESSION",
    }


async def add_user(
    conn: asyncpg.Connection,
    clinic_id: uuid.UUID,
    email: str,
    role: Role,
    physio_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
) -> Identity:
    user_id = await conn.fetchval(
        "insert into users (clinic_id, email, password_hash, role, physiotherapist_id,"
        " patient_id) values ($1, $2, $3, $4, $5, $6) returning id",
        clinic_id,
        email,
        _PASSWORD_HASH,
        role.value,
        physio_id,
        patient_id,
    )
    return Identity(user_id, clinic_id, role, physio_id, patient_id)


async def _physio(conn: asyncpg.Connection, clinic_id: uuid.UUID, name: str, n: int) -> uuid.UUID:
    physio_id: uuid.UUID = await conn.fetchval(
        "insert into physiotherapists (clinic_id, name, email, crefito)"
        " values ($1, $2, $3, $4) returning id",
        clinic_id,
        name,
        f"{name.split()[0].lower()}.{uuid.uuid4().hex[:6]}@example.com",
        f"CREFITO-3/{100000 + n}-F",
    )
    return physio_id


async def make_clinic(
    conn: asyncpg.Connection, name: str = "Clínica Teste", patients_per_physio: int = 3
) -> ClinicWorld:
    tag = uuid.uuid4().hex[:8]
    clinic_id = await conn.fetchval("insert into clinics (name) values ($1) returning id", name)
    physio_id = await _physio(conn, clinic_id, "Ana Souza", 1)
    other_physio_id = await _physio(conn, clinic_id, "Bruno Lima", 2)
    patient_ids: list[uuid.UUID] = []
    for physio in (physio_id, other_physio_id):
        for _ in range(patients_per_physio):
            patient_ids.append(
                await conn.fetchval(
                    "insert into patients (clinic_id, physiotherapist_id, name, email)"
                    " values ($1, $2, $3, $4) returning id",
                    clinic_id,
                    physio,
                    f"Paciente {len(patient_ids):03d} {tag}",
                    f"paciente{len(patient_ids)}.{tag}@example.com",
                )
            )
    emails = {
        "admin": f"admin.{tag}@example.com",
        "receptionist": f"recepcao.{tag}@example.com",
        "physio": f"ana.{tag}@example.com",
        "other_physio": f"bruno.{tag}@example.com",
        "patient": f"paciente0.{tag}@example.com",
    }
    return ClinicWorld(
        clinic_id=clinic_id,
        admin=await add_user(conn, clinic_id, emails["admin"], Role.ADMIN),
        receptionist=await add_user(conn, clinic_id, emails["receptionist"], Role.RECEPTIONIST),
        physio=await add_user(conn, clinic_id, emails["physio"], Role.PHYSIOTHERAPIST, physio_id),
        other_physio=await add_user(
            conn, clinic_id, emails["other_physio"], Role.PHYSIOTHERAPIST, other_physio_id
        ),
        patient=await add_user(
            conn, clinic_id, emails["patient"], Role.PATIENT, patient_id=patient_ids[0]
        ),
        patient_ids=patient_ids,
        emails=emails,
    )


async def add_appointment(
    conn: asyncpg.Connection,
    world: ClinicWorld,
    patient_id: uuid.UUID,
    physiotherapist_id: uuid.UUID,
    starts_at: datetime,
    minutes: int = 50,
    status: str = "scheduled",
) -> uuid.UUID:
    appointment_id: uuid.UUID = await conn.fetchval(
        "insert into appointments (clinic_id, patient_id, physiotherapist_id, starts_at,"
        " ends_at, type, status) values ($1, $2, $3, $4, $5, 'session', $6) returning id",
        world.clinic_id,
        patient_id,
        physiotherapist_id,
        starts_at,
        starts_at + timedelta(minutes=minutes),
        status,
    )
    return appointment_id


async def add_payment(
    conn: asyncpg.Connection,
    world: ClinicWorld,
    patient_id: uuid.UUID,
    amount: str = "120.00",
    *,
    appointment_id: uuid.UUID | None = None,
    due_date: date | None = None,
) -> uuid.UUID:
    payment_id: uuid.UUID = await conn.fetchval(
        "insert into payments (clinic_id, patient_id, appointment_id, amount, method, due_date,"
        " idempotency_key, request_fingerprint) values ($1, $2, $3, $4::numeric, 'pix', $5,"
        " $6, 'test') returning id",
        world.clinic_id,
        patient_id,
        appointment_id,
        amount,
        due_date,
        uuid.uuid4().hex,
    )
    return payment_id


async def add_prontuario(
    conn: asyncpg.Connection,
    world: ClinicWorld,
    patient_id: uuid.UUID,
    author_id: uuid.UUID,
    *,
    kind: str = "evaluation",
    appointment_id: uuid.UUID | None = None,
    addendum: str | None = None,
) -> uuid.UUID:
    """A record (and optionally one addendum by its author). Records can never be removed."""
    prontuario_id: uuid.UUID = await conn.fetchval(
        "insert into prontuarios (clinic_id, patient_id, author_id, appointment_id, kind,"
        " anamnesis, evolution, author_name, author_crefito)"
        " select $1, $2, p.id, $4, $5, 'Dor lombar há 3 meses', 'Melhora da dor', p.name,"
        " p.crefito from physiotherapists p where p.id = $3 returning id",
        world.clinic_id,
        patient_id,
        author_id,
        appointment_id,
        kind,
    )
    if addendum is not None:
        await conn.execute(
            "insert into prontuario_addenda (clinic_id, prontuario_id, author_id, text)"
            " values ($1, $2, $3, $4)",
            world.clinic_id,
            prontuario_id,
            author_id,
            addendum,
        )
    return prontuario_id


async def library_exercise(conn: asyncpg.Connection, name: str = "Ponte glútea") -> uuid.UUID:
    """An exercise of the shared library (migration 0004)."""
    exercise_id: uuid.UUID = await conn.fetchval(
        "select id from exercises where clinic_id is null and name = $1", name
    )
    assert exercise_id is not None, name
    return exercise_id


async def add_prescription(
    conn: asyncpg.Connection,
    world: ClinicWorld,
    patient_id: uuid.UUID,
    physiotherapist_id: uuid.UUID,
    *,
    exercise_id: uuid.UUID | None = None,
    status: str = "active",
    starts_on: date | None = None,
    ends_on: date | None = None,
    frequency_per_week: int = 3,
) -> uuid.UUID:
    prescription_id: uuid.UUID = await conn.fetchval(
        "insert into exercise_prescriptions (clinic_id, patient_id, exercise_id,"
        " physiotherapist_id, sets, repetitions, frequency_per_week, status, starts_on, ends_on)"
        " values ($1, $2, $3, $4, 3, 12, $5, $6, $7, $8) returning id",
        world.clinic_id,
        patient_id,
        exercise_id or await library_exercise(conn),
        physiotherapist_id,
        frequency_per_week,
        status,
        starts_on or date.today(),
        ends_on,
    )
    return prescription_id


async def add_execution(
    conn: asyncpg.Connection,
    world: ClinicWorld,
    prescription_id: uuid.UUID,
    patient_id: uuid.UUID,
    executed_at: datetime | None = None,
    pain_level: int = 2,
) -> uuid.UUID:
    execution_id: uuid.UUID = await conn.fetchval(
        "insert into exercise_executions (clinic_id, prescription_id, patient_id, executed_at,"
        " sets_done, pain_level) values ($1, $2, $3, coalesce($4, now()), 3, $5) returning id",
        world.clinic_id,
        prescription_id,
        patient_id,
        executed_at,
        pain_level,
    )
    return execution_id


async def add_vital_signs(
    conn: asyncpg.Connection,
    world: ClinicWorld,
    patient_id: uuid.UUID,
    physiotherapist_id: uuid.UUID,
    recorded_at: datetime | None = None,
    pain_level: int | None = 4,
    heart_rate: int | None = 72,
) -> uuid.UUID:
    """A reading of blood pressure 120/80, SpO2 98, 36.5 °C and the given pain and heart rate."""
    vital_signs_id: uuid.UUID = await conn.fetchval(
        "insert into vital_signs (clinic_id, patient_id, recorded_by, recorded_at, heart_rate,"
        " systolic, diastolic, spo2, temperature, pain_level) values ($1, $2, $3,"
        " coalesce($4, now()), $5, 120, 80, 98, 36.5, $6) returning id",
        world.clinic_id,
        patient_id,
        physiotherapist_id,
        recorded_at,
        heart_rate,
        pain_level,
    )
    return vital_signs_id


async def add_clinical_profile(
    conn: asyncpg.Connection,
    world: ClinicWorld,
    patient_id: uuid.UUID,
    physiotherapist_id: uuid.UUID,
    allergies: list[str] | None = None,
) -> uuid.UUID:
    profile_id: uuid.UUID = await conn.fetchval(
        "insert into clinical_profiles (clinic_id, patient_id, updated_by, allergies,"
        " conditions, medications) values ($1, $2, $3, $4, '{Hipertensão}', '{Losartana 50 mg}')"
        " returning id",
        world.clinic_id,
        patient_id,
        physiotherapist_id,
        allergies if allergies is not None else ["Dipirona"],
    )
    return profile_id
