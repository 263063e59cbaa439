"""LGPD and compliance: consents, data-subject requests, the audit log, compliance checks/issues."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from models.base import metadata

consents = Table(
    "consents",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("granted", Boolean, nullable=False, server_default=text("true")),
    Column("granted_at", DateTime(timezone=True), server_default=text("now()")),
    Column("revoked_at", DateTime(timezone=True)),
    # The clinic confirmed it stopped processing for the revoked purpose (0005_lgpd).
    Column("revocation_acknowledged_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# due_at is always requested_at + 15 days (LGPD art. 19), set by the database.
data_subject_requests = Table(
    "data_subject_requests",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("details", Text),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("fulfilled_at", DateTime(timezone=True)),
    Column("response", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# Written only by triggers and SECURITY DEFINER functions; fisioflow_app may only read it.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("table_name", Text, nullable=False),
    Column("operation", Text, nullable=False),
    Column("record_id", Uuid),
    Column("actor_id", Uuid),
    Column("actor_role", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("old_data", JSONB),
    Column("new_data", JSONB),
)

compliance_checks = Table(
    "compliance_checks",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("framework", Text, nullable=False),
    Column("check_type", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("score", Integer, nullable=False),
    Column("last_checked", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("next_check", DateTime(timezone=True), nullable=False),
    Column("issues_found", Integer, nullable=False, server_default=text("0")),
    Column("description", Text, nullable=False),
    Column("recommendations", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

compliance_issues = Table(
    "compliance_issues",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("check_id", Uuid, ForeignKey("compliance_checks.id")),
    Column("framework", Text, nullable=False),
    Column("requirement", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("resolved", Boolean, nullable=False, server_default=text("false")),
    Column("resolution", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("resolved_at", DateTime(timezone=True)),
)
