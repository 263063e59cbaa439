"""Appointments: the clinic's agenda."""

from sqlalchemy import Column, DateTime, ForeignKey, Numeric, Table, Text, Uuid, text

from models.base import metadata
from models.type_map import (
    AnyOf,
    Children,
    Col,
    Compare,
    Computed,
    Filter,
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
        "prontuario": ResolverOnly("the one prontuario of the appointment (audited read)"),
    },
    hidden=("clinic_id", "cancelled_at", "completed_at"),
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
