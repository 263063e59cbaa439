"""Appointments: the agenda, its lists and filters, and schedule / reschedule / cancel / complete.

Double booking is refused by the database (exclusion constraints over each physiotherapist's
and each patient's time ranges), so concurrent requests cannot both win a slot.
"""

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, RowMapping

from graph.api.context import Info
from graph.api.relay import Connection, Node, child_connection, list_connection
from graph.core.errors import FORBIDDEN, INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Identity, Role
from graph.core.ids import parse_uuid_id, to_global_id
from graph.core.validators import aware, money
from graph.sql.compiler import CompiledMutation, FilterCondition, id_of, one_of
from graph.sql.loaders import ChildList
from graph.sql.pagination import PageArgs, SortKey
from graph.sql.writes import insert_row, update_in_state
from models.scheduling import APPOINTMENT, appointments

if TYPE_CHECKING:
    from resolvers.clinical import Prontuario
    from resolvers.patients import Patient
    from resolvers.payments import Payment
    from resolvers.staff import Physiotherapist

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients")]
PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff")]
PaymentRef = Annotated["Payment", strawberry.lazy("resolvers.payments")]
ProntuarioRef = Annotated["Prontuario", strawberry.lazy("resolvers.clinical")]

MIN_MINUTES, MAX_MINUTES = 5, 480
OPEN_STATES = ("scheduled", "confirmed")


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
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


APPOINTMENT_SORT = SortKey((appointments.c.starts_at, appointments.c.id))


@strawberry.input
class AppointmentFilter:
    from_: datetime | None = strawberry.field(name="from", default=None)
    to: datetime | None = None
    status: list[AppointmentStatus] | None = None
    physiotherapist_id: strawberry.ID | None = None
    patient_id: strawberry.ID | None = None


@dataclass(frozen=True)
class AppointmentCriteria:
    """A validated, hashable AppointmentFilter (it keys the batched nested-list loaders)."""

    starts_from: datetime | None = None
    starts_before: datetime | None = None
    statuses: tuple[str, ...] = ()
    physiotherapist_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None

    @classmethod
    def of(cls, filter: AppointmentFilter | None) -> "AppointmentCriteria":
        if filter is None:
            return cls()
        return cls(
            starts_from=aware(filter.from_, "filter.from") if filter.from_ else None,
            starts_before=aware(filter.to, "filter.to") if filter.to else None,
            statuses=tuple(s.value for s in filter.status or ()),
            physiotherapist_id=parse_uuid_id(
                filter.physiotherapist_id, "Physiotherapist", field="filter.physiotherapistId"
            )
            if filter.physiotherapist_id
            else None,
            patient_id=parse_uuid_id(filter.patient_id, "Patient", field="filter.patientId")
            if filter.patient_id
            else None,
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        c = appointments.c
        conditions: list[ColumnElement[bool]] = []
        if self.starts_from is not None:
            conditions.append(c.starts_at >= self.starts_from)
        if self.starts_before is not None:
            conditions.append(c.starts_at < self.starts_before)
        if self.statuses:
            conditions.append(c.status.in_(self.statuses))
        if self.physiotherapist_id is not None:
            conditions.append(c.physiotherapist_id == self.physiotherapist_id)
        if self.patient_id is not None:
            conditions.append(c.patient_id == self.patient_id)
        return conditions


# The same conditions for the query compiler (graph/sql/compiler.py), on its row alias `{t}`.
APPOINTMENT_FILTER = {
    "from": FilterCondition(
        "{t}.starts_at >= {v}", "timestamptz", lambda value: aware(value, "filter.from")
    ),
    "to": FilterCondition("{t}.starts_at < {v}", "timestamptz", lambda v: aware(v, "filter.to")),
    "status": one_of("status"),
    "physiotherapistId": id_of("physiotherapist_id", "Physiotherapist", "filter.physiotherapistId"),
    "patientId": id_of("patient_id", "Patient", "filter.patientId"),
}

APPOINTMENTS_OF_PATIENT = ChildList(
    appointments, "patient_id", APPOINTMENT_SORT, AppointmentCriteria.conditions
)
APPOINTMENTS_OF_PHYSIOTHERAPIST = ChildList(
    appointments, "physiotherapist_id", APPOINTMENT_SORT, AppointmentCriteria.conditions
)


@strawberry.type
class Appointment(Node):
    id: strawberry.ID
    starts_at: datetime
    ends_at: datetime
    type: AppointmentType
    status: AppointmentStatus
    notes: str | None
    price: Decimal | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime
    db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    physiotherapist_db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: RowMapping) -> "Appointment":
        return cls(
            id=strawberry.ID(to_global_id("Appointment", row["id"])),
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            type=AppointmentType(row["type"]),
            status=AppointmentStatus(row["status"]),
            notes=row["notes"],
            price=row["price"],
            cancel_reason=row["cancel_reason"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            db_id=row["id"],
            patient_db_id=row["patient_id"],
            physiotherapist_db_id=row["physiotherapist_id"],
        )

    @strawberry.field
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        from resolvers.patients import required_patient

        return await required_patient(info, self.patient_db_id)

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef:
        from resolvers.staff import required_physiotherapist

        return await required_physiotherapist(info, self.physiotherapist_db_id)

    @strawberry.field
    async def payments(self, info: Info) -> list[PaymentRef]:
        from resolvers.payments import payments_of_appointment

        return await payments_of_appointment(info, self.db_id)

    @strawberry.field
    async def prontuario(self, info: Info) -> ProntuarioRef | None:
        """The session's record; null when there is none or the caller may not see it."""
        from resolvers.clinical import prontuario_of_appointment

        return await prontuario_of_appointment(info, self.db_id)


async def load_appointment(info: Info, appointment_id: uuid.UUID) -> Appointment | None:
    row = await info.context.loaders.by_id(appointments).load(appointment_id)
    return Appointment.from_row(row) if row else None


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
        APPOINTMENT_SORT,
        PageArgs.parse(first, after, last, before),
        Appointment.from_row,
        AppointmentCriteria.of(filter).conditions(),
    )


async def appointments_of(
    info: Info,
    spec: ChildList,
    parent_id: uuid.UUID,
    page: PageArgs,
    filter: AppointmentFilter | None,
) -> Connection[Appointment]:
    """`Patient.appointments` and `Physiotherapist.appointments`, batched across parents."""
    criteria = AppointmentCriteria.of(filter)
    return await child_connection(
        info.context.loaders, spec, parent_id, page, Appointment.from_row, criteria
    )


@strawberry.input
class ScheduleAppointmentInput:
    patient_id: strawberry.ID
    physiotherapist_id: strawberry.ID
    starts_at: datetime
    duration_minutes: int
    type: AppointmentType
    notes: str | None = None
    price: Decimal | None = None


@strawberry.input
class RescheduleAppointmentInput:
    id: strawberry.ID
    starts_at: datetime
    duration_minutes: int | None = None


@strawberry.input
class CancelAppointmentInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.input
class CompleteAppointmentInput:
    id: strawberry.ID


def _slot(starts_at: datetime, minutes: int) -> tuple[datetime, datetime]:
    """The validated [start, end) of an appointment."""
    start = aware(starts_at, "startsAt")
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise bad_input(
            "durationMinutes", f"durationMinutes must be between {MIN_MINUTES} and {MAX_MINUTES}"
        )
    if start < datetime.now(UTC):
        raise bad_input("startsAt", "startsAt must be in the future")
    return start, start + timedelta(minutes=minutes)


def _check_own_agenda(identity: Identity, physiotherapist_id: uuid.UUID) -> None:
    """A physiotherapist runs only their own agenda (RLS refuses the rest as well)."""
    if identity.role is Role.PHYSIOTHERAPIST and identity.physiotherapist_id != physiotherapist_id:
        raise ApiError(FORBIDDEN, "Physiotherapists schedule only on their own agenda")


SCHEDULE_ROLES = (Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)


def new_appointment(identity: Identity, input: ScheduleAppointmentInput) -> dict[str, Any]:
    """The validated row `scheduleAppointment` inserts (also run by the compiled mutation)."""
    if identity.role not in SCHEDULE_ROLES:
        raise ApiError(FORBIDDEN, "Your role may not do this")
    patient_id = parse_uuid_id(input.patient_id, "Patient", field="patientId")
    physio_id = parse_uuid_id(
        input.physiotherapist_id, "Physiotherapist", field="physiotherapistId"
    )
    starts_at, ends_at = _slot(input.starts_at, input.duration_minutes)
    price = money(input.price, "price") if input.price is not None else None
    _check_own_agenda(identity, physio_id)
    return {
        "clinic_id": identity.clinic_id,
        "patient_id": patient_id,
        "physiotherapist_id": physio_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "type": input.type.value,
        "notes": (input.notes or "").strip() or None,
        "price": price,
    }


# The compiler's version: the same validation, then one INSERT ... RETURNING that builds the
# response JSON (graph/sql/compiler.py).
SCHEDULE_APPOINTMENT = CompiledMutation(
    APPOINTMENT,
    ScheduleAppointmentInput,
    (
        "clinic_id",
        "patient_id",
        "physiotherapist_id",
        "starts_at",
        "ends_at",
        "type",
        "notes",
        "price",
    ),
    new_appointment,
)


async def schedule_appointment(info: Info, input: ScheduleAppointmentInput) -> Appointment:
    # One statement: the composite foreign keys (clinic_id, patient_id) and
    # (clinic_id, physiotherapist_id) answer NOT_FOUND for people of other clinics, and every
    # role that may schedule sees all of its clinic's patients and physiotherapists. RLS lets
    # a physiotherapist book only a patient they already treat (migration 0008): FORBIDDEN,
    # not NOT_FOUND, since they see every patient of the clinic anyway.
    identity = info.context.require_identity()
    values = new_appointment(identity, input)
    try:
        row = await insert_row(info.context.db, appointments, values)
    except ApiError as error:
        if identity.role is Role.PHYSIOTHERAPIST and error.extensions["code"] == FORBIDDEN:
            raise ApiError(
                FORBIDDEN, "You may only book patients you already treat", field="patientId"
            ) from None
        raise
    return Appointment.from_row(row)


async def _visible_appointment(info: Info, global_id: str) -> RowMapping:
    appointment_id = parse_uuid_id(global_id, "Appointment")
    row = await info.context.loaders.by_id(appointments).load(appointment_id)
    if row is None:
        raise not_found("Appointment", field="id")
    return row


async def reschedule_appointment(info: Info, input: RescheduleAppointmentInput) -> Appointment:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
    current = await _visible_appointment(info, input.id)
    minutes = input.duration_minutes
    if minutes is None:
        minutes = int((current["ends_at"] - current["starts_at"]).total_seconds() // 60)
    starts_at, ends_at = _slot(input.starts_at, minutes)
    row = await update_in_state(
        info.context.db,
        appointments,
        current["id"],
        OPEN_STATES,
        {"starts_at": starts_at, "ends_at": ends_at},
        "Appointment",
    )
    return Appointment.from_row(row)


async def cancel_appointment(info: Info, input: CancelAppointmentInput) -> Appointment:
    identity = info.context.require_identity()
    current = await _visible_appointment(info, input.id)
    if identity.role is Role.PATIENT and current["starts_at"] <= datetime.now(UTC):
        raise ApiError(INVALID_STATE, "Only future appointments can be cancelled by the patient")
    row = await update_in_state(
        info.context.db,
        appointments,
        current["id"],
        OPEN_STATES,
        {
            "status": AppointmentStatus.CANCELLED.value,
            "cancel_reason": (input.reason or "").strip() or None,
            "cancelled_at": datetime.now(UTC),
        },
        "Appointment",
    )
    return Appointment.from_row(row)


async def complete_appointment(info: Info, input: CompleteAppointmentInput) -> Appointment:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
    current = await _visible_appointment(info, input.id)
    if current["starts_at"] > datetime.now(UTC):
        raise ApiError(INVALID_STATE, "An appointment cannot be completed before it starts")
    row = await update_in_state(
        info.context.db,
        appointments,
        current["id"],
        OPEN_STATES,
        {"status": AppointmentStatus.COMPLETED.value, "completed_at": datetime.now(UTC)},
        "Appointment",
    )
    return Appointment.from_row(row)
