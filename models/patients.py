"""Patients (demographics); clinical data lives in other areas."""

from sqlalchemy import Column, Date, DateTime, ForeignKey, Table, Text, Uuid, text

from models.base import metadata

patients = Table(
    "patients",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("physiotherapist_id", Uuid, ForeignKey("physiotherapists.id")),
    Column("name", Text, nullable=False),
    Column("email", Text),
    Column("phone", Text),
    Column("birth_date", Date),
    Column("cpf", Text),
    Column("cns", Text),
    Column("address", Text),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("anonymized_at", DateTime(timezone=True)),
)
