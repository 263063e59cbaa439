"""The consent, the data-subject request, the data export and the audit entry."""

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

import resolvers.enums  # noqa: F401  (registers Role as a GraphQL enum)
from graph.api.context import Info
from graph.api.declared_fields import declared_fields
from graph.api.object_types import register
from graph.api.relay import Node
from graph.core.identity import Role
from resolvers.events import CURSOR_DESCRIPTION, ChangeOp
from resolvers.objects import build
from resolvers.patients.data import required_patient_row

if TYPE_CHECKING:
    from resolvers.patients.types import Patient

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]

EXPORT_FORMAT = "fisioflow.patient-data-export"
EXPORT_VERSION = 1


@register
@strawberry.type(description="A consent (LGPD arts. 7, 8, 11). Revoked consents stay, as history.")
@declared_fields
class Consent(Node):
    revocation_acknowledged_at: datetime | None = strawberry.field(
        description="When the clinic confirmed it stopped processing for the revoked purpose."
    )
    patient_db_id: strawberry.Private[uuid.UUID]

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
@declared_fields
class DataSubjectRequest(Node):
    kind: DataSubjectRequestKind
    patient_db_id: strawberry.Private[uuid.UUID]

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
@declared_fields
class AuditEntry(Node):
    actor_role: Role | None


@strawberry.type
class ConsentEvent:
    op: ChangeOp
    consent: Consent
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)


@strawberry.type
class DataSubjectRequestEvent:
    op: ChangeOp
    data_subject_request: DataSubjectRequest
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
