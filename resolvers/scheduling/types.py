"""The appointment, its enums and filter, the recurring series, the `appointmentChanged`
event, and availability: working intervals, time off, clinic holidays and available slots."""

import enum
import uuid
from datetime import date as datetime_date
from datetime import datetime, time
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from sqlalchemy import RowMapping

import resolvers.enums  # noqa: F401  (registers Role as a GraphQL enum)
from graph.api.builders import from_row
from graph.api.context import Info
from graph.api.declared_fields import declared_fields
from graph.api.lists import declared_list
from graph.api.object_types import register
from graph.api.relay import Connection, Node, child_connection
from graph.core.identity import Role
from graph.core.ids import to_global_id
from graph.sql.list_query import ListQuery
from resolvers.clinical.data import prontuario_row_of_appointment
from resolvers.events import CURSOR_DESCRIPTION, ChangeOp
from resolvers.objects import build, builder
from resolvers.patients.data import required_patient_row
from resolvers.payments.data import PAYMENTS_OF_APPOINTMENT
from resolvers.scheduling.data import APPOINTMENTS_OF_SERIES, STATUS_HISTORY, series_row
from resolvers.staff.data import required_physiotherapist_row

if TYPE_CHECKING:
    from resolvers.clinical.types import Prontuario
    from resolvers.patients.types import Patient
    from resolvers.payments.types import Payment
    from resolvers.staff.types import Physiotherapist

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]
PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff.types")]
PaymentRef = Annotated["Payment", strawberry.lazy("resolvers.payments.types")]
ProntuarioRef = Annotated["Prontuario", strawberry.lazy("resolvers.clinical.types")]


@strawberry.enum
class AppointmentType(enum.Enum):
    EVALUATION = "evaluation"
    SESSION = "session"
    REEVALUATION = "reevaluation"
    TELECONSULTATION = "teleconsultation"


@strawberry.enum
class AppointmentStatus(enum.Enum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


@strawberry.enum(description="A day of the week; the value is its ISO number (Monday = 1).")
class Weekday(enum.Enum):
    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7


@strawberry.input
class AppointmentFilter:
    from_: datetime | None = strawberry.field(name="from", default=None)
    to: datetime | None = None
    status: list[AppointmentStatus] | None = None
    physiotherapist_id: strawberry.ID | None = None
    patient_id: strawberry.ID | None = None


@register
@strawberry.type(
    description="One status an appointment took: who (the login) and when. Never changes."
)
@declared_fields
class AppointmentStatusChange(Node):
    from_status: AppointmentStatus | None  # null: the booking
    to_status: AppointmentStatus
    actor_role: Role | None


@register
@strawberry.type
@declared_fields
class Appointment(Node):
    type: AppointmentType
    status: AppointmentStatus
    db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    physiotherapist_db_id: strawberry.Private[uuid.UUID]
    series_db_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        return cast(
            "Patient", build("Patient", await required_patient_row(info, self.patient_db_id))
        )

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef:
        row = await required_physiotherapist_row(info, self.physiotherapist_db_id)
        return cast("Physiotherapist", build("Physiotherapist", row))

    @strawberry.field
    async def payments(self, info: Info) -> list[PaymentRef]:
        rows = await info.context.loaders.all_children(PAYMENTS_OF_APPOINTMENT).load(self.db_id)
        return [build("Payment", row) for row in rows]

    @strawberry.field
    async def status_history(self, info: Info) -> list[AppointmentStatusChange]:
        """Every status change, oldest first (staff only: empty for a patient)."""
        rows = await info.context.loaders.all_children(STATUS_HISTORY).load(self.db_id)
        return [from_row(AppointmentStatusChange, row) for row in rows]

    @strawberry.field
    async def prontuario(self, info: Info) -> ProntuarioRef | None:
        """The session's record; null when there is none or the caller may not see it."""
        row = await prontuario_row_of_appointment(info, self.db_id)
        return cast("Prontuario", build("Prontuario", row)) if row else None

    @strawberry.field
    async def series(self, info: Info) -> "AppointmentSeries | None":
        """The recurring series that booked it, if any."""
        if self.series_db_id is None:
            return None
        row = await series_row(info, self.series_db_id)
        return build("AppointmentSeries", row) if row else None


@register
@strawberry.type
@declared_fields
class AppointmentSeries(Node):
    """Appointments booked together: `count` occurrences at the wall-clock time of
    `firstStartsAt` in the clinic's time zone, on each of `weekdays`."""

    type: AppointmentType
    db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    physiotherapist_db_id: strawberry.Private[uuid.UUID]
    iso_weekdays: strawberry.Private[list[int]]
    skipped_starts: strawberry.Private[list[datetime]]

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        return cast(
            "Patient", build("Patient", await required_patient_row(info, self.patient_db_id))
        )

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef:
        row = await required_physiotherapist_row(info, self.physiotherapist_db_id)
        return cast("Physiotherapist", build("Physiotherapist", row))

    @strawberry.field
    def weekdays(self) -> list[Weekday]:
        return [Weekday(number) for number in self.iso_weekdays]

    @strawberry.field
    def conflicts(self) -> list[datetime]:
        """The starts that were taken and skipped (`skipConflicts`)."""
        return list(self.skipped_starts)

    @strawberry.field
    @declared_list("Appointment")
    async def appointments(self, info: Info, query: ListQuery) -> Connection[Appointment]:
        return await child_connection(
            info.context.loaders, APPOINTMENTS_OF_SERIES, self.db_id, query, builder("Appointment")
        )


@strawberry.type
class AppointmentEvent:
    op: ChangeOp
    appointment: Appointment
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)


# Availability (migration 0014). These types have no declaration (no lists of their own with
# where/orderBy): each builds itself from its row, and `build` (resolvers/objects.py) finds
# `from_row` by the type's name for other areas (`Physiotherapist.workingHours`).


@register
@strawberry.type(
    description="One working interval of a physiotherapist's week: wall-clock "
    "times in the clinic's time zone, `start` included, `end` excluded."
)
class WorkingInterval:
    weekday: Weekday
    start: time
    end: time

    @classmethod
    def from_row(cls, row: RowMapping) -> "WorkingInterval":
        return cls(weekday=Weekday(row["weekday"]), start=row["starts_at"], end=row["ends_at"])


@register
@strawberry.type(
    description="A time the physiotherapist does not work: [startsAt, endsAt). Staff only."
)
class TimeOff:
    id: strawberry.ID
    starts_at: datetime
    ends_at: datetime
    reason: str
    physiotherapist_db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: RowMapping) -> "TimeOff":
        return cls(
            id=strawberry.ID(to_global_id("TimeOff", row["id"])),
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            reason=row["reason"],
            physiotherapist_db_id=row["physiotherapist_id"],
        )

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef:
        row = await required_physiotherapist_row(info, self.physiotherapist_db_id)
        return cast("Physiotherapist", build("Physiotherapist", row))


@register
@strawberry.type(description="A date of the clinic's calendar (in its time zone) nobody works.")
class ClinicHoliday:
    id: strawberry.ID
    date: datetime_date
    name: str

    @classmethod
    def from_row(cls, row: RowMapping) -> "ClinicHoliday":
        return cls(
            id=strawberry.ID(to_global_id("ClinicHoliday", row["id"])),
            date=row["day"],
            name=row["name"],
        )


@strawberry.type(
    description="A free time `availableSlots` offers: booking it is not refused "
    "by the physiotherapist's availability nor by their other appointments."
)
class AvailableSlot:
    starts_at: datetime
    ends_at: datetime
    physiotherapist_db_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef:
        row = await required_physiotherapist_row(info, self.physiotherapist_db_id)
        return cast("Physiotherapist", build("Physiotherapist", row))
