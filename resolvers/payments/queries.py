"""`payments`: the payments the caller may see, oldest first, with their filter."""

import strawberry
from sqlalchemy import ColumnElement, and_, func, literal

from graph.api.context import Info
from graph.api.relay import Connection, list_connection
from graph.core.ids import parse_uuid_id
from graph.sql.compiler import FilterCondition, id_of, one_of
from graph.sql.pagination import PageArgs
from models.payments import payments
from resolvers.payments.data import PAYMENT_SORT, clinic_today
from resolvers.payments.types import Payment, PaymentFilter


def _overdue_condition() -> ColumnElement[bool]:
    today = literal(clinic_today())
    return and_(payments.c.status == "pending", payments.c.due_date < today)


def _filter_conditions(filter: PaymentFilter | None) -> list[ColumnElement[bool]]:
    """`from`/`to` bound the payment's due date (its creation date when it has none)."""
    if filter is None:
        return []
    c = payments.c
    conditions: list[ColumnElement[bool]] = []
    if filter.status:
        conditions.append(c.status.in_([s.value for s in filter.status]))
    if filter.patient_id is not None:
        patient = parse_uuid_id(filter.patient_id, "Patient", field="filter.patientId")
        conditions.append(c.patient_id == patient)
    if filter.overdue is not None:
        overdue = _overdue_condition()
        conditions.append(overdue if filter.overdue else ~overdue)
    billing_date = func.coalesce(c.due_date, func.date(c.created_at))
    if filter.from_ is not None:
        conditions.append(billing_date >= filter.from_)
    if filter.to is not None:
        conditions.append(billing_date <= filter.to)
    return conditions


# The same conditions for the query compiler (graph/sql/compiler.py), on its row alias `{t}`;
# `overdue` (which depends on the clinic's today) is left to the resolvers.
PAYMENT_FILTER = {
    "status": one_of("status"),
    "patientId": id_of("patient_id", "Patient", "filter.patientId"),
    "from": FilterCondition(
        "coalesce({t}.due_date, date({t}.created_at)) >= {v}", "date", lambda value: value
    ),
    "to": FilterCondition(
        "coalesce({t}.due_date, date({t}.created_at)) <= {v}", "date", lambda value: value
    ),
}


async def list_payments(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: PaymentFilter | None = None,
) -> Connection[Payment]:
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        payments,
        PAYMENT_SORT,
        PageArgs.parse(first, after, last, before),
        Payment.from_row,
        _filter_conditions(filter),
    )


@strawberry.type
class PaymentQueries:
    payments: Connection[Payment] = strawberry.field(resolver=list_payments)
