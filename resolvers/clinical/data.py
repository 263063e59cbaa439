"""Prontuários at row level: their lists, and the loads other areas call. Every path that shows
a prontuário logs the read (graph/api/audit_reads.py: one batched statement per nesting
level, whatever the number of records)."""

import uuid
from collections.abc import Iterable

from sqlalchemy import RowMapping

from graph.api.audit_reads import record_reads
from graph.api.context import Info
from graph.sql.loaders import ChildList
from graph.sql.pagination import SortKey
from models.clinical import prontuario_addenda, prontuarios

PRONTUARIO_SORT = SortKey((prontuarios.c.created_at, prontuarios.c.id))
ADDENDUM_SORT = SortKey((prontuario_addenda.c.created_at, prontuario_addenda.c.id))
PRONTUARIOS_OF_PATIENT = ChildList(prontuarios, "patient_id", PRONTUARIO_SORT)
# At most one record per appointment (unique index prontuarios_appointment_key).
PRONTUARIOS_OF_APPOINTMENT = ChildList(prontuarios, "appointment_id", PRONTUARIO_SORT)
ADDENDA_OF_PRONTUARIO = ChildList(prontuario_addenda, "prontuario_id", ADDENDUM_SORT)


async def record_prontuario_reads(info: Info, prontuario_ids: Iterable[uuid.UUID]) -> None:
    """Log that the caller was shown these records."""
    await record_reads(info, "prontuarios", prontuario_ids)


async def prontuario_row(info: Info, prontuario_id: uuid.UUID) -> RowMapping | None:
    """A record the caller may see (its read logged), else None."""
    row = await info.context.loaders.by_id(prontuarios).load(prontuario_id)
    if row is not None:
        await record_prontuario_reads(info, [row["id"]])
    return row


async def prontuario_row_of_appointment(info: Info, appointment_id: uuid.UUID) -> RowMapping | None:
    """`Appointment.prontuario`, batched across appointments (its read logged)."""
    rows = await info.context.loaders.all_children(PRONTUARIOS_OF_APPOINTMENT).load(appointment_id)
    if not rows:
        return None
    await record_prontuario_reads(info, [rows[0]["id"]])
    return rows[0]
