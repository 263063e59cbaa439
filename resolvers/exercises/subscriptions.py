"""`exerciseExecutionLogged`: new home-exercise logs, as the subscriber may see them."""

import dataclasses
from collections.abc import AsyncGenerator

import strawberry

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.identity import Role
from graph.realtime.broker import declared_topic
from resolvers.events import After, optional_id, row_matches
from resolvers.exercises.types import ExerciseExecution

EXECUTIONS = declared_topic("exerciseExecutionLogged", "ExerciseExecution")


async def exercise_execution_logged(
    info: Info, patient_id: strawberry.ID | None = None, after: After = None
) -> AsyncGenerator[ExerciseExecution, None]:
    """New home-exercise logs; a receptionist has no access to clinical data at all."""
    info.context.require_role(Role.ADMIN, Role.PHYSIOTHERAPIST, Role.PATIENT)
    matches = row_matches(patient_id=optional_id(patient_id, "Patient", "patientId"))
    async for event, row in info.context.events(EXECUTIONS, matches, after=after):
        if event.op == "INSERT":
            yield dataclasses.replace(from_row(ExerciseExecution, row), event_seq=event.seq)


@strawberry.type
class ExerciseSubscriptions:
    exercise_execution_logged: AsyncGenerator[ExerciseExecution, None] = strawberry.subscription(
        resolver=exercise_execution_logged
    )
