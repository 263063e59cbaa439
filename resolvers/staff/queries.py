"""`physiotherapists`: the clinic's physiotherapists, by name."""

import strawberry

from graph.api.builders import row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.sql.list_query import ListQuery
from models.accounts import physiotherapists
from resolvers.staff.types import Physiotherapist


@declared_list("Physiotherapist")
async def list_physiotherapists(
    info: Info,
    query: ListQuery,
) -> Connection[Physiotherapist]:
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        physiotherapists,
        query,
        row_builder(Physiotherapist),
    )


@strawberry.type
class StaffQueries:
    physiotherapists: Connection[Physiotherapist] = strawberry.field(resolver=list_physiotherapists)
