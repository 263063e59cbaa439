"""The tables the seed writes, in foreign-key order, and their COPY column lists."""

from sqlalchemy import TableClause

from models.accounts import clinics, physiotherapists, user_credentials, users
from models.availability import clinic_holidays, time_off, working_hours
from models.clinical import clinical_profiles, prontuario_addenda, prontuarios, vital_signs
from models.compliance import compliance_checks, compliance_issues, consents, data_subject_requests
from models.exercises import exercise_executions, exercise_prescriptions
from models.patients import patients
from models.payments import payments
from models.scheduling import appointment_series, appointment_status_changes, appointments

Row = tuple[object, ...]
Batch = dict[str, list[Row]]

# What the seed writes, in foreign-key order (COPY checks references row by row when the
# triggers are on). A table's rows are tuples in the order of its model's columns; `users`
# rows also carry the write-only `password_hash`, so they follow `user_credentials` first.
SEEDED: tuple[tuple[TableClause, ...], ...] = (
    (clinics,),
    (physiotherapists,),
    (working_hours,),
    (time_off,),
    (clinic_holidays,),
    (patients,),
    (user_credentials, users),
    (appointment_series,),
    (appointments,),
    (appointment_status_changes,),
    (prontuarios,),
    (prontuario_addenda,),
    (clinical_profiles,),
    (vital_signs,),
    (exercise_prescriptions,),
    (exercise_executions,),
    (payments,),
    (consents,),
    (data_subject_requests,),
    (compliance_checks,),
    (compliance_issues,),
)

# Columns no seeded row sets: they keep their defaults (NULL, or the column's default).
LEFT_TO_DEFAULTS = frozenset(
    {
        "clinics.time_zone",
        "clinics.patient_self_booking",
        "clinics.patient_cancel_notice_hours",
        "clinics.reminder_hours_before",
        "appointments.outside_working_hours",
        "patients.anonymized_at",
        "users.last_login_at",
        "users.must_change_password",
        "consents.revocation_acknowledged_at",
        "appointment_status_changes.id",  # an identity: the load order is the history's
    }
)


def copy_columns(tables: tuple[TableClause, ...]) -> tuple[str, ...]:
    """The ordered union of the tables' column names, less those left to their defaults."""
    names = dict.fromkeys(column.name for table in tables for column in table.columns)
    return tuple(name for name in names if f"{tables[0].name}.{name}" not in LEFT_TO_DEFAULTS)


COLUMNS: dict[str, tuple[str, ...]] = {tables[0].name: copy_columns(tables) for tables in SEEDED}
TABLE_ORDER: tuple[str, ...] = tuple(COLUMNS)


def empty_batch() -> Batch:
    return {name: [] for name in COLUMNS}


def merge(into: Batch, other: Batch) -> None:
    for table, rows in other.items():
        into[table].extend(rows)
