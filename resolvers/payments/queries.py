"""`payments`: the payments the caller may see, oldest first, with their filter."""

import strawberry

from graph.api.builders import input_values, row_builder
from graph.api.context import Info
from graph.api.relay import Connection, list_connection
from graph.sql.declared import filter_conditions, sort_key
from graph.sql.pagination import PageArgs
from models.payments import payments
from resolvers.payments.types import Payment, PaymentFilter


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
        sort_key("Payment"),
        PageArgs.parse(first, after, last, before),
        row_builder(Payment),
        filter_conditions("Payment", input_values(filter)),
    )


@strawberry.type
class PaymentQueries:
    payments: Connection[Payment] = strawberry.field(resolver=list_payments)
