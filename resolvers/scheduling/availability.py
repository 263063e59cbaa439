"""Working hours, time off and clinic holidays: `setWorkingHours`, `addTimeOff` /
`removeTimeOff`, `addClinicHoliday` / `removeClinicHoliday`, `clinicHolidays`, and
`availableSlots`.

The database holds the rules (migration 0014: constraints, RLS, the booking trigger); these
resolvers check the input first only to name the field to fix. Appointments already booked in
a new time off or holiday stay: the front desk moves them (the trigger checks bookings and
moves, not what was booked before).
"""

import uuid
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from sqlalchemy import delete, func, insert, select

from graph.api.context import Info
from graph.core.errors import FORBIDDEN, ApiError, bad_input, not_found
from graph.core.identity import Identity, Role
from graph.core.ids import parse_uuid_id
from graph.core.validators import aware, required_text
from graph.sql.writes import insert_row
from models.availability import clinic_holidays, time_off, working_hours
from resolvers.objects import build
from resolvers.scheduling.data import available_slot_rows, holiday_rows
from resolvers.scheduling.mutations import MAX_MINUTES, MIN_MINUTES
from resolvers.scheduling.types import AvailableSlot, ClinicHoliday, TimeOff, Weekday
from resolvers.staff.data import physiotherapist_row

if TYPE_CHECKING:
    from resolvers.staff.types import Physiotherapist

PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff.types")]

MAX_INTERVALS = 70  # ten a day is more than any clinic splits a day into
MAX_TIME_OFF = timedelta(days=366)  # the database's time_off_duration_check
MAX_TEXT = 200  # reason and name, as the database's checks say
MAX_WINDOW = timedelta(days=31)
STAFF = (Role.ADMIN, Role.RECEPTIONIST, Role.PHYSIOTHERAPIST)


@strawberry.input(description="Wall-clock times in the clinic's time zone, no offset.")
class WorkingIntervalInput:
    weekday: Weekday
    start: time
    end: time


@strawberry.input
class SetWorkingHoursInput:
    physiotherapist_id: strawberry.ID
    weekly: list[WorkingIntervalInput]


@strawberry.input
class AddTimeOffInput:
    physiotherapist_id: strawberry.ID
    starts_at: datetime
    ends_at: datetime
    reason: str


@strawberry.input
class RemoveTimeOffInput:
    id: strawberry.ID


@strawberry.input
class AddClinicHolidayInput:
    date: date
    name: str


@strawberry.input
class RemoveClinicHolidayInput:
    id: strawberry.ID


def _check_own(identity: Identity, physio_id: uuid.UUID) -> None:
    """A physiotherapist writes only their own availability (RLS refuses the rest as well)."""
    if identity.role is Role.PHYSIOTHERAPIST and identity.physiotherapist_id != physio_id:
        raise ApiError(
            FORBIDDEN,
            "Physiotherapists set only their own availability",
            field="physiotherapistId",
        )


def _physiotherapist(identity: Identity, global_id: str) -> uuid.UUID:
    physio_id = parse_uuid_id(global_id, "Physiotherapist", field="physiotherapistId")
    _check_own(identity, physio_id)
    return physio_id


def _week(weekly: list[WorkingIntervalInput]) -> list[tuple[int, time, time]]:
    """The validated intervals: a bounded number, each start before its end, wall-clock
    times, no two overlapping on one weekday (touching is fine)."""
    if len(weekly) > MAX_INTERVALS:
        raise bad_input("weekly", f"weekly may have at most {MAX_INTERVALS} intervals")
    intervals = sorted((i.weekday.value, i.start, i.end) for i in weekly)
    previous: tuple[int, time, time] | None = None
    for weekday, start, end in intervals:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise bad_input("weekly", "Working hours are wall-clock times, without an offset")
        if start >= end:
            raise bad_input("weekly", "Each interval's end must be after its start")
        if previous is not None and previous[0] == weekday and previous[2] > start:
            day = Weekday(weekday).name
            raise bad_input("weekly", f"Intervals overlap on {day}: {previous[1]}–{previous[2]}")
        previous = (weekday, start, end)
    return intervals


async def set_working_hours(info: Info, input: SetWorkingHoursInput) -> PhysiotherapistRef:
    """Replace the physiotherapist's whole week at once (an empty list: no hours declared,
    so no hours constrain them)."""
    identity = info.context.require_role(*STAFF)
    physio_id = _physiotherapist(identity, input.physiotherapist_id)
    intervals = _week(input.weekly)
    physio = await physiotherapist_row(info, physio_id)
    if physio is None:
        raise not_found("Physiotherapist", field="physiotherapistId")
    db = info.context.db
    # Two replacements of one week wait for each other, so the later one deletes what the
    # earlier one wrote instead of colliding with it on working_hours_no_overlap.
    await db.fetch(select(func.pg_advisory_xact_lock(func.hashtextextended(str(physio_id), 0))))
    await db.fetch(delete(working_hours).where(working_hours.c.physiotherapist_id == physio_id))
    if intervals:
        rows = [
            {
                "clinic_id": identity.clinic_id,
                "physiotherapist_id": physio_id,
                "weekday": weekday,
                "starts_at": start,
                "ends_at": end,
            }
            for weekday, start, end in intervals
        ]
        await db.fetch(insert(working_hours).values(rows))
    return cast("Physiotherapist", build("Physiotherapist", physio))


async def add_time_off(info: Info, input: AddTimeOffInput) -> TimeOff:
    identity = info.context.require_role(*STAFF)
    physio_id = _physiotherapist(identity, input.physiotherapist_id)
    starts_at, ends_at = aware(input.starts_at, "startsAt"), aware(input.ends_at, "endsAt")
    if ends_at <= starts_at:
        raise bad_input("endsAt", "endsAt must be after startsAt")
    if ends_at - starts_at > MAX_TIME_OFF:
        raise bad_input("endsAt", "A time off may last at most 366 days")
    reason = required_text(input.reason, "reason")
    if len(reason) > MAX_TEXT:
        raise bad_input("reason", f"reason may have at most {MAX_TEXT} characters")
    row = await insert_row(
        info.context.db,
        time_off,
        {
            "clinic_id": identity.clinic_id,
            "physiotherapist_id": physio_id,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "reason": reason,
        },
    )
    return TimeOff.from_row(row)


async def remove_time_off(info: Info, input: RemoveTimeOffInput) -> TimeOff:
    """Remove a time off; the answer is what was removed."""
    identity = info.context.require_role(*STAFF)
    off_id = parse_uuid_id(input.id, "TimeOff")
    db = info.context.db
    current = await db.fetch_one(select(time_off).where(time_off.c.id == off_id))
    if current is None:
        raise not_found("TimeOff", field="id")
    _check_own(identity, current["physiotherapist_id"])
    row = await db.fetch_one(delete(time_off).where(time_off.c.id == off_id).returning(*time_off.c))
    if row is None:  # removed meanwhile
        raise not_found("TimeOff", field="id")
    return TimeOff.from_row(row)


async def add_clinic_holiday(info: Info, input: AddClinicHolidayInput) -> ClinicHoliday:
    identity = info.context.require_role(Role.ADMIN, Role.RECEPTIONIST)
    name = required_text(input.name, "name")
    row = await insert_row(
        info.context.db,
        clinic_holidays,
        {"clinic_id": identity.clinic_id, "day": input.date, "name": name},
    )
    return ClinicHoliday.from_row(row)


async def remove_clinic_holiday(info: Info, input: RemoveClinicHolidayInput) -> ClinicHoliday:
    """Remove a holiday; the answer is what was removed."""
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST)
    holiday_id = parse_uuid_id(input.id, "ClinicHoliday")
    row = await info.context.db.fetch_one(
        delete(clinic_holidays)
        .where(clinic_holidays.c.id == holiday_id)
        .returning(*clinic_holidays.c)
    )
    if row is None:
        raise not_found("ClinicHoliday", field="id")
    return ClinicHoliday.from_row(row)


async def list_clinic_holidays(
    info: Info,
    from_: Annotated[date | None, strawberry.argument(name="from")] = None,
    to: date | None = None,
) -> list[ClinicHoliday]:
    """The clinic's holidays from `from` to `to` (inclusive; either end open), by date; at
    most 500."""
    info.context.require_identity()
    return [ClinicHoliday.from_row(row) for row in await holiday_rows(info, from_, to)]


async def available_slots(
    info: Info,
    physiotherapist_id: strawberry.ID | None = None,
    *,
    from_: Annotated[datetime, strawberry.argument(name="from")],
    to: datetime,
    duration_minutes: int,
) -> list[AvailableSlot]:
    """Free times of `durationMinutes` in [from, to) (at most 31 days), of one physiotherapist
    or of every active one, by start: each inside a working interval (starts every 15 minutes
    from the interval's start), not in the past, not on a holiday, in no time off and
    overlapping no live appointment of the physiotherapist — so booking one is not refused
    for the physiotherapist's sake. One statement (resolvers/scheduling/data.py). A
    physiotherapist without working hours is offered nowhere; an unknown one, nothing. A
    patient gets slots only if the clinic allows self-booking, with physiotherapists who
    treat them."""
    info.context.require_identity()
    physio_id = (
        parse_uuid_id(physiotherapist_id, "Physiotherapist", field="physiotherapistId")
        if physiotherapist_id is not None
        else None
    )
    start, end = aware(from_, "from"), aware(to, "to")
    if end <= start:
        raise bad_input("to", "to must be after from")
    if end - start > MAX_WINDOW:
        raise bad_input("to", "The window may span at most 31 days")
    if not MIN_MINUTES <= duration_minutes <= MAX_MINUTES:
        raise bad_input(
            "durationMinutes", f"durationMinutes must be between {MIN_MINUTES} and {MAX_MINUTES}"
        )
    rows = await available_slot_rows(info, physio_id, start, end, duration_minutes)
    return [
        AvailableSlot(
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            physiotherapist_db_id=row["physiotherapist_id"],
        )
        for row in rows
    ]


@strawberry.type
class AvailabilityMutations:
    set_working_hours: PhysiotherapistRef = strawberry.field(resolver=set_working_hours)
    add_time_off: TimeOff = strawberry.field(resolver=add_time_off)
    remove_time_off: TimeOff = strawberry.field(resolver=remove_time_off)
    add_clinic_holiday: ClinicHoliday = strawberry.field(resolver=add_clinic_holiday)
    remove_clinic_holiday: ClinicHoliday = strawberry.field(resolver=remove_clinic_holiday)


@strawberry.type
class AvailabilityQueries:
    clinic_holidays: list[ClinicHoliday] = strawberry.field(resolver=list_clinic_holidays)
    available_slots: list[AvailableSlot] = strawberry.field(resolver=available_slots)
