"""Patients at row level: what other areas read of them."""

import uuid

from sqlalchemy import RowMapping

from graph.api.context import Info
from graph.core.errors import not_found
from graph.sql.declared import child_list
from models.patients import patients

PATIENTS_OF_PHYSIOTHERAPIST = child_list("Physiotherapist", "patients")


async def patient_row(info: Info, patient_id: uuid.UUID) -> RowMapping | None:
    return await info.context.loaders.by_id(patients).load(patient_id)


async def required_patient_row(info: Info, patient_id: uuid.UUID) -> RowMapping:
    """The patient a visible row points at (a non-null field): NOT_FOUND if not visible."""
    row = await patient_row(info, patient_id)
    if row is None:
        raise not_found("Patient")
    return row
