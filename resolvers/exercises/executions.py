"""Executions: the patient logs sessions of their own ACTIVE prescriptions only (RLS checks it:
0002). `logExerciseExecution`."""

from datetime import UTC, datetime, timedelta

import strawberry
from strawberry.scalars import JSON

from graph.api.builders import from_row, row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.core.calendar import clinic_date
from graph.core.errors import INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.core.validators import aware
from graph.sql.list_query import ListQuery
from graph.sql.writes import insert_row
from models.exercises import exercise_executions, exercise_prescriptions
from resolvers.exercises.types import ExerciseExecution, PrescriptionStatus
from resolvers.exercises.validation import (
    MAX_REPETITIONS,
    MAX_SECONDS,
    MAX_SETS,
    in_range,
    optional_text,
)

CLOCK_SKEW = timedelta(minutes=1)  # a phone's clock may run a little ahead


@strawberry.input
class LogExerciseExecutionInput:
    prescription_id: strawberry.ID
    sets_done: int
    executed_at: datetime | None = None
    repetitions_done: int | None = None
    duration_seconds: int | None = None
    pain_level: int | None = None
    patient_notes: str | None = None
    sensor_data: JSON | None = None


def _executed_at(value: datetime | None) -> datetime:
    now = datetime.now(UTC)
    if value is None:
        return now
    executed_at = aware(value, "executedAt")
    if executed_at > now + CLOCK_SKEW:
        raise bad_input("executedAt", "executedAt must not be in the future")
    return executed_at


@declared_list("ExerciseExecution")
async def list_exercise_executions(info: Info, query: ListQuery) -> Connection[ExerciseExecution]:
    """What the caller may see of the patients' logged executions, oldest first."""
    info.context.require_identity()
    return await list_connection(
        info.context.db, exercise_executions, query, row_builder(ExerciseExecution)
    )


async def log_exercise_execution(info: Info, input: LogExerciseExecutionInput) -> ExerciseExecution:
    """The calling patient logs a session of one of their own ACTIVE prescriptions."""
    identity = info.context.require_role(Role.PATIENT)
    prescription_id = parse_uuid_id(
        input.prescription_id, "ExercisePrescription", field="prescriptionId"
    )
    executed_at = _executed_at(input.executed_at)
    values = {
        "sets_done": in_range(input.sets_done, "setsDone", 0, MAX_SETS),
        "repetitions_done": in_range(input.repetitions_done, "repetitionsDone", 0, MAX_REPETITIONS),
        "duration_seconds": in_range(input.duration_seconds, "durationSeconds", 0, MAX_SECONDS),
        "pain_level": in_range(input.pain_level, "painLevel", 0, 10),
        "patient_notes": optional_text(input.patient_notes),
        "sensor_data": input.sensor_data,
    }
    # RLS shows a patient only their own prescriptions: anyone else's is NOT_FOUND.
    prescription = await info.context.loaders.by_id(exercise_prescriptions).load(prescription_id)
    if prescription is None or prescription["patient_id"] != identity.patient_id:
        raise not_found("ExercisePrescription", field="prescriptionId")
    if prescription["status"] != PrescriptionStatus.ACTIVE.value:
        raise ApiError(
            INVALID_STATE,
            f"A {prescription['status']} prescription takes no executions",
            field="prescriptionId",
        )
    day = clinic_date(executed_at)
    if day < prescription["starts_on"]:
        raise bad_input("executedAt", "executedAt is before the prescription starts")
    if prescription["ends_on"] is not None and day > prescription["ends_on"]:
        raise bad_input("executedAt", "executedAt is after the prescription ended")
    row = await insert_row(
        info.context.db,
        exercise_executions,
        {
            **values,
            "clinic_id": identity.clinic_id,
            "prescription_id": prescription_id,
            "patient_id": identity.patient_id,
            "executed_at": executed_at,
        },
    )
    return from_row(ExerciseExecution, row)
