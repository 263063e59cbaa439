"""The exercise library (shared rows have no clinic), prescriptions and logged executions."""

from sqlalchemy import (
    Column,
    Date,
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
    Children,
    Col,
    Compare,
    Computed,
    Filter,
    GlobalId,
    Input,
    IsNull,
    ResolverFilter,
    ResolverOnly,
    Scalar,
    ToOne,
    TypeMap,
)

# clinic_id NULL = the shared library, readable by every clinic, written only by migrations.
exercises = Table(
    "exercises",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id")),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("category", Text, nullable=False),
    Column("difficulty", Text, nullable=False),
    Column("duration_seconds", Integer),
    Column("instructions", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("video_url", Text),
    Column("image_url", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

exercise_prescriptions = Table(
    "exercise_prescriptions",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("exercise_id", Uuid, ForeignKey("exercises.id"), nullable=False),
    Column("physiotherapist_id", Uuid, ForeignKey("physiotherapists.id"), nullable=False),
    Column("sets", Integer, nullable=False),
    Column("repetitions", Integer),
    Column("duration_seconds", Integer),
    Column("frequency_per_week", Integer, nullable=False),
    Column("notes", Text),
    Column("status", Text, nullable=False, server_default=text("'active'")),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

exercise_executions = Table(
    "exercise_executions",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("prescription_id", Uuid, ForeignKey("exercise_prescriptions.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False),
    Column("executed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("sets_done", Integer, nullable=False),
    Column("repetitions_done", Integer),
    Column("duration_seconds", Integer),
    Column("pain_level", Integer),
    Column("patient_notes", Text),
    Column("sensor_data", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

EXERCISE = TypeMap(
    "Exercise",
    exercises,
    {
        "id": GlobalId("Exercise"),
        "difficulty": Scalar("difficulty", "enum"),
        "shared": Computed(IsNull(Col("clinic_id"))),
    },
    hidden=("clinic_id", "created_at", "updated_at"),
    sort=("name", "id"),
    root_list="exercises",
    filters={
        "category": ResolverFilter("equal ignoring case and accents"),
        "search": ResolverFilter("every word, ignoring case and accents (trigram index)"),
    },
)

EXERCISE_PRESCRIPTION = TypeMap(
    "ExercisePrescription",
    exercise_prescriptions,
    {
        "id": GlobalId("ExercisePrescription"),
        "status": Scalar("status", "enum"),
        "patient": ToOne("Patient", "patient_id", nullable=False),
        "exercise": ToOne("Exercise", "exercise_id", nullable=False),
        "physiotherapist": ToOne("Physiotherapist", "physiotherapist_id", nullable=False),
        "executions": Children("ExerciseExecution", "prescription_id"),
        "adherence": ResolverOnly("counts the executions within the period on the clinic calendar"),
    },
    hidden=("clinic_id",),
    sort=("created_at", "id"),
    root_list="prescriptions",
    filters={
        "patientId": Filter(Compare(Col("patient_id"), "=", Input()), "id", "Patient"),
        "status": Filter(Compare(Col("status"), "=", Input()), "enum"),
    },
)

EXERCISE_EXECUTION = TypeMap(
    "ExerciseExecution",
    exercise_executions,
    {
        "id": GlobalId("ExerciseExecution"),
        "prescription": ToOne("ExercisePrescription", "prescription_id", nullable=False),
        "patient": ToOne("Patient", "patient_id", nullable=False),
        "cursor": ResolverOnly("the position of the event a subscription delivered it with"),
    },
    hidden=("clinic_id",),
    sort=("executed_at", "id"),
    root_list="exerciseExecutions",
)
