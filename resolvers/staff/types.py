"""The physiotherapist and the staff login."""

import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry

import resolvers.enums  # noqa: F401  (registers Role as a GraphQL enum)
from graph.api.builders import input_values
from graph.api.context import Info
from graph.api.declared_fields import declared_fields
from graph.api.relay import Connection, Node, child_connection
from graph.core.identity import Role
from graph.sql.declared import criteria
from graph.sql.pagination import PageArgs
from resolvers.objects import builder, register
from resolvers.patients.data import PATIENTS_OF_PHYSIOTHERAPIST
from resolvers.scheduling.data import APPOINTMENTS_OF_PHYSIOTHERAPIST

if TYPE_CHECKING:
    from resolvers.patients.types import Patient
    from resolvers.scheduling.types import Appointment, AppointmentFilter

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]
AppointmentRef = Annotated["Appointment", strawberry.lazy("resolvers.scheduling.types")]
AppointmentFilterRef = Annotated["AppointmentFilter", strawberry.lazy("resolvers.scheduling.types")]


@register
@strawberry.type
@declared_fields
class Physiotherapist(Node):
    db_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def patients(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PatientRef]:
        return await child_connection(
            info.context.loaders,
            PATIENTS_OF_PHYSIOTHERAPIST,
            self.db_id,
            PageArgs.parse(first, after),
            builder("Patient"),
        )

    @strawberry.field
    async def appointments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: AppointmentFilterRef | None = None,
    ) -> Connection[AppointmentRef]:
        return await child_connection(
            info.context.loaders,
            APPOINTMENTS_OF_PHYSIOTHERAPIST,
            self.db_id,
            PageArgs.parse(first, after, last, before),
            builder("Appointment"),
            criteria("Appointment", input_values(filter)),
        )


@strawberry.type
@declared_fields
class StaffUser:
    role: Role
