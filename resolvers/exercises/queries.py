"""The exercise area's Query fields: the library, the prescriptions and their executions."""

import strawberry

from graph.api.relay import Connection
from resolvers.exercises import executions, library, prescriptions
from resolvers.exercises.types import Exercise, ExerciseExecution, ExercisePrescription


@strawberry.type
class ExerciseQueries:
    exercises: Connection[Exercise] = strawberry.field(resolver=library.list_exercises)
    exercise_categories: list[str] = strawberry.field(resolver=library.exercise_categories)
    prescriptions: Connection[ExercisePrescription] = strawberry.field(
        resolver=prescriptions.list_prescriptions
    )
    exercise_executions: Connection[ExerciseExecution] = strawberry.field(
        resolver=executions.list_exercise_executions
    )
