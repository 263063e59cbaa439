"""The consent, the data-subject request, the data export and the audit entry."""

import enum
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from sqlalchemy import RowMapping
from strawberry.scalars import JSON

import resolvers.enums  # noqa: F401  (registers Role as a GraphQL enum)
from graph.api.context import Info
from graph.api.relay import Node
from graph.core.identity import Role
from graph.core.ids import to_global_id
from resolvers.objects import build, register
from resolvers.patients.data import required_patient_row

if TYPE_CHECKING:
    from resolvers.patients.types import Patient

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]

EXPORT_FORMAT = "fisioflow.patient-data-export"
EXPORT_VERSION = 1


@register
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
        return cast(
            "Patient", build("Patient", await required_patient_row(info, self.patient_db_id))
        )


@strawberry.enum(description="What the data subject asks for (LGPD art. 18).")
class DataSubjectRequestKind(enum.Enum):
    ACCESS = "access"
    CORRECTION = "correction"
    ANONYMIZATION = "anonymization"
    PORTABILITY = "portability"
    DELETION = "deletion"
    SHARING_INFORMATION = "sharing_information"


@register
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
        return cast(
            "Patient", build("Patient", await required_patient_row(info, self.patient_db_id))
        )


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
        return cast(
            "Patient", build("Patient", await required_patient_row(info, self.patient_db_id))
        )


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


@register
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
