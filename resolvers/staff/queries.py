"""`physiotherapists`: the clinic's physiotherapists, by name."""

import strawberry

from graph.api.context import Info
from graph.api.relay import Connection, list_connection
from graph.sql.pagination import PageArgs
from models.accounts import physiotherapists
from resolvers.staff.data import PHYSIOTHERAPIST_SORT
from resolvers.staff.types import Physiotherapist


async def list_physiotherapists(
    info: Info, first: int | None = None, after: str | None = None
) -> Connection[Physiotherapist]:
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        physiotherapists,
        PHYSIOTHERAPIST_SORT,
        PageArgs.parse(first, after),
        Physiotherapist.from_row,
    )


@strawberry.type
class StaffQueries:
    physiotherapists: Connection[Physiotherapist] = strawberry.field(resolver=list_physiotherapists)
