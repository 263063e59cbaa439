"""`createProntuario` and `addProntuarioAddendum`, signed by the calling physiotherapist."""

import uuid
from datetime import UTC, datetime
from typing import Any

import strawberry
from sqlalchemy import RowMapping
from strawberry.scalars import JSON

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.errors import CONFLICT, FORBIDDEN, INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.sql.writes import insert_row
from models.accounts import physiotherapists
from models.clinical import prontuario_addenda, prontuarios
from models.patients import patients
from models.scheduling import appointments
from resolvers.clinical.profile import (
    PatientRef,
    record_vital_signs,
    update_clinical_profile,
)
from resolvers.clinical.types import Prontuario, ProntuarioKind, VitalSigns

MAX_EXPECTED_SESSIONS = 500


@strawberry.input
class CreateProntuarioInput:
    patient_id: strawberry.ID
    kind: ProntuarioKind
    appointment_id: strawberry.ID | None = None
    anamnesis: str | None = None
    physical_exam: str | None = None
    diagnosis: str | None = None
    prognosis: str | None = None
    treatment_plan: str | None = None
    expected_sessions: int | None = None
    evolution: str | None = None
    vital_signs: JSON | None = None


@strawberry.input
class AddProntuarioAddendumInput:
    prontuario_id: strawberry.ID
    text: str


# What each kind of record must say (COFFITO 414/2012), as input field → column.
REQUIRED_SECTIONS: dict[ProntuarioKind, tuple[tuple[str, str], ...]] = {
    ProntuarioKind.EVALUATION: (
        ("anamnesis", "anamnesis"),
        ("physicalExam", "physical_exam"),
        ("diagnosis", "diagnosis"),
        ("treatmentPlan", "treatment_plan"),
    ),
    ProntuarioKind.EVOLUTION: (("evolution", "evolution"),),
    ProntuarioKind.DISCHARGE: (("evolution", "evolution"),),
}
TEXT_SECTIONS = (
    ("anamnesis", "anamnesis"),
    ("physicalExam", "physical_exam"),
    ("diagnosis", "diagnosis"),
    ("prognosis", "prognosis"),
    ("treatmentPlan", "treatment_plan"),
    ("evolution", "evolution"),
)


def _section(value: str | None) -> str | None:
    return (value or "").strip() or None


def _vital_signs(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_input("vitalSigns", 'vitalSigns must be a JSON object, e.g. {"fc": 72}')
    return value


def _record_values(input: CreateProntuarioInput) -> dict[str, Any]:
    """The validated content columns of a new record."""
    values: dict[str, Any] = {
        column: _section(getattr(input, column)) for field, column in TEXT_SECTIONS
    }
    for field, column in REQUIRED_SECTIONS[input.kind]:
        if values[column] is None:
            kind = input.kind.name
            raise bad_input(field, f"{field} is required in a {kind} record (COFFITO 414/2012)")
    sessions = input.expected_sessions
    if sessions is not None and not 1 <= sessions <= MAX_EXPECTED_SESSIONS:
        raise bad_input(
            "expectedSessions", f"expectedSessions must be between 1 and {MAX_EXPECTED_SESSIONS}"
        )
    values["expected_sessions"] = sessions
    values["vital_signs"] = _vital_signs(input.vital_signs)
    return values


async def _signing_physiotherapist(info: Info) -> RowMapping:
    """The caller's physiotherapist row: who signs (author, name and CREFITO snapshots)."""
    identity = info.context.require_role(Role.PHYSIOTHERAPIST)
    assert identity.physiotherapist_id is not None, "a physiotherapist login names its physio"
    row = await info.context.loaders.by_id(physiotherapists).load(identity.physiotherapist_id)
    if row is None or not row["active"]:
        raise ApiError(FORBIDDEN, "Only an active physiotherapist may write clinical records")
    return row


async def _check_appointment(info: Info, appointment_id: uuid.UUID, patient_id: uuid.UUID) -> None:
    appointment = await info.context.loaders.by_id(appointments).load(appointment_id)
    if appointment is None:
        raise not_found("Appointment", field="appointmentId")
    if appointment["patient_id"] != patient_id:
        raise bad_input("appointmentId", "The appointment belongs to another patient")
    if appointment["status"] == "cancelled":
        raise ApiError(
            INVALID_STATE, "A cancelled appointment has no record", field="appointmentId"
        )
    if appointment["starts_at"] > datetime.now(UTC):
        raise ApiError(
            INVALID_STATE,
            "An appointment is recorded once it has started",
            field="appointmentId",
        )


async def create_prontuario(info: Info, input: CreateProntuarioInput) -> Prontuario:
    """A new record, signed by the calling physiotherapist, for a patient they treat."""
    info.context.require_role(Role.PHYSIOTHERAPIST)
    patient_id = parse_uuid_id(input.patient_id, "Patient", field="patientId")
    appointment_id = (
        parse_uuid_id(input.appointment_id, "Appointment", field="appointmentId")
        if input.appointment_id
        else None
    )
    values = _record_values(input)
    author = await _signing_physiotherapist(info)
    if await info.context.loaders.by_id(patients).load(patient_id) is None:
        raise not_found("Patient", field="patientId")
    if appointment_id is not None:
        await _check_appointment(info, appointment_id, patient_id)
    try:
        row = await insert_row(
            info.context.db,
            prontuarios,
            {
                **values,
                "clinic_id": author["clinic_id"],
                "patient_id": patient_id,
                "appointment_id": appointment_id,
                "author_id": author["id"],
                "kind": input.kind.value,
                "author_name": author["name"],
                "author_crefito": author["crefito"],
            },
        )
    except ApiError as error:
        code = error.extensions["code"]
        if code == FORBIDDEN:
            raise ApiError(
                FORBIDDEN, "You may only write the records of patients you treat", field="patientId"
            ) from None
        if code == CONFLICT:
            raise ApiError(
                CONFLICT,
                "This appointment already has a record; add an addendum to it instead",
                field="appointmentId",
            ) from None
        raise
    return from_row(Prontuario, row)


async def add_prontuario_addendum(info: Info, input: AddProntuarioAddendumInput) -> Prontuario:
    """A correction or complement, signed by the calling physiotherapist; the record itself
    never changes."""
    info.context.require_role(Role.PHYSIOTHERAPIST)
    prontuario_id = parse_uuid_id(input.prontuario_id, "Prontuario", field="prontuarioId")
    text = _section(input.text)
    if text is None:
        raise bad_input("text", "text must not be empty")
    author = await _signing_physiotherapist(info)
    record = await info.context.loaders.by_id(prontuarios).load(prontuario_id)
    if record is None:
        raise not_found("Prontuario", field="prontuarioId")
    try:
        await insert_row(
            info.context.db,
            prontuario_addenda,
            {
                "clinic_id": author["clinic_id"],
                "prontuario_id": prontuario_id,
                "author_id": author["id"],
                "text": text,
            },
            returning=("id",),
        )
    except ApiError as error:
        if error.extensions["code"] == FORBIDDEN:
            raise ApiError(
                FORBIDDEN,
                "You may only write the records of patients you treat",
                field="prontuarioId",
            ) from None
        raise
    return from_row(Prontuario, record)


@strawberry.type
class ClinicalMutations:
    create_prontuario: Prontuario = strawberry.field(resolver=create_prontuario)
    add_prontuario_addendum: Prontuario = strawberry.field(resolver=add_prontuario_addendum)
    update_clinical_profile: PatientRef = strawberry.field(resolver=update_clinical_profile)
    record_vital_signs: VitalSigns = strawberry.field(resolver=record_vital_signs)
