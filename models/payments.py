"""Payments: amounts are numeric(12,2) and stay Decimal from the database to the client."""

from sqlalchemy import Column, Date, DateTime, ForeignKey, Numeric, Table, Text, Uuid, text

from models.base import metadata
from models.graph_map import Computed, GlobalId, Scalar, ToOne, TypeMap

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

# `overdue` follows the clinic's wall calendar (resolvers/payments.clinic_today).
PAYMENT = TypeMap(
    "Payment",
    payments,
    {
        "id": GlobalId("Payment"),
        "amount": Scalar("amount", "decimal"),
        "method": Scalar("method", "enum"),
        "status": Scalar("status", "enum"),
        "dueDate": Scalar("due_date", "date"),
        "paidAt": Scalar("paid_at", "datetime"),
        "overdue": Computed(
            "({t}.status = 'pending' and {t}.due_date is not null"
            " and {t}.due_date < (now() at time zone 'America/Sao_Paulo')::date)"
        ),
        "gatewayTransactionId": Scalar("gateway_transaction_id"),
        "notes": Scalar("notes"),
        "createdAt": Scalar("created_at", "datetime"),
        "patient": ToOne("Patient", "patient_id", nullable=False),
        "appointment": ToOne("Appointment", "appointment_id"),
    },
)
