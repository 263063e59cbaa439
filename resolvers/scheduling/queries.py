"""`appointments`: the agenda the caller may see, by start time, with its filter."""

import strawberry

from graph.api.builders import input_values, row_builder
from graph.api.context import Info
from graph.api.relay import Connection, list_connection
from graph.sql.declared import filter_conditions, sort_key
from graph.sql.pagination import PageArgs
from models.scheduling import appointments
from resolvers.scheduling.types import Appointment, AppointmentFilter


async def list_appointments(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: AppointmentFilter | None = None,
) -> Connection[Appointment]:
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        appointments,
        sort_key("Appointment"),
        PageArgs.parse(first, after, last, before),
        row_builder(Appointment),
        filter_conditions("Appointment", input_values(filter)),
    )


@strawberry.type
class SchedulingQueries:
    appointments: Connection[Appointment] = strawberry.field(resolver=list_appointments)
