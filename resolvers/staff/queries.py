"""`physiotherapists`: the clinic's physiotherapists, by name."""

import strawberry

from graph.api.builders import row_builder
from graph.api.context import Info
from graph.api.relay import Connection, list_connection
from graph.sql.declared import sort_key
from graph.sql.pagination import PageArgs
from models.accounts import physiotherapists
from resolvers.staff.types import Physiotherapist


async def list_physiotherapists(
    info: Info, first: int | None = None, after: str | None = None
) -> Connection[Physiotherapist]:
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        physiotherapists,
        sort_key("Physiotherapist"),
        PageArgs.parse(first, after),
        row_builder(Physiotherapist),
    )


@strawberry.type
class StaffQueries:
    physiotherapists: Connection[Physiotherapist] = strawberry.field(resolver=list_physiotherapists)
