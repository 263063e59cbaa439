"""A response never claims what the database does not hold (graph/extensions/units.py,
graph/http/view.py).

Every mutation of the schema is run (1) with a nested field of its payload that fails and
(2) beside a failing sibling operation in a batch; then the rows are read with asyncpg as the
owner and compared with what the response said.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from graph.core.ids import parse_uuid_id, to_global_id
from graph.schema import schema
from tests.support.factories import (
    PASSWORD,
    ClinicWorld,
    add_appointment,
    add_payment,
    add_prescription,
    add_prontuario,
    library_exercise,
    make_clinic,
)
from tests.support.graphql_client import error_codes, graphql

# Nested reads that fail (BAD_USER_INPUT: a page is at most 100) under a nullable field, so
# the payload itself, and its id, are still answered.
FAILS_UNDER_PHYSIO = "physiotherapist { patients(first: 101) { totalCount } }"
FAILS_UNDER_PATIENT = f"patient {{ {FAILS_UNDER_PHYSIO} }}"
# A batch sibling that fails.
FAILING_SIBLING = "query { patients(first: 101) { totalCount } }"

Arrange = Callable[[asyncpg.Connection, ClinicWorld], Awaitable[tuple[dict[str, Any], str]]]


@dataclass(frozen=True)
class Case:
    """A mutation, who sends it, and its input (made by `arrange`, with a SQL probe that is
    true once its write is in the database; `$1` is the payload's id)."""

    field: str
    role: str
    arrange: Arrange
    failing: str | None  # a nested selection of the payload that fails; None: none can
    id_type: str | None  # the payload's Node type, when it has an id
    input_type: str | None = None  # when it is not the field's name + "Input"
    answered: str | None = None  # what the payload is asked for, when it has no id

    @property
    def document(self) -> str:
        input_type = self.input_type or f"{self.field[0].upper()}{self.field[1:]}Input"
        return f"mutation($input: {input_type}!)"


def gid(type_name: str, value: uuid.UUID | None) -> str:
    assert value is not None
    return to_global_id(type_name, value)


def tag() -> str:
    return uuid.uuid4().hex[:10]


def future(days: int) -> datetime:
    start = datetime.now(UTC).replace(hour=13, minute=0, second=0, microsecond=0)
    return start + timedelta(days=days, minutes=7 * (uuid.uuid4().int % 60))


async def _physio(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    t = tag()
    crefito = f"CREFITO-3/{uuid.uuid4().int % 900000 + 100000}-F"
    return (
        {"name": "Carla Dias", "email": f"carla.{t}@example.com", "crefito": crefito,
         "password": PASSWORD},
        f"select exists(select 1 from physiotherapists p join users u"
        f" on u.physiotherapist_id = p.id where p.crefito = '{crefito}')",
    )  # fmt: skip


async def _staff(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    email = f"caixa.{tag()}@example.com"
    return (
        {"email": email, "password": PASSWORD, "role": "RECEPTIONIST"},
        f"select exists(select 1 from users where id = $1 and email = '{email}')",
    )


async def _grant_access(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"patientId": gid("Patient", w.patient_ids[1]), "password": PASSWORD},
        "select exists(select 1 from users where patient_id = $1 and role = 'patient')",
    )


async def _create_patient(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"name": f"Paciente Novo {tag()}",
         "physiotherapistId": gid("Physiotherapist", w.physio.physiotherapist_id)},
        "select exists(select 1 from patients where id = $1)",
    )  # fmt: skip


async def _update_patient(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"id": gid("Patient", w.patient_ids[1]), "name": "Nome Corrigido"},
        "select exists(select 1 from patients where id = $1 and name = 'Nome Corrigido')",
    )


async def _schedule(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"patientId": gid("Patient", w.patient_ids[1]),
         "physiotherapistId": gid("Physiotherapist", w.physio.physiotherapist_id),
         "startsAt": future(3).isoformat(), "durationMinutes": 50, "type": "SESSION"},
        "select exists(select 1 from appointments where id = $1 and status = 'scheduled')",
    )  # fmt: skip


async def _appointment(conn: asyncpg.Connection, w: ClinicWorld, days: int) -> uuid.UUID:
    assert w.physio.physiotherapist_id is not None
    return await add_appointment(
        conn, w, w.patient_ids[1], w.physio.physiotherapist_id, future(days)
    )


async def _reschedule(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    appointment = await _appointment(conn, w, 4)
    starts_at = future(9)
    return (
        {"id": gid("Appointment", appointment), "startsAt": starts_at.isoformat()},
        f"select exists(select 1 from appointments where id = $1"
        f" and starts_at = '{starts_at.isoformat()}'::timestamptz)",
    )


async def _cancel(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    appointment = await _appointment(conn, w, 5)
    return (
        {"id": gid("Appointment", appointment), "reason": "Paciente viajou"},
        "select exists(select 1 from appointments where id = $1 and status = 'cancelled')",
    )


async def _confirm(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    appointment = await _appointment(conn, w, 5)
    return (
        {"id": gid("Appointment", appointment)},
        "select exists(select 1 from appointments where id = $1 and status = 'confirmed')",
    )


async def _check_in(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    assert w.physio.physiotherapist_id is not None
    appointment = await add_appointment(
        conn, w, w.patient_ids[1], w.physio.physiotherapist_id,
        datetime.now(UTC) + timedelta(minutes=30),
    )  # fmt: skip
    return (
        {"id": gid("Appointment", appointment)},
        "select exists(select 1 from appointments where id = $1 and status = 'checked_in'"
        " and checked_in_at is not null)",
    )


async def _no_show(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    appointment = await _appointment(conn, w, -2)
    return (
        {"id": gid("Appointment", appointment), "reason": "Não veio"},
        "select exists(select 1 from appointments where id = $1 and status = 'no_show'"
        " and no_show_reason = 'Não veio')",
    )


async def _complete(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    appointment = await _appointment(conn, w, -2)
    return (
        {"id": gid("Appointment", appointment)},
        "select exists(select 1 from appointments where id = $1 and status = 'completed')",
    )


async def _create_payment(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"patientId": gid("Patient", w.patient_ids[1]), "amount": "150.50", "method": "PIX",
         "idempotencyKey": tag()},
        "select exists(select 1 from payments where id = $1 and amount = 150.50)",
    )  # fmt: skip


async def _mark_paid(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    payment = await add_payment(conn, w, w.patient_ids[1])
    return (
        {"id": gid("Payment", payment)},
        "select exists(select 1 from payments where id = $1 and status = 'paid')",
    )


async def _refund(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    payment = await add_payment(conn, w, w.patient_ids[1])
    await conn.execute(
        "update payments set status = 'paid', paid_at = now() where id = $1", payment
    )
    return (
        {"id": gid("Payment", payment), "reason": "Cobrança em dobro"},
        "select exists(select 1 from payments where id = $1 and status = 'refunded')",
    )


async def _cancel_payment(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    payment = await add_payment(conn, w, w.patient_ids[1])
    return (
        {"id": gid("Payment", payment)},
        "select exists(select 1 from payments where id = $1 and status = 'cancelled')",
    )


async def _prontuario(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"patientId": gid("Patient", w.patient_ids[1]), "kind": "EVOLUTION",
         "evolution": "Melhora da amplitude do ombro"},
        "select exists(select 1 from prontuarios where id = $1)",
    )  # fmt: skip


async def _clinical_profile(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"patientId": gid("Patient", w.patient_ids[1]), "allergies": ["Látex"]},
        "select exists(select 1 from clinical_profiles where patient_id = $1"
        " and allergies = '{Látex}')",
    )


async def _vital_signs(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"patientId": gid("Patient", w.patient_ids[1]), "painLevel": 4, "heartRate": 80},
        "select exists(select 1 from vital_signs where id = $1 and pain_level = 4)",
    )


async def _addendum(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    assert w.physio.physiotherapist_id is not None
    record = await add_prontuario(conn, w, w.patient_ids[1], w.physio.physiotherapist_id)
    return (
        {"prontuarioId": gid("Prontuario", record), "text": "Correção: lado esquerdo"},
        "select exists(select 1 from prontuario_addenda where prontuario_id = $1)",
    )


async def _exercise(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"name": f"Prancha {tag()}", "category": "core", "difficulty": "EASY"},
        "select exists(select 1 from exercises where id = $1)",
    )


async def _prescribe(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"patientId": gid("Patient", w.patient_ids[1]),
         "exerciseId": gid("Exercise", await library_exercise(conn)), "sets": 3, "repetitions": 12,
         "frequencyPerWeek": 3, "startsOn": date.today().isoformat()},
        "select exists(select 1 from exercise_prescriptions where id = $1)",
    )  # fmt: skip


async def _prescription(conn: asyncpg.Connection, w: ClinicWorld, patient: uuid.UUID) -> uuid.UUID:
    assert w.physio.physiotherapist_id is not None
    return await add_prescription(
        conn, w, patient, w.physio.physiotherapist_id, starts_on=date.today() - timedelta(days=3)
    )


async def _set_status(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    prescription = await _prescription(conn, w, w.patient_ids[1])
    return (
        {"id": gid("ExercisePrescription", prescription), "status": "PAUSED"},
        "select exists(select 1 from exercise_prescriptions where id = $1 and status = 'paused')",
    )


async def _log_execution(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    prescription = await _prescription(conn, w, w.patient_ids[0])
    return (
        {"prescriptionId": gid("ExercisePrescription", prescription), "setsDone": 3},
        "select exists(select 1 from exercise_executions where id = $1)",
    )


async def _consent(conn: asyncpg.Connection, w: ClinicWorld, revoked: bool = False) -> uuid.UUID:
    consent: uuid.UUID = await conn.fetchval(
        "insert into consents (clinic_id, patient_id, purpose, legal_basis, policy_version,"
        " granted, revoked_at) values ($1, $2, 'Tratamento', 'Tutela da saúde', 'v1', $3,"
        " case when $3 then null else now() end) returning id",
        w.clinic_id,
        w.patient_ids[1],
        not revoked,
    )
    return consent


async def _grant_consent(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"patientId": gid("Patient", w.patient_ids[1]), "purpose": f"Pesquisa {tag()}",
         "legalBasis": "Consentimento", "policyVersion": "v2"},
        "select exists(select 1 from consents where id = $1 and granted)",
    )  # fmt: skip


async def _revoke(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"id": gid("Consent", await _consent(conn, w))},
        "select exists(select 1 from consents where id = $1 and revoked_at is not null)",
    )


async def _acknowledge(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"id": gid("Consent", await _consent(conn, w, revoked=True))},
        "select exists(select 1 from consents where id = $1"
        " and revocation_acknowledged_at is not null)",
    )


async def _file_request(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"kind": "ACCESS", "patientId": gid("Patient", w.patient_ids[1])},
        "select exists(select 1 from data_subject_requests where id = $1)",
    )


async def _fulfill(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    request: uuid.UUID = await conn.fetchval(
        "insert into data_subject_requests (clinic_id, patient_id, kind) values ($1, $2, 'access')"
        " returning id",
        w.clinic_id,
        w.patient_ids[1],
    )
    return (
        {"id": gid("DataSubjectRequest", request), "response": "Enviado por e-mail"},
        "select exists(select 1 from data_subject_requests where id = $1"
        " and fulfilled_at is not null)",
    )


async def _export(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    # Writes nothing but its read-audit rows: those are what the response must not outlive.
    return (
        {"patientId": gid("Patient", w.patient_ids[1])},
        f"select exists(select 1 from audit_log where table_name = 'patients'"
        f" and operation = 'SELECT' and record_id = '{w.patient_ids[1]}'"
        f" and actor_id = '{w.admin.user_id}')",
    )


async def _anonymize(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"patientId": gid("Patient", w.patient_ids[1])},
        "select exists(select 1 from patients where id = $1 and anonymized_at is not null)",
    )


async def _run_check(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"framework": "LGPD", "checkType": "consent_coverage"},
        "select exists(select 1 from compliance_checks where id = $1)",
    )


async def _resolve_issue(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    issue: uuid.UUID = await conn.fetchval(
        "insert into compliance_issues (clinic_id, framework, requirement, description, severity)"
        " values ($1, 'lgpd', 'LGPD art. 37', 'Registro de operações incompleto', 'medium')"
        " returning id",
        w.clinic_id,
    )
    return (
        {"id": gid("ComplianceIssue", issue), "resolution": "Registro completado"},
        "select exists(select 1 from compliance_issues where id = $1 and resolved)",
    )


async def _add_to_team(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    physio = w.other_physio.physiotherapist_id
    return (
        {"patientId": gid("Patient", w.patient_ids[1]),
         "physiotherapistId": gid("Physiotherapist", physio)},
        f"select exists(select 1 from care_team_members where patient_id = $1"
        f" and physiotherapist_id = '{physio}')",
    )  # fmt: skip


async def _remove_from_team(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    physio = w.other_physio.physiotherapist_id
    await conn.execute(
        "insert into care_team_members (clinic_id, patient_id, physiotherapist_id)"
        " values ($1, $2, $3)",
        w.clinic_id,
        w.patient_ids[1],
        physio,
    )
    return (
        {"patientId": gid("Patient", w.patient_ids[1]),
         "physiotherapistId": gid("Physiotherapist", physio)},
        f"select not exists(select 1 from care_team_members where patient_id = $1"
        f" and physiotherapist_id = '{physio}')",
    )  # fmt: skip


async def _series(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    first = future(20)
    weekday = first.astimezone(ZoneInfo("America/Sao_Paulo")).strftime("%A").upper()
    return (
        {"patientId": gid("Patient", w.patient_ids[1]),
         "physiotherapistId": gid("Physiotherapist", w.physio.physiotherapist_id),
         "firstStartsAt": first.isoformat(), "durationMinutes": 30, "type": "SESSION",
         "weekdays": [weekday], "count": 3},
        "select exists(select 1 from appointment_series where id = $1)"
        " and (select count(*) = 3 from appointments where series_id = $1)",
    )  # fmt: skip


async def _cancel_series(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    first = future(30)
    series: uuid.UUID = await conn.fetchval(
        "insert into appointment_series (clinic_id, patient_id, physiotherapist_id,"
        " first_starts_at, duration_minutes, type, iso_weekdays, count, created_by)"
        " values ($1, $2, $3, $4, 50, 'session', array[extract(isodow from $4 at time zone"
        " 'America/Sao_Paulo')::smallint], 2, $5) returning id",
        w.clinic_id, w.patient_ids[1], w.physio.physiotherapist_id, first, w.admin.user_id,
    )  # fmt: skip
    for week in range(2):
        appointment = await add_appointment(
            conn, w, w.patient_ids[1], w.physio.physiotherapist_id, first + timedelta(weeks=week)
        )
        await conn.execute(
            "update appointments set series_id = $1 where id = $2", series, appointment
        )
    return (
        {"id": gid("AppointmentSeries", series)},
        "select exists(select 1 from appointment_series where id = $1"
        " and cancelled_at is not null) and not exists(select 1 from appointments"
        " where series_id = $1 and status <> 'cancelled')",
    )


async def _change_password(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"currentPassword": PASSWORD, "newPassword": "uma-senha-nova-77"},
        f"select token_version = 1 from users where id = '{w.physio.user_id}'",
    )


async def _update_clinic(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"timeZone": "America/Recife"},
        "select exists(select 1 from clinics where id = $1 and time_zone = 'America/Recife')",
    )


async def _update_physio(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"id": gid("Physiotherapist", w.physio.physiotherapist_id), "phone": "11 4000-0000"},
        "select exists(select 1 from physiotherapists where id = $1 and phone = '11 4000-0000')",
    )


async def _deactivate(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"userId": gid("StaffUser", w.physio.user_id)},
        "select not active from users where id = $1",
    )


async def _reactivate(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    await conn.execute("update users set active = false where id = $1", w.physio.user_id)
    return (
        {"userId": gid("StaffUser", w.physio.user_id)},
        "select active from users where id = $1",
    )


async def _reset(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"userId": gid("StaffUser", w.physio.user_id)},
        f"select must_change_password from users where id = '{w.physio.user_id}'",
    )


CASES = [
    # No nullable nested field of a new physiotherapist can fail: its `patients` page fails and
    # the error reaches the root field (`null`), and still the write stays.
    Case("createPhysiotherapist", "admin", _physio, "patients(first: 101) { totalCount }",
         "Physiotherapist"),
    Case("createStaffUser", "admin", _staff, None, "StaffUser"),  # scalars only
    Case("grantPatientAccess", "admin", _grant_access, FAILS_UNDER_PHYSIO, "Patient"),
    Case("createPatient", "receptionist", _create_patient, FAILS_UNDER_PHYSIO, "Patient"),
    Case("updatePatient", "admin", _update_patient, FAILS_UNDER_PHYSIO, "Patient"),
    Case("scheduleAppointment", "receptionist", _schedule, FAILS_UNDER_PATIENT, "Appointment"),
    Case("rescheduleAppointment", "admin", _reschedule, FAILS_UNDER_PATIENT, "Appointment"),
    Case("cancelAppointment", "receptionist", _cancel, FAILS_UNDER_PATIENT, "Appointment"),
    Case("completeAppointment", "physio", _complete, FAILS_UNDER_PATIENT, "Appointment"),
    Case("scheduleAppointmentSeries", "receptionist", _series, FAILS_UNDER_PATIENT,
         "AppointmentSeries"),
    Case("cancelAppointmentSeries", "physio", _cancel_series, FAILS_UNDER_PATIENT,
         "AppointmentSeries"),
    Case("confirmAppointment", "receptionist", _confirm, FAILS_UNDER_PATIENT, "Appointment"),
    Case("checkInAppointment", "receptionist", _check_in, FAILS_UNDER_PATIENT, "Appointment"),
    Case("markNoShow", "physio", _no_show, FAILS_UNDER_PATIENT, "Appointment", "MarkNoShowInput"),
    Case("createPayment", "receptionist", _create_payment, FAILS_UNDER_PATIENT, "Payment"),
    Case("markPaymentPaid", "admin", _mark_paid, FAILS_UNDER_PATIENT, "Payment"),
    Case("refundPayment", "admin", _refund, FAILS_UNDER_PATIENT, "Payment"),
    Case("cancelPayment", "admin", _cancel_payment, FAILS_UNDER_PATIENT, "Payment"),
    Case("createProntuario", "physio", _prontuario, FAILS_UNDER_PATIENT, "Prontuario"),
    Case("addProntuarioAddendum", "physio", _addendum, FAILS_UNDER_PATIENT, "Prontuario"),
    Case("updateClinicalProfile", "physio", _clinical_profile, FAILS_UNDER_PHYSIO, "Patient"),
    Case("recordVitalSigns", "physio", _vital_signs, FAILS_UNDER_PATIENT, "VitalSigns"),
    Case("createExercise", "physio", _exercise, None, "Exercise"),  # scalars only
    Case("prescribeExercise", "physio", _prescribe, FAILS_UNDER_PATIENT, "ExercisePrescription"),
    Case("setPrescriptionStatus", "physio", _set_status, FAILS_UNDER_PATIENT,
         "ExercisePrescription"),
    Case("logExerciseExecution", "patient", _log_execution, FAILS_UNDER_PATIENT,
         "ExerciseExecution"),
    Case("grantConsent", "admin", _grant_consent, FAILS_UNDER_PATIENT, "Consent"),
    Case("revokeConsent", "admin", _revoke, FAILS_UNDER_PATIENT, "Consent"),
    Case("acknowledgeConsentRevocation", "admin", _acknowledge, FAILS_UNDER_PATIENT, "Consent"),
    Case("fileDataSubjectRequest", "admin", _file_request, FAILS_UNDER_PATIENT,
         "DataSubjectRequest"),
    Case("fulfillDataSubjectRequest", "admin", _fulfill, FAILS_UNDER_PATIENT,
         "DataSubjectRequest"),
    Case("exportPatientData", "admin", _export, FAILS_UNDER_PATIENT, None),
    Case("anonymizePatient", "admin", _anonymize, FAILS_UNDER_PHYSIO, "Patient"),
    # A check's issues and an issue's check have no field that can fail.
    Case("runComplianceCheck", "admin", _run_check, None, "ComplianceCheck"),
    Case("resolveComplianceIssue", "admin", _resolve_issue, None, "ComplianceIssue"),
    Case("addCareTeamMember", "receptionist", _add_to_team, FAILS_UNDER_PHYSIO, "Patient",
         "CareTeamMemberInput"),
    Case("removeCareTeamMember", "admin", _remove_from_team, FAILS_UNDER_PHYSIO, "Patient",
         "CareTeamMemberInput"),
    Case("changePassword", "physio", _change_password, f"viewer {{ {FAILS_UNDER_PHYSIO} }}", None,
         answered="token"),
    Case("updateClinic", "admin", _update_clinic, None, "Clinic"),  # scalars only
    # A physiotherapist's `patients` page is non-null: its failure would reach the root field.
    Case("updatePhysiotherapist", "admin", _update_physio, None, "Physiotherapist"),
    Case("deactivateLogin", "admin", _deactivate, FAILS_UNDER_PHYSIO, "StaffUser",
         "StaffLoginInput"),
    Case("reactivateLogin", "admin", _reactivate, FAILS_UNDER_PHYSIO, "StaffUser",
         "StaffLoginInput"),
    Case("resetPassword", "admin", _reset, f"staffUser {{ {FAILS_UNDER_PHYSIO} }}", None,
         "StaffLoginInput", answered="temporaryPassword"),
]  # fmt: skip


async def _set_hours(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"physiotherapistId": gid("Physiotherapist", w.physio.physiotherapist_id),
         "weekly": [{"weekday": "MONDAY", "start": "08:00:00", "end": "12:00:00"}]},
        "select exists(select 1 from working_hours where physiotherapist_id = $1)",
    )  # fmt: skip


async def _add_time_off(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    starts = datetime.now(UTC) + timedelta(days=40)
    return (
        {"physiotherapistId": gid("Physiotherapist", w.physio.physiotherapist_id),
         "startsAt": starts.isoformat(), "endsAt": (starts + timedelta(days=3)).isoformat(),
         "reason": "Congresso"},
        "select exists(select 1 from time_off where id = $1)",
    )  # fmt: skip


async def _remove_time_off(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    off = await conn.fetchval(
        "insert into time_off (clinic_id, physiotherapist_id, starts_at, ends_at, reason)"
        " values ($1, $2, now() + interval '40 days', now() + interval '41 days', 'Curso')"
        " returning id",
        w.clinic_id, w.physio.physiotherapist_id,
    )  # fmt: skip
    return {"id": gid("TimeOff", off)}, "select not exists(select 1 from time_off where id = $1)"


async def _add_holiday(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"date": "2031-04-21", "name": "Tiradentes"},
        "select exists(select 1 from clinic_holidays where id = $1)",
    )


async def _remove_holiday(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    holiday = await conn.fetchval(
        "insert into clinic_holidays (clinic_id, day, name) values ($1, '2031-04-21', 'X')"
        " returning id",
        w.clinic_id,
    )
    return (
        {"id": gid("ClinicHoliday", holiday)},
        "select not exists(select 1 from clinic_holidays where id = $1)",
    )


async def _create_webhook(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    return (
        {"url": "http://127.0.0.1:9/hooks", "events": ["DATA_SUBJECT_REQUEST_CHANGED"]},
        f"select exists(select 1 from webhooks where clinic_id = '{w.clinic_id}')",
    )


async def _webhook(conn: asyncpg.Connection, w: ClinicWorld) -> uuid.UUID:
    webhook: uuid.UUID = await conn.fetchval(
        "insert into webhooks (clinic_id, url, events, secret) values ($1,"
        " 'http://127.0.0.1:9/hooks', '{DATA_SUBJECT_REQUEST_CHANGED}', repeat('s', 40))"
        " returning id",
        w.clinic_id,
    )
    return webhook


async def _disable_webhook(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    webhook = await _webhook(conn, w)
    return {"id": gid("Webhook", webhook)}, "select not enabled from webhooks where id = $1"


async def _redeliver(conn: asyncpg.Connection, w: ClinicWorld) -> tuple[dict[str, Any], str]:
    delivery = await conn.fetchval(
        "insert into webhook_deliveries (clinic_id, webhook_id, event_seq, event_type, payload,"
        " status) values ($1, $2, 1, 'DATA_SUBJECT_REQUEST_CHANGED', '{}', 'dead') returning id",
        w.clinic_id, await _webhook(conn, w),
    )  # fmt: skip
    return (
        {"deliveryId": gid("WebhookDelivery", delivery)},
        "select redelivery_of is not null from webhook_deliveries where id = $1",
    )


# The nullable field that fails under a physiotherapist: one of their patients'.
FAILS_UNDER_PATIENTS = f"patients(first: 1) {{ edges {{ node {{ {FAILS_UNDER_PHYSIO} }} }} }}"
CASES += [
    # A holiday has no field that can fail.
    Case("setWorkingHours", "receptionist", _set_hours, FAILS_UNDER_PATIENTS, "Physiotherapist"),
    Case("addTimeOff", "admin", _add_time_off, f"physiotherapist {{ {FAILS_UNDER_PATIENTS} }}",
         "TimeOff"),
    Case("removeTimeOff", "receptionist", _remove_time_off,
         f"physiotherapist {{ {FAILS_UNDER_PATIENTS} }}", "TimeOff"),
    Case("addClinicHoliday", "receptionist", _add_holiday, None, "ClinicHoliday"),
    Case("removeClinicHoliday", "admin", _remove_holiday, None, "ClinicHoliday"),
    # Webhooks: no field of theirs can fail.
    Case("createWebhook", "admin", _create_webhook, None, None, answered="secret webhook { id }"),
    Case("disableWebhook", "admin", _disable_webhook, None, "Webhook"),
    Case("redeliverWebhook", "admin", _redeliver, None, "WebhookDelivery"),
]  # fmt: skip


def test_every_mutation_has_a_case() -> None:
    """`login` is tested on its own below (its payload has no id)."""
    mutation = schema._schema.mutation_type
    assert mutation is not None
    assert set(mutation.fields) == {case.field for case in CASES} | {"login"}


def token_of(world: ClinicWorld, role: str) -> str:
    return world.token(getattr(world, role))


async def written(conn: asyncpg.Connection, probe: str, payload_id: uuid.UUID | None) -> bool:
    args = [payload_id] if "$1" in probe else []
    return bool(await conn.fetchval(probe, *args))


def local_id(case: Case, payload: dict[str, Any]) -> uuid.UUID | None:
    if case.id_type is None:
        return None
    return parse_uuid_id(payload["id"], case.id_type)


def selection(case: Case, *, failing: bool) -> str:
    base = case.answered or ("id" if case.id_type else "generatedAt")
    return f"{base} {case.failing}" if failing and case.failing else base


@pytest.mark.parametrize("case", CASES, ids=[c.field for c in CASES])
async def test_a_failing_nested_field_does_not_undo_the_write(
    case: Case, client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    inp, probe = await case.arrange(superuser, world)
    query = (
        f"{case.document} {{ {case.field}(input: $input) {{ {selection(case, failing=True)} }} }}"
    )
    body = await graphql(client, query, {"input": inp}, token_of(world, case.role))
    payload = (body.get("data") or {}).get(case.field)
    if case.failing is None:
        assert "errors" not in body, body
    else:
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["path"][0] == case.field and len(error["path"]) > 1  # a nested field
    if payload is None:  # the error reached the root field: the write is there all the same
        assert case.field == "createPhysiotherapist"
        assert await written(superuser, probe, None)
        return
    assert await written(superuser, probe, local_id(case, payload)), body


@pytest.mark.parametrize("case", CASES, ids=[c.field for c in CASES])
async def test_a_failing_batch_sibling_does_not_undo_the_write(
    case: Case, client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    inp, probe = await case.arrange(superuser, world)
    query = (
        f"{case.document} {{ {case.field}(input: $input) {{ {selection(case, failing=False)} }} }}"
    )
    response = await client.post(
        "/graphql",
        json=[{"query": query, "variables": {"input": inp}}, {"query": FAILING_SIBLING}],
        headers={"Authorization": f"Bearer {token_of(world, case.role)}"},
    )
    done, failed = response.json()
    assert "errors" not in done, done
    assert error_codes(failed) == ["BAD_USER_INPUT"]
    assert await written(superuser, probe, local_id(case, done["data"][case.field]))


CREATE_PAYMENT = f"""mutation($input: CreatePaymentInput!) {{
  createPayment(input: $input) {{ id {FAILS_UNDER_PATIENT} }} }}"""


async def test_an_idempotent_retry_returns_the_first_payment(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """The first answer's nested field failed; its payment stayed, and a retry finds it."""
    world = await make_clinic(superuser)
    inp, _ = await _create_payment(superuser, world)
    token = token_of(world, "receptionist")
    first = await graphql(client, CREATE_PAYMENT, {"input": inp}, token)
    retry = await graphql(client, CREATE_PAYMENT, {"input": inp}, token)
    assert error_codes(first) == error_codes(retry) == ["BAD_USER_INPUT"]
    payment_id = first["data"]["createPayment"]["id"]
    assert retry["data"]["createPayment"]["id"] == payment_id
    rows = await superuser.fetch(
        "select id from payments where clinic_id = $1 and idempotency_key = $2",
        world.clinic_id,
        inp["idempotencyKey"],
    )
    assert [row["id"] for row in rows] == [parse_uuid_id(payment_id, "Payment")]


THREE_ROOT_FIELDS = """mutation($a: CreatePatientInput!, $b: CreatePhysiotherapistInput!,
                        $c: CreatePatientInput!) {
  a: createPatient(input: $a) { id }
  b: createPhysiotherapist(input: $b) { id }
  c: createPatient(input: $c) { id }
}"""


async def test_a_failing_root_field_undoes_only_its_own_writes(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """`b` inserts its physiotherapist, then its login's e-mail is taken: that insert goes
    too, while `a` before it stays committed. Root fields are non-null, so GraphQL ends the
    operation there (`data: null`, the error's path names `b`) and `c` never runs."""
    world = await make_clinic(superuser)
    b, _ = await _physio(superuser, world)
    b["email"] = world.emails["receptionist"]
    a, _ = await _create_patient(superuser, world)
    c, _ = await _create_patient(superuser, world)
    body = await graphql(
        client, THREE_ROOT_FIELDS, {"a": a, "b": b, "c": c}, token_of(world, "admin")
    )
    assert error_codes(body) == ["CONFLICT"]
    assert body["errors"][0]["path"] == ["b"]
    assert not await superuser.fetchval(
        "select exists(select 1 from physiotherapists where crefito = $1)", b["crefito"]
    )
    names = await superuser.fetch(
        "select name from patients where clinic_id = $1 and name = any($2::text[])",
        world.clinic_id,
        [a["name"], c["name"]],
    )
    assert [row["name"] for row in names] == [a["name"]]


async def test_a_failing_mutation_in_a_batch_leaves_its_siblings_committed(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    physio, _ = await _physio(superuser, world)
    physio["email"] = world.emails["receptionist"]  # its login cannot be created
    patient, _ = await _create_patient(superuser, world)
    response = await client.post(
        "/graphql",
        json=[
            {"query": "mutation($i: CreatePhysiotherapistInput!) {"
                      " createPhysiotherapist(input: $i) { id } }", "variables": {"i": physio}},
            {"query": "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }",
             "variables": {"i": patient}},
        ],
        headers={"Authorization": f"Bearer {token_of(world, 'admin')}"},
    )  # fmt: skip
    failed, done = response.json()
    assert error_codes(failed) == ["CONFLICT"] and failed["data"] is None
    assert not await superuser.fetchval(
        "select exists(select 1 from physiotherapists where crefito = $1)", physio["crefito"]
    )
    patient_id = parse_uuid_id(done["data"]["createPatient"]["id"], "Patient")
    assert (
        await superuser.fetchval("select name from patients where id = $1", patient_id)
        == (patient["name"])
    )


async def test_a_login_with_a_failing_nested_field_still_logs_in(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """The login's write (`last_login_at`) stays, and its token works."""
    world = await make_clinic(superuser)
    body = await graphql(
        client,
        f"""mutation($input: LoginInput!) {{ login(input: $input) {{
          token viewer {{ email {FAILS_UNDER_PHYSIO} }} }} }}""",
        {"input": {"email": world.emails["physio"], "password": PASSWORD}},
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    login = body["data"]["login"]
    assert login["viewer"] == {"email": world.emails["physio"], "physiotherapist": None}
    me = await graphql(client, "{ me { email } }", token=login["token"])
    assert me == {"data": {"me": {"email": world.emails["physio"]}}}
    assert await superuser.fetchval(
        "select last_login_at is not null from users where id = $1", world.physio.user_id
    )
