"""DESIGN.md's access matrix, checked cell by cell in PostgreSQL itself.

Two clinics (A and B) with rows in every table are written once as the superuser (in a private
database of this module). Every check then runs in its own transaction, rolled back, as a
request does: `SET LOCAL ROLE fisioflow_app` + the transaction-local `app.*` settings of an
identity of clinic A. Statements never filter by clinic: whatever comes back (or is changed)
is exactly what RLS lets through, so clinic B's rows must never appear.

Outcomes: a set of row labels (rows read, updated or deleted; `ALL` = every clinic-A row of the
table, `NONE` = no row, i.e. a denied UPDATE/DELETE that affects 0 rows), or an error: `PRIV`
(42501 "permission denied": fisioflow_app has no such privilege) or `RLS` (42501 "new row
violates row-level security policy"), or `OK` for an insert that went through.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import orjson
import pytest

from graph.sql import migrate
from graph.sql.pooling import asyncpg_options
from models.declarations import DECLARATIONS
from tests.support.apps import ROUTES, route_settings
from tests.support.database import create_database, drop_database, plain_dsn

ALL = "ALL"
NONE: frozenset[str] = frozenset()
OK, RLS, PRIV = "OK", "RLS", "PRIV"

ROLES = ("admin", "physiotherapist", "receptionist", "patient", "anonymous")

# Labels of clinic A's rows per table (clinic B has the same rows, labelled "B.<label>").
# In clinic A the acting physiotherapist is `physio`: patient x is assigned to them, patient y
# has an appointment with them, patient z belongs to `physio2` only. The acting patient is x.
ROWS: dict[str, frozenset[str]] = {
    "clinics": frozenset({"clinic"}),
    "users": frozenset({"u_admin", "u_physio", "u_reception", "u_patient"}),
    # physio3 has working hours (and no appointments); physio and physio2 have none, so no
    # working hours constrain the bookings of the tests below.
    "physiotherapists": frozenset({"physio", "physio2", "physio3"}),
    "patients": frozenset({"pat_x", "pat_y", "pat_z"}),
    "appointments": frozenset({"appt_x", "appt_y", "appt_z"}),
    "prontuarios": frozenset({"pr_x", "pr_y", "pr_z"}),
    "prontuario_addenda": frozenset({"ad_x", "ad_y", "ad_z"}),
    "exercises": frozenset({"shared_ex", "ex", "ex_spare"}),  # shared_ex: clinic_id NULL
    "exercise_prescriptions": frozenset({"rx_x", "rx_y", "rx_z"}),
    "exercise_executions": frozenset({"exe_x", "exe_z"}),
    "payments": frozenset({"pay_x", "pay_z"}),
    "consents": frozenset({"con_x", "con_z"}),
    "data_subject_requests": frozenset({"dsr_x", "dsr_z"}),
    "audit_log": frozenset({"clinic"}),  # audit rows are labelled by their clinic
    "compliance_checks": frozenset({"chk"}),
    "compliance_issues": frozenset({"iss"}),
    "care_team_members": frozenset({"team_x"}),  # physio2 on patient x's care team
    "working_hours": frozenset({"wh_physio3"}),
    "time_off": frozenset({"off_physio", "off_physio2"}),
    "clinic_holidays": frozenset({"holiday"}),
    "appointment_series": frozenset({"ser_x", "ser_z"}),  # x with physio, z with physio2
    # The booking of each appointment, labelled by its appointment.
    "appointment_status_changes": frozenset({"appt_x", "appt_y", "appt_z"}),
    "clinical_profiles": frozenset({"cp_x", "cp_z"}),  # y has none: the insert writes it
    "vital_signs": frozenset({"vs_x", "vs_y", "vs_z"}),
    # The reminder of each appointment, written by the server's worker only (0021).
    "appointment_reminders": frozenset({"rem_x", "rem_y", "rem_z"}),
    # Webhooks (0023): a webhook, a delivery, and its attempt (labelled by its delivery).
    "webhooks": frozenset({"hook"}),
    "webhook_deliveries": frozenset({"dlv"}),
    "webhook_delivery_attempts": frozenset({"dlv"}),
}

# fmt: off
# SELECT: which of clinic A's rows each role sees.
#                            admin physiotherapist    reception patient        anonymous
READ: dict[str, tuple[Any, ...]] = {
    "clinics":                (ALL,  ALL,               ALL,      ALL,           NONE),
    "users":                  (ALL,  ALL,               ALL,      {"u_patient"}, NONE),
    "physiotherapists":       (ALL,  ALL,               ALL,      ALL,           NONE),
    "patients":               (ALL,  ALL,               ALL,      {"pat_x"},     NONE),
    "appointments":           (ALL,  ALL,               ALL,      {"appt_x"},    NONE),
    "prontuarios":            (ALL,  {"pr_x", "pr_y"},  NONE,     {"pr_x"},      NONE),
    "prontuario_addenda":     (ALL,  {"ad_x", "ad_y"},  NONE,     {"ad_x"},      NONE),
    "exercises":              (ALL,  ALL,               ALL,      ALL,           NONE),
    "exercise_prescriptions": (ALL,  {"rx_x", "rx_y"},  NONE,     {"rx_x"},      NONE),
    "exercise_executions":    (ALL,  {"exe_x"},         NONE,     {"exe_x"},     NONE),
    "payments":               (ALL,  NONE,              ALL,      {"pay_x"},     NONE),
    "consents":               (ALL,  ALL,               ALL,      {"con_x"},     NONE),
    "data_subject_requests":  (ALL,  ALL,               ALL,      {"dsr_x"},     NONE),
    "audit_log":              (ALL,  NONE,              NONE,     NONE,          NONE),
    "compliance_checks":      (ALL,  ALL,               ALL,      NONE,          NONE),
    "compliance_issues":      (ALL,  ALL,               ALL,      NONE,          NONE),
    "care_team_members":      (ALL,  ALL,               ALL,      {"team_x"},    NONE),
    "working_hours":          (ALL,  ALL,               ALL,      ALL,           NONE),
    "time_off":               (ALL,  ALL,               ALL,      NONE,          NONE),
    "clinic_holidays":        (ALL,  ALL,               ALL,      ALL,           NONE),
    "appointment_series":     (ALL,  ALL,               ALL,      {"ser_x"},     NONE),
    "appointment_status_changes": (ALL, ALL,            ALL,      NONE,          NONE),
    "clinical_profiles":      (ALL,  {"cp_x"},          NONE,     {"cp_x"},      NONE),
    "vital_signs":            (ALL,  {"vs_x", "vs_y"},  NONE,     {"vs_x"},      NONE),
    "appointment_reminders":  (ALL,  ALL,               ALL,      {"rem_x"},     NONE),
    "webhooks":               (ALL,  NONE,              NONE,     NONE,          NONE),
    "webhook_deliveries":     (ALL,  NONE,              NONE,     NONE,          NONE),
    "webhook_delivery_attempts": (ALL, NONE,            NONE,     NONE,          NONE),
}

# INSERT of a plausible clinic-A row (see insert_statement) by each role.
#                            admin physio recept patient anonymous
INSERT: dict[str, tuple[str, ...]] = {
    "clinics":                (PRIV, PRIV,  PRIV,  PRIV,  PRIV),
    "users":                  (OK,   RLS,   RLS,   RLS,   RLS),
    "physiotherapists":       (OK,   RLS,   RLS,   RLS,   RLS),
    "patients":               (OK,   OK,    OK,    RLS,   RLS),
    "appointments":           (OK,   OK,    OK,    RLS,   RLS),
    "prontuarios":            (RLS,  OK,    RLS,   RLS,   RLS),
    "prontuario_addenda":     (RLS,  OK,    RLS,   RLS,   RLS),
    "exercises":              (OK,   OK,    RLS,   RLS,   RLS),
    "exercise_prescriptions": (RLS,  OK,    RLS,   RLS,   RLS),
    "exercise_executions":    (RLS,  RLS,   RLS,   OK,    RLS),
    "payments":               (OK,   RLS,   OK,    RLS,   RLS),
    "consents":               (OK,   RLS,   OK,    OK,    RLS),
    "data_subject_requests":  (OK,   RLS,   OK,    OK,    RLS),
    "audit_log":              (PRIV, PRIV,  PRIV,  PRIV,  PRIV),
    "compliance_checks":      (OK,   RLS,   RLS,   RLS,   RLS),
    "compliance_issues":      (OK,   RLS,   RLS,   RLS,   RLS),
    "care_team_members":      (OK,   RLS,   OK,    RLS,   RLS),
    "working_hours":          (OK,   OK,    OK,    RLS,   RLS),  # physio: their own hours
    "time_off":               (OK,   OK,    OK,    RLS,   RLS),  # physio: their own time off
    "clinic_holidays":        (OK,   RLS,   OK,    RLS,   RLS),
    "appointment_series":     (OK,   OK,    OK,    RLS,   RLS),
    "appointment_status_changes": (PRIV, PRIV, PRIV, PRIV,  PRIV),
    "clinical_profiles":      (RLS,  OK,    RLS,   RLS,   RLS),
    "vital_signs":            (RLS,  OK,    RLS,   RLS,   RLS),
    "appointment_reminders":  (PRIV, PRIV,  PRIV,  PRIV,  PRIV),
    "webhooks":               (OK,   RLS,   RLS,   RLS,   RLS),
    "webhook_deliveries":     (OK,   RLS,   RLS,   RLS,   RLS),  # a redelivery
    "webhook_delivery_attempts": (PRIV, PRIV, PRIV, PRIV, PRIV),
}

# UPDATE of every row of the table (no WHERE): which of clinic A's rows each role changes.
EX = {"ex", "ex_spare"}  # the clinic's own exercises, not the shared library's
#                            admin physiotherapist        reception patient     anonymous
UPDATE: dict[str, tuple[Any, ...]] = {
    "clinics":                (ALL,  NONE,                  NONE,     NONE,       NONE),
    "users":                  (ALL,  NONE,                  NONE,     NONE,       NONE),
    "physiotherapists":       (ALL,  NONE,                  NONE,     NONE,       NONE),
    "patients":               (ALL,  {"pat_x"},             ALL,      NONE,       NONE),
    "appointments":           (ALL,  {"appt_x", "appt_y"},  ALL,      {"appt_x"}, NONE),
    "prontuarios":            (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "prontuario_addenda":     (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "exercises":              (EX,   EX,                    NONE,     NONE,       NONE),
    "exercise_prescriptions": (NONE, {"rx_x", "rx_y"},      NONE,     NONE,       NONE),
    "exercise_executions":    (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "payments":               (ALL,  NONE,                  ALL,      NONE,       NONE),
    "consents":               (ALL,  NONE,                  ALL,      {"con_x"},  NONE),
    "data_subject_requests":  (ALL,  NONE,                  ALL,      {"dsr_x"},  NONE),
    "audit_log":              (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "compliance_checks":      (ALL,  NONE,                  NONE,     NONE,       NONE),
    "compliance_issues":      (ALL,  NONE,                  NONE,     NONE,       NONE),
    "care_team_members":      (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "working_hours":          (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "time_off":               (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "clinic_holidays":        (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "appointment_series":     (ALL,  {"ser_x"},             ALL,      NONE,       NONE),
    "appointment_status_changes": (PRIV, PRIV,              PRIV,     PRIV,       PRIV),
    "clinical_profiles":      (NONE, {"cp_x"},              NONE,     NONE,       NONE),
    "vital_signs":            (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "appointment_reminders":  (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "webhooks":               (ALL,  NONE,                  NONE,     NONE,       NONE),
    "webhook_deliveries":     (PRIV, PRIV,                  PRIV,     PRIV,       PRIV),
    "webhook_delivery_attempts": (PRIV, PRIV,               PRIV,     PRIV,       PRIV),
}

# DELETE: nothing clinical is ever deleted; only clinic-made exercises (the unreferenced one;
# the statement also targets the shared library row and clinic B's, which must survive), and
# care-team memberships, which the front desk grants and takes back; availability (working
# hours are replaced whole; time off and holidays removed), a physiotherapist's own too.
DELETABLE = ("exercises", "care_team_members", "working_hours", "time_off", "clinic_holidays")
DELETE: dict[str, tuple[Any, ...]] = {
    table: (PRIV, PRIV, PRIV, PRIV, PRIV) for table in ROWS if table not in DELETABLE
}
DELETE["exercises"] = ({"ex_spare"}, {"ex_spare"}, NONE, NONE, NONE)
DELETE["care_team_members"] = (ALL, NONE, ALL, NONE, NONE)
DELETE["working_hours"] = (ALL, NONE, ALL, NONE, NONE)  # physio3's (see the test below)
DELETE["time_off"] = (ALL, {"off_physio"}, ALL, NONE, NONE)
DELETE["clinic_holidays"] = (ALL, NONE, ALL, NONE, NONE)
# fmt: on

SET_CLAUSE = {
    "clinics": "name = name || ''",
    "users": "active = active",
    "physiotherapists": "specialty = 'ortopedia'",
    "patients": "address = 'Rua Nova, 1'",
    "appointments": "status = 'cancelled', cancel_reason = 'teste'",
    "prontuarios": "evolution = 'editado'",
    "prontuario_addenda": "text = 'editado'",
    "exercises": "description = 'editado'",
    "exercise_prescriptions": "notes = 'editado'",
    "exercise_executions": "patient_notes = 'editado'",
    "payments": "notes = 'editado'",
    "consents": "granted = false, revoked_at = now()",
    "data_subject_requests": "details = 'editado'",
    "audit_log": "actor_role = 'x'",
    "compliance_checks": "description = 'editado'",
    "compliance_issues": "description = 'editado'",
    "care_team_members": "created_at = created_at",
    "working_hours": "ends_at = ends_at",
    "time_off": "reason = 'editado'",
    "clinic_holidays": "name = 'editado'",
    "appointment_series": "cancelled_at = now()",
    "appointment_status_changes": "reason = 'editado'",
    "clinical_profiles": "allergies = '{Látex}'",
    "vital_signs": "pain_level = 0",
    "appointment_reminders": "email_status = 'sent'",
    "webhooks": "enabled = false, disabled_at = now()",
    "webhook_deliveries": "status = 'pending'",
    "webhook_delivery_attempts": "error = 'x'",
}

# The column a table's rows are labelled by, where it is not `id`.
KEY_COLUMN = {"webhook_delivery_attempts": "delivery_id"}

IDS: dict[str, uuid.UUID] = {}


def i(label: str) -> uuid.UUID:
    return IDS.setdefault(label, uuid.uuid4())


def label_of(value: uuid.UUID) -> str:
    for label, known in IDS.items():
        if known == value:
            return label[2:] if label.startswith("A.") else label
    return f"unknown:{value}"


def identity(role: str, clinic: str = "A") -> dict[str, str]:
    """The app.* settings of the acting user of `role` in `clinic` ('' = not set)."""
    c = clinic
    settings = {"user_id": "", "clinic_id": "", "role": "", "physiotherapist_id": ""}
    settings["patient_id"] = ""
    if role == "anonymous":
        return settings
    user = {"admin": "u_admin", "physiotherapist": "u_physio", "receptionist": "u_reception"}
    settings.update(
        user_id=str(i(f"{c}.{user.get(role, 'u_patient')}")),
        clinic_id=str(i(f"{c}.clinic")),
        role=role,
    )
    if role == "physiotherapist":
        settings["physiotherapist_id"] = str(i(f"{c}.physio"))
    if role == "patient":
        settings["patient_id"] = str(i(f"{c}.pat_x"))
    return settings


async def act_as(conn: asyncpg.Connection, settings: dict[str, str]) -> None:
    """What the server does at the start of every request transaction."""
    await conn.execute("SET LOCAL ROLE fisioflow_app")
    await conn.execute(
        "select set_config('app.user_id', $1, true), set_config('app.clinic_id', $2, true),"
        " set_config('app.role', $3, true), set_config('app.physiotherapist_id', $4, true),"
        " set_config('app.patient_id', $5, true)",
        settings["user_id"],
        settings["clinic_id"],
        settings["role"],
        settings["physiotherapist_id"],
        settings["patient_id"],
    )


async def attempt(
    conn: asyncpg.Connection,
    settings: dict[str, str],
    run: Callable[[asyncpg.Connection], Awaitable[Any]],
) -> Any:
    """Run `run` in a rolled-back request transaction; return its result, PRIV or RLS."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await act_as(conn, settings)
        return await run(conn)
    except asyncpg.PostgresError as error:
        return classify(error)
    finally:
        await transaction.rollback()


def classify(error: asyncpg.PostgresError) -> str:
    message = error.message
    if error.sqlstate == "42501" and message.startswith("permission denied"):
        return PRIV
    if error.sqlstate == "42501" and "row-level security" in message:
        return RLS
    raise error


def expand(table: str, expected: Any) -> Any:
    if expected == ALL:
        return set(ROWS[table])
    return set(expected) if isinstance(expected, frozenset | set) else expected


def insert_statement(table: str, c: str) -> tuple[str, list[Any]]:
    """A row of clinic `c` that the roles allowed to insert into `table` would write."""
    clinic = i(f"{c}.clinic")
    tag = uuid.uuid4().hex[:8]
    rows: dict[str, tuple[str, list[Any]]] = {
        "clinics": ("INSERT INTO clinics (name) VALUES ('Nova')", []),
        "users": (
            "INSERT INTO users (clinic_id, email, password_hash, role)"
            " VALUES ($1, $2, 'hash', 'receptionist')",
            [clinic, f"new-{tag}@clinic.test"],
        ),
        "physiotherapists": (
            "INSERT INTO physiotherapists (clinic_id, name, email, crefito)"
            " VALUES ($1, 'Nova', $2, $3)",
            [clinic, f"nova-{tag}@clinic.test", f"CREFITO-3/{tag}-F"],
        ),
        "patients": (
            "INSERT INTO patients (clinic_id, physiotherapist_id, name) VALUES ($1, $2, 'Novo')",
            [clinic, i(f"{c}.physio")],
        ),
        "appointments": (
            "INSERT INTO appointments (clinic_id, patient_id, physiotherapist_id, starts_at,"
            " ends_at, type) VALUES ($1, $2, $3, now() + interval '30 days',"
            " now() + interval '30 days 50 minutes', 'session')",
            [clinic, i(f"{c}.pat_y"), i(f"{c}.physio")],
        ),
        "prontuarios": (
            "INSERT INTO prontuarios (clinic_id, patient_id, author_id, kind, evolution,"
            " author_name, author_crefito) VALUES ($1, $2, $3, 'evolution', 'Melhora', 'Dra',"
            " 'CREFITO-3/1-F')",
            [clinic, i(f"{c}.pat_x"), i(f"{c}.physio")],
        ),
        "prontuario_addenda": (
            "INSERT INTO prontuario_addenda (clinic_id, prontuario_id, author_id, text)"
            " VALUES ($1, $2, $3, 'Adendo')",
            [clinic, i(f"{c}.pr_x"), i(f"{c}.physio")],
        ),
        "exercises": (
            "INSERT INTO exercises (clinic_id, name, category, difficulty)"
            " VALUES ($1, 'Ponte', 'core', 'easy')",
            [clinic],
        ),
        "exercise_prescriptions": (
            "INSERT INTO exercise_prescriptions (clinic_id, patient_id, exercise_id,"
            " physiotherapist_id, sets, repetitions, frequency_per_week, starts_on)"
            " VALUES ($1, $2, $3, $4, 3, 10, 3, current_date)",
            [clinic, i(f"{c}.pat_x"), i(f"{c}.ex"), i(f"{c}.physio")],
        ),
        "exercise_executions": (
            "INSERT INTO exercise_executions (clinic_id, prescription_id, patient_id, sets_done)"
            " VALUES ($1, $2, $3, 3)",
            [clinic, i(f"{c}.rx_x"), i(f"{c}.pat_x")],
        ),
        "payments": (
            "INSERT INTO payments (clinic_id, patient_id, amount, method, idempotency_key,"
            " request_fingerprint) VALUES ($1, $2, 150.00, 'pix', $3, 'fp')",
            [clinic, i(f"{c}.pat_x"), f"key-{tag}"],
        ),
        "consents": (
            "INSERT INTO consents (clinic_id, patient_id, purpose, legal_basis, policy_version)"
            " VALUES ($1, $2, 'marketing', 'consentimento', 'v2')",
            [clinic, i(f"{c}.pat_x")],
        ),
        "data_subject_requests": (
            "INSERT INTO data_subject_requests (clinic_id, patient_id, kind)"
            " VALUES ($1, $2, 'access')",
            [clinic, i(f"{c}.pat_x")],
        ),
        "audit_log": (
            "INSERT INTO audit_log (clinic_id, table_name, operation) VALUES ($1, 'x', 'INSERT')",
            [clinic],
        ),
        "compliance_checks": (
            "INSERT INTO compliance_checks (clinic_id, framework, check_type, state, severity,"
            " score, next_check, description) VALUES ($1, 'lgpd', 'consent', 'compliant',"
            " 'low', 100, now() + interval '30 days', 'ok')",
            [clinic],
        ),
        "compliance_issues": (
            "INSERT INTO compliance_issues (clinic_id, framework, requirement, description,"
            " severity) VALUES ($1, 'lgpd', 'art. 18', 'pendente', 'low')",
            [clinic],
        ),
        "care_team_members": (
            "INSERT INTO care_team_members (clinic_id, patient_id, physiotherapist_id)"
            " VALUES ($1, $2, $3)",
            [clinic, i(f"{c}.pat_z"), i(f"{c}.physio")],
        ),
        "working_hours": (
            "INSERT INTO working_hours (clinic_id, physiotherapist_id, weekday, starts_at,"
            " ends_at) VALUES ($1, $2, 6, '08:00', '12:00')",
            [clinic, i(f"{c}.physio")],
        ),
        "time_off": (
            "INSERT INTO time_off (clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
            " VALUES ($1, $2, now() + interval '90 days', now() + interval '97 days', 'Curso')",
            [clinic, i(f"{c}.physio")],
        ),
        "clinic_holidays": (
            "INSERT INTO clinic_holidays (clinic_id, day, name)"
            " VALUES ($1, date '2031-04-21', 'Tiradentes')",
            [clinic],
        ),
        "appointment_series": (
            "INSERT INTO appointment_series (clinic_id, patient_id, physiotherapist_id,"
            " first_starts_at, duration_minutes, type, iso_weekdays, count)"
            " VALUES ($1, $2, $3, now() + interval '30 days', 50, 'session', '{1,3}', 10)",
            [clinic, i(f"{c}.pat_y"), i(f"{c}.physio")],
        ),
        "appointment_status_changes": (
            "INSERT INTO appointment_status_changes (clinic_id, appointment_id, from_status,"
            " to_status) VALUES ($1, $2, 'scheduled', 'completed')",
            [clinic, i(f"{c}.appt_x")],
        ),
        "clinical_profiles": (
            "INSERT INTO clinical_profiles (clinic_id, patient_id, updated_by, allergies)"
            " VALUES ($1, $2, $3, '{Dipirona}')",
            [clinic, i(f"{c}.pat_y"), i(f"{c}.physio")],
        ),
        "vital_signs": (
            "INSERT INTO vital_signs (clinic_id, patient_id, recorded_by, pain_level)"
            " VALUES ($1, $2, $3, 3)",
            [clinic, i(f"{c}.pat_x"), i(f"{c}.physio")],
        ),
        "appointment_reminders": (
            "INSERT INTO appointment_reminders (clinic_id, appointment_id, patient_id,"
            " physiotherapist_id, starts_at, email_status)"
            " VALUES ($1, $2, $3, $4, now() + interval '2 hours', 'none')",
            [clinic, i(f"{c}.appt_x"), i(f"{c}.pat_x"), i(f"{c}.physio")],
        ),
        "webhooks": (
            "INSERT INTO webhooks (clinic_id, url, events, secret)"
            " VALUES ($1, 'https://hooks.example/in', '{PAYMENT_CHANGED}', repeat('s', 40))",
            [clinic],
        ),
        "webhook_deliveries": (
            "INSERT INTO webhook_deliveries (clinic_id, webhook_id, event_seq, event_type, payload)"
            " VALUES ($1, $2, 1, 'PAYMENT_CHANGED', '{}')",
            [clinic, i(f"{c}.hook")],
        ),
        "webhook_delivery_attempts": (
            "INSERT INTO webhook_delivery_attempts (delivery_id, attempt, clinic_id, attempted_at,"
            " duration_ms) VALUES ($2, 9, $1, now(), 1)",
            [clinic, i(f"{c}.dlv")],
        ),
    }
    return rows[table]


async def seed_clinic(conn: asyncpg.Connection, c: str) -> None:
    def k(label: str) -> uuid.UUID:
        return i(f"{c}.{label}")

    clinic = k("clinic")
    # The matrix is about who acts, not when: no notice period for patients' cancellations
    # (tests/migrations/test_triggers.py and the API tests check it).
    await conn.execute(
        "INSERT INTO clinics (id, name, patient_cancel_notice_hours) VALUES ($1, $2, 0)",
        clinic,
        f"Clínica {c}",
    )
    for label, n in (("physio", 1), ("physio2", 2), ("physio3", 3)):
        await conn.execute(
            "INSERT INTO physiotherapists (id, clinic_id, name, email, crefito)"
            " VALUES ($1, $2, $3, $4, $5)",
            k(label), clinic, f"Fisio {n}", f"{label}@{c}.test", f"CREFITO-3/{n}000-F",
        )  # fmt: skip
    for label, assigned in (("pat_x", k("physio")), ("pat_y", None), ("pat_z", k("physio2"))):
        await conn.execute(
            "INSERT INTO patients (id, clinic_id, physiotherapist_id, name)"
            " VALUES ($1, $2, $3, $4)",
            k(label), clinic, assigned, f"Paciente {label}",
        )  # fmt: skip
    for label, role, physio_id, patient_id in (
        ("u_admin", "admin", None, None),
        ("u_physio", "physiotherapist", k("physio"), None),
        ("u_reception", "receptionist", None, None),
        ("u_patient", "patient", None, k("pat_x")),
    ):
        await conn.execute(
            "INSERT INTO users (id, clinic_id, email, password_hash, role, physiotherapist_id,"
            " patient_id) VALUES ($1, $2, $3, 'argon2-hash', $4, $5, $6)",
            k(label), clinic, f"{label}@{c}.test", role, physio_id, patient_id,
        )  # fmt: skip
    for label, patient, physio, hours in (
        ("appt_x", "pat_x", "physio", 24),
        ("appt_y", "pat_y", "physio", 26),
        ("appt_z", "pat_z", "physio2", 24),
    ):
        await conn.execute(
            "INSERT INTO appointments (id, clinic_id, patient_id, physiotherapist_id, starts_at,"
            " ends_at, type) VALUES ($1, $2, $3, $4, now() + make_interval(hours => $5),"
            " now() + make_interval(hours => $5, mins => 50), 'session')",
            k(label), clinic, k(patient), k(physio), hours,
        )  # fmt: skip
    for label, patient, author in (
        ("pr_x", "pat_x", "physio"),
        ("pr_y", "pat_y", "physio2"),
        ("pr_z", "pat_z", "physio2"),
    ):
        await conn.execute(
            "INSERT INTO prontuarios (id, clinic_id, patient_id, author_id, kind, anamnesis,"
            " author_name, author_crefito) VALUES ($1, $2, $3, $4, 'evaluation', 'Dor lombar',"
            " 'Fisio', 'CREFITO-3/1000-F')",
            k(label), clinic, k(patient), k(author),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO prontuario_addenda (id, clinic_id, prontuario_id, author_id, text)"
            " VALUES ($1, $2, $3, $4, 'Correção')",
            k("ad_" + label[3:]), clinic, k(label), k(author),
        )  # fmt: skip
    for label in ("ex", "ex_spare"):
        await conn.execute(
            "INSERT INTO exercises (id, clinic_id, name, category, difficulty)"
            " VALUES ($1, $2, $3, 'mobility', 'easy')",
            k(label), clinic, f"Exercício {label}",
        )  # fmt: skip
    for label, patient, exercise, physio in (
        ("rx_x", "pat_x", k("ex"), "physio"),
        ("rx_y", "pat_y", i("shared_ex"), "physio2"),
        ("rx_z", "pat_z", k("ex"), "physio2"),
    ):
        await conn.execute(
            "INSERT INTO exercise_prescriptions (id, clinic_id, patient_id, exercise_id,"
            " physiotherapist_id, sets, repetitions, frequency_per_week, starts_on)"
            " VALUES ($1, $2, $3, $4, $5, 3, 12, 3, current_date)",
            k(label), clinic, k(patient), exercise, k(physio),
        )  # fmt: skip
    for x in ("x", "z"):
        owner = k(f"pat_{x}")
        await conn.execute(
            "INSERT INTO exercise_executions (id, clinic_id, prescription_id, patient_id,"
            " sets_done, pain_level) VALUES ($1, $2, $3, $4, 3, 2)",
            k(f"exe_{x}"), clinic, k(f"rx_{x}"), owner,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO payments (id, clinic_id, patient_id, amount, method, idempotency_key,"
            " request_fingerprint) VALUES ($1, $2, $3, 120.00, 'pix', $4, 'fp')",
            k(f"pay_{x}"), clinic, owner, f"seed-{x}",
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO consents (id, clinic_id, patient_id, purpose, legal_basis,"
            " policy_version) VALUES ($1, $2, $3, 'tratamento', 'tutela da saúde', 'v1')",
            k(f"con_{x}"), clinic, owner,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO data_subject_requests (id, clinic_id, patient_id, kind)"
            " VALUES ($1, $2, $3, 'access')",
            k(f"dsr_{x}"), clinic, owner,
        )  # fmt: skip
    await conn.execute(
        "INSERT INTO compliance_checks (id, clinic_id, framework, check_type, state, severity,"
        " score, next_check, description) VALUES ($1, $2, 'lgpd', 'consent', 'compliant',"
        " 'low', 95, now() + interval '30 days', 'Consentimentos em dia')",
        k("chk"), clinic,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO compliance_issues (id, clinic_id, check_id, framework, requirement,"
        " description, severity) VALUES ($1, $2, $3, 'lgpd', 'art. 18', 'Pendência', 'low')",
        k("iss"), clinic, k("chk"),
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO care_team_members (id, clinic_id, patient_id, physiotherapist_id)"
        " VALUES ($1, $2, $3, $4)",
        k("team_x"), clinic, k("pat_x"), k("physio2"),
    )  # fmt: skip
    # Time off a year ahead, far from every appointment here.
    await conn.execute(
        "INSERT INTO working_hours (id, clinic_id, physiotherapist_id, weekday, starts_at,"
        " ends_at) VALUES ($1, $2, $3, 7, '09:00', '10:00')",
        k("wh_physio3"), clinic, k("physio3"),
    )  # fmt: skip
    for physio in ("physio", "physio2"):
        await conn.execute(
            "INSERT INTO time_off (id, clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
            " VALUES ($1, $2, $3, now() + interval '365 days', now() + interval '372 days',"
            " 'Férias')",
            k(f"off_{physio}"), clinic, k(physio),
        )  # fmt: skip
    await conn.execute(
        "INSERT INTO clinic_holidays (id, clinic_id, day, name)"
        " VALUES ($1, $2, date '2030-12-25', 'Natal')",
        k("holiday"), clinic,
    )  # fmt: skip
    for label, patient, physio in (("ser_x", "pat_x", "physio"), ("ser_z", "pat_z", "physio2")):
        await conn.execute(
            "INSERT INTO appointment_series (id, clinic_id, patient_id, physiotherapist_id,"
            " first_starts_at, duration_minutes, type, iso_weekdays, count, created_by)"
            " VALUES ($1, $2, $3, $4, now() + interval '7 days', 50, 'session', '{2}', 4, $5)",
            k(label), clinic, k(patient), k(physio), k("u_admin"),
        )  # fmt: skip
    for x, physio in (("x", "physio"), ("z", "physio2")):
        await conn.execute(
            "INSERT INTO clinical_profiles (id, clinic_id, patient_id, updated_by, allergies)"
            " VALUES ($1, $2, $3, $4, '{Penicilina}')",
            k(f"cp_{x}"), clinic, k(f"pat_{x}"), k(physio),
        )  # fmt: skip
    for x, physio in (("x", "physio"), ("y", "physio2"), ("z", "physio2")):
        await conn.execute(
            "INSERT INTO vital_signs (id, clinic_id, patient_id, recorded_by, heart_rate)"
            " VALUES ($1, $2, $3, $4, 70)",
            k(f"vs_{x}"), clinic, k(f"pat_{x}"), k(physio),
        )  # fmt: skip
    for x in ("x", "y", "z"):
        await conn.execute(
            "INSERT INTO appointment_reminders (id, clinic_id, appointment_id, patient_id,"
            " physiotherapist_id, starts_at, email_status)"
            " SELECT $1, clinic_id, id, patient_id, physiotherapist_id, starts_at, 'none'"
            " FROM appointments WHERE id = $2",
            k(f"rem_{x}"), k(f"appt_{x}"),
        )  # fmt: skip
    await conn.execute(
        "INSERT INTO webhooks (id, clinic_id, url, events, secret)"
        " VALUES ($1, $2, 'https://hooks.example/in', '{PAYMENT_CHANGED}', repeat('s', 40))",
        k("hook"), clinic,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO webhook_deliveries (id, clinic_id, webhook_id, event_seq, event_type, payload)"
        " VALUES ($1, $2, $3, 1, 'PAYMENT_CHANGED', '{}')",
        k("dlv"), clinic, k("hook"),
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO webhook_delivery_attempts (delivery_id, attempt, clinic_id, attempted_at,"
        " response_status, duration_ms) VALUES ($1, 1, $2, now(), 200, 12)",
        k("dlv"), clinic,
    )  # fmt: skip


@pytest.fixture(scope="module")
async def db_url(server_url: str) -> AsyncIterator[str]:
    """A private migrated database holding clinics A and B (committed, as the superuser)."""
    url = await create_database(server_url)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        conn = await asyncpg.connect(plain_dsn(url))
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO exercises (id, clinic_id, name, category, difficulty)"
                    " VALUES ($1, NULL, 'Agachamento', 'strength', 'medium')",
                    i("shared_ex"),
                )
                await seed_clinic(conn, "A")
                await seed_clinic(conn, "B")
        finally:
            await conn.close()
        yield url
    finally:
        await drop_database(server_url, url)


@pytest.fixture(scope="module", params=ROUTES)
async def conn(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the database, direct or through PgBouncer in transaction mode (each
    transaction on whichever server connection is free): the matrix holds both ways."""
    settings = route_settings(request, db_url)
    connection = await asyncpg.connect(
        plain_dsn(settings["database_url"]), **asyncpg_options(settings.get("pooler", "none"))
    )
    yield connection
    await connection.close()


async def visible(conn: asyncpg.Connection, table: str) -> set[str]:
    if table == "audit_log":
        rows = await conn.fetch("SELECT DISTINCT clinic_id AS id FROM audit_log")
    elif table == "appointment_status_changes":
        rows = await conn.fetch("SELECT appointment_id AS id FROM appointment_status_changes")
    elif table == "exercises":
        # The migrated shared library (0004) is visible to every role; shared_ex stands for it.
        rows = await conn.fetch(
            "SELECT id FROM exercises WHERE clinic_id IS NOT NULL OR id = $1", i("shared_ex")
        )
    else:
        rows = await conn.fetch(f"SELECT {KEY_COLUMN.get(table, 'id')} AS id FROM {table}")
    return {label_of(row["id"]) for row in rows}


def returned(rows: list[asyncpg.Record]) -> set[str]:
    return {label_of(row["id"]) for row in rows}


@pytest.mark.parametrize("table", list(ROWS))
async def test_access_matrix(conn: asyncpg.Connection, table: str) -> None:
    mismatches: list[str] = []

    def check(role: str, op: str, got: Any, expected: Any) -> None:
        if got != expected:
            mismatches.append(f"{role} {op} {table}: expected {expected!r}, got {got!r}")

    for n, role in enumerate(ROLES):
        me = identity(role)

        async def select(c: asyncpg.Connection) -> set[str]:
            return await visible(c, table)

        check(role, "SELECT", await attempt(conn, me, select), expand(table, READ[table][n]))

        for clinic in ("A", "B"):
            sql, args = insert_statement(table, clinic)

            async def insert(c: asyncpg.Connection, sql: str = sql, args: list[Any] = args) -> str:
                await c.execute(sql, *args)
                return OK

            # Into clinic B: refused for everyone, by privilege or by the clinic scope.
            expected = INSERT[table][n]
            if clinic == "B" and expected != PRIV:
                expected = RLS
            check(role, f"INSERT(clinic {clinic})", await attempt(conn, me, insert), expected)

        async def update(c: asyncpg.Connection) -> set[str]:
            key = KEY_COLUMN.get(table, "id")
            sql = f"UPDATE {table} SET {SET_CLAUSE[table]} RETURNING {key} AS id"
            return returned(await c.fetch(sql))

        check(role, "UPDATE", await attempt(conn, me, update), expand(table, UPDATE[table][n]))

        async def delete(c: asyncpg.Connection) -> set[str]:
            if table == "exercises":
                targets = [i("A.ex_spare"), i("shared_ex"), i("B.ex_spare")]
                sql = "DELETE FROM exercises WHERE id = ANY($1::uuid[]) RETURNING id"
                return returned(await c.fetch(sql, targets))
            key = KEY_COLUMN.get(table, "id")
            return returned(await c.fetch(f"DELETE FROM {table} RETURNING {key} AS id"))

        check(role, "DELETE", await attempt(conn, me, delete), expand(table, DELETE[table][n]))

    assert mismatches == []


async def test_every_table_is_in_the_matrix_with_rls_forced(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, r.rolname AS owner"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_roles r ON r.oid = c.relowner"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'"
    )
    # The event log's tables have an access rule of their own (tests/migrations/test_event_log.py),
    # and so have the compliance clock (tests/migrations/test_compliance_clock.py) and the
    # webhook worker's position (test_webhook_position_is_the_servers_alone).
    own_rule = {"events", "event_log_state", "compliance_clock", "webhook_dispatch_position"}
    assert {row["relname"] for row in rows} == set(ROWS) | own_rule
    for row in rows:
        assert row["relrowsecurity"] and row["relforcerowsecurity"], row["relname"]
        assert row["owner"] == "fisioflow_owner", row["relname"]
    role = await conn.fetchrow(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'fisioflow_app'"
    )
    assert role is not None and not role["rolsuper"] and not role["rolbypassrls"]


async def test_app_privileges_are_minimal(conn: asyncpg.Connection) -> None:
    for table in ROWS:
        privileges = {
            privilege
            for privilege in ("DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
            if await conn.fetchval(
                "SELECT has_table_privilege('fisioflow_app', $1, $2)", table, privilege
            )
        }
        assert privileges == ({"DELETE"} if table in DELETABLE else set()), table
    assert not await conn.fetchval(
        "SELECT has_column_privilege('fisioflow_app', 'users', 'password_hash', 'SELECT')"
    )
    assert await conn.fetchval(
        "SELECT has_column_privilege('fisioflow_app', 'users', 'email', 'SELECT')"
    )


async def test_webhook_secret_is_unreadable_and_unchangeable(conn: asyncpg.Connection) -> None:
    for query in (
        "SELECT secret FROM webhooks",
        "SELECT * FROM webhooks",
        "SELECT id FROM webhooks WHERE secret LIKE 's%'",
        "UPDATE webhooks SET secret = repeat('t', 40) RETURNING id",
        "UPDATE webhooks SET url = 'https://evil.example/' RETURNING id",
        "UPDATE webhooks SET events = '{PATIENT_CHANGED}' RETURNING id",
    ):

        async def run(c: asyncpg.Connection, query: str = query) -> Any:
            return await c.fetch(query)

        for role in ROLES:
            assert await attempt(conn, identity(role), run) == PRIV, (role, query)


async def test_webhook_position_is_the_servers_alone(conn: asyncpg.Connection) -> None:
    for query in (
        "SELECT * FROM webhook_dispatch_position",
        "UPDATE webhook_dispatch_position SET last_seq = 0",
    ):

        async def run(c: asyncpg.Connection, query: str = query) -> Any:
            return await c.fetch(query)

        for role in ROLES:
            assert await attempt(conn, identity(role), run) == PRIV, (role, query)


async def test_password_hash_is_unreadable(conn: asyncpg.Connection) -> None:
    for query in ("SELECT password_hash FROM users", "SELECT * FROM users"):

        async def run(c: asyncpg.Connection, query: str = query) -> Any:
            return await c.fetch(query)

        assert await attempt(conn, identity("admin"), run) == PRIV


async def test_token_versions_are_unreadable_and_move_only_by_trigger(
    conn: asyncpg.Connection,
) -> None:
    """Every role: token_version cannot be read, set up or down; must_change_password is
    readable by those who read the row. A password change or a deactivation bumps it."""

    async def read_version(c: asyncpg.Connection) -> Any:
        return await c.fetch("SELECT token_version FROM users")

    async def read_flag(c: asyncpg.Connection) -> Any:
        return await c.fetchval(
            "SELECT must_change_password FROM users WHERE id = $1", i("A.u_reception")
        )

    for role in ROLES:
        assert await attempt(conn, identity(role), read_version) == PRIV, role
        flag = await attempt(conn, identity(role), read_flag)
        assert flag is (None if role in ("patient", "anonymous") else False), role
        for change in ("token_version + 1", "token_version - 1", "5"):

            async def write(c: asyncpg.Connection, change: str = change) -> Any:
                return await c.execute(f"UPDATE users SET token_version = {change}")

            try:
                outcome = await attempt(conn, identity(role), write)
            except asyncpg.InsufficientPrivilegeError as error:
                outcome = error.message
            # Reading the column to change it is refused; a constant reaches rows only as an
            # admin (RLS), and the trigger refuses it.
            if change != "5":
                expected = PRIV
            elif role == "admin":
                expected = "users.token_version changes only"
            else:
                expected = "UPDATE 0"
            assert str(outcome).startswith(expected), (role, change, outcome)

    async def bump(c: asyncpg.Connection) -> list[int]:
        versions = []
        for sql in (
            "UPDATE users SET password_hash = 'other-hash' WHERE id = $1",
            "UPDATE users SET email = 'renamed@a.test' WHERE id = $1",
            "UPDATE users SET active = false WHERE id = $1",
            "UPDATE users SET active = true WHERE id = $1",
        ):
            await c.execute(sql, i("A.u_reception"))
            row = await c.fetchrow("SELECT * FROM auth_user_by_id($1)", i("A.u_reception"))
            versions.append(row["token_version"])
        return versions

    assert await attempt(conn, identity("admin"), bump) == [1, 1, 2, 2]


async def test_own_password_only_at_the_tokens_version(conn: asyncpg.Connection) -> None:
    """auth_set_own_password: the caller's own row, only at the version the token carries."""

    async def change(c: asyncpg.Connection) -> list[Any]:
        stale = await c.fetchval("SELECT auth_set_own_password('h1', 7)")
        fresh = await c.fetchval("SELECT auth_set_own_password('h2', 0)")
        again = await c.fetchval("SELECT auth_set_own_password('h3', 0)")
        row = await c.fetchrow("SELECT * FROM auth_user_by_id($1)", i("A.u_reception"))
        other = await c.fetchrow("SELECT * FROM auth_user_by_id($1)", i("A.u_admin"))
        return [stale, fresh, again, row["password_hash"], other["token_version"]]

    assert await attempt(conn, identity("receptionist"), change) == [None, 1, None, "h2", 0]
    assert await attempt(conn, identity("anonymous"), change) == [
        None,
        None,
        None,
        "argon2-hash",
        0,
    ]


async def test_a_clinic_keeps_an_active_admin(conn: asyncpg.Connection) -> None:
    """An admin may not deactivate their own login, nor anyone leave the clinic without an
    active admin; nobody but an admin deactivates anyone."""

    async def deactivate(sql: str) -> Callable[[asyncpg.Connection], Awaitable[Any]]:
        async def run(c: asyncpg.Connection) -> Any:
            try:
                return await c.execute(sql)
            except asyncpg.CheckViolationError as error:
                return error.constraint_name

        return run

    everyone = "UPDATE users SET active = false WHERE role = 'admin'"
    own = f"UPDATE users SET active = false WHERE id = '{i('A.u_admin')}'"
    other = f"UPDATE users SET active = false WHERE id = '{i('A.u_reception')}'"
    assert await attempt(conn, identity("admin"), await deactivate(own)) == "users_not_own_login"
    acting_as_another = {**identity("admin"), "user_id": str(uuid.uuid4())}
    assert (
        await attempt(conn, acting_as_another, await deactivate(everyone))
        == "users_clinic_keeps_an_admin"
    )
    assert await attempt(conn, identity("admin"), await deactivate(other)) == "UPDATE 1"
    for role in ROLES[1:]:
        assert await attempt(conn, identity(role), await deactivate(other)) == "UPDATE 0", role


async def test_auth_lookups_work_before_identity(conn: asyncpg.Connection) -> None:
    async def run(c: asyncpg.Connection) -> dict[str, Any]:
        by_email = await c.fetch("SELECT * FROM auth_user_by_email('U_PATIENT@A.test')")
        by_id = await c.fetch("SELECT * FROM auth_user_by_id($1)", i("A.u_physio"))
        missing = await c.fetch("SELECT * FROM auth_user_by_email('nobody@a.test')")
        recorded = await c.fetchval("SELECT auth_record_login($1)", i("A.u_patient"))
        unknown = await c.fetchval("SELECT auth_record_login($1)", uuid.uuid4())
        gate = await c.fetchval("SELECT current_setting('fisioflow.definer', true)")
        # Outside those functions the app still sees no users at all (anonymous).
        users = await c.fetchval("SELECT count(*) FROM users")
        await c.execute("RESET ROLE")
        last_login = await c.fetchval(
            "SELECT last_login_at = now() FROM users WHERE id = $1", i("A.u_patient")
        )
        return dict(
            by_email=[dict(r) for r in by_email],
            by_id=[(r["id"], r["role"], r["physiotherapist_id"]) for r in by_id],
            missing=missing,
            recorded=recorded,
            unknown=unknown,
            gate=gate,
            users=users,
            last_login=last_login,
        )

    result = await attempt(conn, identity("anonymous"), run)
    assert result["by_email"] == [
        {
            "id": i("A.u_patient"),
            "clinic_id": i("A.clinic"),
            "email": "u_patient@A.test",
            "password_hash": "argon2-hash",
            "role": "patient",
            "physiotherapist_id": None,
            "patient_id": i("A.pat_x"),
            "active": True,
            "token_version": 0,
            "must_change_password": False,
        }
    ]
    assert result["by_id"] == [(i("A.u_physio"), "physiotherapist", i("A.physio"))]
    assert result["missing"] == []
    assert result["recorded"] is True and result["unknown"] is False
    assert result["gate"] == ""
    assert result["users"] == 0
    assert result["last_login"] is True


async def test_auth_functions_are_not_public(conn: asyncpg.Connection) -> None:
    for signature in (
        "auth_user_by_email(text)",
        "auth_user_by_id(uuid)",
        "auth_record_login(uuid)",
        "auth_set_own_password(text, integer)",
        "auth_login_matches(uuid, uuid, text, uuid, uuid, text, integer)",
    ):
        assert not await conn.fetchval(
            "SELECT has_function_privilege('public', $1, 'EXECUTE')", signature
        )
        assert await conn.fetchval(
            "SELECT has_function_privilege('fisioflow_app', $1, 'EXECUTE')", signature
        )


async def test_owner_sees_nothing_outside_definer_functions(conn: asyncpg.Connection) -> None:
    """FORCE RLS: the owner role, used directly, is blind too."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute("SET LOCAL ROLE fisioflow_owner")
        for table in ROWS:
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    finally:
        await transaction.rollback()


async def test_physiotherapist_treats_assigned_and_scheduled_patients(
    conn: asyncpg.Connection,
) -> None:
    async def treats(c: asyncpg.Connection) -> list[bool]:
        row = await c.fetchrow(
            "SELECT app_treats_patient($1), app_treats_patient($2), app_treats_patient($3),"
            " app_treats_patient($4)",
            i("A.pat_x"),
            i("A.pat_y"),
            i("A.pat_z"),
            i("B.pat_x"),
        )
        assert row is not None
        return list(row)

    assert await attempt(conn, identity("physiotherapist"), treats) == [True, True, False, False]
    for role in ("admin", "receptionist", "patient", "anonymous"):
        assert await attempt(conn, identity(role), treats) == [False] * 4, role


Setup = Callable[[asyncpg.Connection, uuid.UUID], Awaitable[Any]]
LATER = "now() + interval '60 days'"


async def _appointment(conn: asyncpg.Connection, patient: uuid.UUID, status: str) -> None:
    await conn.execute(
        "INSERT INTO appointments (clinic_id, patient_id, physiotherapist_id, starts_at, ends_at,"
        f" type, status) VALUES ($1, $2, $3, {LATER}, {LATER} + interval '50 minutes',"
        " 'session', $4)",
        i("A.clinic"), patient, i("A.physio"), status,
    )  # fmt: skip


async def _on_care_team(conn: asyncpg.Connection, patient: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO care_team_members (clinic_id, patient_id, physiotherapist_id)"
        " VALUES ($1, $2, $3)",
        i("A.clinic"), patient, i("A.physio"),
    )  # fmt: skip


async def _off_care_team(conn: asyncpg.Connection, patient: uuid.UUID) -> None:
    await _on_care_team(conn, patient)
    await conn.execute("DELETE FROM care_team_members WHERE patient_id = $1", patient)


async def _assigned(conn: asyncpg.Connection, patient: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE patients SET physiotherapist_id = $1 WHERE id = $2", i("A.physio"), patient
    )


async def _nothing(conn: asyncpg.Connection, patient: uuid.UUID) -> None:
    return None


def _with_appointment(status: str) -> Setup:
    async def setup(conn: asyncpg.Connection, patient: uuid.UUID) -> None:
        await _appointment(conn, patient, status)

    return setup


# How clinic A's physio relates to a new patient (of physio2's, with a record by physio2), and
# whether that makes them one who treats the patient.
TREATS_CASES: dict[str, tuple[Setup, bool]] = {
    "stranger": (_nothing, False),
    "assigned": (_assigned, True),
    "care team": (_on_care_team, True),
    "removed from the care team": (_off_care_team, False),
    "scheduled appointment": (_with_appointment("scheduled"), True),
    "confirmed appointment": (_with_appointment("confirmed"), True),
    "completed appointment": (_with_appointment("completed"), True),
    "cancelled appointment": (_with_appointment("cancelled"), False),
    "no-show appointment": (_with_appointment("no_show"), False),
}


@pytest.mark.parametrize("case", list(TREATS_CASES))
async def test_treats_is_earned(conn: asyncpg.Connection, case: str) -> None:
    """DESIGN.md: assigned, on the care team, or an appointment neither cancelled nor a
    no-show. The function and the policies' inlined copy agree, on every table that uses it."""
    setup, expected = TREATS_CASES[case]
    transaction = conn.transaction()
    await transaction.start()
    try:
        patient = await conn.fetchval(
            "INSERT INTO patients (clinic_id, physiotherapist_id, name) VALUES ($1, $2, 'Novo')"
            " RETURNING id",
            i("A.clinic"), i("A.physio2"),
        )  # fmt: skip
        record = await conn.fetchval(
            "INSERT INTO prontuarios (clinic_id, patient_id, author_id, kind, anamnesis,"
            " author_name, author_crefito) VALUES ($1, $2, $3, 'evaluation', 'Dor', 'Fisio 2',"
            " 'CREFITO-3/2000-F') RETURNING id",
            i("A.clinic"), patient, i("A.physio2"),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO prontuario_addenda (clinic_id, prontuario_id, author_id, text)"
            " VALUES ($1, $2, $3, 'Correção')",
            i("A.clinic"), record, i("A.physio2"),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO exercise_prescriptions (clinic_id, patient_id, exercise_id,"
            " physiotherapist_id, sets, repetitions, frequency_per_week, starts_on)"
            " VALUES ($1, $2, $3, $4, 3, 12, 3, current_date)",
            i("A.clinic"), patient, i("A.ex"), i("A.physio2"),
        )  # fmt: skip
        await setup(conn, patient)
        await act_as(conn, identity("physiotherapist"))
        seen = await conn.fetchrow(
            "SELECT app_treats_patient($1) AS treats,"
            " (SELECT count(*) FROM prontuarios WHERE patient_id = $1) AS records,"
            " (SELECT count(*) FROM prontuario_addenda WHERE prontuario_id = $2) AS addenda,"
            " (SELECT count(*) FROM exercise_prescriptions WHERE patient_id = $1) AS rx",
            patient, record,
        )  # fmt: skip
        assert seen is not None
        assert dict(seen) == {
            "treats": expected,
            "records": int(expected),
            "addenda": int(expected),
            "rx": int(expected),
        }
        # Writing follows reading: a record for the patient, signed by the physio.
        await conn.execute("SAVEPOINT write")
        try:
            await conn.execute(
                "INSERT INTO prontuarios (clinic_id, patient_id, author_id, kind, evolution,"
                " author_name, author_crefito) VALUES ($1, $2, $3, 'evolution', 'x', 'Fisio 1',"
                " 'CREFITO-3/1000-F')",
                i("A.clinic"), patient, i("A.physio"),
            )  # fmt: skip
            wrote = True
        except asyncpg.InsufficientPrivilegeError:
            wrote = False
            await conn.execute("ROLLBACK TO SAVEPOINT write")
        assert wrote is expected
    finally:
        await transaction.rollback()


async def _as_physio_after(conn: asyncpg.Connection, sql: str, *args: Any) -> Any:
    """`sql` as clinic A's physio, in a rolled-back transaction: OK, or RLS / PRIV."""
    return await expect_denied(conn, "physiotherapist", sql, *args)


async def test_physiotherapist_books_only_patients_they_treat(conn: asyncpg.Connection) -> None:
    book = (
        "INSERT INTO appointments (clinic_id, patient_id, physiotherapist_id, starts_at,"
        f" ends_at, type) VALUES ($1, $2, $3, {LATER}, {LATER} + interval '1 hour', 'session')"
    )
    a = i("A.clinic")
    # z is physio2's patient, x assigned to the physio, y has an appointment with them.
    assert await _as_physio_after(conn, book, a, i("A.pat_z"), i("A.physio")) == RLS
    assert await _as_physio_after(conn, book, a, i("A.pat_x"), i("A.physio")) == "INSERT 0 1"
    assert await _as_physio_after(conn, book, a, i("A.pat_y"), i("A.physio")) == "INSERT 0 1"
    # Their own appointment cannot be moved to a stranger, nor a cancelled one revived.
    move = "UPDATE appointments SET patient_id = $1 WHERE id = $2"
    assert await _as_physio_after(conn, move, i("A.pat_z"), i("A.appt_y")) == RLS
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(
            "UPDATE appointments SET status = 'cancelled' WHERE id = $1", i("A.appt_y")
        )
        revive = "UPDATE appointments SET status = 'scheduled' WHERE id = $1"
        await act_as(conn, identity("physiotherapist"))
        # The state machine (0018) refuses it before RLS would.
        with pytest.raises(asyncpg.PostgresError, match="cancelled appointment cannot become"):
            await conn.execute(revive, i("A.appt_y"))
    finally:
        await transaction.rollback()


async def test_a_patient_is_never_in_two_sessions_at_once(conn: asyncpg.Connection) -> None:
    """The physiotherapist's exclusion constraint (0001), for the patient too (0008)."""
    insert = (
        "INSERT INTO appointments (clinic_id, patient_id, physiotherapist_id, starts_at,"
        " ends_at, type, status) VALUES ($1, $2, $3, now() + make_interval(hours => $4),"
        " now() + make_interval(hours => $4, mins => 50), 'session', $5)"
    )
    transaction = conn.transaction()
    await transaction.start()
    try:
        # Patient x with physio2 in 25 h; then with physio, who is free then (appt_x is in
        # 24 h, appt_y in 26 h): x is not. Cancelled and no-show sessions block nothing.
        await conn.execute(insert, i("A.clinic"), i("A.pat_x"), i("A.physio2"), 25, "scheduled")
        for status in ("cancelled", "no_show"):
            await conn.execute(insert, i("A.clinic"), i("A.pat_x"), i("A.physio"), 25, status)
        with pytest.raises(asyncpg.ExclusionViolationError) as refused:
            await conn.execute(insert, i("A.clinic"), i("A.pat_x"), i("A.physio"), 25, "confirmed")
        assert refused.value.constraint_name == "appointments_patient_no_double_booking"
    finally:
        await transaction.rollback()


async def expect_denied(conn: asyncpg.Connection, role: str, sql: str, *args: Any) -> Any:
    async def run(c: asyncpg.Connection) -> Any:
        return await c.execute(sql, *args)

    return await attempt(conn, identity(role), run)


async def test_physiotherapist_writes_only_for_own_patients(conn: asyncpg.Connection) -> None:
    a = "A"
    prontuario = (
        "INSERT INTO prontuarios (clinic_id, patient_id, author_id, kind, evolution, author_name,"
        " author_crefito) VALUES ($1, $2, $3, 'evolution', 'x', 'Dra', 'CREFITO-3/1-F')"
    )
    # Not treated (z), or signed as a colleague.
    args = (i(f"{a}.clinic"), i(f"{a}.pat_z"), i(f"{a}.physio"))
    assert await expect_denied(conn, "physiotherapist", prontuario, *args) == RLS
    args = (i(f"{a}.clinic"), i(f"{a}.pat_x"), i(f"{a}.physio2"))
    assert await expect_denied(conn, "physiotherapist", prontuario, *args) == RLS
    addendum = (
        "INSERT INTO prontuario_addenda (clinic_id, prontuario_id, author_id, text)"
        " VALUES ($1, $2, $3, 'x')"
    )
    args = (i(f"{a}.clinic"), i(f"{a}.pr_z"), i(f"{a}.physio"))
    assert await expect_denied(conn, "physiotherapist", addendum, *args) == RLS
    prescription = (
        "INSERT INTO exercise_prescriptions (clinic_id, patient_id, exercise_id,"
        " physiotherapist_id, sets, repetitions, frequency_per_week, starts_on)"
        " VALUES ($1, $2, $3, $4, 3, 10, 3, current_date)"
    )
    rx_args = (i(f"{a}.clinic"), i(f"{a}.pat_z"), i(f"{a}.ex"), i(f"{a}.physio"))
    assert await expect_denied(conn, "physiotherapist", prescription, *rx_args) == RLS
    # Patients and appointments: only their own.
    assert (
        await expect_denied(
            conn,
            "physiotherapist",
            "INSERT INTO patients (clinic_id, physiotherapist_id, name) VALUES ($1, $2, 'x')",
            i(f"{a}.clinic"),
            i(f"{a}.physio2"),
        )
        == RLS
    )
    assert (
        await expect_denied(
            conn,
            "physiotherapist",
            "UPDATE patients SET physiotherapist_id = $1 WHERE id = $2",
            i(f"{a}.physio2"),
            i(f"{a}.pat_x"),
        )
        == RLS
    )
    assert (
        await expect_denied(
            conn,
            "physiotherapist",
            "INSERT INTO appointments (clinic_id, patient_id, physiotherapist_id, starts_at,"
            " ends_at, type) VALUES ($1, $2, $3, now() + interval '40 days',"
            " now() + interval '40 days 1 hour', 'session')",
            i(f"{a}.clinic"),
            i(f"{a}.pat_x"),
            i(f"{a}.physio2"),
        )
        == RLS
    )


async def test_patient_writes_only_their_own(conn: asyncpg.Connection) -> None:
    # An execution against another patient's prescription, filed under their own id.
    assert (
        await expect_denied(
            conn,
            "patient",
            "INSERT INTO exercise_executions (clinic_id, prescription_id, patient_id, sets_done)"
            " VALUES ($1, $2, $3, 1)",
            i("A.clinic"),
            i("A.rx_z"),
            i("A.pat_x"),
        )
        == RLS
    )
    assert (
        await expect_denied(
            conn,
            "patient",
            "INSERT INTO consents (clinic_id, patient_id, purpose, legal_basis, policy_version)"
            " VALUES ($1, $2, 'x', 'y', 'v1')",
            i("A.clinic"),
            i("A.pat_z"),
        )
        == RLS
    )


async def test_forged_ids_of_another_clinic_reach_nothing(conn: asyncpg.Connection) -> None:
    """Clinic A's settings with clinic B's physio/patient ids: still only clinic A's rows."""
    for role in ("physiotherapist", "patient"):
        settings = identity(role)
        settings["physiotherapist_id"] = str(i("B.physio"))
        settings["patient_id"] = str(i("B.pat_x"))
        for table in ROWS:

            async def select(c: asyncpg.Connection, table: str = table) -> set[str]:
                return await visible(c, table)

            seen = await attempt(conn, settings, select)
            assert not any(label.startswith("B.") for label in seen), (role, table, seen)


async def test_settings_never_set_means_anonymous(db_url: str) -> None:
    """A fresh connection (settings missing, not '') sees nothing either."""
    fresh = await asyncpg.connect(plain_dsn(db_url))
    try:
        async with fresh.transaction():
            await fresh.execute("SET LOCAL ROLE fisioflow_app")
            assert await fresh.fetchval("SELECT current_setting('app.clinic_id', true)") is None
            for table in ROWS:
                assert await fresh.fetchval(f"SELECT count(*) FROM {table}") == 0, table
            helpers = await fresh.fetchrow(
                "SELECT app_user_id(), app_clinic_id(), app_role(), app_physiotherapist_id(),"
                " app_patient_id()"
            )
            assert helpers is not None and list(helpers) == [None] * 5
    finally:
        await fresh.close()


def visible_ids_sql(table: str) -> str:
    """`visible`'s query, as one text value (the shape of what graph/fast_path prepares)."""
    if table == "audit_log":
        return "SELECT string_agg(DISTINCT clinic_id::text, ',') FROM audit_log"
    if table == "appointment_status_changes":
        return f"SELECT string_agg(appointment_id::text, ',') FROM {table}"
    where = ""
    if table == "exercises":
        where = " WHERE clinic_id IS NOT NULL OR id = ($1::text[])[1]::uuid"
    return f"SELECT string_agg({KEY_COLUMN.get(table, 'id')}::text, ',') FROM {table}{where}"


async def gql_execute(
    conn: asyncpg.Connection,
    settings: dict[str, str],
    statement: str,
    arguments: list[Any],
    token_version: int | None = None,
) -> Any:
    """One call of the fast path's function (migrations 0007, 0008, 0016) with these identity
    settings (and token version: None is not checked)."""
    nullable = {k: uuid.UUID(v) if v else None for k, v in settings.items() if k != "role"}
    return await conn.fetchval(
        "SELECT gql_execute($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        nullable["user_id"],
        nullable["clinic_id"],
        settings["role"],
        nullable["physiotherapist_id"],
        nullable["patient_id"],
        None,
        token_version,
        statement,
        arguments,
    )


async def test_gql_execute_reads_exactly_what_the_matrix_allows(db_url: str) -> None:
    """The fast path's one round trip: identity, active-login check and a prepared statement
    in one call, as fisioflow_app. Every table's SELECT column of the matrix holds through
    it, and nothing of the identity outlives the call."""
    fresh = await asyncpg.connect(plain_dsn(db_url))
    try:
        login = await fresh.fetchval("SELECT current_user")
        for table in ROWS:
            await fresh.execute(f"PREPARE gql_{table}(text[]) AS {visible_ids_sql(table)}")
        mismatches = []
        for n, role in enumerate(ROLES[:-1]):
            for table in ROWS:
                text = await gql_execute(
                    fresh, identity(role), f"gql_{table}", [str(i("shared_ex"))]
                )
                seen = {label_of(uuid.UUID(v)) for v in (text or "").split(",") if v}
                if seen != expand(table, READ[table][n]):
                    mismatches.append((role, table, seen))
            after = await fresh.fetchrow(
                "SELECT current_user AS who, current_setting('app.clinic_id', true) AS clinic"
            )
            assert after is not None and after["who"] == login and not after["clinic"], after
        assert mismatches == []
    finally:
        await fresh.close()


async def test_gql_execute_refuses_anonymous_and_inactive_logins(conn: asyncpg.Connection) -> None:
    await conn.execute(f"PREPARE gql_patients_count(text[]) AS {visible_ids_sql('patients')}")
    try:
        with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
            await gql_execute(conn, identity("anonymous"), "gql_patients_count", [])
        deactivation = conn.transaction()
        await deactivation.start()
        try:
            await conn.execute("UPDATE users SET active = false WHERE id = $1", i("A.u_reception"))
            with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
                await gql_execute(conn, identity("receptionist"), "gql_patients_count", [])
        finally:
            await deactivation.rollback()
        assert await gql_execute(conn, identity("receptionist"), "gql_patients_count", [])
        # The identity is the login's row: any claim that differs from it is refused.
        receptionist = identity("receptionist")
        for tampered in (
            {"clinic_id": str(i("B.clinic"))},
            {"role": "admin"},
            {"physiotherapist_id": str(i("A.physio"))},
            {"patient_id": str(i("A.pat_x"))},
            {"user_id": str(uuid.uuid4())},
        ):
            with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
                await gql_execute(conn, {**receptionist, **tampered}, "gql_patients_count", [])
        # A token version other than the row's (0: nothing bumped it) is refused.
        assert await gql_execute(conn, receptionist, "gql_patients_count", [], 0)
        for version in (1, -1):
            with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
                await gql_execute(conn, receptionist, "gql_patients_count", [], version)
    finally:
        await conn.execute("DEALLOCATE gql_patients_count")


async def test_gql_execute_passes_arguments_through_unchanged(conn: asyncpg.Connection) -> None:
    """Arguments reach the statement as they were sent, quotes, braces and nulls included."""
    await conn.execute(
        "PREPARE gql_echo(text[]) AS SELECT json_build_array(($1::text[])[1], ($1::text[])[2],"
        " ($1::text[])[3]::int)::text"
    )
    try:
        tricky = 'O\'Brien "x" {a,b} NULL \\ ;'
        text = await gql_execute(conn, identity("admin"), "gql_echo", [tricky, None, "7"])
        assert orjson.loads(text) == [tricky, None, 7]
        with pytest.raises(asyncpg.InvalidSQLStatementNameError):
            await gql_execute(conn, identity("admin"), "gql_echo; DROP TABLE users", [])
    finally:
        await conn.execute("DEALLOCATE gql_echo")


def test_clinic_wide_declarations_hold() -> None:
    """A declaration says `clinic_wide` (the compiler then trusts a foreign key to name a
    visible row) only of a table every signed-in role reads whole, as READ, checked above
    against PostgreSQL, says."""
    wide = [declared for declared in DECLARATIONS.values() if declared.clinic_wide]
    assert wide
    for declared in wide:
        assert READ[declared.table.name][:4] == (ALL, ALL, ALL, ALL), declared.name


async def test_physiotherapist_writes_only_their_own_availability(
    conn: asyncpg.Connection,
) -> None:
    """A physiotherapist sets their own hours and time off, never a colleague's."""
    me = identity("physiotherapist")
    for physio, expected in (("A.physio", OK), ("A.physio3", RLS)):
        for sql in (
            "INSERT INTO working_hours (clinic_id, physiotherapist_id, weekday, starts_at,"
            " ends_at) VALUES ($1, $2, 2, '08:00', '12:00')",
            "INSERT INTO time_off (clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
            " VALUES ($1, $2, now(), now() + interval '1 day', 'Curso')",
        ):

            async def insert(c: asyncpg.Connection, sql: str = sql, physio: str = physio) -> str:
                await c.execute(sql, i("A.clinic"), i(physio))
                return OK

            assert await attempt(conn, me, insert) == expected, (physio, sql)

    async def own_hours_then_delete(c: asyncpg.Connection) -> set[str]:
        await c.execute(
            "INSERT INTO working_hours (id, clinic_id, physiotherapist_id, weekday, starts_at,"
            " ends_at) VALUES ($1, $2, $3, 3, '08:00', '12:00')",
            i("A.wh_mine"), i("A.clinic"), i("A.physio"),
        )  # fmt: skip
        return returned(await c.fetch("DELETE FROM working_hours RETURNING id"))

    assert await attempt(conn, me, own_hours_then_delete) == {"wh_mine"}
