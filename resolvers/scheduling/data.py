"""Appointments and availability at row level: the nested lists other areas' types show
(`Patient.appointments`, `Physiotherapist.appointments`, `AppointmentSeries.appointments`,
`Physiotherapist.workingHours` and `timeOff`), a series' occurrences, the clinic's holidays and
the available slots."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from graph.api.context import Info
from graph.sql.child_list import ChildList
from graph.sql.declared import child_list
from graph.sql.pagination import SortKey
from graph.sql.session import RequestDb
from models.availability import clinic_holidays, time_off, working_hours
from models.scheduling import appointment_series, appointments

# Filtered by the appointments' declared filter (models/scheduling.py), as `appointments` is.
APPOINTMENTS_OF_PATIENT = child_list("Patient", "appointments")
APPOINTMENTS_OF_PHYSIOTHERAPIST = child_list("Physiotherapist", "appointments")
APPOINTMENTS_OF_SERIES = child_list("AppointmentSeries", "appointments")
STATUS_HISTORY = child_list("Appointment", "statusHistory")


async def appointment_row(info: Info, appointment_id: uuid.UUID) -> RowMapping | None:
    return await info.context.loaders.by_id(appointments).load(appointment_id)


async def series_row(info: Info, series_id: uuid.UUID) -> RowMapping | None:
    return await info.context.loaders.by_id(appointment_series).load(series_id)


@dataclass(frozen=True)
class Occurrence:
    starts_at: datetime
    taken: bool


# A series' occurrences and which of them are taken, in one statement. The wall-clock time of
# the first start in the clinic's zone, on each listed ISO weekday from its local date on, the
# first `count` of them, each made an instant again in that zone: so 08:00 stays 08:00 across
# a daylight-saving change. A wall time the change skips (02:30 on a spring-forward day) is
# read as PostgreSQL reads it, moved forward by the gap (03:30); one it repeats, as the later
# (standard-time) instant. `count` occurrences fit in `count` weeks (one weekday a week).
# Taken: an overlapping appointment of the physiotherapist or of the patient that is not
# cancelled or a no-show (the exclusion constraints' rule), or a time the physiotherapist's
# availability refuses (a clinic holiday, a time off, outside working hours: migration 0014's
# `app_slot_refusal`, the rule of its trigger) — the one place that decides.
OCCURRENCES_SQL = text("""
WITH zone AS (
    SELECT c.time_zone AS tz, CAST(:first_starts_at AS timestamptz) AT TIME ZONE c.time_zone
           AS first_local
    FROM clinics c WHERE c.id = :clinic_id
), days AS (
    SELECT d::date AS day
    FROM zone, generate_series(
        zone.first_local::date::timestamp,
        zone.first_local::date::timestamp + make_interval(weeks => CAST(:count AS int)),
        interval '1 day'
    ) d
    WHERE extract(isodow FROM d)::int = ANY(CAST(:iso_weekdays AS int[]))
    ORDER BY d
    LIMIT CAST(:count AS int)
), occurrences AS (
    SELECT (days.day + zone.first_local::time) AT TIME ZONE zone.tz AS starts_at
    FROM days, zone
)
SELECT o.starts_at,
       extract(isodow FROM zone.first_local)::int AS first_weekday,
       EXISTS (SELECT FROM appointments a
               WHERE a.physiotherapist_id = :physiotherapist_id
                 AND a.status NOT IN ('cancelled', 'no_show')
                 AND tstzrange(a.starts_at, a.ends_at)
                     && tstzrange(o.starts_at, o.starts_at + make_interval(mins => :minutes)))
       OR EXISTS (SELECT FROM appointments a
                  WHERE a.patient_id = :patient_id
                    AND a.status NOT IN ('cancelled', 'no_show')
                    AND tstzrange(a.starts_at, a.ends_at)
                        && tstzrange(o.starts_at, o.starts_at + make_interval(mins => :minutes)))
       OR app_slot_refusal(:physiotherapist_id, o.starts_at,
                           o.starts_at + make_interval(mins => :minutes)) IS NOT NULL
       AS taken
FROM occurrences o, zone
ORDER BY o.starts_at
""")


async def series_occurrences(
    db: RequestDb,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    physiotherapist_id: uuid.UUID,
    first_starts_at: datetime,
    minutes: int,
    iso_weekdays: list[int],
    count: int,
) -> tuple[int, list[Occurrence]]:
    """The ISO weekday of the first start in the clinic's zone, and the occurrences."""
    rows = await db.fetch(
        OCCURRENCES_SQL,
        {
            "clinic_id": clinic_id,
            "patient_id": patient_id,
            "physiotherapist_id": physiotherapist_id,
            "first_starts_at": first_starts_at,
            "minutes": minutes,
            "iso_weekdays": iso_weekdays,
            "count": count,
        },
    )
    first_weekday = int(rows[0]["first_weekday"])
    return first_weekday, [Occurrence(row["starts_at"], row["taken"]) for row in rows]


async def insert_occurrences(
    db: RequestDb, values: dict[str, Any], starts: list[datetime], minutes: int
) -> set[datetime]:
    """Insert the series' appointments at `starts` in one statement; the starts inserted.
    A slot a concurrent booking took in the meantime is skipped, not an error (an exclusion
    constraint is an arbiter of ON CONFLICT DO NOTHING): the caller decides."""
    duration = timedelta(minutes=minutes)
    rows = [{**values, "starts_at": s, "ends_at": s + duration} for s in starts]
    statement = (
        pg_insert(appointments)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(appointments.c.starts_at)
    )
    return {row["starts_at"] for row in await db.fetch(statement)}


# A physiotherapist's week, by weekday and start (read by `Physiotherapist.workingHours`).
WORKING_HOURS_OF_PHYSIOTHERAPIST = ChildList(
    working_hours,
    "physiotherapist_id",
    SortKey((working_hours.c.weekday, working_hours.c.starts_at, working_hours.c.id)),
)
MAX_TIME_OFF_ROWS = 500


async def working_hours_rows(info: Info, physiotherapist_id: uuid.UUID) -> list[RowMapping]:
    """The physiotherapist's working intervals, batched across the physiotherapists asked."""
    loader = info.context.loaders.all_children(WORKING_HOURS_OF_PHYSIOTHERAPIST)
    return await loader.load(physiotherapist_id)


async def time_off_rows(
    info: Info, physiotherapist_id: uuid.UUID, since: datetime | None, until: datetime | None
) -> Sequence[RowMapping]:
    """The physiotherapist's time off meeting [since, until) (either end open), by start; at
    most MAX_TIME_OFF_ROWS. RLS shows time off to staff only."""
    statement = select(time_off).where(time_off.c.physiotherapist_id == physiotherapist_id)
    if since is not None:
        statement = statement.where(time_off.c.ends_at > since)
    if until is not None:
        statement = statement.where(time_off.c.starts_at < until)
    statement = statement.order_by(time_off.c.starts_at, time_off.c.id).limit(MAX_TIME_OFF_ROWS)
    return await info.context.db.fetch(statement)


async def holiday_rows(info: Info, since: date | None, until: date | None) -> Sequence[RowMapping]:
    """The clinic's holidays from `since` to `until` (inclusive; either end open), by date."""
    statement = select(clinic_holidays)
    if since is not None:
        statement = statement.where(clinic_holidays.c.day >= since)
    if until is not None:
        statement = statement.where(clinic_holidays.c.day <= until)
    statement = statement.order_by(clinic_holidays.c.day).limit(MAX_TIME_OFF_ROWS)
    return await info.context.db.fetch(statement)


# `availableSlots` in one statement (see its resolver for the rules). Candidates start every
# SLOT_STEP from each working interval's start, expanded per local date in the clinic's zone
# (so a daylight-saving change moves instants, never wall times), and must end inside the
# interval; the caller's clinic's live appointments and time off come from
# app_busy_intervals (migration 0017), read once. A patient sees slots only when the clinic
# allows self-booking, and only of physiotherapists who treat them (assigned, care team, or a
# live appointment: rows the patient reads anyway).
SLOT_STEP_MINUTES = 15
AVAILABLE_SLOTS = text(
    """
WITH zone AS (
    SELECT c.time_zone AS tz FROM clinics c WHERE c.id = app_clinic_id()
), chosen AS (
    SELECT p.id FROM physiotherapists p
    WHERE p.active
      AND (app_role() IS DISTINCT FROM 'patient'
           OR (SELECT c.patient_self_booking FROM clinics c WHERE c.id = app_clinic_id()))
      AND (CAST(:physiotherapist AS uuid) IS NULL OR p.id = CAST(:physiotherapist AS uuid))
      AND (app_role() IS DISTINCT FROM 'patient'
           OR p.id IN (SELECT pt.physiotherapist_id FROM patients pt
                       WHERE pt.id = app_patient_id()
                       UNION ALL
                       SELECT m.physiotherapist_id FROM care_team_members m
                       WHERE m.patient_id = app_patient_id()
                       UNION ALL
                       SELECT a.physiotherapist_id FROM appointments a
                       WHERE a.patient_id = app_patient_id()
                         AND a.status NOT IN ('cancelled', 'no_show')))
), days AS (
    SELECT CAST(d AS date) AS day
    FROM zone, generate_series(CAST(CAST(:window_from AS timestamptz) AT TIME ZONE zone.tz AS date),
                               CAST(CAST(:window_to AS timestamptz) AT TIME ZONE zone.tz AS date),
                               interval '1 day') AS d
), busy AS MATERIALIZED (
    SELECT b.physiotherapist_id, b.during
    FROM app_busy_intervals(CAST(:window_from AS timestamptz), CAST(:window_to AS timestamptz)) b
), candidates AS (
    SELECT w.physiotherapist_id, s.starts_at,
           s.starts_at + make_interval(mins => CAST(:minutes AS integer)) AS ends_at
    FROM chosen
    JOIN working_hours w ON w.physiotherapist_id = chosen.id
    JOIN days ON CAST(extract(isodow FROM days.day) AS integer) = w.weekday
    CROSS JOIN zone
    CROSS JOIN LATERAL generate_series(
        (days.day + w.starts_at) AT TIME ZONE zone.tz,
        (days.day + w.ends_at) AT TIME ZONE zone.tz
            - make_interval(mins => CAST(:minutes AS integer)),
        make_interval(mins => CAST(:step AS integer))) AS s(starts_at)
    WHERE NOT EXISTS (SELECT FROM clinic_holidays h WHERE h.day = days.day)
)
SELECT c.physiotherapist_id, c.starts_at, c.ends_at
FROM candidates c
WHERE c.starts_at >= greatest(CAST(:window_from AS timestamptz), now())
  AND c.ends_at <= CAST(:window_to AS timestamptz)
  AND NOT EXISTS (SELECT FROM busy
                  WHERE busy.physiotherapist_id = c.physiotherapist_id
                    AND busy.during && tstzrange(c.starts_at, c.ends_at))
ORDER BY c.starts_at, c.physiotherapist_id
"""
)


async def available_slot_rows(
    info: Info,
    physiotherapist_id: uuid.UUID | None,
    window_from: datetime,
    window_to: datetime,
    minutes: int,
) -> Sequence[RowMapping]:
    return await info.context.db.fetch(
        AVAILABLE_SLOTS,
        {
            "physiotherapist": physiotherapist_id,
            "window_from": window_from,
            "window_to": window_to,
            "minutes": minutes,
            "step": SLOT_STEP_MINUTES,
        },
    )
