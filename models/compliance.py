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
from models.type_map import (
    AllOf,
    AnyOf,
    Children,
    Col,
    Compare,
    Computed,
    Filter,
    Flag,
    ForeignId,
    GlobalId,
    Input,
    IsNull,
    Now,
    RecordId,
    ResolverFilter,
    Scalar,
    SortBy,
    ToOne,
    TypeMap,
)

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

CONSENT = TypeMap(
    "Consent",
    consents,
    {
        "id": GlobalId("Consent"),
        # listed: the type shows policyVersion after revokedAt, not in the table's order
        "granted": Scalar("granted"),
        "grantedAt": Scalar("granted_at"),
        "revokedAt": Scalar("revoked_at"),
        "policyVersion": Scalar("policy_version"),
        "revocationAcknowledgedAt": Scalar("revocation_acknowledged_at"),
        "createdAt": Scalar("created_at"),
        "patient": ToOne("Patient", "patient_id", nullable=False),
    },
    hidden=("clinic_id", "updated_at"),
    sort=("created_at", "id"),
)

OPEN_REQUEST = IsNull(Col("fulfilled_at"))
# Open past its deadline (requestedAt + 15 days, LGPD art. 19).
OVERDUE_REQUEST = AllOf((OPEN_REQUEST, Compare(Col("due_at"), "<", Now())))

DATA_SUBJECT_REQUEST = TypeMap(
    "DataSubjectRequest",
    data_subject_requests,
    {
        "id": GlobalId("DataSubjectRequest"),
        "kind": Scalar("kind", "enum"),
        "overdue": Computed(OVERDUE_REQUEST),
        "patient": ToOne("Patient", "patient_id", nullable=False),
    },
    hidden=("clinic_id",),
    # Open requests first, by deadline (so overdue ones lead), then fulfilled ones.
    sort=(SortBy("closed", IsNull(Col("fulfilled_at"), negated=True)), "due_at", "id"),
    root_list="dataSubjectRequests",
    filters={
        "patientId": Filter(Compare(Col("patient_id"), "=", Input()), "id", "Patient"),
        "kind": Filter(AnyOf(Col("kind")), "enums"),
        "open": Flag(OPEN_REQUEST),
        "overdue": Flag(OVERDUE_REQUEST),
    },
)

AUDIT_ENTRY = TypeMap(
    "AuditEntry",
    audit_log,
    {
        "id": GlobalId("AuditEntry", "int"),
        # A login's rows are named by the ID `me { userId }` shows.
        "recordId": RecordId("record_id", "table_name", {"users": "User"}),
        "actorId": ForeignId("actor_id", "User"),
        "actorRole": Scalar("actor_role", "enum", lenient=True),
    },
    hidden=("clinic_id",),
    sort=("at", "id"),
    root_list="auditLog",
    filters={
        "tableName": Filter(Compare(Col("table_name"), "=", Input()), "text"),
        "recordId": ResolverFilter("the global ID of a row of any type"),
        "actorId": ResolverFilter("the global ID of a User or StaffUser"),
        "operation": ResolverFilter("upper-cased, one of INSERT, UPDATE, DELETE, SELECT"),
        "from": Filter(Compare(Col("at"), ">=", Input()), "datetime"),
        "to": Filter(Compare(Col("at"), "<", Input()), "datetime"),
    },
)

COMPLIANCE_CHECK = TypeMap(
    "ComplianceCheck",
    compliance_checks,
    {
        "id": GlobalId("ComplianceCheck"),
        "framework": Scalar("framework", "enum"),
        "state": Scalar("state", "enum"),
        "severity": Scalar("severity", "enum"),
        "issues": Children("ComplianceIssue", "check_id", connection=False),
    },
    hidden=("clinic_id", "created_at"),
    sort=("last_checked", "id"),
    root_list="complianceChecks",
    filters={
        "framework": Filter(Compare(Col("framework"), "=", Input()), "enum"),
        "checkType": Filter(Compare(Col("check_type"), "=", Input()), "text"),
    },
)

COMPLIANCE_ISSUE = TypeMap(
    "ComplianceIssue",
    compliance_issues,
    {
        "id": GlobalId("ComplianceIssue"),
        "framework": Scalar("framework", "enum"),
        "severity": Scalar("severity", "enum"),
        "check": ToOne("ComplianceCheck", "check_id"),
    },
    hidden=("clinic_id",),
    sort=("created_at", "id"),
    root_list="complianceIssues",
    filters={
        "framework": Filter(Compare(Col("framework"), "=", Input()), "enum"),
        "resolved": Filter(Compare(Col("resolved"), "=", Input()), "bool"),
    },
)
