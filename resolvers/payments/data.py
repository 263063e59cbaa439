"""Payments at row level: the lists other areas' types show."""

from graph.sql.declared import child_list

PAYMENTS_OF_PATIENT = child_list("Patient", "payments")
PAYMENTS_OF_APPOINTMENT = child_list("Appointment", "payments")
