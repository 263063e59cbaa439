"""Exercises at row level: the nested lists other areas' types show (`Patient.prescriptions`,
filtered by the prescriptions' declared `status`)."""

from graph.sql.declared import child_list

PRESCRIPTIONS_OF_PATIENT = child_list("Patient", "prescriptions")
EXECUTIONS_OF_PRESCRIPTION = child_list("ExercisePrescription", "executions")
