"""Prontuários at row level: their lists, and the loads other areas call. Every path that shows
a prontuário logs the read (graph/api/audit_reads.py: one batched statement per nesting
level, whatever the number of records)."""

import uuid
from collections.abc import Iterable

from sqlalchemy import RowMapping

from graph.api.audit_reads import record_reads
from graph.api.context import Info
from graph.sql.child_list import ChildList
from graph.sql.declared import child_list, sort_key
from graph.sql.pagination import SortKey
from models.clinical import clinical_profiles, prontuarios

PRONTUARIOS_OF_PATIENT = child_list("Patient", "prontuarios")
# At most one record per appointment (unique index prontuarios_appointment_key).
PRONTUARIOS_OF_APPOINTMENT = ChildList(prontuarios, "appointment_id", sort_key("Prontuario"))
ADDENDA_OF_PRONTUARIO = child_list("Prontuario", "addenda")
VITAL_SIGNS_OF_PATIENT = child_list("Patient", "vitalSigns")
# At most one profile per patient (unique clinical_profiles_patient_key).
PROFILE_OF_PATIENT = ChildList(clinical_profiles, "patient_id", SortKey((clinical_profiles.c.id,)))


async def record_prontuario_reads(info: Info, prontuario_ids: Iterable[uuid.UUID]) -> None:
    """Log that the caller was shown these records."""
    await record_reads(info, "prontuarios", prontuario_ids)


async def prontuario_row_of_appointment(info: Info, appointment_id: uuid.UUID) -> RowMapping | None:
    """`Appointment.prontuario`, batched across appointments (its read logged)."""
    rows = await info.context.loaders.all_children(PRONTUARIOS_OF_APPOINTMENT).load(appointment_id)
    if not rows:
        return None
    await record_prontuario_reads(info, [rows[0]["id"]])
    return rows[0]


async def clinical_profile_row(info: Info, patient_id: uuid.UUID) -> RowMapping | None:
    """The patient's clinical profile, batched across patients, its read logged; None when
    none is recorded or the caller may not read it (RLS: never a receptionist)."""
    rows = await info.context.loaders.all_children(PROFILE_OF_PATIENT).load(patient_id)
    if not rows:
        return None
    await record_reads(info, "clinical_profiles", [rows[0]["id"]])
    return rows[0]


async def record_vital_signs_reads(info: Info, ids: Iterable[uuid.UUID]) -> None:
    """Log that the caller was shown (or was given figures of) these vital signs."""
    await record_reads(info, "vital_signs", ids)
