"""Appointments: the clinic's agenda, and the recurring series that book many at once."""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Numeric,
    SmallInteger,
    Table,
    Text,
    Uuid,
    text,
)

from models.base import metadata
from models.type_map import (
    AnyOf,
    Children,
    Col,
    Compare,
    Computed,
    Filter,
    ForeignId,
    GlobalId,
    Input,
    MinutesBetween,
    ResolverOnly,
    Scalar,
    ToOne,
    TypeMap,
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("physiotherapist_id", Uuid, ForeignKey("physiotherapists.id"), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("type", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'scheduled'")),
    Column("notes", Text),
    Column("price", Numeric(12, 2, asdecimal=True)),
    Column("cancel_reason", Text),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # An admin booked it outside the physiotherapist's working hours on purpose (0014).
    Column("outside_working_hours", Boolean, nullable=False, server_default=text("false")),
    Column("series_id", Uuid, ForeignKey("appointment_series.id")),
    Column("checked_in_at", DateTime(timezone=True)),
    Column("no_show_reason", Text),
)

appointment_series = Table(
    "appointment_series",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("physiotherapist_id", Uuid, ForeignKey("physiotherapists.id"), nullable=False),
    Column("first_starts_at", DateTime(timezone=True), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("type", Text, nullable=False),
    Column("iso_weekdays", ARRAY(SmallInteger), nullable=False),  # 1 = Monday .. 7 = Sunday
    Column("count", Integer, nullable=False),
    Column("skipped_starts", ARRAY(DateTime(timezone=True)), nullable=False),
    Column("created_by", Uuid, ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("cancelled_at", DateTime(timezone=True)),
)


# Every status an appointment took, with who and when (written by the database, append-only).
appointment_status_changes = Table(
    "appointment_status_changes",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("appointment_id", Uuid, ForeignKey("appointments.id"), nullable=False),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("reason", Text),
    Column("actor_id", Uuid),
    Column("actor_role", Text),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

APPOINTMENT = TypeMap(
    "Appointment",
    appointments,
    {
        "id": GlobalId("Appointment"),
        "type": Scalar("type", "enum"),
        "status": Scalar("status", "enum"),
        "durationMinutes": Computed(MinutesBetween(Col("starts_at"), Col("ends_at"))),
        "patient": ToOne("Patient", "patient_id", nullable=False),
        "physiotherapist": ToOne("Physiotherapist", "physiotherapist_id", nullable=False),
        "payments": Children("Payment", "appointment_id", connection=False),
        "statusHistory": Children("AppointmentStatusChange", "appointment_id", connection=False),
        "prontuario": ResolverOnly("the one prontuario of the appointment (audited read)"),
        "series": ToOne("AppointmentSeries", "series_id"),
    },
    # outside_working_hours: the database's record of an admin's override, not a field.
    hidden=("clinic_id", "cancelled_at", "completed_at", "outside_working_hours"),
    sort=("starts_at", "id"),
    root_list="appointments",
    filters={
        "from": Filter(Compare(Col("starts_at"), ">=", Input()), "datetime"),
        "to": Filter(Compare(Col("starts_at"), "<", Input()), "datetime"),
        "status": Filter(AnyOf(Col("status")), "enums"),
        "physiotherapistId": Filter(
            Compare(Col("physiotherapist_id"), "=", Input()), "id", "Physiotherapist"
        ),
        "patientId": Filter(Compare(Col("patient_id"), "=", Input()), "id", "Patient"),
    },
    compiled=True,
)

# The weekdays and the skipped starts are arrays of values the declarations have no scalar
# kind for: the type shows them through resolvers, from the hidden columns.
APPOINTMENT_SERIES = TypeMap(
    "AppointmentSeries",
    appointment_series,
    {
        "id": GlobalId("AppointmentSeries"),
        "type": Scalar("type", "enum"),
        "patient": ToOne("Patient", "patient_id", nullable=False),
        "physiotherapist": ToOne("Physiotherapist", "physiotherapist_id", nullable=False),
        "weekdays": ResolverOnly("the ISO weekdays as the Weekday enum"),
        "conflicts": ResolverOnly("the skipped starts"),
        "appointments": Children("Appointment", "series_id"),
    },
    hidden=("clinic_id", "iso_weekdays", "skipped_starts", "created_by"),
)

APPOINTMENT_STATUS_CHANGE = TypeMap(
    "AppointmentStatusChange",
    appointment_status_changes,
    {
        "id": GlobalId("AppointmentStatusChange", "int"),
        "fromStatus": Scalar("from_status", "enum"),
        "toStatus": Scalar("to_status", "enum"),
        # The login that made the change (null: no request, e.g. a data load).
        "actorId": ForeignId("actor_id", "User"),
        "actorRole": Scalar("actor_role", "enum", lenient=True),
    },
    hidden=("clinic_id", "appointment_id"),
    sort=("changed_at", "id"),
)
