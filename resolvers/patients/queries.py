"""`patients`: the clinic's patients, by name, with their filter."""

import strawberry
from sqlalchemy import ColumnElement, String, cast, func, or_

from graph.api.builders import input_values, row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.sql.declared import filter_conditions
from graph.sql.list_query import ListQuery
from models.patients import patients
from resolvers.patients.types import Patient, PatientFilter


def _search(term: str | None) -> list[ColumnElement[bool]]:
    """`search` (declared resolver-only, models/patients.py): the name ignoring accents and
    case, the e-mail, or the CPF's leading digits."""
    if not term or not term.strip():
        return []
    term = term.strip().lower()
    name = func.immutable_unaccent(func.lower(patients.c.name))
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    matches = [name.like(func.immutable_unaccent(pattern)), patients.c.email.ilike(pattern)]
    term_digits = "".join(ch for ch in term if ch.isdigit())
    if len(term_digits) >= 3:
        matches.append(cast(patients.c.cpf, String).like(term_digits + "%"))
    return [or_(*matches)]


def _filter_conditions(filter: PatientFilter | None) -> list[ColumnElement[bool]]:
    """The declared filters, and the resolver's own `search`."""
    if filter is None:
        return []
    return _search(filter.search) + filter_conditions("Patient", input_values(filter))


@declared_list("Patient")
async def list_patients(
    info: Info,
    query: ListQuery,
    filter: PatientFilter | None = None,
) -> Connection[Patient]:
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        patients,
        query,
        row_builder(Patient),
        _filter_conditions(filter),
    )


@strawberry.type
class PatientQueries:
    patients: Connection[Patient] = strawberry.field(resolver=list_patients)
