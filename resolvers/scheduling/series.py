"""`scheduleAppointmentSeries` and `cancelAppointmentSeries`: many appointments booked, or
cancelled, at once.

A series is all or nothing: its occurrences and which of them are taken are read in one
statement (resolvers/scheduling/data.py), then inserted in one statement. With a conflict the
answer is SLOT_UNAVAILABLE listing every conflicting start (`extensions.conflicts`) and
nothing is written, unless `skipConflicts` books the free ones and keeps the others in the
series' `conflicts`. A slot a concurrent request takes between the two statements is caught
by the exclusion constraints (ON CONFLICT DO NOTHING skips it), so two racing series never
both win it and the loser answers as if it had seen the conflict first.
"""

import uuid
from datetime import UTC, datetime

import strawberry
from sqlalchemy import and_, func

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.errors import FORBIDDEN, SLOT_UNAVAILABLE, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.core.validators import aware
from graph.sql.writes import insert_row, update_row
from models.scheduling import appointment_series, appointments
from resolvers.scheduling.data import insert_occurrences, series_occurrences, series_row
from resolvers.scheduling.mutations import (
    OPEN_STATES,
    booking_parties,
    booking_refusals,
    cancellation,
    check_own_agenda,
    slot,
)
from resolvers.scheduling.types import AppointmentSeries, AppointmentType, Weekday

# At most 60 occurrences: 30 weeks of two sessions, more than any plan of care books ahead
# (a longer treatment is another series after a reevaluation). The table checks it too.
MAX_OCCURRENCES = 60


@strawberry.input
class ScheduleAppointmentSeriesInput:
    patient_id: strawberry.ID
    physiotherapist_id: strawberry.ID
    first_starts_at: datetime
    duration_minutes: int
    type: AppointmentType
    weekdays: list[Weekday]
    count: int
    skip_conflicts: bool | None = False


@strawberry.input
class CancelAppointmentSeriesInput:
    id: strawberry.ID
    from_: datetime | None = strawberry.field(name="from", default=None)
    reason: str | None = None


def slot_unavailable(conflicts: list[datetime]) -> ApiError:
    """SLOT_UNAVAILABLE with every conflicting start, ISO 8601."""
    error = ApiError(
        SLOT_UNAVAILABLE,
        f"{len(conflicts)} of the series' appointments conflict with the agenda",
        field="firstStartsAt",
    )
    error.extensions["conflicts"] = [start.isoformat() for start in sorted(conflicts)]
    return error


def _iso_weekdays(weekdays: list[Weekday]) -> list[int]:
    if not weekdays:
        raise bad_input("weekdays", "weekdays must name at least one day")
    if len(set(weekdays)) != len(weekdays):
        raise bad_input("weekdays", "weekdays must not repeat a day")
    return sorted(day.value for day in weekdays)


async def schedule_appointment_series(
    info: Info, input: ScheduleAppointmentSeriesInput
) -> AppointmentSeries:
    identity = info.context.require_identity()
    patient_id, physio_id = booking_parties(identity, input.patient_id, input.physiotherapist_id)
    first_starts_at, _ = slot(input.first_starts_at, input.duration_minutes, "firstStartsAt")
    iso_weekdays = _iso_weekdays(input.weekdays)
    if not 1 <= input.count <= MAX_OCCURRENCES:
        raise bad_input("count", f"count must be between 1 and {MAX_OCCURRENCES}")
    check_own_agenda(identity, physio_id)
    db = info.context.db
    first_weekday, occurrences = await series_occurrences(
        db,
        identity.clinic_id,
        patient_id,
        physio_id,
        first_starts_at,
        input.duration_minutes,
        iso_weekdays,
        input.count,
    )
    if first_weekday not in iso_weekdays:
        raise bad_input(
            "firstStartsAt", "firstStartsAt must fall on one of the weekdays in the clinic's zone"
        )
    taken = [o.starts_at for o in occurrences if o.taken]
    if taken and not input.skip_conflicts:
        raise slot_unavailable(taken)
    free = [o.starts_at for o in occurrences if not o.taken]
    if not free:
        raise slot_unavailable(taken)
    series_id = uuid.uuid4()
    booking = {
        "clinic_id": identity.clinic_id,
        "patient_id": patient_id,
        "physiotherapist_id": physio_id,
        "type": input.type.value,
        "series_id": series_id,
    }
    with booking_refusals(identity):
        made = await insert_occurrences(db, booking, free, input.duration_minutes)
        lost = [start for start in free if start not in made]
        if (lost and not input.skip_conflicts) or not made:
            raise slot_unavailable(lost + taken)
        row = await insert_row(
            db,
            appointment_series,
            {
                "id": series_id,
                "clinic_id": identity.clinic_id,
                "patient_id": patient_id,
                "physiotherapist_id": physio_id,
                "first_starts_at": first_starts_at,
                "duration_minutes": input.duration_minutes,
                "type": input.type.value,
                "iso_weekdays": iso_weekdays,
                "count": input.count,
                "skipped_starts": sorted(taken + lost),
            },
        )
    return from_row(AppointmentSeries, row)


def _cancel_from(requested: datetime | None) -> datetime:
    """Occurrences from this instant on are cancelled: `from`, but never one already begun
    (the past is completed or marked a no-show, not cancelled)."""
    now = datetime.now(UTC)
    if requested is None:
        return now
    return max(aware(requested, "from"), now)


async def cancel_appointment_series(
    info: Info, input: CancelAppointmentSeriesInput
) -> AppointmentSeries:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)
    series_id = parse_uuid_id(input.id, "AppointmentSeries")
    starting = _cancel_from(input.from_)
    db = info.context.db
    if await series_row(info, series_id) is None:
        raise not_found("AppointmentSeries", field="id")
    row = await update_row(
        db,
        appointment_series,
        series_id,
        {"cancelled_at": func.coalesce(appointment_series.c.cancelled_at, func.now())},
    )
    if row is None:
        raise ApiError(FORBIDDEN, "You may not cancel this series")
    await db.fetch(
        appointments.update()
        .where(
            and_(
                appointments.c.series_id == series_id,
                appointments.c.status.in_(OPEN_STATES),
                appointments.c.starts_at >= starting,
            )
        )
        .values(cancellation(input.reason))
    )
    return from_row(AppointmentSeries, row)


@strawberry.type
class SeriesMutations:
    schedule_appointment_series: AppointmentSeries = strawberry.field(
        resolver=schedule_appointment_series
    )
    cancel_appointment_series: AppointmentSeries = strawberry.field(
        resolver=cancel_appointment_series
    )
