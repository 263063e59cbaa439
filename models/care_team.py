"""Care teams: physiotherapists an admin or receptionist puts on a patient's team."""

from sqlalchemy import Column, DateTime, ForeignKey, Table, Uuid, text

from models.base import metadata

care_team_members = Table(
    "care_team_members",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("physiotherapist_id", Uuid, ForeignKey("physiotherapists.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)
