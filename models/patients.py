"""Patients (demographics); clinical data lives in other areas."""

from sqlalchemy import Column, Date, DateTime, ForeignKey, Table, Text, Uuid, text

from models.base import metadata
from models.type_map import (
    Children,
    Col,
    Compare,
    Filter,
    GlobalId,
    Input,
    ResolverFilter,
    ResolverOnly,
    Scalar,
    ToOne,
    TypeMap,
)

INSURANCE_COLUMNS = (
    Column("insurance_provider", Text),
    Column("insurance_plan_name", Text),
    Column("insurance_member_number", Text),
    Column("insurance_valid_until", Date),
)
EMERGENCY_CONTACT_COLUMNS = (
    Column("emergency_contact_name", Text),
    Column("emergency_contact_phone", Text),
    Column("emergency_contact_relationship", Text),
)

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
    Column("contact_channel", Text, nullable=False, server_default=text("'whatsapp'")),
    # Front-desk data, shown as `insurance { ... }` and `emergencyContact { ... }`.
    *INSURANCE_COLUMNS,
    *EMERGENCY_CONTACT_COLUMNS,
)

PATIENT = TypeMap(
    "Patient",
    patients,
    {
        "id": GlobalId("Patient"),
        "status": Scalar("status", "enum"),
        "contactChannel": Scalar("contact_channel", "enum"),
        "insurance": ResolverOnly("made of the insurance_* columns; null without a provider"),
        "emergencyContact": ResolverOnly("made of the emergency_contact_* columns"),
        "allergies": ResolverOnly("the clinical profile: another table, audited reads"),
        "conditions": ResolverOnly("the clinical profile: another table, audited reads"),
        "medications": ResolverOnly("the clinical profile: another table, audited reads"),
        "physiotherapist": ToOne("Physiotherapist", "physiotherapist_id"),
        "appointments": Children("Appointment", "patient_id"),
        "payments": Children("Payment", "patient_id"),
        "prontuarios": Children("Prontuario", "patient_id"),
        "vitalSigns": Children("VitalSigns", "patient_id"),
        "prescriptions": Children("ExercisePrescription", "patient_id"),
        "consents": Children("Consent", "patient_id", connection=False),
        "careTeam": ResolverOnly("physiotherapists through care_team_members"),
    },
    hidden=(
        "clinic_id",
        *(column.name for column in INSURANCE_COLUMNS + EMERGENCY_CONTACT_COLUMNS),
    ),
    sort=("name", "id"),
    root_list="patients",
    filters={
        "search": ResolverFilter(
            "accent- and case-insensitive name, e-mail or CPF digits (unaccent index)"
        ),
        "status": Filter(Compare(Col("status"), "=", Input()), "enum"),
        "physiotherapistId": Filter(
            Compare(Col("physiotherapist_id"), "=", Input()), "id", "Physiotherapist"
        ),
    },
    compiled=True,
)
