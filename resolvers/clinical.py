"""Prontuários: the physiotherapy record (COFFITO Resolução 414/2012) and its addenda.

A record holds the anamnesis (main complaint and history), the physical-functional
examination, the kinesiological-functional diagnosis and prognosis, the therapeutic plan
(goals, techniques, expected number of sessions), the evolution of each session, vital signs,
and the author's name and CREFITO as they were when it was signed.

Records are append-only: the API has no update or delete, and the database refuses both for
every role, the owner included (0003's `refuse_change` trigger); a correction is an addendum
with its author and time. Who reads what is decided by RLS (0002): an admin reads every record,
a physiotherapist reads and writes those of the patients they treat, a patient reads their own,
a receptionist none. Every path here (`Patient.prontuarios`, `Appointment.prontuario`,
`node(id:)`, the addenda) reads through the caller's RLS transaction, so a row the caller may
not see never leaves the database.
"""

import enum
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import RowMapping
from strawberry.scalars import JSON

from graph.api.audit_reads import record_reads
from graph.api.context import Info
from graph.api.relay import Connection, Node, child_connection
from graph.core.errors import CONFLICT, FORBIDDEN, INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id, to_global_id
from graph.sql.loaders import ChildList
from graph.sql.pagination import PageArgs, SortKey
from graph.sql.writes import insert_row
from models.accounts import physiotherapists
from models.clinical import prontuario_addenda, prontuarios
from models.patients import patients
from models.scheduling import appointments

if TYPE_CHECKING:
    from resolvers.patients import Patient
    from resolvers.scheduling import Appointment
    from resolvers.staff import Physiotherapist

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients")]
AppointmentRef = Annotated["Appointment", strawberry.lazy("resolvers.scheduling")]
PhysiotherapistRef = Annotated["Physiotherapist", strawberry.lazy("resolvers.staff")]

MAX_EXPECTED_SESSIONS = 500


@strawberry.enum
class ProntuarioKind(enum.Enum):
    EVALUATION = "evaluation"
    EVOLUTION = "evolution"
    DISCHARGE = "discharge"


PRONTUARIO_SORT = SortKey((prontuarios.c.created_at, prontuarios.c.id))
ADDENDUM_SORT = SortKey((prontuario_addenda.c.created_at, prontuario_addenda.c.id))
PRONTUARIOS_OF_PATIENT = ChildList(prontuarios, "patient_id", PRONTUARIO_SORT)
# At most one record per appointment (unique index prontuarios_appointment_key).
PRONTUARIOS_OF_APPOINTMENT = ChildList(prontuarios, "appointment_id", PRONTUARIO_SORT)
ADDENDA_OF_PRONTUARIO = ChildList(prontuario_addenda, "prontuario_id", ADDENDUM_SORT)


async def _author(info: Info, physiotherapist_id: uuid.UUID) -> "Physiotherapist":
    from resolvers.staff import load_physiotherapist

    physio = await load_physiotherapist(info, physiotherapist_id)
    if physio is None:
        raise not_found("Physiotherapist")
    return physio


@strawberry.type(description="A correction or complement of a prontuário, with author and time.")
class ProntuarioAddendum:
    id: strawberry.ID
    text: str
    created_at: datetime
    author_db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: RowMapping) -> "ProntuarioAddendum":
        return cls(
            id=strawberry.ID(to_global_id("ProntuarioAddendum", row["id"])),
            text=row["text"],
            created_at=row["created_at"],
            author_db_id=row["author_id"],
        )

    @strawberry.field
    async def author(self, info: Info) -> PhysiotherapistRef:
        return await _author(info, self.author_db_id)


@strawberry.type(
    description="A physiotherapy record (COFFITO 414/2012). Never edited: corrections are addenda."
)
class Prontuario(Node):
    id: strawberry.ID
    kind: ProntuarioKind
    anamnesis: str | None = strawberry.field(description="Main complaint and clinical history.")
    physical_exam: str | None = strawberry.field(description="Physical-functional examination.")
    diagnosis: str | None = strawberry.field(description="Kinesiological-functional diagnosis.")
    prognosis: str | None
    treatment_plan: str | None = strawberry.field(
        description="Therapeutic plan: goals, techniques and procedures."
    )
    expected_sessions: int | None = strawberry.field(
        description="Expected number of sessions of the therapeutic plan."
    )
    evolution: str | None = strawberry.field(
        description="What happened in the session (evolution) or at discharge."
    )
    vital_signs: JSON | None = strawberry.field(
        description='Vital signs, e.g. {"pa": "120/80", "fc": 72, "spo2": 98, "eva": 4}.'
    )
    author_name: str = strawberry.field(description="The author's name when it was written.")
    author_crefito: str = strawberry.field(description="The author's CREFITO when it was written.")
    created_at: datetime
    db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    author_db_id: strawberry.Private[uuid.UUID]
    appointment_db_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: RowMapping) -> "Prontuario":
        return cls(
            id=strawberry.ID(to_global_id("Prontuario", row["id"])),
            kind=ProntuarioKind(row["kind"]),
            anamnesis=row["anamnesis"],
            physical_exam=row["physical_exam"],
            diagnosis=row["diagnosis"],
            prognosis=row["prognosis"],
            treatment_plan=row["treatment_plan"],
            expected_sessions=row["expected_sessions"],
            evolution=row["evolution"],
            vital_signs=JSON(row["vital_signs"]) if row["vital_signs"] is not None else None,
            author_name=row["author_name"],
            author_crefito=row["author_crefito"],
            created_at=row["created_at"],
            db_id=row["id"],
            patient_db_id=row["patient_id"],
            author_db_id=row["author_id"],
            appointment_db_id=row["appointment_id"],
        )

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        from resolvers.patients import required_patient

        return await required_patient(info, self.patient_db_id)

    @strawberry.field
    async def author(self, info: Info) -> PhysiotherapistRef:
        return await _author(info, self.author_db_id)

    @strawberry.field
    async def appointment(self, info: Info) -> AppointmentRef | None:
        from resolvers.scheduling import load_appointment

        if self.appointment_db_id is None:
            return None
        return await load_appointment(info, self.appointment_db_id)

    @strawberry.field
    async def addenda(self, info: Info) -> list[ProntuarioAddendum]:
        loader = info.context.loaders.all_children(ADDENDA_OF_PRONTUARIO)
        return [ProntuarioAddendum.from_row(row) for row in await loader.load(self.db_id)]


# Every path that shows a prontuário logs the read (graph/audit_reads: one batched statement
# per nesting level, whatever the number of records).


async def load_prontuario(info: Info, prontuario_id: uuid.UUID) -> Prontuario | None:
    row = await info.context.loaders.by_id(prontuarios).load(prontuario_id)
    if row is None:
        return None
    await record_reads(info, "prontuarios", [row["id"]])
    return Prontuario.from_row(row)


async def prontuarios_of_patient(
    info: Info, patient_id: uuid.UUID, page: PageArgs
) -> Connection[Prontuario]:
    """`Patient.prontuarios`, batched across patients (oldest first)."""
    connection: Connection[Prontuario] = await child_connection(
        info.context.loaders, PRONTUARIOS_OF_PATIENT, patient_id, page, Prontuario.from_row
    )
    await record_reads(info, "prontuarios", [edge.node.db_id for edge in connection.edges])
    return connection


async def prontuario_of_appointment(info: Info, appointment_id: uuid.UUID) -> Prontuario | None:
    """`Appointment.prontuario`, batched across appointments."""
    loader = info.context.loaders.all_children(PRONTUARIOS_OF_APPOINTMENT)
    rows = await loader.load(appointment_id)
    if not rows:
        return None
    await record_reads(info, "prontuarios", [rows[0]["id"]])
    return Prontuario.from_row(rows[0])


@strawberry.input
class CreateProntuarioInput:
    patient_id: strawberry.ID
    kind: ProntuarioKind
    appointment_id: strawberry.ID | None = None
    anamnesis: str | None = None
    physical_exam: str | None = None
    diagnosis: str | None = None
    prognosis: str | None = None
    treatment_plan: str | None = None
    expected_sessions: int | None = None
    evolution: str | None = None
    vital_signs: JSON | None = None


@strawberry.input
class AddProntuarioAddendumInput:
    prontuario_id: strawberry.ID
    text: str


# What each kind of record must say (COFFITO 414/2012), as input field → column.
REQUIRED_SECTIONS: dict[ProntuarioKind, tuple[tuple[str, str], ...]] = {
    ProntuarioKind.EVALUATION: (
        ("anamnesis", "anamnesis"),
        ("physicalExam", "physical_exam"),
        ("diagnosis", "diagnosis"),
        ("treatmentPlan", "treatment_plan"),
    ),
    ProntuarioKind.EVOLUTION: (("evolution", "evolution"),),
    ProntuarioKind.DISCHARGE: (("evolution", "evolution"),),
}
TEXT_SECTIONS = (
    ("anamnesis", "anamnesis"),
    ("physicalExam", "physical_exam"),
    ("diagnosis", "diagnosis"),
    ("prognosis", "prognosis"),
    ("treatmentPlan", "treatment_plan"),
    ("evolution", "evolution"),
)


def _section(value: str | None) -> str | None:
    return (value or "").strip() or None


def _vital_signs(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_input("vitalSigns", 'vitalSigns must be a JSON object, e.g. {"fc": 72}')
    return value


def _record_values(input: CreateProntuarioInput) -> dict[str, Any]:
    """The validated content columns of a new record."""
    values: dict[str, Any] = {
        column: _section(getattr(input, column)) for field, column in TEXT_SECTIONS
    }
    for field, column in REQUIRED_SECTIONS[input.kind]:
        if values[column] is None:
            kind = input.kind.name
            raise bad_input(field, f"{field} is required in a {kind} record (COFFITO 414/2012)")
    sessions = input.expected_sessions
    if sessions is not None and not 1 <= sessions <= MAX_EXPECTED_SESSIONS:
        raise bad_input(
            "expectedSessions", f"expectedSessions must be between 1 and {MAX_EXPECTED_SESSIONS}"
        )
    values["expected_sessions"] = sessions
    values["vital_signs"] = _vital_signs(input.vital_signs)
    return values


async def _signing_physiotherapist(info: Info) -> RowMapping:
    """The caller's physiotherapist row: who signs (author, name and CREFITO snapshots)."""
    identity = info.context.require_role(Role.PHYSIOTHERAPIST)
    assert identity.physiotherapist_id is not None, "a physiotherapist login names its physio"
    row = await info.context.loaders.by_id(physiotherapists).load(identity.physiotherapist_id)
    if row is None or not row["active"]:
        raise ApiError(FORBIDDEN, "Only an active physiotherapist may write clinical records")
    return row


async def _check_appointment(info: Info, appointment_id: uuid.UUID, patient_id: uuid.UUID) -> None:
    appointment = await info.context.loaders.by_id(appointments).load(appointment_id)
    if appointment is None:
        raise not_found("Appointment", field="appointmentId")
    if appointment["patient_id"] != patient_id:
        raise bad_input("appointmentId", "The appointment belongs to another patient")
    if appointment["status"] == "cancelled":
        raise ApiError(
            INVALID_STATE, "A cancelled appointment has no record", field="appointmentId"
        )
    if appointment["starts_at"] > datetime.now(UTC):
        raise ApiError(
            INVALID_STATE,
            "An appointment is recorded once it has started",
            field="appointmentId",
        )


async def create_prontuario(info: Info, input: CreateProntuarioInput) -> Prontuario:
    """A new record, signed by the calling physiotherapist, for a patient they treat."""
    info.context.require_role(Role.PHYSIOTHERAPIST)
    patient_id = parse_uuid_id(input.patient_id, "Patient", field="patientId")
    appointment_id = (
        parse_uuid_id(input.appointment_id, "Appointment", field="appointmentId")
        if input.appointment_id
        else None
    )
    values = _record_values(input)
    author = await _signing_physiotherapist(info)
    if await info.context.loaders.by_id(patients).load(patient_id) is None:
        raise not_found("Patient", field="patientId")
    if appointment_id is not None:
        await _check_appointment(info, appointment_id, patient_id)
    try:
        row = await insert_row(
            info.context.db,
            prontuarios,
            {
                **values,
                "clinic_id": author["clinic_id"],
                "patient_id": patient_id,
                "appointment_id": appointment_id,
                "author_id": author["id"],
                "kind": input.kind.value,
                "author_name": author["name"],
                "author_crefito": author["crefito"],
            },
        )
    except ApiError as error:
        code = error.extensions["code"]
        if code == FORBIDDEN:
            raise ApiError(
                FORBIDDEN, "You may only write the records of patients you treat", field="patientId"
            ) from None
        if code == CONFLICT:
            raise ApiError(
                CONFLICT,
                "This appointment already has a record; add an addendum to it instead",
                field="appointmentId",
            ) from None
        raise
    return Prontuario.from_row(row)


async def add_prontuario_addendum(info: Info, input: AddProntuarioAddendumInput) -> Prontuario:
    """A correction or complement, signed by the calling physiotherapist; the record itself
    never changes."""
    info.context.require_role(Role.PHYSIOTHERAPIST)
    prontuario_id = parse_uuid_id(input.prontuario_id, "Prontuario", field="prontuarioId")
    text = _section(input.text)
    if text is None:
        raise bad_input("text", "text must not be empty")
    author = await _signing_physiotherapist(info)
    record = await info.context.loaders.by_id(prontuarios).load(prontuario_id)
    if record is None:
        raise not_found("Prontuario", field="prontuarioId")
    try:
        await insert_row(
            info.context.db,
            prontuario_addenda,
            {
                "clinic_id": author["clinic_id"],
                "prontuario_id": prontuario_id,
                "author_id": author["id"],
                "text": text,
            },
            returning=("id",),
        )
    except ApiError as error:
        if error.extensions["code"] == FORBIDDEN:
            raise ApiError(
                FORBIDDEN,
                "You may only write the records of patients you treat",
                field="prontuarioId",
            ) from None
        raise
    return Prontuario.from_row(record)
