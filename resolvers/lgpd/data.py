"""LGPD records at row level: the order of each list, the consents other areas' types show
(`Patient.consents`), and the patient a request names."""

from sqlalchemy import RowMapping

from graph.api.context import Info
from graph.core.errors import not_found
from graph.core.ids import parse_uuid_id
from graph.sql.loaders import ChildList
from graph.sql.pagination import SortKey
from models.compliance import audit_log, consents, data_subject_requests
from resolvers.patients.data import patient_row

CONSENT_SORT = SortKey((consents.c.created_at, consents.c.id))
CONSENTS_OF_PATIENT = ChildList(consents, "patient_id", CONSENT_SORT)

dsr = data_subject_requests.c
CLOSED = dsr.fulfilled_at.is_not(None).label("closed")
# Open requests first, by deadline (so overdue ones lead), then fulfilled ones.
REQUEST_SORT = SortKey((CLOSED, dsr.due_at, dsr.id))

AUDIT_SORT = SortKey((audit_log.c.at, audit_log.c.id))


async def visible_patient_row(info: Info, global_id: str, field: str = "patientId") -> RowMapping:
    """The patient a global ID of the input names: NOT_FOUND (on `field`) if not visible."""
    row = await patient_row(info, parse_uuid_id(global_id, "Patient", field=field))
    if row is None:
        raise not_found("Patient", field=field)
    return row


async def audit_entry_row(info: Info, entry_id: int) -> RowMapping | None:
    """An audit entry (bigint ids: one out of range names nothing)."""
    if not 0 < entry_id < 2**63:
        return None
    return await info.context.loaders.by_id(audit_log).load(entry_id)
