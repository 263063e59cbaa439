"""The exercise area's Mutation fields: library, prescriptions, executions."""

import strawberry

from resolvers.exercises import executions, library, prescriptions
from resolvers.exercises.types import Exercise, ExerciseExecution, ExercisePrescription


@strawberry.type
class ExerciseMutations:
    create_exercise: Exercise = strawberry.field(resolver=library.create_exercise)
    prescribe_exercise: ExercisePrescription = strawberry.field(
        resolver=prescriptions.prescribe_exercise
    )
    set_prescription_status: ExercisePrescription = strawberry.field(
        resolver=prescriptions.set_prescription_status
    )
    log_exercise_execution: ExerciseExecution = strawberry.field(
        resolver=executions.log_exercise_execution
    )
