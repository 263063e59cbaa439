"""Home exercises: the library, prescriptions, the executions patients log, and adherence.

The library is the shared one (`clinic_id` NULL, written only by migrations: 0004) plus each
clinic's own exercises. Search is accent- and case-insensitive substring matching on name,
category and description, served by the trigram index `exercises_search_idx` (0001), whose
expression `SEARCH_DOCUMENT` repeats exactly.

A physiotherapist prescribes for the patients they treat; the patient logs executions of their
own ACTIVE prescriptions only (RLS checks both: 0002). Adherence is the executions logged within
the prescription's period divided by those expected so far: frequencyPerWeek x elapsed weeks,
counting the days from startsOn to today (or endsOn, if earlier), both included, on the
clinic's calendar; clamped to 0..1, null before the period starts.
"""

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import strawberry
from sqlalchemy import (
    ColumnElement,
    Date,
    RowMapping,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Uuid
from strawberry.scalars import JSON

from graph.api.context import Info
from graph.api.relay import Connection, Node, child_connection, list_connection
from graph.core.errors import FORBIDDEN, INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id, to_global_id
from graph.core.validators import aware, required_text
from graph.sql.loaders import ChildList
from graph.sql.pagination import PageArgs, SortKey
from graph.sql.writes import insert_row, update_in_state
from models.exercises import exercise_executions, exercise_prescriptions, exercises
from models.patients import patients
from resolvers.payments import CLINIC_TIME_ZONE, clinic_today

if TYPE_CHECKING:
    from resolvers.patients import Patient
    from resolvers.staff import Physiotherapist

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients")]
PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff")]

MAX_SETS = 100
MAX_REPETITIONS = 1_000
MAX_SECONDS = 24 * 3600
MAX_FREQUENCY = 21  # per week: three times a day
MAX_SEARCH_WORDS = 8
MAX_STEPS = 50
CLOCK_SKEW = timedelta(minutes=1)  # a phone's clock may run a little ahead


@strawberry.enum
class Difficulty(enum.Enum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


@strawberry.enum
class PrescriptionStatus(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# The statuses a prescription may come from to reach each status (COMPLETED and CANCELLED
# are final).
TRANSITIONS: dict[PrescriptionStatus, tuple[str, ...]] = {
    PrescriptionStatus.ACTIVE: ("paused",),
    PrescriptionStatus.PAUSED: ("active",),
    PrescriptionStatus.COMPLETED: ("active", "paused"),
    PrescriptionStatus.CANCELLED: ("active", "paused"),
}

EXERCISE_SORT = SortKey((exercises.c.name, exercises.c.id))
PRESCRIPTION_SORT = SortKey((exercise_prescriptions.c.created_at, exercise_prescriptions.c.id))
EXECUTION_SORT = SortKey((exercise_executions.c.executed_at, exercise_executions.c.id))

# Exactly the expression of the index exercises_search_idx (literals, not bind parameters, so
# the planner matches it under generic plans too).
SEARCH_DOCUMENT = func.immutable_unaccent(
    func.lower(
        exercises.c.name
        + literal_column("' '")
        + exercises.c.category
        + literal_column("' '")
        + func.coalesce(exercises.c.description, literal_column("''"))
    )
)


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "%" + escaped + "%"


def _normalized(value: Any) -> Any:
    return func.immutable_unaccent(func.lower(value))


def exercise_conditions(category: str | None, search: str | None) -> list[ColumnElement[bool]]:
    """`category`: equal, ignoring case and accents; `search`: every word appears somewhere in
    the name, category or description, ignoring case and accents."""
    conditions: list[ColumnElement[bool]] = []
    if category is not None and category.strip():
        conditions.append(_normalized(exercises.c.category) == _normalized(category.strip()))
    words = (search or "").split()
    if len(words) > MAX_SEARCH_WORDS:
        raise bad_input("search", f"search may have at most {MAX_SEARCH_WORDS} words")
    for word in words:
        if len(word) > 100:
            raise bad_input("search", "search words may have at most 100 characters")
        conditions.append(SEARCH_DOCUMENT.like(_normalized(_like_pattern(word))))
    return conditions


@strawberry.type(description="An exercise of the shared library or of the clinic's own.")
class Exercise(Node):
    id: strawberry.ID
    name: str
    description: str | None
    category: str
    difficulty: Difficulty
    duration_seconds: int | None
    instructions: list[str]
    video_url: str | None
    image_url: str | None
    shared: bool = strawberry.field(
        description="Part of the shared library (the same in every clinic, read-only)."
    )
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: RowMapping) -> "Exercise":
        return cls(
            id=strawberry.ID(to_global_id("Exercise", row["id"])),
            name=row["name"],
            description=row["description"],
            category=row["category"],
            difficulty=Difficulty(row["difficulty"]),
            duration_seconds=row["duration_seconds"],
            instructions=list(row["instructions"] or ()),
            video_url=row["video_url"],
            image_url=row["image_url"],
            shared=row["clinic_id"] is None,
            db_id=row["id"],
        )


async def load_exercise(info: Info, exercise_id: uuid.UUID) -> Exercise | None:
    row = await info.context.loaders.by_id(exercises).load(exercise_id)
    return Exercise.from_row(row) if row else None


async def list_exercises(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    category: str | None = None,
    search: str | None = None,
) -> Connection[Exercise]:
    """The shared library and the clinic's own exercises, by name."""
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        exercises,
        EXERCISE_SORT,
        PageArgs.parse(first, after, last, before),
        Exercise.from_row,
        exercise_conditions(category, search),
    )


async def exercise_categories(info: Info) -> list[str]:
    """Every category of the exercises the caller can see, alphabetically."""
    info.context.require_identity()
    statement = select(exercises.c.category).distinct().order_by(exercises.c.category)
    return [row["category"] for row in await info.context.db.fetch(statement)]


@dataclass(frozen=True)
class Adherence:
    """What `adherence` needs of a prescription, and the figure."""

    frequency_per_week: int
    starts_on: date
    ends_on: date | None

    def expected(self, today: date) -> float:
        end = min(self.ends_on, today) if self.ends_on else today
        days = (end - self.starts_on).days + 1
        return self.frequency_per_week * days / 7 if days > 0 else 0.0

    def ratio(self, done: int, today: date) -> float | None:
        expected = self.expected(today)
        if expected <= 0:
            return None
        return round(min(1.0, max(0.0, done / expected)), 4)


def _executions_in_period_statement() -> Any:
    """Per prescription, the executions whose clinic-calendar date lies in its period."""
    p, e = exercise_prescriptions, exercise_executions
    local_day = cast(func.timezone(str(CLINIC_TIME_ZONE), e.c.executed_at), Date)
    period_end = func.least(func.coalesce(p.c.ends_on, bindparam("today")), bindparam("today"))
    return (
        select(e.c.prescription_id, func.count().label("n"))
        .join(p, p.c.id == e.c.prescription_id)
        .where(
            e.c.prescription_id == any_(bindparam("ids", type_=ARRAY(Uuid()))),
            local_day >= p.c.starts_on,
            local_day <= period_end,
        )
        .group_by(e.c.prescription_id)
    )


async def executions_in_period(info: Info, prescription_id: uuid.UUID) -> int:
    """Batched across every prescription of the request: one statement per level."""
    db, today = info.context.db, clinic_today()

    async def load(ids: list[uuid.UUID]) -> list[int]:
        rows = await db.fetch(_executions_in_period_statement(), {"ids": ids, "today": today})
        counts = {row["prescription_id"]: row["n"] for row in rows}
        return [int(counts.get(i, 0)) for i in ids]

    count: int = await info.context.loaders.batch("executions_in_period", load).load(
        prescription_id
    )
    return count


async def prescription_adherence(root: "ExercisePrescription", info: Info) -> float | None:
    done = await executions_in_period(info, root.db_id)
    period = Adherence(root.frequency_per_week, root.starts_on, root.ends_on)
    return period.ratio(done, clinic_today())


@strawberry.type(description="One home-exercise session the patient logged.")
class ExerciseExecution(Node):
    id: strawberry.ID
    executed_at: datetime
    sets_done: int
    repetitions_done: int | None
    duration_seconds: int | None
    pain_level: int | None = strawberry.field(description="0 (no pain) to 10 (worst pain).")
    patient_notes: str | None
    sensor_data: JSON | None
    created_at: datetime
    db_id: strawberry.Private[uuid.UUID]
    prescription_db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: RowMapping) -> "ExerciseExecution":
        return cls(
            id=strawberry.ID(to_global_id("ExerciseExecution", row["id"])),
            executed_at=row["executed_at"],
            sets_done=row["sets_done"],
            repetitions_done=row["repetitions_done"],
            duration_seconds=row["duration_seconds"],
            pain_level=row["pain_level"],
            patient_notes=row["patient_notes"],
            sensor_data=JSON(row["sensor_data"]) if row["sensor_data"] is not None else None,
            created_at=row["created_at"],
            db_id=row["id"],
            prescription_db_id=row["prescription_id"],
            patient_db_id=row["patient_id"],
        )

    @strawberry.field
    async def prescription(self, info: Info) -> "ExercisePrescription":
        prescription = await load_prescription(info, self.prescription_db_id)
        if prescription is None:
            raise not_found("ExercisePrescription")
        return prescription

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        from resolvers.patients import required_patient

        return await required_patient(info, self.patient_db_id)


@strawberry.type(description="An exercise a physiotherapist prescribed to a patient.")
class ExercisePrescription(Node):
    id: strawberry.ID
    sets: int
    repetitions: int | None
    duration_seconds: int | None
    frequency_per_week: int
    notes: str | None
    status: PrescriptionStatus
    starts_on: date
    ends_on: date | None
    created_at: datetime
    updated_at: datetime
    db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    exercise_db_id: strawberry.Private[uuid.UUID]
    physiotherapist_db_id: strawberry.Private[uuid.UUID]
    adherence: float | None = strawberry.field(
        resolver=prescription_adherence,
        description="Executions logged within the prescription's period ÷ those expected so"
        " far (frequencyPerWeek × elapsed weeks, from startsOn to today or endsOn), 0..1;"
        " null before the period starts.",
    )

    @classmethod
    def from_row(cls, row: RowMapping) -> "ExercisePrescription":
        return cls(
            id=strawberry.ID(to_global_id("ExercisePrescription", row["id"])),
            sets=row["sets"],
            repetitions=row["repetitions"],
            duration_seconds=row["duration_seconds"],
            frequency_per_week=row["frequency_per_week"],
            notes=row["notes"],
            status=PrescriptionStatus(row["status"]),
            starts_on=row["starts_on"],
            ends_on=row["ends_on"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            db_id=row["id"],
            patient_db_id=row["patient_id"],
            exercise_db_id=row["exercise_id"],
            physiotherapist_db_id=row["physiotherapist_id"],
        )

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        from resolvers.patients import required_patient

        return await required_patient(info, self.patient_db_id)

    @strawberry.field
    async def exercise(self, info: Info) -> Exercise:
        exercise = await load_exercise(info, self.exercise_db_id)
        if exercise is None:
            raise not_found("Exercise")
        return exercise

    @strawberry.field
    async def physiotherapist(self, info: Info) -> PhysiotherapistRef:
        from resolvers.staff import required_physiotherapist

        return await required_physiotherapist(info, self.physiotherapist_db_id)

    @strawberry.field
    async def executions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ExerciseExecution]:
        page = PageArgs.parse(first, after, last, before)
        return await child_connection(
            info.context.loaders,
            EXECUTIONS_OF_PRESCRIPTION,
            self.db_id,
            page,
            ExerciseExecution.from_row,
        )


def _status_filter(status: str | None) -> list[ColumnElement[bool]]:
    return [exercise_prescriptions.c.status == status] if status else []


PRESCRIPTIONS_OF_PATIENT = ChildList(
    exercise_prescriptions, "patient_id", PRESCRIPTION_SORT, _status_filter
)
EXECUTIONS_OF_PRESCRIPTION = ChildList(exercise_executions, "prescription_id", EXECUTION_SORT)


async def load_prescription(info: Info, prescription_id: uuid.UUID) -> ExercisePrescription | None:
    row = await info.context.loaders.by_id(exercise_prescriptions).load(prescription_id)
    return ExercisePrescription.from_row(row) if row else None


async def load_execution(info: Info, execution_id: uuid.UUID) -> ExerciseExecution | None:
    row = await info.context.loaders.by_id(exercise_executions).load(execution_id)
    return ExerciseExecution.from_row(row) if row else None


async def prescriptions_of_patient(
    info: Info, patient_id: uuid.UUID, page: PageArgs, status: PrescriptionStatus | None
) -> Connection[ExercisePrescription]:
    """`Patient.prescriptions(status:)`, batched across patients."""
    return await child_connection(
        info.context.loaders,
        PRESCRIPTIONS_OF_PATIENT,
        patient_id,
        page,
        ExercisePrescription.from_row,
        status.value if status else None,
    )


async def list_prescriptions(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    patient_id: strawberry.ID | None = None,
    status: PrescriptionStatus | None = None,
) -> Connection[ExercisePrescription]:
    """The prescriptions the caller may see (RLS), oldest first."""
    info.context.require_identity()
    conditions = _status_filter(status.value if status else None)
    if patient_id is not None:
        patient = parse_uuid_id(patient_id, "Patient", field="patientId")
        conditions.append(exercise_prescriptions.c.patient_id == patient)
    return await list_connection(
        info.context.db,
        exercise_prescriptions,
        PRESCRIPTION_SORT,
        PageArgs.parse(first, after, last, before),
        ExercisePrescription.from_row,
        conditions,
    )


# -- mutations ---------------------------------------------------------------------------------


@strawberry.input
class CreateExerciseInput:
    name: str
    category: str
    difficulty: Difficulty
    description: str | None = None
    duration_seconds: int | None = None
    instructions: list[str] | None = None
    video_url: str | None = None
    image_url: str | None = None


@strawberry.input
class PrescribeExerciseInput:
    patient_id: strawberry.ID
    exercise_id: strawberry.ID
    sets: int
    frequency_per_week: int
    starts_on: date
    repetitions: int | None = None
    duration_seconds: int | None = None
    ends_on: date | None = None
    notes: str | None = None


@strawberry.input
class SetPrescriptionStatusInput:
    id: strawberry.ID
    status: PrescriptionStatus


@strawberry.input
class LogExerciseExecutionInput:
    prescription_id: strawberry.ID
    sets_done: int
    executed_at: datetime | None = None
    repetitions_done: int | None = None
    duration_seconds: int | None = None
    pain_level: int | None = None
    patient_notes: str | None = None
    sensor_data: JSON | None = None


def _in_range(value: int | None, field: str, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        raise bad_input(field, f"{field} must be between {low} and {high}")
    return value


def _optional_text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _url(value: str | None, field: str) -> str | None:
    url = (value or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad_input(field, f"{field} must be an http(s) URL")
    return url


def _instructions(steps: list[str] | None) -> list[str]:
    cleaned = [step.strip() for step in steps or ()]
    if any(not step for step in cleaned):
        raise bad_input("instructions", "instructions must not contain empty steps")
    if len(cleaned) > MAX_STEPS:
        raise bad_input("instructions", f"instructions may have at most {MAX_STEPS} steps")
    return cleaned


async def create_exercise(info: Info, input: CreateExerciseInput) -> Exercise:
    """An exercise of the caller's clinic (the shared library changes only by migrations)."""
    identity = info.context.require_role(Role.ADMIN, Role.PHYSIOTHERAPIST)
    row = await insert_row(
        info.context.db,
        exercises,
        {
            "clinic_id": identity.clinic_id,
            "name": required_text(input.name, "name"),
            "category": required_text(input.category, "category"),
            "difficulty": input.difficulty.value,
            "description": _optional_text(input.description),
            "duration_seconds": _in_range(
                input.duration_seconds, "durationSeconds", 1, MAX_SECONDS
            ),
            "instructions": _instructions(input.instructions),
            "video_url": _url(input.video_url, "videoUrl"),
            "image_url": _url(input.image_url, "imageUrl"),
        },
    )
    return Exercise.from_row(row)


def _prescription_values(input: PrescribeExerciseInput) -> dict[str, Any]:
    repetitions = _in_range(input.repetitions, "repetitions", 1, MAX_REPETITIONS)
    seconds = _in_range(input.duration_seconds, "durationSeconds", 1, MAX_SECONDS)
    if repetitions is None and seconds is None:
        raise bad_input("repetitions", "Give repetitions or durationSeconds (or both)")
    if input.ends_on is not None:
        if input.ends_on < input.starts_on:
            raise bad_input("endsOn", "endsOn must not be before startsOn")
        if input.ends_on < clinic_today():
            raise bad_input("endsOn", "endsOn must not be in the past")
    return {
        "sets": _in_range(input.sets, "sets", 1, MAX_SETS),
        "repetitions": repetitions,
        "duration_seconds": seconds,
        "frequency_per_week": _in_range(
            input.frequency_per_week, "frequencyPerWeek", 1, MAX_FREQUENCY
        ),
        "starts_on": input.starts_on,
        "ends_on": input.ends_on,
        "notes": _optional_text(input.notes),
    }


async def prescribe_exercise(info: Info, input: PrescribeExerciseInput) -> ExercisePrescription:
    """A prescription by the calling physiotherapist, for a patient they treat."""
    identity = info.context.require_role(Role.PHYSIOTHERAPIST)
    patient_id = parse_uuid_id(input.patient_id, "Patient", field="patientId")
    exercise_id = parse_uuid_id(input.exercise_id, "Exercise", field="exerciseId")
    values = _prescription_values(input)
    loaders = info.context.loaders
    if await loaders.by_id(patients).load(patient_id) is None:
        raise not_found("Patient", field="patientId")
    if await loaders.by_id(exercises).load(exercise_id) is None:
        raise not_found("Exercise", field="exerciseId")
    try:
        row = await insert_row(
            info.context.db,
            exercise_prescriptions,
            {
                **values,
                "clinic_id": identity.clinic_id,
                "patient_id": patient_id,
                "exercise_id": exercise_id,
                "physiotherapist_id": identity.physiotherapist_id,
            },
        )
    except ApiError as error:
        if error.extensions["code"] == FORBIDDEN:
            raise ApiError(
                FORBIDDEN, "You may only prescribe for patients you treat", field="patientId"
            ) from None
        raise
    return ExercisePrescription.from_row(row)


async def set_prescription_status(
    info: Info, input: SetPrescriptionStatusInput
) -> ExercisePrescription:
    """ACTIVE ⇄ PAUSED; ACTIVE or PAUSED → COMPLETED or CANCELLED (final). Ending a
    prescription early moves its endsOn to today, so adherence stops counting there. Setting
    the status it already has changes nothing."""
    info.context.require_role(Role.PHYSIOTHERAPIST)
    prescription_id = parse_uuid_id(input.id, "ExercisePrescription")
    current = await info.context.loaders.by_id(exercise_prescriptions).load(prescription_id)
    if current is None:
        raise not_found("ExercisePrescription", field="id")
    target = input.status
    if current["status"] == target.value:
        return ExercisePrescription.from_row(current)
    values: dict[str, Any] = {"status": target.value}
    if target in (PrescriptionStatus.COMPLETED, PrescriptionStatus.CANCELLED):
        today = clinic_today()
        if current["ends_on"] is None or current["ends_on"] > today:
            values["ends_on"] = max(today, current["starts_on"])
    row = await update_in_state(
        info.context.db,
        exercise_prescriptions,
        prescription_id,
        TRANSITIONS[target],
        values,
        "Prescription",
    )
    return ExercisePrescription.from_row(row)


def _executed_at(value: datetime | None) -> datetime:
    now = datetime.now(UTC)
    if value is None:
        return now
    executed_at = aware(value, "executedAt")
    if executed_at > now + CLOCK_SKEW:
        raise bad_input("executedAt", "executedAt must not be in the future")
    return executed_at


async def log_exercise_execution(info: Info, input: LogExerciseExecutionInput) -> ExerciseExecution:
    """The calling patient logs a session of one of their own ACTIVE prescriptions."""
    identity = info.context.require_role(Role.PATIENT)
    prescription_id = parse_uuid_id(
        input.prescription_id, "ExercisePrescription", field="prescriptionId"
    )
    executed_at = _executed_at(input.executed_at)
    values = {
        "sets_done": _in_range(input.sets_done, "setsDone", 0, MAX_SETS),
        "repetitions_done": _in_range(
            input.repetitions_done, "repetitionsDone", 0, MAX_REPETITIONS
        ),
        "duration_seconds": _in_range(input.duration_seconds, "durationSeconds", 0, MAX_SECONDS),
        "pain_level": _in_range(input.pain_level, "painLevel", 0, 10),
        "patient_notes": _optional_text(input.patient_notes),
        "sensor_data": input.sensor_data,
    }
    # RLS shows a patient only their own prescriptions: anyone else's is NOT_FOUND.
    prescription = await info.context.loaders.by_id(exercise_prescriptions).load(prescription_id)
    if prescription is None or prescription["patient_id"] != identity.patient_id:
        raise not_found("ExercisePrescription", field="prescriptionId")
    if prescription["status"] != PrescriptionStatus.ACTIVE.value:
        raise ApiError(
            INVALID_STATE,
            f"A {prescription['status']} prescription takes no executions",
            field="prescriptionId",
        )
    day = executed_at.astimezone(CLINIC_TIME_ZONE).date()
    if day < prescription["starts_on"]:
        raise bad_input("executedAt", "executedAt is before the prescription starts")
    if prescription["ends_on"] is not None and day > prescription["ends_on"]:
        raise bad_input("executedAt", "executedAt is after the prescription ended")
    row = await insert_row(
        info.context.db,
        exercise_executions,
        {
            **values,
            "clinic_id": identity.clinic_id,
            "prescription_id": prescription_id,
            "patient_id": identity.patient_id,
            "executed_at": executed_at,
        },
    )
    return ExerciseExecution.from_row(row)
