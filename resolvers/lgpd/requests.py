"""Data-subject requests (LGPD arts. 18, 19): the deadline is the database's (requestedAt + 15
days); lists put open requests first, by deadline, so overdue ones lead."""

from datetime import UTC, datetime
from typing import Any

import strawberry
from sqlalchemy import func, update

from graph.api.builders import from_row, input_values, row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.core.errors import FORBIDDEN, INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id, to_global_id
from graph.core.validators import aware, required_text
from graph.sql.declared import filter_conditions
from graph.sql.list_query import ListQuery
from graph.sql.writes import insert_row
from models.compliance import data_subject_requests
from resolvers.lgpd.consents import FRONT_DESK
from resolvers.lgpd.data import dsr, visible_patient_row
from resolvers.lgpd.types import DataSubjectRequest, DataSubjectRequestKind


@strawberry.input
class DataSubjectRequestFilter:
    patient_id: strawberry.ID | None = None
    kind: list[DataSubjectRequestKind] | None = None
    open: bool | None = None
    overdue: bool | None = None


@declared_list("DataSubjectRequest")
async def list_data_subject_requests(
    info: Info,
    query: ListQuery,
    filter: DataSubjectRequestFilter | None = None,
) -> Connection[DataSubjectRequest]:
    """Open requests first, by deadline (overdue ones lead), then the fulfilled ones."""
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        data_subject_requests,
        query,
        row_builder(DataSubjectRequest),
        filter_conditions("DataSubjectRequest", input_values(filter)),
    )


@strawberry.input
class FileDataSubjectRequestInput:
    kind: DataSubjectRequestKind
    patient_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for staff; a patient files for themselves."
    )
    details: str | None = None
    requested_at: datetime | None = strawberry.field(
        default=None,
        description="Staff only: when the request was received (the deadline runs from it).",
    )


@strawberry.input
class FulfillDataSubjectRequestInput:
    id: strawberry.ID
    response: str


async def file_data_subject_request(
    info: Info, input: FileDataSubjectRequestInput
) -> DataSubjectRequest:
    identity = info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PATIENT)
    values: dict[str, Any] = {"clinic_id": identity.clinic_id, "kind": input.kind.value}
    if input.patient_id is None:
        if identity.patient_id is None:
            raise bad_input("patientId", "patientId is required")
        patient_global_id = to_global_id("Patient", identity.patient_id)
    else:
        patient_global_id = input.patient_id
    values["patient_id"] = (await visible_patient_row(info, patient_global_id))["id"]
    if input.details is not None and input.details.strip():
        values["details"] = required_text(input.details, "details")
    if input.requested_at is not None:
        if identity.role is Role.PATIENT:
            raise ApiError(FORBIDDEN, "A patient's request is dated when it is filed")
        requested_at = aware(input.requested_at, "requestedAt")
        if requested_at > datetime.now(UTC):
            raise bad_input("requestedAt", "requestedAt must not be in the future")
        values["requested_at"] = requested_at
    row = await insert_row(info.context.db, data_subject_requests, values)
    return from_row(DataSubjectRequest, row)


async def fulfill_data_subject_request(
    info: Info, input: FulfillDataSubjectRequestInput
) -> DataSubjectRequest:
    info.context.require_role(*FRONT_DESK)
    request_id = parse_uuid_id(input.id, "DataSubjectRequest")
    response = required_text(input.response, "response")
    row = await info.context.db.fetch_one(
        update(data_subject_requests)
        .where(dsr.id == request_id, dsr.fulfilled_at.is_(None))
        .values(fulfilled_at=func.now(), response=response, updated_at=func.now())
        .returning(*data_subject_requests.c)
    )
    if row is not None:
        return from_row(DataSubjectRequest, row)
    if await info.context.loaders.by_id(data_subject_requests).load(request_id) is None:
        raise not_found("DataSubjectRequest", field="id")
    raise ApiError(INVALID_STATE, "This request was already fulfilled")
