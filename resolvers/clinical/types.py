"""The prontuário and its addenda."""

import enum
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from graph.api.builders import from_row
from graph.api.context import Info
from graph.api.declared_fields import declared_fields
from graph.api.object_types import register
from graph.api.relay import Node
from models.clinical import VITAL_SIGN_RANGES
from resolvers.clinical.data import ADDENDA_OF_PRONTUARIO
from resolvers.events import CURSOR_DESCRIPTION
from resolvers.objects import build
from resolvers.patients.data import required_patient_row
from resolvers.scheduling.data import appointment_row
from resolvers.staff.data import required_physiotherapist_row

if TYPE_CHECKING:
    from resolvers.patients.types import Patient
    from resolvers.scheduling.types import Appointment
    from resolvers.staff.types import Physiotherapist

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]
AppointmentRef = Annotated["Appointment", strawberry.lazy("resolvers.scheduling.types")]
PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff.types")]


@strawberry.enum
class ProntuarioKind(enum.Enum):
    EVALUATION = "evaluation"
    EVOLUTION = "evolution"
    DISCHARGE = "discharge"


async def _author(info: Info, physiotherapist_id: uuid.UUID) -> "Physiotherapist":
    row = await required_physiotherapist_row(info, physiotherapist_id)
    return cast("Physiotherapist", build("Physiotherapist", row))


@register
@strawberry.type(description="A correction or complement of a prontuário, with author and time.")
@declared_fields
class ProntuarioAddendum:
    author_db_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def author(self, info: Info) -> PhysiotherapistRef:
        return await _author(info, self.author_db_id)


@register
@strawberry.type(
    description="A physiotherapy record (COFFITO 414/2012). Never edited: corrections are addenda."
)
@declared_fields
class Prontuario(Node):
    kind: ProntuarioKind
    anamnesis: str | None = strawberry.field(description="Main complaint and clinical history.")
    physical_exam: str | None = strawberry.field(description="Physical-functional examination.")
    diagnosis: str | None = strawberry.field(description="Kinesiological-functional diagnosis.")
    treatment_plan: str | None = strawberry.field(
        description="Therapeutic plan: goals, techniques and procedures."
    )
    expected_sessions: int | None = strawberry.field(
        description="Expected number of sessions of the therapeutic plan."
    )
    evolution: str | None = strawberry.field(
        description="What happened in the session (evolution) or at discharge."
    )
    vital_signs: JSON | None = strawberry.field(
        description='Vital signs, e.g. {"pa": "120/80", "fc": 72, "spo2": 98, "eva": 4}.'
    )
    author_name: str = strawberry.field(description="The author's name when it was written.")
    author_crefito: str = strawberry.field(description="The author's CREFITO when it was written.")
    db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    author_db_id: strawberry.Private[uuid.UUID]
    appointment_db_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        return cast(
            "Patient", build("Patient", await required_patient_row(info, self.patient_db_id))
        )

    @strawberry.field
    async def author(self, info: Info) -> PhysiotherapistRef:
        return await _author(info, self.author_db_id)

    @strawberry.field
    async def appointment(self, info: Info) -> AppointmentRef | None:
        if self.appointment_db_id is None:
            return None
        row = await appointment_row(info, self.appointment_db_id)
        return cast("Appointment", build("Appointment", row)) if row else None

    @strawberry.field
    async def addenda(self, info: Info) -> list[ProntuarioAddendum]:
        loader = info.context.loaders.all_children(ADDENDA_OF_PRONTUARIO)
        return [from_row(ProntuarioAddendum, row) for row in await loader.load(self.db_id)]


def _bounds(column: str) -> str:
    low, high = VITAL_SIGN_RANGES[column]
    return f"{low} to {high}"


@register
@strawberry.type(
    description="One set of vital signs of a patient (a typed time series; never edited)."
    " Every read is in the audit log."
)
@declared_fields
class VitalSigns(Node):
    heart_rate: int | None = strawberry.field(
        description=f"Beats per minute ({_bounds('heart_rate')})."
    )
    systolic: int | None = strawberry.field(
        description=f"Blood pressure, mmHg ({_bounds('systolic')})."
    )
    diastolic: int | None = strawberry.field(
        description=f"Blood pressure, mmHg ({_bounds('diastolic')}, below systolic)."
    )
    respiratory_rate: int | None = strawberry.field(
        description=f"Breaths per minute ({_bounds('respiratory_rate')})."
    )
    spo2: int | None = strawberry.field(description=f"Oxygen saturation, % ({_bounds('spo2')}).")
    temperature: Decimal | None = strawberry.field(description=f"°C ({_bounds('temperature')}).")
    pain_level: int | None = strawberry.field(
        description=f"Pain ({_bounds('pain_level')}: none to worst)."
    )
    weight_kg: Decimal | None = strawberry.field(description=f"kg ({_bounds('weight_kg')}).")
    height_cm: Decimal | None = strawberry.field(description=f"cm ({_bounds('height_cm')}).")
    db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    recorded_by_db_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        return cast(
            "Patient", build("Patient", await required_patient_row(info, self.patient_db_id))
        )

    @strawberry.field
    async def recorded_by(self, info: Info) -> PhysiotherapistRef:
        """The physiotherapist who measured them."""
        return await _author(info, self.recorded_by_db_id)


@strawberry.type(description="A prontuário just written, as `prontuarioAdded` delivers it.")
class ProntuarioEvent:
    prontuario: Prontuario
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)


@strawberry.type(description="Vital signs just recorded, as `vitalSignsRecorded` delivers them.")
class VitalSignsEvent:
    vital_signs: VitalSigns
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
