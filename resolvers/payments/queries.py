"""`payments`: the payments the caller may see, oldest first, with their filter."""

import strawberry

from graph.api.builders import input_values, row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.sql.declared import filter_conditions
from graph.sql.list_query import ListQuery
from models.payments import payments
from resolvers.payments.types import Payment, PaymentFilter


@declared_list("Payment")
async def list_payments(
    info: Info,
    query: ListQuery,
    filter: PaymentFilter | None = None,
) -> Connection[Payment]:
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        payments,
        query,
        row_builder(Payment),
        filter_conditions("Payment", input_values(filter)),
    )


@strawberry.type
class PaymentQueries:
    payments: Connection[Payment] = strawberry.field(resolver=list_payments)
