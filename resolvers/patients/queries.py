"""`patients`: the clinic's patients, by name, with their filter."""

import strawberry
from sqlalchemy import ColumnElement, String, cast, func, or_

from graph.api.context import Info
from graph.api.relay import Connection, list_connection
from graph.core.ids import parse_uuid_id
from graph.sql.compiler import FilterCondition, id_of
from graph.sql.pagination import PageArgs
from models.patients import patients
from resolvers.patients.data import PATIENT_SORT
from resolvers.patients.types import Patient, PatientFilter


def _filter_conditions(filter: PatientFilter | None) -> list[ColumnElement[bool]]:
    if filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filter.search and filter.search.strip():
        term = filter.search.strip().lower()
        name = func.immutable_unaccent(func.lower(patients.c.name))
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches = [name.like(func.immutable_unaccent(pattern)), patients.c.email.ilike(pattern)]
        term_digits = "".join(ch for ch in term if ch.isdigit())
        if len(term_digits) >= 3:
            matches.append(cast(patients.c.cpf, String).like(term_digits + "%"))
        conditions.append(or_(*matches))
    if filter.status is not None:
        conditions.append(patients.c.status == filter.status.value)
    if filter.physiotherapist_id is not None:
        physio = parse_uuid_id(
            filter.physiotherapist_id, "Physiotherapist", field="filter.physiotherapistId"
        )
        conditions.append(patients.c.physiotherapist_id == physio)
    return conditions


# The same conditions for the query compiler (graph/sql/compiler.py), on its row alias `{t}`;
# `search` (accents, e-mail and CPF digits) is left to the resolvers.
PATIENT_FILTER = {
    "status": FilterCondition("{t}.status = {v}", "text", lambda status: status.value),
    "physiotherapistId": id_of("physiotherapist_id", "Physiotherapist", "filter.physiotherapistId"),
}


async def list_patients(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: PatientFilter | None = None,
) -> Connection[Patient]:
    info.context.require_identity()
    page = PageArgs.parse(first, after, last, before)
    return await list_connection(
        info.context.db, patients, PATIENT_SORT, page, Patient.from_row, _filter_conditions(filter)
    )


@strawberry.type
class PatientQueries:
    patients: Connection[Patient] = strawberry.field(resolver=list_patients)
