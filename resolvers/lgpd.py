"""LGPD: consents, data-subject requests, data export, anonymization and the audit log.

- Consents (arts. 7, 8, 11) keep their history: revoking sets `revokedAt` on the row (never
  deletes it), a new grant is a new row, and the clinic acknowledges each revocation
  (`acknowledgeConsentRevocation`) once it stopped processing for that purpose; the database
  refuses anything else (trigger `consents_rules`, migration 0005).
- Data-subject requests (arts. 18, 19): the deadline is the database's (requestedAt + 15
  days); lists put open requests first, by deadline, so overdue ones lead.
- `exportPatientData`: one JSON document with everything the clinic holds on the patient,
  read under the caller's RLS (admin: anyone of the clinic; patient: themselves) and logged
  as a read of the patient and of each prontuário.
- `anonymizePatient`: the SECURITY DEFINER function `anonymize_patient()` (0005) replaces
  the personal data, disables the patient's login and redacts the same data in the audit
  log; clinical and financial records stay for their legal retention.
"""

import enum
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, RowMapping, Select, func, literal, select, update
from strawberry.scalars import JSON

from graph.api.audit_reads import record_reads
from graph.api.context import Info
from graph.api.relay import Connection, Node, list_connection
from graph.core.errors import FORBIDDEN, INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_global_id, parse_uuid_id, to_global_id
from graph.core.validators import aware, required_text
from graph.sql.loaders import ChildList, count_rows
from graph.sql.pagination import PageArgs, SortKey, make_page, page_select
from graph.sql.writes import insert_row
from models.accounts import clinics, physiotherapists
from models.clinical import prontuario_addenda, prontuarios
from models.compliance import audit_log, consents, data_subject_requests
from models.exercises import exercise_executions, exercise_prescriptions, exercises
from models.patients import patients
from models.payments import payments
from models.scheduling import appointments
from resolvers.compliance import CLINIC_TIME_ZONE

if TYPE_CHECKING:
    from resolvers.patients import Patient

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients")]

FRONT_DESK = (Role.ADMIN, Role.RECEPTIONIST)


async def _patient(info: Info, global_id: str, field: str = "patientId") -> "Patient":
    from resolvers.patients import load_patient

    patient = await load_patient(info, parse_uuid_id(global_id, "Patient", field=field))
    if patient is None:
        raise not_found("Patient", field=field)
    return patient


# --- consents --------------------------------------------------------------------------------

CONSENT_SORT = SortKey((consents.c.created_at, consents.c.id))
CONSENTS_OF_PATIENT = ChildList(consents, "patient_id", CONSENT_SORT)


@strawberry.type(description="A consent (LGPD arts. 7, 8, 11). Revoked consents stay, as history.")
class Consent(Node):
    id: strawberry.ID
    purpose: str
    legal_basis: str
    granted: bool
    granted_at: datetime | None
    revoked_at: datetime | None
    policy_version: str
    revocation_acknowledged_at: datetime | None = strawberry.field(
        description="When the clinic confirmed it stopped processing for the revoked purpose."
    )
    created_at: datetime
    patient_db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: RowMapping) -> "Consent":
        return cls(
            id=strawberry.ID(to_global_id("Consent", row["id"])),
            purpose=row["purpose"],
            legal_basis=row["legal_basis"],
            granted=row["granted"],
            granted_at=row["granted_at"],
            revoked_at=row["revoked_at"],
            policy_version=row["policy_version"],
            revocation_acknowledged_at=row["revocation_acknowledged_at"],
            created_at=row["created_at"],
            patient_db_id=row["patient_id"],
        )

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        from resolvers.patients import required_patient

        return await required_patient(info, self.patient_db_id)


async def load_consent(info: Info, consent_id: uuid.UUID) -> Consent | None:
    row = await info.context.loaders.by_id(consents).load(consent_id)
    return Consent.from_row(row) if row else None


async def consents_of_patient(info: Info, patient_id: uuid.UUID) -> list[Consent]:
    """`Patient.consents`: the whole history, oldest first, batched across patients."""
    rows = await info.context.loaders.all_children(CONSENTS_OF_PATIENT).load(patient_id)
    return [Consent.from_row(row) for row in rows]


@strawberry.input
class GrantConsentInput:
    patient_id: strawberry.ID
    purpose: str
    legal_basis: str
    policy_version: str


@strawberry.input
class RevokeConsentInput:
    id: strawberry.ID


@strawberry.input
class AcknowledgeConsentRevocationInput:
    id: strawberry.ID


async def grant_consent(info: Info, input: GrantConsentInput) -> Consent:
    """A new consent; granting what is already granted (same terms) returns that consent."""
    identity = info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PATIENT)
    patient = await _patient(info, input.patient_id)
    if patient.anonymized_at is not None:
        raise ApiError(INVALID_STATE, "An anonymized patient cannot grant consent")
    purpose = required_text(input.purpose, "purpose")
    legal_basis = required_text(input.legal_basis, "legalBasis")
    policy_version = required_text(input.policy_version, "policyVersion")
    c = consents.c
    existing = await info.context.db.fetch_one(
        select(consents)
        .where(
            c.patient_id == patient.db_id,
            c.granted.is_(True),
            c.purpose == purpose,
            c.legal_basis == legal_basis,
            c.policy_version == policy_version,
        )
        .order_by(c.created_at.desc())
        .limit(1)
    )
    if existing is not None:
        return Consent.from_row(existing)
    row = await insert_row(
        info.context.db,
        consents,
        {
            "clinic_id": identity.clinic_id,
            "patient_id": patient.db_id,
            "purpose": purpose,
            "legal_basis": legal_basis,
            "policy_version": policy_version,
        },
    )
    return Consent.from_row(row)


async def _visible_consent(info: Info, global_id: str) -> RowMapping:
    row = await info.context.loaders.by_id(consents).load(parse_uuid_id(global_id, "Consent"))
    if row is None:
        raise not_found("Consent", field="id")
    return row


async def revoke_consent(info: Info, input: RevokeConsentInput) -> Consent:
    """As easy as granting; revoking a revoked consent changes nothing."""
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PATIENT)
    current = await _visible_consent(info, input.id)
    if not current["granted"]:
        return Consent.from_row(current)
    c = consents.c
    row = await info.context.db.fetch_one(
        update(consents)
        .where(c.id == current["id"], c.granted.is_(True))
        .values(granted=False, revoked_at=func.now(), updated_at=func.now())
        .returning(*consents.c)
    )
    if row is None:  # revoked concurrently
        row = await info.context.db.fetch_one(select(consents).where(c.id == current["id"]))
        assert row is not None
    return Consent.from_row(row)


async def acknowledge_consent_revocation(
    info: Info, input: AcknowledgeConsentRevocationInput
) -> Consent:
    """The clinic confirms it stopped processing for a revoked consent's purpose."""
    info.context.require_role(*FRONT_DESK)
    current = await _visible_consent(info, input.id)
    if current["revoked_at"] is None:
        raise ApiError(INVALID_STATE, "Only a revoked consent's revocation can be acknowledged")
    if current["revocation_acknowledged_at"] is not None:
        return Consent.from_row(current)
    c = consents.c
    row = await info.context.db.fetch_one(
        update(consents)
        .where(c.id == current["id"], c.revocation_acknowledged_at.is_(None))
        .values(revocation_acknowledged_at=func.now(), updated_at=func.now())
        .returning(*consents.c)
    )
    if row is None:
        row = await info.context.db.fetch_one(select(consents).where(c.id == current["id"]))
        assert row is not None
    return Consent.from_row(row)


# --- data-subject requests -------------------------------------------------------------------


@strawberry.enum(description="What the data subject asks for (LGPD art. 18).")
class DataSubjectRequestKind(enum.Enum):
    ACCESS = "access"
    CORRECTION = "correction"
    ANONYMIZATION = "anonymization"
    PORTABILITY = "portability"
    DELETION = "deletion"
    SHARING_INFORMATION = "sharing_information"


dsr = data_subject_requests.c
_CLOSED = dsr.fulfilled_at.is_not(None).label("closed")
# Open requests first, by deadline (so overdue ones lead), then fulfilled ones.
REQUEST_SORT = SortKey((_CLOSED, dsr.due_at, dsr.id))


@strawberry.type(description="A data subject's request (LGPD art. 18), due in 15 days (art. 19).")
class DataSubjectRequest(Node):
    id: strawberry.ID
    kind: DataSubjectRequestKind
    details: str | None
    requested_at: datetime
    due_at: datetime
    fulfilled_at: datetime | None
    response: str | None
    created_at: datetime
    updated_at: datetime
    patient_db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: RowMapping) -> "DataSubjectRequest":
        return cls(
            id=strawberry.ID(to_global_id("DataSubjectRequest", row["id"])),
            kind=DataSubjectRequestKind(row["kind"]),
            details=row["details"],
            requested_at=row["requested_at"],
            due_at=row["due_at"],
            fulfilled_at=row["fulfilled_at"],
            response=row["response"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            patient_db_id=row["patient_id"],
        )

    @strawberry.field  # open past its deadline
    def overdue(self) -> bool:
        return self.fulfilled_at is None and self.due_at < datetime.now(UTC)

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        from resolvers.patients import required_patient

        return await required_patient(info, self.patient_db_id)


async def load_data_subject_request(info: Info, request_id: uuid.UUID) -> DataSubjectRequest | None:
    row = await info.context.loaders.by_id(data_subject_requests).load(request_id)
    return DataSubjectRequest.from_row(row) if row else None


@strawberry.input
class DataSubjectRequestFilter:
    patient_id: strawberry.ID | None = None
    kind: list[DataSubjectRequestKind] | None = None
    open: bool | None = None
    overdue: bool | None = None


def _request_conditions(filter: DataSubjectRequestFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.patient_id is not None:
        patient = parse_uuid_id(filter.patient_id, "Patient", field="filter.patientId")
        conditions.append(dsr.patient_id == patient)
    if filter.kind:
        conditions.append(dsr.kind.in_([k.value for k in filter.kind]))
    if filter.open is not None:
        is_open = dsr.fulfilled_at.is_(None)
        conditions.append(is_open if filter.open else ~is_open)
    if filter.overdue is not None:
        overdue = dsr.fulfilled_at.is_(None) & (dsr.due_at < func.now())
        conditions.append(overdue if filter.overdue else ~overdue)
    return conditions


async def list_data_subject_requests(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: DataSubjectRequestFilter | None = None,
) -> Connection[DataSubjectRequest]:
    """Open requests first, by deadline (overdue ones lead), then the fulfilled ones."""
    info.context.require_identity()
    page = PageArgs.parse(first, after, last, before)
    conditions = _request_conditions(filter)
    query: Select[Any] = select(data_subject_requests, _CLOSED).where(*conditions)
    rows = await info.context.db.fetch(page_select(query, REQUEST_SORT, page))
    return Connection.of(
        make_page(rows, REQUEST_SORT, page),
        DataSubjectRequest.from_row,
        count_rows(info.context.db, data_subject_requests, conditions),
    )


@strawberry.input
class FileDataSubjectRequestInput:
    kind: DataSubjectRequestKind
    patient_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for staff; a patient files for themselves."
    )
    details: str | None = None
    requested_at: datetime | None = strawberry.field(
        default=None,
        description="Staff only: when the request was received (the deadline runs from it).",
    )


@strawberry.input
class FulfillDataSubjectRequestInput:
    id: strawberry.ID
    response: str


async def file_data_subject_request(
    info: Info, input: FileDataSubjectRequestInput
) -> DataSubjectRequest:
    identity = info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PATIENT)
    values: dict[str, Any] = {"clinic_id": identity.clinic_id, "kind": input.kind.value}
    if input.patient_id is None:
        if identity.patient_id is None:
            raise bad_input("patientId", "patientId is required")
        patient_global_id = to_global_id("Patient", identity.patient_id)
    else:
        patient_global_id = input.patient_id
    values["patient_id"] = (await _patient(info, patient_global_id)).db_id
    if input.details is not None and input.details.strip():
        values["details"] = required_text(input.details, "details")
    if input.requested_at is not None:
        if identity.role is Role.PATIENT:
            raise ApiError(FORBIDDEN, "A patient's request is dated when it is filed")
        requested_at = aware(input.requested_at, "requestedAt")
        if requested_at > datetime.now(UTC):
            raise bad_input("requestedAt", "requestedAt must not be in the future")
        values["requested_at"] = requested_at
    row = await insert_row(info.context.db, data_subject_requests, values)
    return DataSubjectRequest.from_row(row)


async def fulfill_data_subject_request(
    info: Info, input: FulfillDataSubjectRequestInput
) -> DataSubjectRequest:
    info.context.require_role(*FRONT_DESK)
    request_id = parse_uuid_id(input.id, "DataSubjectRequest")
    response = required_text(input.response, "response")
    row = await info.context.db.fetch_one(
        update(data_subject_requests)
        .where(dsr.id == request_id, dsr.fulfilled_at.is_(None))
        .values(fulfilled_at=func.now(), response=response, updated_at=func.now())
        .returning(*data_subject_requests.c)
    )
    if row is not None:
        return DataSubjectRequest.from_row(row)
    if await info.context.loaders.by_id(data_subject_requests).load(request_id) is None:
        raise not_found("DataSubjectRequest", field="id")
    raise ApiError(INVALID_STATE, "This request was already fulfilled")


# --- export ----------------------------------------------------------------------------------

EXPORT_FORMAT = "fisioflow.patient-data-export"
EXPORT_VERSION = 1
# What each section of the export carries (internal columns such as clinic_id, idempotency
# keys and request fingerprints stay out).
PATIENT_COLUMNS = (
    "name", "email", "phone", "birth_date", "cpf", "cns", "address", "status", "created_at",
    "updated_at", "anonymized_at",
)  # fmt: skip
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


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _document(
    row: RowMapping, type_name: str, columns: tuple[str, ...], refs: dict[str, str] | None = None
) -> dict[str, Any]:
    """`row` as an export object: global IDs, camelCase keys, JSON-safe values."""
    doc: dict[str, Any] = {"id": to_global_id(type_name, row["id"])}
    for column in columns:
        doc[_camel(column)] = _json_value(row[column])
    for column, ref_type in (refs or {}).items():
        value = row[column]
        doc[_camel(column)] = to_global_id(ref_type, value) if value is not None else None
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
        .order_by(a.starts_at, a.id)
    )
    p = prontuarios.c
    record_rows = await db.fetch(
        select(prontuarios).where(p.patient_id == patient_id).order_by(p.created_at, p.id)
    )
    record_ids = [row["id"] for row in record_rows]
    ad = prontuario_addenda.c
    addendum_rows = await db.fetch(
        select(prontuario_addenda, physio.c.name.label("author_name"), physio.c.crefito)
        .join(physio, physio.c.id == ad.author_id)
        .where(ad.prontuario_id.in_(record_ids))
        .order_by(ad.created_at, ad.id)
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
        .order_by(rx.created_at, rx.id)
    )
    ex = exercise_executions.c
    execution_rows = await db.fetch(
        select(exercise_executions)
        .where(ex.patient_id == patient_id)
        .order_by(ex.executed_at, ex.id)
    )
    payment_rows = await db.fetch(
        select(payments)
        .where(payments.c.patient_id == patient_id)
        .order_by(payments.c.created_at, payments.c.id)
    )
    consent_rows = await db.fetch(
        select(consents).where(consents.c.patient_id == patient_id).order_by(*CONSENT_SORT.columns)
    )
    request_rows = await db.fetch(
        select(data_subject_requests)
        .where(dsr.patient_id == patient_id)
        .order_by(dsr.requested_at, dsr.id)
    )
    await record_reads(info, "patients", [patient_id])
    await record_reads(info, "prontuarios", record_ids)

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

    return {
        "format": EXPORT_FORMAT,
        "formatVersion": EXPORT_VERSION,
        "generatedAt": datetime.now(UTC).isoformat(),
        "legalBasis": "LGPD art. 18, II (acesso) e V (portabilidade)",
        "controller": {
            "name": clinic["name"] if clinic else None,
            "cnpj": clinic["cnpj"] if clinic else None,
        },
        "patient": _document(patient, "Patient", PATIENT_COLUMNS),
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


@strawberry.type(description="Everything the clinic holds on a patient (LGPD art. 18, II and V).")
class DataExport:
    generated_at: datetime
    data: JSON = strawberry.field(
        description=f"A `{EXPORT_FORMAT}` document (formatVersion {EXPORT_VERSION}): personal "
        "data, appointments, prontuários with addenda, prescriptions with executions, "
        "payments, consents and data-subject requests."
    )
    patient_db_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        from resolvers.patients import required_patient

        return await required_patient(info, self.patient_db_id)


@strawberry.input
class ExportPatientDataInput:
    patient_id: strawberry.ID


async def export_patient_data(info: Info, input: ExportPatientDataInput) -> DataExport:
    """An admin exports any patient of the clinic; a patient exports themselves."""
    info.context.require_role(Role.ADMIN, Role.PATIENT)
    patient = await _patient(info, input.patient_id)
    data = await _export_document(info, patient.db_id)
    return DataExport(
        generated_at=datetime.fromisoformat(data["generatedAt"]),
        data=JSON(data),
        patient_db_id=patient.db_id,
    )


# --- anonymization ---------------------------------------------------------------------------


@strawberry.input
class AnonymizePatientInput:
    patient_id: strawberry.ID


ERASURE_KINDS = (DataSubjectRequestKind.ANONYMIZATION.value, DataSubjectRequestKind.DELETION.value)


async def anonymize_patient(info: Info, input: AnonymizePatientInput) -> "Patient":
    """Irreversible. Personal data go; clinical and financial records stay (legal retention)."""
    from resolvers.patients import Patient

    info.context.require_role(Role.ADMIN)
    patient = await _patient(info, input.patient_id)
    if patient.anonymized_at is not None:
        raise ApiError(INVALID_STATE, "This patient is already anonymized")
    db = info.context.db
    done = await db.fetch_one(select(func.anonymize_patient(patient.db_id).label("at")))
    if done is None or done["at"] is None:
        raise ApiError(INVALID_STATE, "This patient is already anonymized")
    when = done["at"].astimezone(CLINIC_TIME_ZONE).strftime("%d/%m/%Y")
    await db.fetch(
        update(data_subject_requests)
        .where(
            dsr.patient_id == patient.db_id,
            dsr.fulfilled_at.is_(None),
            dsr.kind.in_(ERASURE_KINDS),
        )
        .values(
            fulfilled_at=func.now(),
            updated_at=func.now(),
            response=literal(
                f"Dados pessoais anonimizados em {when} (nome, CPF, CNS, e-mail, telefone,"
                " endereço e data de nascimento). Prontuários e registros financeiros são"
                " mantidos pelo prazo legal (LGPD art. 16, I; Lei 13.787/2018)."
            ),
        )
    )
    row = await db.fetch_one(select(patients).where(patients.c.id == patient.db_id))
    assert row is not None
    info.context.loaders.by_id(patients).clear(patient.db_id).prime(patient.db_id, row)
    return Patient.from_row(row)


# --- audit log -------------------------------------------------------------------------------

AUDIT_SORT = SortKey((audit_log.c.at, audit_log.c.id))

# The global ID type of each audited table's records.
RECORD_TYPES = {
    "patients": "Patient",
    "appointments": "Appointment",
    "prontuarios": "Prontuario",
    "prontuario_addenda": "ProntuarioAddendum",
    "exercise_prescriptions": "ExercisePrescription",
    "exercise_executions": "ExerciseExecution",
    "payments": "Payment",
    "consents": "Consent",
    "data_subject_requests": "DataSubjectRequest",
    "users": "User",
    "clinics": "Clinic",
    "physiotherapists": "Physiotherapist",
    "exercises": "Exercise",
    "compliance_checks": "ComplianceCheck",
    "compliance_issues": "ComplianceIssue",
}
OPERATIONS = ("INSERT", "UPDATE", "DELETE", "SELECT")


@strawberry.type(
    description="One audited change (INSERT/UPDATE/DELETE) or read (SELECT). Never changes."
)
class AuditEntry(Node):
    id: strawberry.ID
    table_name: str
    operation: str
    record_id: strawberry.ID | None
    actor_id: strawberry.ID | None
    actor_role: Role | None
    at: datetime
    old_data: JSON | None
    new_data: JSON | None

    @classmethod
    def from_row(cls, row: RowMapping) -> "AuditEntry":
        record, actor, role = row["record_id"], row["actor_id"], row["actor_role"]
        record_type = RECORD_TYPES.get(row["table_name"])
        return cls(
            id=strawberry.ID(to_global_id("AuditEntry", row["id"])),
            table_name=row["table_name"],
            operation=row["operation"],
            record_id=strawberry.ID(
                to_global_id(record_type, record) if record_type else str(record)
            )
            if record is not None
            else None,
            actor_id=strawberry.ID(to_global_id("User", actor)) if actor is not None else None,
            actor_role=Role(role) if role in {r.value for r in Role} else None,
            at=row["at"],
            old_data=JSON(row["old_data"]) if row["old_data"] is not None else None,
            new_data=JSON(row["new_data"]) if row["new_data"] is not None else None,
        )


async def load_audit_entry(info: Info, entry_id: int) -> AuditEntry | None:
    if not 0 < entry_id < 2**63:
        return None
    row = await info.context.loaders.by_id(audit_log).load(entry_id)
    return AuditEntry.from_row(row) if row else None


def _local_uuid(global_id: str, field: str, types: tuple[str, ...] | None = None) -> uuid.UUID:
    type_name, local_id = parse_global_id(global_id, field=field)
    if types is not None and type_name not in types:
        raise bad_input(field, f"Expected the ID of a {' or '.join(types)}")
    try:
        return uuid.UUID(local_id)
    except ValueError:
        raise bad_input(field, "Malformed ID") from None


async def audit_log_entries(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    table_name: str | None = None,
    record_id: strawberry.ID | None = None,
    actor_id: strawberry.ID | None = None,
    operation: str | None = None,
    from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
    to: datetime | None = None,
) -> Connection[AuditEntry]:
    """Admin only. Oldest first: `last: N` gives the N most recent entries."""
    info.context.require_role(Role.ADMIN)
    c = audit_log.c
    conditions: list[ColumnElement[bool]] = []
    if table_name is not None:
        conditions.append(c.table_name == table_name.strip())
    if record_id is not None:
        conditions.append(c.record_id == _local_uuid(record_id, "recordId"))
    if actor_id is not None:
        conditions.append(c.actor_id == _local_uuid(actor_id, "actorId", ("User", "StaffUser")))
    if operation is not None:
        op = operation.strip().upper()
        if op not in OPERATIONS:
            raise bad_input("operation", f"operation is one of {', '.join(OPERATIONS)}")
        conditions.append(c.operation == op)
    if from_ is not None:
        conditions.append(c.at >= aware(from_, "from"))
    if to is not None:
        conditions.append(c.at < aware(to, "to"))
    return await list_connection(
        info.context.db,
        audit_log,
        AUDIT_SORT,
        PageArgs.parse(first, after, last, before),
        AuditEntry.from_row,
        conditions,
    )
