"""Prescriptions: a physiotherapist prescribes an exercise to a patient they treat (RLS checks
it: 0002). `prescriptions`, `prescribeExercise`, `setPrescriptionStatus`."""

from datetime import date
from typing import Any

import strawberry

from graph.api.builders import from_row, row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.core.calendar import clinic_today
from graph.core.errors import FORBIDDEN, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.sql.declared import filter_conditions
from graph.sql.list_query import ListQuery
from graph.sql.writes import insert_row, update_in_state
from models.exercises import exercise_prescriptions, exercises
from models.patients import patients
from resolvers.exercises.types import ExercisePrescription, PrescriptionStatus
from resolvers.exercises.validation import (
    MAX_REPETITIONS,
    MAX_SECONDS,
    MAX_SETS,
    in_range,
    optional_text,
)

MAX_FREQUENCY = 21  # per week: three times a day

# The statuses a prescription may come from to reach each status (COMPLETED and CANCELLED
# are final).
TRANSITIONS: dict[PrescriptionStatus, tuple[str, ...]] = {
    PrescriptionStatus.ACTIVE: ("paused",),
    PrescriptionStatus.PAUSED: ("active",),
    PrescriptionStatus.COMPLETED: ("active", "paused"),
    PrescriptionStatus.CANCELLED: ("active", "paused"),
}


@declared_list("ExercisePrescription")
async def list_prescriptions(
    info: Info,
    query: ListQuery,
    patient_id: strawberry.ID | None = None,
    status: PrescriptionStatus | None = None,
) -> Connection[ExercisePrescription]:
    """The prescriptions the caller may see (RLS), oldest first."""
    info.context.require_identity()
    given = {"status": status, "patientId": patient_id}
    conditions = filter_conditions("ExercisePrescription", given, prefix="")
    return await list_connection(
        info.context.db,
        exercise_prescriptions,
        query,
        row_builder(ExercisePrescription),
        conditions,
    )


@strawberry.input
class PrescribeExerciseInput:
    patient_id: strawberry.ID
    exercise_id: strawberry.ID
    sets: int
    frequency_per_week: int
    starts_on: date
    repetitions: int | None = None
    duration_seconds: int | None = None
    ends_on: date | None = None
    notes: str | None = None


@strawberry.input
class SetPrescriptionStatusInput:
    id: strawberry.ID
    status: PrescriptionStatus


def _prescription_values(input: PrescribeExerciseInput) -> dict[str, Any]:
    repetitions = in_range(input.repetitions, "repetitions", 1, MAX_REPETITIONS)
    seconds = in_range(input.duration_seconds, "durationSeconds", 1, MAX_SECONDS)
    if repetitions is None and seconds is None:
        raise bad_input("repetitions", "Give repetitions or durationSeconds (or both)")
    if input.ends_on is not None:
        if input.ends_on < input.starts_on:
            raise bad_input("endsOn", "endsOn must not be before startsOn")
        if input.ends_on < clinic_today():
            raise bad_input("endsOn", "endsOn must not be in the past")
    return {
        "sets": in_range(input.sets, "sets", 1, MAX_SETS),
        "repetitions": repetitions,
        "duration_seconds": seconds,
        "frequency_per_week": in_range(
            input.frequency_per_week, "frequencyPerWeek", 1, MAX_FREQUENCY
        ),
        "starts_on": input.starts_on,
        "ends_on": input.ends_on,
        "notes": optional_text(input.notes),
    }


async def prescribe_exercise(info: Info, input: PrescribeExerciseInput) -> ExercisePrescription:
    """A prescription by the calling physiotherapist, for a patient they treat."""
    identity = info.context.require_role(Role.PHYSIOTHERAPIST)
    patient_id = parse_uuid_id(input.patient_id, "Patient", field="patientId")
    exercise_id = parse_uuid_id(input.exercise_id, "Exercise", field="exerciseId")
    values = _prescription_values(input)
    loaders = info.context.loaders
    if await loaders.by_id(patients).load(patient_id) is None:
        raise not_found("Patient", field="patientId")
    if await loaders.by_id(exercises).load(exercise_id) is None:
        raise not_found("Exercise", field="exerciseId")
    try:
        row = await insert_row(
            info.context.db,
            exercise_prescriptions,
            {
                **values,
                "clinic_id": identity.clinic_id,
                "patient_id": patient_id,
                "exercise_id": exercise_id,
                "physiotherapist_id": identity.physiotherapist_id,
            },
        )
    except ApiError as error:
        if error.extensions["code"] == FORBIDDEN:
            raise ApiError(
                FORBIDDEN, "You may only prescribe for patients you treat", field="patientId"
            ) from None
        raise
    return from_row(ExercisePrescription, row)


async def set_prescription_status(
    info: Info, input: SetPrescriptionStatusInput
) -> ExercisePrescription:
    """ACTIVE ⇄ PAUSED; ACTIVE or PAUSED → COMPLETED or CANCELLED (final). Ending a
    prescription early moves its endsOn to today, so adherence stops counting there. Setting
    the status it already has changes nothing."""
    info.context.require_role(Role.PHYSIOTHERAPIST)
    prescription_id = parse_uuid_id(input.id, "ExercisePrescription")
    current = await info.context.loaders.by_id(exercise_prescriptions).load(prescription_id)
    if current is None:
        raise not_found("ExercisePrescription", field="id")
    target = input.status
    if current["status"] == target.value:
        return from_row(ExercisePrescription, current)
    values: dict[str, Any] = {"status": target.value}
    if target in (PrescriptionStatus.COMPLETED, PrescriptionStatus.CANCELLED):
        today = clinic_today()
        if current["ends_on"] is None or current["ends_on"] > today:
            values["ends_on"] = max(today, current["starts_on"])
    row = await update_in_state(
        info.context.db,
        exercise_prescriptions,
        prescription_id,
        TRANSITIONS[target],
        values,
        "Prescription",
    )
    return from_row(ExercisePrescription, row)
