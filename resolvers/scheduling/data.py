"""Appointments at row level: the nested lists other areas' types show (`Patient.appointments`,
`Physiotherapist.appointments`, `AppointmentSeries.appointments`), and a series' occurrences."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from graph.api.context import Info
from graph.sql.declared import child_list
from graph.sql.session import RequestDb
from models.scheduling import appointment_series, appointments

# Filtered by the appointments' declared filter (models/scheduling.py), as `appointments` is.
APPOINTMENTS_OF_PATIENT = child_list("Patient", "appointments")
APPOINTMENTS_OF_PHYSIOTHERAPIST = child_list("Physiotherapist", "appointments")
APPOINTMENTS_OF_SERIES = child_list("AppointmentSeries", "appointments")


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
