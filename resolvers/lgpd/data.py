"""LGPD records at row level: the consents other areas' types show (`Patient.consents`), and
the patient a request names."""

from sqlalchemy import RowMapping

from graph.api.context import Info
from graph.core.errors import not_found
from graph.core.ids import parse_uuid_id
from graph.sql.declared import child_list
from models.compliance import data_subject_requests
from resolvers.patients.data import patient_row

CONSENTS_OF_PATIENT = child_list("Patient", "consents")

dsr = data_subject_requests.c


async def visible_patient_row(info: Info, global_id: str, field: str = "patientId") -> RowMapping:
    """The patient a global ID of the input names: NOT_FOUND (on `field`) if not visible."""
    row = await patient_row(info, parse_uuid_id(global_id, "Patient", field=field))
    if row is None:
        raise not_found("Patient", field=field)
    return row
