"""Payments: amounts are numeric(12,2) and stay Decimal from the database to the client."""

from sqlalchemy import Column, Date, DateTime, ForeignKey, Numeric, Table, Text, Uuid, text

from models.base import metadata

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
