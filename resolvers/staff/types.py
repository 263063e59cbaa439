"""The physiotherapist and the staff login."""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

import resolvers.enums  # noqa: F401  (registers Role as a GraphQL enum)
from graph.api.builders import from_row, input_values
from graph.api.context import Info
from graph.api.declared_fields import declared_fields
from graph.api.lists import declared_list
from graph.api.object_types import register
from graph.api.relay import Connection, Node, child_connection
from graph.core.identity import Role
from graph.core.validators import aware
from graph.sql.declared import criteria
from graph.sql.list_query import ListQuery
from resolvers.objects import build, builder
from resolvers.patients.data import PATIENTS_OF_PHYSIOTHERAPIST
from resolvers.scheduling.data import (
    APPOINTMENTS_OF_PHYSIOTHERAPIST,
    time_off_rows,
    working_hours_rows,
)
from resolvers.staff.data import physiotherapist_row

if TYPE_CHECKING:
    from resolvers.patients.types import Patient
    from resolvers.scheduling.types import (
        Appointment,
        AppointmentFilter,
        TimeOff,
        WorkingInterval,
    )

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]
AppointmentRef = Annotated["Appointment", strawberry.lazy("resolvers.scheduling.types")]
AppointmentFilterRef = Annotated["AppointmentFilter", strawberry.lazy("resolvers.scheduling.types")]
WorkingIntervalRef = Annotated["WorkingInterval", strawberry.lazy("resolvers.scheduling.types")]
TimeOffRef = Annotated["TimeOff", strawberry.lazy("resolvers.scheduling.types")]


@register
@strawberry.type
@declared_fields
class Physiotherapist(Node):
    db_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    @declared_list("Patient")
    async def patients(
        self,
        info: Info,
        query: ListQuery,
    ) -> Connection[PatientRef]:
        return await child_connection(
            info.context.loaders,
            PATIENTS_OF_PHYSIOTHERAPIST,
            self.db_id,
            query,
            builder("Patient"),
        )

    @strawberry.field
    @declared_list("Appointment")
    async def appointments(
        self,
        info: Info,
        query: ListQuery,
        filter: AppointmentFilterRef | None = None,
    ) -> Connection[AppointmentRef]:
        return await child_connection(
            info.context.loaders,
            APPOINTMENTS_OF_PHYSIOTHERAPIST,
            self.db_id,
            query,
            builder("Appointment"),
            criteria("Appointment", input_values(filter)),
        )

    @strawberry.field
    async def working_hours(self, info: Info) -> list[WorkingIntervalRef]:
        """The weekly working hours, by weekday and start. None at all: the physiotherapist
        is not constrained by hours (and `availableSlots` offers them nothing)."""
        rows = await working_hours_rows(info, self.db_id)
        return [cast("WorkingInterval", build("WorkingInterval", row)) for row in rows]

    @strawberry.field
    async def time_off(
        self,
        info: Info,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> list[TimeOffRef]:
        """Time off meeting [from, to) (either end open), by start; at most 500. Staff only
        (FORBIDDEN for a patient)."""
        info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
        since = aware(from_, "from") if from_ is not None else None
        until = aware(to, "to") if to is not None else None
        rows = await time_off_rows(info, self.db_id, since, until)
        return [cast("TimeOff", build("TimeOff", row)) for row in rows]


@register
@strawberry.type
@declared_fields
class StaffUser:
    """A login of the clinic's staff (every login but a patient's)."""

    role: Role
    physiotherapist_db_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def physiotherapist(self, info: Info) -> Physiotherapist | None:
        physio = self.physiotherapist_db_id
        row = await physiotherapist_row(info, physio) if physio else None
        return from_row(Physiotherapist, row) if row else None
