"""Availability: a physiotherapist's weekly working hours and time off, the clinic's holidays
(migration 0014; the rule every booking passes is `app_slot_refusal` there)."""

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    SmallInteger,
    Table,
    Text,
    Time,
    Uuid,
    text,
)

from models.base import metadata

working_hours = Table(
    "working_hours",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("physiotherapist_id", Uuid, ForeignKey("physiotherapists.id"), nullable=False),
    Column("weekday", SmallInteger, nullable=False),  # ISO: 1 = Monday .. 7 = Sunday
    Column("starts_at", Time, nullable=False),  # wall-clock, in the clinic's time zone
    Column("ends_at", Time, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

time_off = Table(
    "time_off",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("physiotherapist_id", Uuid, ForeignKey("physiotherapists.id"), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

clinic_holidays = Table(
    "clinic_holidays",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("day", Date, nullable=False),  # a date of the clinic's calendar
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)
