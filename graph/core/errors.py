"""The API's error codes (API.md) and the mapping of database errors onto them.

Resolvers raise `ApiError`; graphql-core copies its `extensions` onto the GraphQL error.
Anything else that escapes a resolver reaches the client only as `INTERNAL`
(graph/extensions/error_masking.py).
"""

import logging
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = logging.getLogger("fisioflow.errors")

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
OUTSIDE_WORKING_HOURS = "OUTSIDE_WORKING_HOURS"
CONFLICT = "CONFLICT"
INVALID_STATE = "INVALID_STATE"
OUT_OF_RANGE = "OUT_OF_RANGE"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
RATE_LIMITED = "RATE_LIMITED"
PASSWORD_CHANGE_REQUIRED = "PASSWORD_CHANGE_REQUIRED"
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
TIMEOUT = "TIMEOUT"
CURSOR_EXPIRED = "CURSOR_EXPIRED"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL = "INTERNAL"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


class ApiError(Exception):
    """An expected failure, shown to the client with its code (and field, for bad input)."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": code}
        if field is not None:
            self.extensions["field"] = field


def bad_input(field: str, message: str) -> ApiError:
    return ApiError(BAD_USER_INPUT, message, field=field)


def not_found(what: str, field: str | None = None) -> ApiError:
    return ApiError(NOT_FOUND, f"{what} not found", field=field)


# Constraint names → the input field a client should fix, for CONFLICT and BAD_USER_INPUT.
CONSTRAINT_FIELDS = {
    "patients_cpf_key": "cpf",
    "users_email_key": "email",
    "users_patient_key": "patientId",
    "physiotherapists_crefito_key": "crefito",
    "physiotherapists_email_key": "email",
    "payments_idempotency_key": "idempotencyKey",
    "appointments_duration_check": "durationMinutes",
    "appointments_clinic_id_patient_id_fkey": "patientId",
    "appointments_clinic_id_physiotherapist_id_fkey": "physiotherapistId",
    "appointment_series_clinic_id_patient_id_fkey": "patientId",
    "appointment_series_clinic_id_physiotherapist_id_fkey": "physiotherapistId",
    "care_team_members_clinic_id_patient_id_fkey": "patientId",
    "care_team_members_clinic_id_physiotherapist_id_fkey": "physiotherapistId",
    "appointments_time_off": "startsAt",
    "appointments_clinic_holiday": "startsAt",
    "appointments_outside_working_hours": "startsAt",
    "working_hours_no_overlap": "weekly",
    "working_hours_interval_check": "weekly",
    "working_hours_weekday_check": "weekly",
    "working_hours_clinic_id_physiotherapist_id_fkey": "physiotherapistId",
    "time_off_interval_check": "endsAt",
    "time_off_duration_check": "endsAt",
    "time_off_reason_check": "reason",
    "time_off_clinic_id_physiotherapist_id_fkey": "physiotherapistId",
    "clinic_holidays_day_key": "date",
    "clinic_holidays_day_check": "date",
    "clinic_holidays_name_check": "name",
    "clinics_cnpj_check": "cnpj",
    "clinics_time_zone_check": "timeZone",
    "clinics_cancel_notice_check": "patientCancelNoticeHours",
    "clinics_reminder_hours_check": "reminderHoursBefore",
    "users_not_own_login": "userId",
    "users_clinic_keeps_an_admin": "userId",
    "appointments_arrival_check": "arrivedAt",
    "patients_contact_channel_check": "contactChannel",
    "patients_insurance_check": "insurance.provider",
    "patients_insurance_provider_check": "insurance.provider",
    "patients_insurance_plan_name_check": "insurance.planName",
    "patients_insurance_member_number_check": "insurance.memberNumber",
    "patients_emergency_contact_check": "emergencyContact",
    "patients_emergency_contact_name_check": "emergencyContact.name",
    "patients_emergency_contact_phone_check": "emergencyContact.phone",
    "patients_emergency_contact_relationship_check": "emergencyContact.relationship",
    "clinical_profiles_allergies_check": "allergies",
    "clinical_profiles_conditions_check": "conditions",
    "clinical_profiles_medications_check": "medications",
    "clinical_profiles_clinic_id_patient_id_fkey": "patientId",
    "vital_signs_clinic_id_patient_id_fkey": "patientId",
    "vital_signs_recorded_at_check": "recordedAt",
    "vital_signs_measured_check": "patientId",
    "vital_signs_blood_pressure_check": "diastolic",
    # vital_signs_<column>_check: the measurement's range (models/clinical.VITAL_SIGN_RANGES)
    "vital_signs_heart_rate_check": "heartRate",
    "vital_signs_systolic_check": "systolic",
    "vital_signs_diastolic_check": "diastolic",
    "vital_signs_respiratory_rate_check": "respiratoryRate",
    "vital_signs_spo2_check": "spo2",
    "vital_signs_temperature_check": "temperature",
    "vital_signs_pain_level_check": "painLevel",
    "vital_signs_weight_kg_check": "weightKg",
    "vital_signs_height_cm_check": "heightCm",
}
# What a refused check says, where "out of the allowed range" would not tell the client why.
CONSTRAINT_MESSAGES = {
    "clinics_time_zone_check": "Unknown time zone: use an IANA name such as America/Sao_Paulo",
    "clinics_cancel_notice_check": "The cancel notice is between 0 and 720 hours",
    "clinics_reminder_hours_check": "Reminders fire between 1 and 168 hours before a session",
    "users_not_own_login": "An admin may not deactivate their own login",
    "users_clinic_keeps_an_admin": "The clinic must keep at least one active admin login",
    "appointments_arrival_check": "The arrival is from 2 hours before the start until now",
}

# Raised by the database's state machines (migration 0018: appointments) with a message
# written for the client, shown as is.
STATE_SQLSTATE = "FF001"


# What a database call may raise: the driver's errors as SQLAlchemy wraps them, and what comes
# through unwrapped when no connection could be made (a refused or dropped socket, the server
# refusing the login, e.g. too many connections) or the pool has none to give.
DATABASE_ERRORS = (DBAPIError, OSError, asyncpg.PostgresError, PoolTimeoutError)

# The database cannot serve us now: an operator or crash shutdown, a server still starting,
# too many connections (and any connection exception, class 08).
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error, wrapped by SQLAlchemy or not."""
    seen: BaseException | None = error
    for _ in range(4):
        if seen is None:
            return None
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def _connection_lost(error: BaseException) -> bool:
    if isinstance(error, OSError | PoolTimeoutError):  # refused, reset, timed out connecting
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    closed = isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error)
    return closed or isinstance(getattr(error, "orig", None), OSError)


def unavailable_or_timeout(error: BaseException) -> ApiError | None:
    """TIMEOUT when a statement ran out of FISIOFLOW_STATEMENT_TIMEOUT_MS (57014);
    SERVICE_UNAVAILABLE when the database cannot be reached or dropped the connection; else
    None. Either is logged as one line, without a stack trace: the operator wants to know, the
    trace would say nothing more, and one line per request cannot flood the log."""
    sqlstate = _sqlstate(error)
    if sqlstate == "57014":
        log.warning("database statement timeout (SQLSTATE 57014)")
        return ApiError(TIMEOUT, "The request took too long in the database; ask for less at once")
    if (
        sqlstate is not None and (sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES)
    ) or _connection_lost(error):
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        log.warning(
            "database unavailable: %s%s (SQLSTATE %s)",
            type(error).__name__,
            f": {first_line}" if first_line else "",
            sqlstate,
        )
        return ApiError(SERVICE_UNAVAILABLE, "The database is unavailable; try again shortly")
    return None


def from_database_error(error: BaseException) -> ApiError | None:
    """The API error for a database refusal the client can act on, a timeout or an outage;
    None for a real fault."""
    unavailable = unavailable_or_timeout(error)
    if unavailable is not None:
        return unavailable
    cause = getattr(error, "orig", None)
    sqlstate = _sqlstate(error)
    constraint = _constraint_name(cause)
    field = CONSTRAINT_FIELDS.get(constraint or "")
    if sqlstate == "23505":
        return ApiError(CONFLICT, "A record with this value already exists", field=field)
    if sqlstate == "23P01":
        return ApiError(SLOT_UNAVAILABLE, "This time slot is no longer available", field=field)
    if constraint == "appointments_outside_working_hours":  # 0014's trigger, a check_violation
        return ApiError(
            OUTSIDE_WORKING_HOURS,
            "Outside the physiotherapist's working hours (an admin may override)",
            field=field,
        )
    if sqlstate == "23514" or (sqlstate or "").startswith("22"):
        # check_violation, or class 22 (data exception: a value out of range, malformed,
        # too long): graph/security/input_limits.py refuses such input first; this is the backstop.
        message = CONSTRAINT_MESSAGES.get(constraint or "", "A value is out of the allowed range")
        return ApiError(BAD_USER_INPUT, message, field=field)
    if sqlstate == "23503":
        return ApiError(NOT_FOUND, "A referenced record does not exist", field=field)
    if sqlstate == "42501":
        return ApiError(FORBIDDEN, "Your role may not do this")
    if sqlstate == STATE_SQLSTATE:
        return ApiError(INVALID_STATE, _database_message(error) or "Not allowed in this state")
    return None


def _database_message(error: BaseException) -> str | None:
    """The primary message PostgreSQL sent (no detail, hint or statement)."""
    seen: BaseException | None = error
    for _ in range(4):
        if seen is None:
            return None
        if isinstance(seen, asyncpg.PostgresError):
            return str(seen.message)
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def _constraint_name(cause: BaseException | None) -> str | None:
    while cause is not None:
        name = getattr(cause, "constraint_name", None)
        if name:
            return str(name)
        cause = cause.__cause__
    return None
