"""Prontuários (clinical records) and their addenda: append-only, never updated or deleted;
the patient's clinical profile (allergies, conditions, medications) and vital signs."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    Table,
    Text,
    Uuid,
    text,
)
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

# -- clinical profile ------------------------------------------------------------------------

CLINICAL_LISTS = ("allergies", "conditions", "medications")
MAX_CLINICAL_ENTRIES = 50  # entries of each list
MAX_CLINICAL_ENTRY = 200  # characters of an entry (the database's clinical_list_ok says so too)

# One row per patient. A list is NULL when never recorded, empty when recorded as none.
clinical_profiles = Table(
    "clinical_profiles",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False, unique=True),
    *(Column(name, ARRAY(Text)) for name in CLINICAL_LISTS),
    Column("updated_by", Uuid, ForeignKey("physiotherapists.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# -- vital signs -----------------------------------------------------------------------------

# Physiological ranges, inclusive, of each measurement (column → lowest, highest); the
# database's CHECK constraints (migration 0019) say the same, tests/migrations/test_profile.py
# holds them equal. Decimal bounds: the column is numeric (its scale is the table's).
VITAL_SIGN_RANGES: Mapping[str, tuple[int | Decimal, int | Decimal]] = {
    "heart_rate": (20, 250),
    "systolic": (50, 260),
    "diastolic": (30, 160),
    "respiratory_rate": (4, 60),
    "spo2": (50, 100),
    "temperature": (Decimal(30), Decimal(45)),
    "pain_level": (0, 10),
    "weight_kg": (Decimal("0.5"), Decimal(400)),
    "height_cm": (Decimal(30), Decimal(250)),
}
# The numeric measurements: (precision, scale) of their columns; the others are integers.
NUMERIC_MEASUREMENTS = {"temperature": (3, 1), "weight_kg": (5, 2), "height_cm": (4, 1)}


def _measurement(name: str) -> "Column[Any]":
    if name in NUMERIC_MEASUREMENTS:
        return Column(name, Numeric(*NUMERIC_MEASUREMENTS[name], asdecimal=True))
    return Column(name, Integer)


vital_signs = Table(
    "vital_signs",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("recorded_by", Uuid, ForeignKey("physiotherapists.id"), nullable=False),
    *(_measurement(name) for name in VITAL_SIGN_RANGES),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# Read like prontuários: every read leaves an audit row, so only the resolvers read them.
VITAL_SIGNS = TypeMap(
    "VitalSigns",
    vital_signs,
    {
        "id": GlobalId("VitalSigns"),
        "patient": ToOne("Patient", "patient_id", nullable=False),
        "recordedBy": ToOne("Physiotherapist", "recorded_by", nullable=False),
    },
    hidden=("clinic_id",),
    sort=("recorded_at", "id"),
    root_list="vitalSigns",
    audited=True,
)
