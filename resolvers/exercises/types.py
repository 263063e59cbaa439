"""The exercise, the prescription (with its adherence) and the logged execution."""

import enum
import uuid
from datetime import date
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from graph.api.builders import from_row, row_builder
from graph.api.context import Info
from graph.api.declared_fields import declared_fields
from graph.api.lists import declared_list
from graph.api.object_types import register
from graph.api.relay import Connection, Node, child_connection
from graph.core.calendar import clinic_today
from graph.core.errors import not_found
from graph.sql.list_query import ListQuery
from models.exercises import exercise_prescriptions, exercises
from resolvers.events import OPTIONAL_CURSOR_DESCRIPTION, optional_cursor
from resolvers.exercises.adherence import Adherence, executions_in_period
from resolvers.exercises.data import EXECUTIONS_OF_PRESCRIPTION
from resolvers.objects import build
from resolvers.patients.data import required_patient_row
from resolvers.staff.data import required_physiotherapist_row

if TYPE_CHECKING:
    from resolvers.patients.types import Patient
    from resolvers.staff.types import Physiotherapist

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]
PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff.types")]


@strawberry.enum
class Difficulty(enum.Enum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


@strawberry.enum
class PrescriptionStatus(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@register
@strawberry.type(description="An exercise of the shared library or of the clinic's own.")
@declared_fields
class Exercise(Node):
    difficulty: Difficulty
    shared: bool = strawberry.field(
        description="Part of the shared library (the same in every clinic, read-only)."
    )
    db_id: strawberry.Private[uuid.UUID]


async def prescription_adherence(root: "ExercisePrescription", info: Info) -> float | None:
    done = await executions_in_period(info, root.db_id)
    period = Adherence(root.frequency_per_week, root.starts_on, root.ends_on)
    return period.ratio(done, clinic_today())


def execution_cursor(root: "ExerciseExecution", info: Info) -> str | None:
    return optional_cursor(info, root.event_seq)


@register
@strawberry.type(description="One home-exercise session the patient logged.")
@declared_fields
class ExerciseExecution(Node):
    pain_level: int | None = strawberry.field(description="0 (no pain) to 10 (worst pain).")
    db_id: strawberry.Private[uuid.UUID]
    prescription_db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    # Set by the subscription that delivers it (graph/api/builders.py reads no defaulted
    # attribute from the row).
    event_seq: strawberry.Private[int | None] = None

    cursor: str | None = strawberry.field(
        resolver=execution_cursor, description=OPTIONAL_CURSOR_DESCRIPTION
    )

    @strawberry.field
    async def prescription(self, info: Info) -> "ExercisePrescription":
        loader = info.context.loaders.by_id(exercise_prescriptions)
        row = await loader.load(self.prescription_db_id)
        if row is None:
            raise not_found("ExercisePrescription")
        return from_row(ExercisePrescription, row)

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        return cast(
            "Patient", build("Patient", await required_patient_row(info, self.patient_db_id))
        )


@register
@strawberry.type(description="An exercise a physiotherapist prescribed to a patient.")
@declared_fields
class ExercisePrescription(Node):
    # written (not only declared) because prescription_adherence reads them
    frequency_per_week: int
    starts_on: date
    ends_on: date | None
    status: PrescriptionStatus
    db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    exercise_db_id: strawberry.Private[uuid.UUID]
    physiotherapist_db_id: strawberry.Private[uuid.UUID]
    adherence: float | None = strawberry.field(
        resolver=prescription_adherence,
        description="Executions logged within the prescription's period ÷ those expected so"
        " far (frequencyPerWeek × elapsed weeks, from startsOn to today or endsOn), 0..1;"
        " null before the period starts.",
    )

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        return cast(
            "Patient", build("Patient", await required_patient_row(info, self.patient_db_id))
        )

    @strawberry.field
    async def exercise(self, info: Info) -> Exercise:
        row = await info.context.loaders.by_id(exercises).load(self.exercise_db_id)
        if row is None:
            raise not_found("Exercise")
        return from_row(Exercise, row)

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef:
        row = await required_physiotherapist_row(info, self.physiotherapist_db_id)
        return cast("Physiotherapist", build("Physiotherapist", row))

    @strawberry.field
    @declared_list("ExerciseExecution")
    async def executions(
        self,
        info: Info,
        query: ListQuery,
    ) -> Connection[ExerciseExecution]:
        return await child_connection(
            info.context.loaders,
            EXECUTIONS_OF_PRESCRIPTION,
            self.db_id,
            query,
            row_builder(ExerciseExecution),
        )
