"""`exportPatientData`: one JSON document with everything the clinic holds on the patient, read
under the caller's RLS (admin: anyone of the clinic; patient: themselves) and logged as a read
of the patient, of each prontuário, of the clinical profile and of each vital-signs reading."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import RowMapping, select
from strawberry.scalars import JSON

from graph.api.audit_reads import record_reads
from graph.api.context import Info
from graph.core.identity import Role
from graph.core.ids import to_global_id
from graph.sql.declared import sort_key
from models.accounts import clinics, physiotherapists
from models.clinical import (
    CLINICAL_LISTS,
    VITAL_SIGN_RANGES,
    clinical_profiles,
    prontuario_addenda,
    prontuarios,
    vital_signs,
)
from models.compliance import consents, data_subject_requests
from models.exercises import exercise_executions, exercise_prescriptions, exercises
from models.patients import patients
from models.payments import payments
from models.scheduling import appointments
from models.type_map import camel_case
from resolvers.lgpd.data import dsr, visible_patient_row
from resolvers.lgpd.types import EXPORT_FORMAT, EXPORT_VERSION, DataExport

# What each section of the export carries (internal columns such as clinic_id, idempotency
# keys and request fingerprints stay out).
PATIENT_COLUMNS = (
    "name", "email", "phone", "birth_date", "cpf", "cns", "address", "status", "created_at",
    "updated_at", "anonymized_at", "contact_channel",
)  # fmt: skip
# Front-desk data kept in columns of the patient, exported as objects (as the API shows them).
PATIENT_GROUPS = {
    "insurance": ("provider", "plan_name", "member_number", "valid_until"),
    "emergency_contact": ("name", "phone", "relationship"),
}
PROFILE_COLUMNS = (*CLINICAL_LISTS, "updated_at")
VITAL_SIGN_COLUMNS = ("recorded_at", *VITAL_SIGN_RANGES)
APPOINTMENT_COLUMNS = (
    "starts_at", "ends_at", "type", "status", "notes", "price", "cancel_reason", "cancelled_at",
    "completed_at", "created_at",
)  # fmt: skip
PRONTUARIO_COLUMNS = (
    "kind", "anamnesis", "physical_exam", "diagnosis", "prognosis", "treatment_plan",
    "expected_sessions", "evolution", "vital_signs", "created_at",
)  # fmt: skip
PRESCRIPTION_COLUMNS = (
    "sets", "repetitions", "duration_seconds", "frequency_per_week", "notes", "status",
    "starts_on", "ends_on", "created_at",
)  # fmt: skip
EXECUTION_COLUMNS = (
    "executed_at", "sets_done", "repetitions_done", "duration_seconds", "pain_level",
    "patient_notes", "sensor_data",
)  # fmt: skip
PAYMENT_COLUMNS = (
    "amount", "method", "status", "due_date", "paid_at", "refunded_at", "cancelled_at",
    "gateway_transaction_id", "notes", "created_at",
)  # fmt: skip
CONSENT_COLUMNS = (
    "purpose", "legal_basis", "policy_version", "granted", "granted_at", "revoked_at",
    "revocation_acknowledged_at", "created_at",
)  # fmt: skip
REQUEST_COLUMNS = ("kind", "details", "requested_at", "due_at", "fulfilled_at", "response")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _document(
    row: RowMapping, type_name: str, columns: tuple[str, ...], refs: dict[str, str] | None = None
) -> dict[str, Any]:
    """`row` as an export object: global IDs, camelCase keys, JSON-safe values."""
    doc: dict[str, Any] = {"id": to_global_id(type_name, row["id"])}
    for column in columns:
        doc[camel_case(column)] = _json_value(row[column])
    for column, ref_type in (refs or {}).items():
        value = row[column]
        doc[camel_case(column)] = to_global_id(ref_type, value) if value is not None else None
    return doc


def _person(name: Any, crefito: Any) -> dict[str, Any]:
    return {"name": name, "crefito": crefito}


async def _export_document(info: Info, patient_id: uuid.UUID) -> dict[str, Any]:
    """Everything the clinic holds on the patient, as the caller's RLS lets it be read."""
    db = info.context.db
    patient = await info.context.loaders.by_id(patients).load(patient_id)
    assert patient is not None
    clinic = await info.context.loaders.by_id(clinics).load(patient["clinic_id"])
    physio = physiotherapists.alias("physio")
    a = appointments.c
    appointment_rows = await db.fetch(
        select(appointments, physio.c.name.label("physio_name"), physio.c.crefito.label("crefito"))
        .join(physio, physio.c.id == a.physiotherapist_id)
        .where(a.patient_id == patient_id)
        .order_by(*sort_key("Appointment").columns)
    )
    p = prontuarios.c
    record_rows = await db.fetch(
        select(prontuarios)
        .where(p.patient_id == patient_id)
        .order_by(*sort_key("Prontuario").columns)
    )
    record_ids = [row["id"] for row in record_rows]
    ad = prontuario_addenda.c
    addendum_rows = await db.fetch(
        select(prontuario_addenda, physio.c.name.label("author_name"), physio.c.crefito)
        .join(physio, physio.c.id == ad.author_id)
        .where(ad.prontuario_id.in_(record_ids))
        .order_by(*sort_key("ProntuarioAddendum").columns)
    )
    rx = exercise_prescriptions.c
    prescription_rows = await db.fetch(
        select(
            exercise_prescriptions,
            exercises.c.name.label("exercise_name"),
            exercises.c.category.label("exercise_category"),
            physio.c.name.label("physio_name"),
            physio.c.crefito,
        )
        .join(exercises, exercises.c.id == rx.exercise_id)
        .join(physio, physio.c.id == rx.physiotherapist_id)
        .where(rx.patient_id == patient_id)
        .order_by(*sort_key("ExercisePrescription").columns)
    )
    ex = exercise_executions.c
    execution_rows = await db.fetch(
        select(exercise_executions)
        .where(ex.patient_id == patient_id)
        .order_by(*sort_key("ExerciseExecution").columns)
    )
    payment_rows = await db.fetch(
        select(payments)
        .where(payments.c.patient_id == patient_id)
        .order_by(*sort_key("Payment").columns)
    )
    consent_rows = await db.fetch(
        select(consents)
        .where(consents.c.patient_id == patient_id)
        .order_by(*sort_key("Consent").columns)
    )
    request_rows = await db.fetch(
        select(data_subject_requests)
        .where(dsr.patient_id == patient_id)
        .order_by(dsr.requested_at, dsr.id)
    )
    profile_rows = await db.fetch(
        select(clinical_profiles).where(clinical_profiles.c.patient_id == patient_id)
    )
    vital_rows = await db.fetch(
        select(vital_signs, physio.c.name.label("physio_name"), physio.c.crefito)
        .join(physio, physio.c.id == vital_signs.c.recorded_by)
        .where(vital_signs.c.patient_id == patient_id)
        .order_by(*sort_key("VitalSigns").columns)
    )
    await record_reads(info, "patients", [patient_id])
    await record_reads(info, "prontuarios", record_ids)
    await record_reads(info, "clinical_profiles", [row["id"] for row in profile_rows])
    await record_reads(info, "vital_signs", [row["id"] for row in vital_rows])

    addenda_by_record: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in addendum_rows:
        doc = _document(row, "ProntuarioAddendum", ("text", "created_at"))
        doc["author"] = _person(row["author_name"], row["crefito"])
        addenda_by_record.setdefault(row["prontuario_id"], []).append(doc)
    executions_by_rx: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in execution_rows:
        doc = _document(row, "ExerciseExecution", EXECUTION_COLUMNS)
        executions_by_rx.setdefault(row["prescription_id"], []).append(doc)

    def appointment(row: RowMapping) -> dict[str, Any]:
        doc = _document(row, "Appointment", APPOINTMENT_COLUMNS)
        doc["physiotherapist"] = _person(row["physio_name"], row["crefito"])
        return doc

    def record(row: RowMapping) -> dict[str, Any]:
        doc = _document(row, "Prontuario", PRONTUARIO_COLUMNS, {"appointment_id": "Appointment"})
        doc["author"] = _person(row["author_name"], row["author_crefito"])
        doc["addenda"] = addenda_by_record.get(row["id"], [])
        return doc

    def prescription(row: RowMapping) -> dict[str, Any]:
        doc = _document(row, "ExercisePrescription", PRESCRIPTION_COLUMNS)
        doc["exercise"] = {"name": row["exercise_name"], "category": row["exercise_category"]}
        doc["physiotherapist"] = _person(row["physio_name"], row["crefito"])
        doc["executions"] = executions_by_rx.get(row["id"], [])
        return doc

    def patient_document() -> dict[str, Any]:
        doc = _document(patient, "Patient", PATIENT_COLUMNS)
        for group, keys in PATIENT_GROUPS.items():
            values = {camel_case(key): _json_value(patient[f"{group}_{key}"]) for key in keys}
            doc[camel_case(group)] = values if any(v is not None for v in values.values()) else None
        return doc

    def vital(row: RowMapping) -> dict[str, Any]:
        doc = _document(row, "VitalSigns", VITAL_SIGN_COLUMNS)
        doc["recordedBy"] = _person(row["physio_name"], row["crefito"])
        return doc

    profile = profile_rows[0] if profile_rows else None
    return {
        "format": EXPORT_FORMAT,
        "formatVersion": EXPORT_VERSION,
        "generatedAt": datetime.now(UTC).isoformat(),
        "legalBasis": "LGPD art. 18, II (acesso) e V (portabilidade)",
        "controller": {
            "name": clinic["name"] if clinic else None,
            "cnpj": clinic["cnpj"] if clinic else None,
        },
        "patient": patient_document(),
        "clinicalProfile": (
            {camel_case(c): _json_value(profile[c]) for c in PROFILE_COLUMNS} if profile else None
        ),
        "vitalSigns": [vital(row) for row in vital_rows],
        "appointments": [appointment(row) for row in appointment_rows],
        "prontuarios": [record(row) for row in record_rows],
        "prescriptions": [prescription(row) for row in prescription_rows],
        "payments": [
            _document(row, "Payment", PAYMENT_COLUMNS, {"appointment_id": "Appointment"})
            for row in payment_rows
        ],
        "consents": [_document(row, "Consent", CONSENT_COLUMNS) for row in consent_rows],
        "dataSubjectRequests": [
            _document(row, "DataSubjectRequest", REQUEST_COLUMNS) for row in request_rows
        ],
    }


@strawberry.input
class ExportPatientDataInput:
    patient_id: strawberry.ID


async def export_patient_data(info: Info, input: ExportPatientDataInput) -> DataExport:
    """An admin exports any patient of the clinic; a patient exports themselves."""
    info.context.require_role(Role.ADMIN, Role.PATIENT)
    patient = await visible_patient_row(info, input.patient_id)
    data = await _export_document(info, patient["id"])
    return DataExport(
        generated_at=datetime.fromisoformat(data["generatedAt"]),
        data=JSON(data),
        patient_db_id=patient["id"],
    )
