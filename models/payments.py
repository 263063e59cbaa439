"""Payments: amounts are numeric(12,2) and stay Decimal from the database to the client."""

from sqlalchemy import Column, Date, DateTime, ForeignKey, Numeric, Table, Text, Uuid, text

from models.base import metadata
from models.type_map import (
    AllOf,
    AnyOf,
    Coalesce,
    Col,
    Compare,
    Computed,
    Const,
    DateOf,
    Filter,
    Flag,
    GlobalId,
    Input,
    IsNull,
    Scalar,
    Today,
    ToOne,
    TypeMap,
)

payments = Table(
    "payments",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("appointment_id", Uuid, ForeignKey("appointments.id")),
    Column("amount", Numeric(12, 2, asdecimal=True), nullable=False),
    Column("method", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("due_date", Date),
    Column("paid_at", DateTime(timezone=True)),
    Column("refunded_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("status_reason", Text),
    Column("gateway_transaction_id", Text),
    Column("notes", Text),
    Column("idempotency_key", Text, nullable=False),
    Column("request_fingerprint", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# Pending past its due date on the clinic's calendar: the `overdue` field and filter.
OVERDUE = AllOf(
    (
        Compare(Col("status"), "=", Const("pending")),
        IsNull(Col("due_date"), negated=True),
        Compare(Col("due_date"), "<", Today()),
    )
)
# `from` / `to` bound the payment's due date (its creation date when it has none).
BILLING_DATE = Coalesce(Col("due_date"), DateOf(Col("created_at")))

PAYMENT = TypeMap(
    "Payment",
    payments,
    {
        "id": GlobalId("Payment"),
        "method": Scalar("method", "enum"),
        "status": Scalar("status", "enum"),
        "overdue": Computed(OVERDUE),
        "patient": ToOne("Patient", "patient_id", nullable=False),
        "appointment": ToOne("Appointment", "appointment_id"),
    },
    hidden=(
        "clinic_id",
        "refunded_at",
        "cancelled_at",
        "status_reason",
        "idempotency_key",
        "request_fingerprint",
        "updated_at",
    ),
    sort=("created_at", "id"),
    root_list="payments",
    filters={
        "status": Filter(AnyOf(Col("status")), "enums"),
        "patientId": Filter(Compare(Col("patient_id"), "=", Input()), "id", "Patient"),
        # Left to the resolvers: they judge "today" in Python, the same at every level.
        "overdue": Flag(OVERDUE, compiled=False),
        "from": Filter(Compare(BILLING_DATE, ">=", Input()), "date"),
        "to": Filter(Compare(BILLING_DATE, "<=", Input()), "date"),
    },
    compiled=True,
)
