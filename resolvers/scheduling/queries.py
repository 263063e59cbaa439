"""`appointments`: the agenda the caller may see, by start time, with its filter."""

import strawberry

from graph.api.builders import input_values, row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.sql.declared import filter_conditions
from graph.sql.list_query import ListQuery
from models.scheduling import appointments
from resolvers.scheduling.types import Appointment, AppointmentFilter


@declared_list("Appointment")
async def list_appointments(
    info: Info,
    query: ListQuery,
    filter: AppointmentFilter | None = None,
) -> Connection[Appointment]:
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        appointments,
        query,
        row_builder(Appointment),
        filter_conditions("Appointment", input_values(filter)),
    )


@strawberry.type
class SchedulingQueries:
    appointments: Connection[Appointment] = strawberry.field(resolver=list_appointments)
