"""The patient, with its appointments, payments, records, prescriptions and care team."""

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from graph.api.builders import input_values
from graph.api.context import Info
from graph.api.declared_fields import declared_fields
from graph.api.lists import declared_list
from graph.api.object_types import register
from graph.api.relay import Connection, Node, child_connection
from graph.sql.declared import criteria
from graph.sql.list_query import ListQuery
from models.accounts import physiotherapists
from resolvers.care_team.data import care_team_ids
from resolvers.clinical.data import (
    PRONTUARIOS_OF_PATIENT,
    VITAL_SIGNS_OF_PATIENT,
    clinical_profile_row,
    record_prontuario_reads,
    record_vital_signs_reads,
)
from resolvers.events import CURSOR_DESCRIPTION, ChangeOp
from resolvers.exercises.data import PRESCRIPTIONS_OF_PATIENT
from resolvers.lgpd.data import CONSENTS_OF_PATIENT
from resolvers.objects import build, builder
from resolvers.payments.data import PAYMENTS_OF_PATIENT
from resolvers.scheduling.data import APPOINTMENTS_OF_PATIENT
from resolvers.staff.data import physiotherapist_row

if TYPE_CHECKING:
    from resolvers.clinical.types import Prontuario, VitalSigns
    from resolvers.exercises.types import ExercisePrescription, PrescriptionStatus
    from resolvers.lgpd.types import Consent
    from resolvers.payments.types import Payment
    from resolvers.scheduling.types import Appointment, AppointmentFilter
    from resolvers.staff.types import Physiotherapist

PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff.types")]
AppointmentRef = Annotated["Appointment", strawberry.lazy("resolvers.scheduling.types")]
AppointmentFilterRef = Annotated["AppointmentFilter", strawberry.lazy("resolvers.scheduling.types")]
PaymentRef = Annotated["Payment", strawberry.lazy("resolvers.payments.types")]
ProntuarioRef = Annotated["Prontuario", strawberry.lazy("resolvers.clinical.types")]
VitalSignsRef = Annotated["VitalSigns", strawberry.lazy("resolvers.clinical.types")]
PrescriptionRef = Annotated["ExercisePrescription", strawberry.lazy("resolvers.exercises.types")]
PrescriptionStatusRef = Annotated[
    "PrescriptionStatus", strawberry.lazy("resolvers.exercises.types")
]
ConsentRef = Annotated["Consent", strawberry.lazy("resolvers.lgpd.types")]


@strawberry.enum
class PatientStatus(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DISCHARGED = "discharged"


@strawberry.enum(description="How the clinic reaches the patient (reminders, confirmations).")
class ContactChannel(enum.Enum):
    WHATSAPP = "whatsapp"
    SMS = "sms"
    EMAIL = "email"
    PHONE = "phone"
    NONE = "none"


@strawberry.type(description="The patient's health insurance (convênio).")
class Insurance:
    provider: str
    plan_name: str | None
    member_number: str | None
    valid_until: date | None


@strawberry.type(description="Whom to call in an emergency.")
class EmergencyContact:
    name: str
    phone: str
    relationship: str | None


@strawberry.input
class PatientFilter:
    search: str | None = None
    status: PatientStatus | None = None
    physiotherapist_id: strawberry.ID | None = None


@register
@strawberry.type
@declared_fields
class Patient(Node):
    # written (not only declared) because the anonymization mutation reads them
    email: str | None
    anonymized_at: datetime | None
    status: PatientStatus
    contact_channel: ContactChannel
    db_id: strawberry.Private[uuid.UUID]
    physiotherapist_db_id: strawberry.Private[uuid.UUID | None]
    insurance_provider: strawberry.Private[str | None]
    insurance_plan_name: strawberry.Private[str | None]
    insurance_member_number: strawberry.Private[str | None]
    insurance_valid_until: strawberry.Private[date | None]
    emergency_contact_name: strawberry.Private[str | None]
    emergency_contact_phone: strawberry.Private[str | None]
    emergency_contact_relationship: strawberry.Private[str | None]

    @strawberry.field
    def insurance(self) -> Insurance | None:
        """Front-desk data: null when the patient has none."""
        if self.insurance_provider is None:
            return None
        return Insurance(
            provider=self.insurance_provider,
            plan_name=self.insurance_plan_name,
            member_number=self.insurance_member_number,
            valid_until=self.insurance_valid_until,
        )

    @strawberry.field
    def emergency_contact(self) -> EmergencyContact | None:
        """Front-desk data: null when none is recorded."""
        if self.emergency_contact_name is None or self.emergency_contact_phone is None:
            return None
        return EmergencyContact(
            name=self.emergency_contact_name,
            phone=self.emergency_contact_phone,
            relationship=self.emergency_contact_relationship,
        )

    @strawberry.field
    async def allergies(self, info: Info) -> list[str] | None:
        """Allergies: clinical data, every read audited. Null when not recorded or not yours
        to read (a receptionist; a physiotherapist who does not treat the patient); empty
        when recorded as none."""
        return await self._clinical_list(info, "allergies")

    @strawberry.field
    async def conditions(self, info: Info) -> list[str] | None:
        """Health conditions: clinical data, every read audited. Null when not recorded or not yours
        to read (a receptionist; a physiotherapist who does not treat the patient); empty
        when recorded as none."""
        return await self._clinical_list(info, "conditions")

    @strawberry.field
    async def medications(self, info: Info) -> list[str] | None:
        """Medications in use: clinical data, every read audited. Null when not recorded or
        not yours to read (a receptionist; a physiotherapist who does not treat the patient);
        empty when recorded as none."""
        return await self._clinical_list(info, "medications")

    async def _clinical_list(self, info: Info, column: str) -> list[str] | None:
        row = await clinical_profile_row(info, self.db_id)
        return None if row is None or row[column] is None else list(row[column])

    @strawberry.field
    @declared_list("Appointment")
    async def appointments(
        self,
        info: Info,
        query: ListQuery,
        filter: AppointmentFilterRef | None = None,
    ) -> Connection[AppointmentRef]:
        return await child_connection(
            info.context.loaders,
            APPOINTMENTS_OF_PATIENT,
            self.db_id,
            query,
            builder("Appointment"),
            criteria("Appointment", input_values(filter)),
        )

    @strawberry.field
    @declared_list("Payment")
    async def payments(
        self,
        info: Info,
        query: ListQuery,
    ) -> Connection[PaymentRef]:
        return await child_connection(
            info.context.loaders,
            PAYMENTS_OF_PATIENT,
            self.db_id,
            query,
            builder("Payment"),
        )

    @strawberry.field
    @declared_list("Prontuario")
    async def prontuarios(
        self,
        info: Info,
        query: ListQuery,
    ) -> Connection[ProntuarioRef]:
        """Batched across patients (oldest first); every record shown is a logged read."""
        connection: Connection[Prontuario] = await child_connection(
            info.context.loaders,
            PRONTUARIOS_OF_PATIENT,
            self.db_id,
            query,
            builder("Prontuario"),
        )
        await record_prontuario_reads(info, [edge.node.db_id for edge in connection.edges])
        return connection

    @strawberry.field
    @declared_list("VitalSigns")
    async def vital_signs(
        self,
        info: Info,
        query: ListQuery,
    ) -> Connection[VitalSignsRef]:
        """Oldest first; every reading shown is a logged read."""
        connection: Connection[VitalSigns] = await child_connection(
            info.context.loaders,
            VITAL_SIGNS_OF_PATIENT,
            self.db_id,
            query,
            builder("VitalSigns"),
        )
        await record_vital_signs_reads(info, [edge.node.db_id for edge in connection.edges])
        return connection

    @strawberry.field
    @declared_list("ExercisePrescription")
    async def prescriptions(
        self,
        info: Info,
        query: ListQuery,
        status: PrescriptionStatusRef | None = None,
    ) -> Connection[PrescriptionRef]:
        return await child_connection(
            info.context.loaders,
            PRESCRIPTIONS_OF_PATIENT,
            self.db_id,
            query,
            builder("ExercisePrescription"),
            criteria("ExercisePrescription", {"status": status}, prefix=""),
        )

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef | None:
        if self.physiotherapist_db_id is None:
            return None
        row = await physiotherapist_row(info, self.physiotherapist_db_id)
        return cast("Physiotherapist", build("Physiotherapist", row)) if row else None

    @strawberry.field
    async def care_team(self, info: Info) -> list[PhysiotherapistRef]:
        """Physiotherapists an admin or receptionist put on the patient's care team: they
        treat the patient beside the assigned one."""
        loader = info.context.loaders.by_id(physiotherapists)
        rows = await loader.load_many(await care_team_ids(info, self.db_id))
        return [build("Physiotherapist", row) for row in rows if row is not None]

    @strawberry.field  # every consent the patient gave, revoked ones included
    async def consents(self, info: Info) -> list[ConsentRef]:
        rows = await info.context.loaders.all_children(CONSENTS_OF_PATIENT).load(self.db_id)
        return [build("Consent", row) for row in rows]


@strawberry.type
class PatientEvent:
    op: ChangeOp
    patient: Patient
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
