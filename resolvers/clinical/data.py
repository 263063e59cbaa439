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
from models.clinical import prontuarios

PRONTUARIOS_OF_PATIENT = child_list("Patient", "prontuarios")
# At most one record per appointment (unique index prontuarios_appointment_key).
PRONTUARIOS_OF_APPOINTMENT = ChildList(prontuarios, "appointment_id", sort_key("Prontuario"))
ADDENDA_OF_PRONTUARIO = child_list("Prontuario", "addenda")


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
