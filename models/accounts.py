"""Clinics, staff logins and physiotherapists."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Table,
    Text,
    Uuid,
    column,
    table,
    text,
)

from models.base import metadata
from models.type_map import Children, GlobalId, ResolverOnly, Scalar, ToOne, TypeMap

clinics = Table(
    "clinics",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("name", Text, nullable=False),
    Column("cnpj", Text),
    Column("time_zone", Text, nullable=False, server_default=text("'America/Sao_Paulo'")),
    Column("patient_self_booking", Boolean, nullable=False, server_default=text("false")),
    Column("patient_cancel_notice_hours", Integer, nullable=False, server_default=text("24")),
    # How long before a session its reminder fires (0021, graph/integrations/reminders.py).
    Column("reminder_hours_before", Integer, nullable=False, server_default=text("24")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

physiotherapists = Table(
    "physiotherapists",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("crefito", Text, nullable=False),
    Column("specialty", Text),
    Column("phone", Text),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# password_hash is not here on purpose: fisioflow_app may not read it; login goes through the
# SECURITY DEFINER function auth_user_by_email().
users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("physiotherapist_id", Uuid, ForeignKey("physiotherapists.id")),
    Column("patient_id", Uuid, ForeignKey("patients.id")),
    Column("active", Boolean, nullable=False),
    Column("last_login_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("must_change_password", Boolean, nullable=False),
)
# users.token_version (migration 0016) is not here either: fisioflow_app may not read it; the
# identity round trip compares it.

# The columns a new login is written with (INSERT only: nobody reads password_hash back).
user_credentials = table(
    "users",
    column("id", Uuid),
    column("clinic_id", Uuid),
    column("email", Text),
    column("password_hash", Text),
    column("role", Text),
    column("physiotherapist_id", Uuid),
    column("patient_id", Uuid),
)

# What an admin's password reset writes (the token version follows, by trigger).
user_password_resets = table(
    "users",
    column("id", Uuid),
    column("password_hash", Text),
    column("must_change_password", Boolean),
    column("updated_at", DateTime(timezone=True)),
)

CLINIC = TypeMap(
    "Clinic",
    clinics,
    {
        "id": GlobalId("Clinic"),
    },
    hidden=("updated_at",),
    compiled=True,
)

PHYSIOTHERAPIST = TypeMap(
    "Physiotherapist",
    physiotherapists,
    {
        "id": GlobalId("Physiotherapist"),
        "patients": Children("Patient", "physiotherapist_id"),
        "appointments": Children("Appointment", "physiotherapist_id"),
        "workingHours": ResolverOnly("wall-clock intervals (a Time scalar no declaration has)"),
        "timeOff": ResolverOnly("staff only, with a window; read by resolvers/scheduling/data"),
    },
    hidden=("clinic_id", "created_at", "updated_at"),
    sort=("name", "id"),
    root_list="physiotherapists",
    compiled=True,
    clinic_wide=True,
)

# A login of the clinic's staff (admin, receptionist or physiotherapist: every login but a
# patient's); not a Node. Listed for admins only (`staffUsers`).
STAFF_USER = TypeMap(
    "StaffUser",
    users,
    {
        "id": GlobalId("StaffUser"),
        "role": Scalar("role", "enum"),
        "physiotherapist": ToOne("Physiotherapist", "physiotherapist_id"),
    },
    hidden=("clinic_id", "patient_id", "updated_at"),
    sort=("email", "id"),
)
