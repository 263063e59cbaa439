"""`scheduleAppointment` (also compiled: one INSERT that builds the answer), `reschedule`,
`cancel` and `completeAppointment`."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import RowMapping

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.errors import FORBIDDEN, INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Identity, Role
from graph.core.ids import parse_uuid_id
from graph.core.validators import aware, money
from graph.sql.compiler import CompiledMutation
from graph.sql.writes import insert_row, update_in_state
from models.scheduling import APPOINTMENT, appointments
from resolvers.scheduling.data import appointment_row
from resolvers.scheduling.types import Appointment, AppointmentStatus, AppointmentType

MIN_MINUTES, MAX_MINUTES = 5, 480
OPEN_STATES = ("scheduled", "confirmed")


@strawberry.input
class ScheduleAppointmentInput:
    patient_id: strawberry.ID
    physiotherapist_id: strawberry.ID
    starts_at: datetime
    duration_minutes: int
    type: AppointmentType
    notes: str | None = None
    price: Decimal | None = None
    outside_working_hours: bool | None = None


@strawberry.input
class RescheduleAppointmentInput:
    id: strawberry.ID
    starts_at: datetime
    duration_minutes: int | None = None
    outside_working_hours: bool | None = None


@strawberry.input
class CancelAppointmentInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.input
class CompleteAppointmentInput:
    id: strawberry.ID


def slot(starts_at: datetime, minutes: int, field: str = "startsAt") -> tuple[datetime, datetime]:
    """The validated [start, end) of an appointment (`field`: the start's input field)."""
    start = aware(starts_at, field)
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise bad_input(
            "durationMinutes", f"durationMinutes must be between {MIN_MINUTES} and {MAX_MINUTES}"
        )
    if start < datetime.now(UTC):
        raise bad_input(field, f"{field} must be in the future")
    return start, start + timedelta(minutes=minutes)


def check_own_agenda(identity: Identity, physiotherapist_id: uuid.UUID) -> None:
    """A physiotherapist runs only their own agenda (RLS refuses the rest as well)."""
    if identity.role is Role.PHYSIOTHERAPIST and identity.physiotherapist_id != physiotherapist_id:
        raise ApiError(FORBIDDEN, "Physiotherapists schedule only on their own agenda")


SCHEDULE_ROLES = (Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)


def _override(identity: Identity, outside_working_hours: bool | None) -> bool:
    """`outsideWorkingHours`: an admin's override of the working hours, for this write only
    (the database refuses it from anyone else too, migration 0014)."""
    if outside_working_hours and identity.role is not Role.ADMIN:
        raise ApiError(
            FORBIDDEN, "Only an admin may book outside working hours", field="outsideWorkingHours"
        )
    return bool(outside_working_hours)


def booking_parties(
    identity: Identity, patient_id: strawberry.ID, physiotherapist_id: strawberry.ID
) -> tuple[uuid.UUID, uuid.UUID]:
    """The patient's and the physiotherapist's ids of a booking, if the caller's role books."""
    if identity.role not in SCHEDULE_ROLES:
        raise ApiError(FORBIDDEN, "Your role may not do this")
    return (
        parse_uuid_id(patient_id, "Patient", field="patientId"),
        parse_uuid_id(physiotherapist_id, "Physiotherapist", field="physiotherapistId"),
    )


@contextmanager
def booking_refusals(identity: Identity) -> Iterator[None]:
    """RLS refuses a physiotherapist's booking of a patient they do not treat (migration
    0008): FORBIDDEN on `patientId`, not NOT_FOUND, since they see every patient anyway."""
    try:
        yield
    except ApiError as error:
        if identity.role is Role.PHYSIOTHERAPIST and error.extensions["code"] == FORBIDDEN:
            raise ApiError(
                FORBIDDEN, "You may only book patients you already treat", field="patientId"
            ) from None
        raise


def cancellation(reason: str | None) -> dict[str, Any]:
    """What cancelling an appointment writes (one appointment, or a series' remaining ones)."""
    return {
        "status": AppointmentStatus.CANCELLED.value,
        "cancel_reason": (reason or "").strip() or None,
        "cancelled_at": datetime.now(UTC),
    }


def new_appointment(identity: Identity, input: ScheduleAppointmentInput) -> dict[str, Any]:
    """The validated row `scheduleAppointment` inserts (also run by the compiled mutation)."""
    patient_id, physio_id = booking_parties(identity, input.patient_id, input.physiotherapist_id)
    starts_at, ends_at = slot(input.starts_at, input.duration_minutes)
    price = money(input.price, "price") if input.price is not None else None
    check_own_agenda(identity, physio_id)
    outside_working_hours = _override(identity, input.outside_working_hours)
    return {
        "clinic_id": identity.clinic_id,
        "patient_id": patient_id,
        "physiotherapist_id": physio_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "type": input.type.value,
        "notes": (input.notes or "").strip() or None,
        "price": price,
        "outside_working_hours": outside_working_hours,
    }


# The compiler's version: the same validation, then one INSERT ... RETURNING that builds the
# response JSON (graph/sql/compiler/).
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
        "outside_working_hours",
    ),
    new_appointment,
)


async def schedule_appointment(info: Info, input: ScheduleAppointmentInput) -> Appointment:
    # One statement: the composite foreign keys (clinic_id, patient_id) and
    # (clinic_id, physiotherapist_id) answer NOT_FOUND for people of other clinics, and every
    # role that may schedule sees all of its clinic's patients and physiotherapists.
    identity = info.context.require_identity()
    values = new_appointment(identity, input)
    with booking_refusals(identity):
        row = await insert_row(info.context.db, appointments, values)
    return from_row(Appointment, row)


async def _visible_appointment(info: Info, global_id: str) -> RowMapping:
    row = await appointment_row(info, parse_uuid_id(global_id, "Appointment"))
    if row is None:
        raise not_found("Appointment", field="id")
    return row


async def reschedule_appointment(info: Info, input: RescheduleAppointmentInput) -> Appointment:
    identity = info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
    outside_working_hours = _override(identity, input.outside_working_hours)
    current = await _visible_appointment(info, input.id)
    minutes = input.duration_minutes
    if minutes is None:
        minutes = int((current["ends_at"] - current["starts_at"]).total_seconds() // 60)
    starts_at, ends_at = slot(input.starts_at, minutes)
    row = await update_in_state(
        info.context.db,
        appointments,
        current["id"],
        OPEN_STATES,
        {
            "starts_at": starts_at,
            "ends_at": ends_at,
            "outside_working_hours": outside_working_hours,
        },
        "Appointment",
    )
    return from_row(Appointment, row)


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
        cancellation(input.reason),
        "Appointment",
    )
    return from_row(Appointment, row)


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
    return from_row(Appointment, row)


@strawberry.type
class SchedulingMutations:
    schedule_appointment: Appointment = strawberry.field(resolver=schedule_appointment)
    reschedule_appointment: Appointment = strawberry.field(resolver=reschedule_appointment)
    cancel_appointment: Appointment = strawberry.field(resolver=cancel_appointment)
    complete_appointment: Appointment = strawberry.field(resolver=complete_appointment)
