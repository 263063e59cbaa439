"""Prontuários (clinical records) and their addenda: append-only, never updated or deleted."""

from sqlalchemy import Column, DateTime, ForeignKey, Integer, Table, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB

from models.base import metadata
from models.type_map import Children, GlobalId, Scalar, ToOne, TypeMap

prontuarios = Table(
    "prontuarios",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("author_id", Uuid, ForeignKey("physiotherapists.id"), nullable=False),
    Column("appointment_id", Uuid, ForeignKey("appointments.id")),
    Column("kind", Text, nullable=False),
    Column("anamnesis", Text),
    Column("physical_exam", Text),
    Column("diagnosis", Text),
    Column("prognosis", Text),
    Column("treatment_plan", Text),
    Column("expected_sessions", Integer),
    Column("evolution", Text),
    Column("vital_signs", JSONB),
    # Snapshots of the author at signing time (COFFITO: name and CREFITO on the record).
    Column("author_name", Text, nullable=False),
    Column("author_crefito", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

prontuario_addenda = Table(
    "prontuario_addenda",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("prontuario_id", Uuid, ForeignKey("prontuarios.id"), nullable=False),
    Column("author_id", Uuid, ForeignKey("physiotherapists.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# Reading a prontuário leaves an audit row (graph/api/audit_reads.py): only resolvers read them.
PRONTUARIO = TypeMap(
    "Prontuario",
    prontuarios,
    {
        "id": GlobalId("Prontuario"),
        "kind": Scalar("kind", "enum"),
        "patient": ToOne("Patient", "patient_id", nullable=False),
        "author": ToOne("Physiotherapist", "author_id", nullable=False),
        "appointment": ToOne("Appointment", "appointment_id"),
        "addenda": Children("ProntuarioAddendum", "prontuario_id", connection=False),
    },
    hidden=("clinic_id",),
    sort=("created_at", "id"),
    audited=True,
)

# Not a Node: shown only within its prontuário.
PRONTUARIO_ADDENDUM = TypeMap(
    "ProntuarioAddendum",
    prontuario_addenda,
    {
        "id": GlobalId("ProntuarioAddendum"),
        "author": ToOne("Physiotherapist", "author_id", nullable=False),
    },
    hidden=("clinic_id", "prontuario_id"),
    sort=("created_at", "id"),
)
