"""Exercises at row level: the order of each list and the nested lists other areas' types
show (`Patient.prescriptions`)."""

from sqlalchemy import ColumnElement

from graph.sql.loaders import ChildList
from graph.sql.pagination import SortKey
from models.exercises import exercise_executions, exercise_prescriptions, exercises

EXERCISE_SORT = SortKey((exercises.c.name, exercises.c.id))
PRESCRIPTION_SORT = SortKey((exercise_prescriptions.c.created_at, exercise_prescriptions.c.id))
EXECUTION_SORT = SortKey((exercise_executions.c.executed_at, exercise_executions.c.id))


def status_filter(status: str | None) -> list[ColumnElement[bool]]:
    """Prescriptions of one status (its database spelling), or all."""
    return [exercise_prescriptions.c.status == status] if status else []


PRESCRIPTIONS_OF_PATIENT = ChildList(
    exercise_prescriptions, "patient_id", PRESCRIPTION_SORT, status_filter
)
EXECUTIONS_OF_PRESCRIPTION = ChildList(exercise_executions, "prescription_id", EXECUTION_SORT)
