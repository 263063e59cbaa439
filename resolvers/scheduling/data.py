"""Appointments at row level: the nested lists other areas' types show (`Patient.appointments`,
`Physiotherapist.appointments`)."""

import uuid

from sqlalchemy import RowMapping

from graph.api.context import Info
from graph.sql.declared import child_list
from models.scheduling import appointments

# Filtered by the appointments' declared filter (models/scheduling.py), as `appointments` is.
APPOINTMENTS_OF_PATIENT = child_list("Patient", "appointments")
APPOINTMENTS_OF_PHYSIOTHERAPIST = child_list("Physiotherapist", "appointments")


async def appointment_row(info: Info, appointment_id: uuid.UUID) -> RowMapping | None:
    return await info.context.loaders.by_id(appointments).load(appointment_id)
