"""`physiotherapists`: the clinic's physiotherapists, by name; `staffUsers`: its staff logins
(admins only)."""

import strawberry

from graph.api.builders import row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.core.identity import Role
from graph.sql.list_query import ListQuery
from models.accounts import physiotherapists, users
from resolvers.staff.types import Physiotherapist, StaffUser


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


@declared_list("StaffUser")
async def list_staff_users(info: Info, query: ListQuery) -> Connection[StaffUser]:
    """Every login of the clinic but the patients', by e-mail."""
    info.context.require_role(Role.ADMIN)
    return await list_connection(
        info.context.db,
        users,
        query,
        row_builder(StaffUser),
        [users.c.role != Role.PATIENT.value],
    )


@strawberry.type
class StaffQueries:
    physiotherapists: Connection[Physiotherapist] = strawberry.field(resolver=list_physiotherapists)
    staff_users: Connection[StaffUser] = strawberry.field(resolver=list_staff_users)
