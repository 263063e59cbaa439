"""The exercise area's Query fields: the library and the prescriptions."""

import strawberry

from graph.api.relay import Connection
from resolvers.exercises import library, prescriptions
from resolvers.exercises.types import Exercise, ExercisePrescription


@strawberry.type
class ExerciseQueries:
    exercises: Connection[Exercise] = strawberry.field(resolver=library.list_exercises)
    exercise_categories: list[str] = strawberry.field(resolver=library.exercise_categories)
    prescriptions: Connection[ExercisePrescription] = strawberry.field(
        resolver=prescriptions.list_prescriptions
    )
