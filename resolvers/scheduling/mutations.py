"""`scheduleAppointment` (also compiled: one INSERT that builds the answer; a patient books for
themselves when the clinic allows it) and the lifecycle: `reschedule`, `confirm`, `checkIn`,
`complete`, `cancelAppointment` and `markNoShow`.

The database keeps the rules (migration 0018): its state machine refuses an illegal transition
(INVALID_STATE) and writes the status history; RLS and the patient guard decide who may act.
The resolvers validate input and name the failure.
"""

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
from graph.core.errors import FORBIDDEN, ApiError, bad_input, not_found
from graph.core.identity import Identity, Role
from graph.core.ids import parse_uuid_id
from graph.core.validators import aware, money
from graph.sql.compiler import CompiledMutation
from graph.sql.writes import insert_row, update_row, update_to_status
from models.scheduling import APPOINTMENT, appointments
from resolvers.scheduling.data import appointment_row
from resolvers.scheduling.types import Appointment, AppointmentStatus, AppointmentType

MIN_MINUTES, MAX_MINUTES = 5, 480
# What a series cancels (resolvers/scheduling/series.py); the database's state machine
# (migration 0018) holds every other rule of the lifecycle.
OPEN_STATES = ("scheduled", "confirmed")
SCHEDULE_ROLES = (Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)


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


@strawberry.input
class ConfirmAppointmentInput:
    id: strawberry.ID


@strawberry.input
class CheckInAppointmentInput:
    id: strawberry.ID
    arrived_at: datetime | None = strawberry.field(
        default=None, description="When the patient arrived (default: now)."
    )


@strawberry.input
class MarkNoShowInput:
    id: strawberry.ID
    reason: str | None = None


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


def _own_booking(
    identity: Identity, patient_id: uuid.UUID, input: ScheduleAppointmentInput
) -> None:
    """A patient books only for themselves, without price or notes (the clinic's to set);
    RLS checks the rest (the clinic's setting, a physiotherapist who treats them)."""
    if patient_id != identity.patient_id:
        raise ApiError(FORBIDDEN, "Patients book only for themselves", field="patientId")
    for field, value in (("price", input.price), ("notes", input.notes)):
        if value is not None:
            raise ApiError(FORBIDDEN, f"Patients may not set {field}", field=field)


def _override(identity: Identity, outside_working_hours: bool | None) -> bool:
    """`outsideWorkingHours`: an admin's override of the working hours, for this write only
    (the database refuses it from anyone else too, migration 0014)."""
    if outside_working_hours and identity.role is not Role.ADMIN:
        raise ApiError(
            FORBIDDEN, "Only an admin may book outside working hours", field="outsideWorkingHours"
        )
    return bool(outside_working_hours)


def booking_parties(
    identity: Identity,
    patient_id: strawberry.ID,
    physiotherapist_id: strawberry.ID,
    roles: tuple[Role, ...] = SCHEDULE_ROLES,
) -> tuple[uuid.UUID, uuid.UUID]:
    """The patient's and the physiotherapist's ids of a booking, if the caller's role books."""
    if identity.role not in roles:
        raise ApiError(FORBIDDEN, "Your role may not do this")
    return (
        parse_uuid_id(patient_id, "Patient", field="patientId"),
        parse_uuid_id(physiotherapist_id, "Physiotherapist", field="physiotherapistId"),
    )


@contextmanager
def booking_refusals(identity: Identity) -> Iterator[None]:
    """RLS refuses a physiotherapist's booking of a patient they do not treat (migration
    0008): FORBIDDEN on `patientId`, not NOT_FOUND, since they see every patient anyway; and
    a patient's booking unless the clinic takes them, with a physiotherapist who treats them
    (migration 0018, `appointments_insert_patient`)."""
    try:
        yield
    except ApiError as error:
        if error.extensions["code"] != FORBIDDEN:
            raise
        if identity.role is Role.PHYSIOTHERAPIST:
            raise ApiError(
                FORBIDDEN, "You may only book patients you already treat", field="patientId"
            ) from None
        if identity.role is Role.PATIENT:
            raise ApiError(
                FORBIDDEN,
                "The clinic takes no bookings from patients, or this physiotherapist does not"
                " treat you",
                field="physiotherapistId",
            ) from None
        raise


def cancellation(reason: str | None) -> dict[str, Any]:
    """What cancelling an appointment writes (one appointment, or a series' remaining ones)."""
    return {
        "status": AppointmentStatus.CANCELLED.value,
        "cancel_reason": reason_text(reason),
        "cancelled_at": datetime.now(UTC),
    }


def new_appointment(identity: Identity, input: ScheduleAppointmentInput) -> dict[str, Any]:
    """The validated row `scheduleAppointment` inserts (also run by the compiled mutation)."""
    patient_id, physio_id = booking_parties(
        identity, input.patient_id, input.physiotherapist_id, (*SCHEDULE_ROLES, Role.PATIENT)
    )
    if identity.role is Role.PATIENT:
        _own_booking(identity, patient_id, input)
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
    """Only a scheduled or confirmed appointment moves; a confirmed one becomes scheduled."""
    identity = info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
    outside_working_hours = _override(identity, input.outside_working_hours)
    current = await _visible_appointment(info, input.id)
    minutes = input.duration_minutes
    if minutes is None:
        minutes = int((current["ends_at"] - current["starts_at"]).total_seconds() // 60)
    starts_at, ends_at = slot(input.starts_at, minutes)
    row = await update_row(
        info.context.db,
        appointments,
        current["id"],
        {
            "starts_at": starts_at,
            "ends_at": ends_at,
            "outside_working_hours": outside_working_hours,
        },
    )
    if row is None:
        raise ApiError(FORBIDDEN, "You may not change this appointment")
    return from_row(Appointment, row)


def reason_text(value: str | None) -> str | None:
    return (value or "").strip() or None


async def _to_status(
    info: Info, global_id: str, status: AppointmentStatus, values: dict[str, Any] | None = None
) -> Appointment:
    row = await update_to_status(
        info.context.db,
        appointments,
        parse_uuid_id(global_id, "Appointment"),
        status.value,
        values or {},
        "Appointment",
    )
    return from_row(Appointment, row)


async def confirm_appointment(info: Info, input: ConfirmAppointmentInput) -> Appointment:
    """Staff, or the patient for their own future appointment."""
    info.context.require_identity()
    return await _to_status(info, input.id, AppointmentStatus.CONFIRMED)


async def check_in_appointment(info: Info, input: CheckInAppointmentInput) -> Appointment:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
    values: dict[str, Any] = {}
    if input.arrived_at is not None:
        arrived_at = aware(input.arrived_at, "arrivedAt")
        if arrived_at > datetime.now(UTC):
            raise bad_input("arrivedAt", "arrivedAt cannot be in the future")
        values["checked_in_at"] = arrived_at
    return await _to_status(info, input.id, AppointmentStatus.CHECKED_IN, values)


async def cancel_appointment(info: Info, input: CancelAppointmentInput) -> Appointment:
    """Staff, or the patient for their own future appointment up to the clinic's notice."""
    info.context.require_identity()
    return await _to_status(
        info, input.id, AppointmentStatus.CANCELLED, {"cancel_reason": reason_text(input.reason)}
    )


async def complete_appointment(info: Info, input: CompleteAppointmentInput) -> Appointment:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
    return await _to_status(info, input.id, AppointmentStatus.COMPLETED)


async def mark_no_show(info: Info, input: MarkNoShowInput) -> Appointment:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
    return await _to_status(
        info, input.id, AppointmentStatus.NO_SHOW, {"no_show_reason": reason_text(input.reason)}
    )


@strawberry.type
class SchedulingMutations:
    schedule_appointment: Appointment = strawberry.field(resolver=schedule_appointment)
    reschedule_appointment: Appointment = strawberry.field(resolver=reschedule_appointment)
    cancel_appointment: Appointment = strawberry.field(resolver=cancel_appointment)
    confirm_appointment: Appointment = strawberry.field(resolver=confirm_appointment)
    check_in_appointment: Appointment = strawberry.field(resolver=check_in_appointment)
    complete_appointment: Appointment = strawberry.field(resolver=complete_appointment)
    mark_no_show: Appointment = strawberry.field(resolver=mark_no_show)
