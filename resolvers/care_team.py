"""Care teams: the physiotherapists an admin or receptionist puts on a patient's team.

A physiotherapist treats a patient (reads and writes their records and prescriptions, books
them) who is assigned to them, on their care team, or has an appointment with them that is
neither cancelled nor a no-show (DESIGN.md; enforced by row-level security, migration 0008).
Only the front desk changes a team, so nobody makes themself one who treats; each change is
an audit row (the table's audit trigger) naming who made it.

The mutations answer the Patient, whose `careTeam` shows the result: a membership holds
nothing of its own worth a type (who granted it and when are in the audit log).
"""

import uuid

import strawberry
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert

from graph.api.context import Info
from graph.core.errors import not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.sql.loaders import ChildList
from graph.sql.pagination import SortKey
from models.accounts import physiotherapists
from models.care_team import care_team_members
from resolvers.patients import Patient, load_patient, required_patient

TEAM_OF_PATIENT = ChildList(
    care_team_members,
    "patient_id",
    SortKey((care_team_members.c.created_at, care_team_members.c.id)),
)


@strawberry.input
class CareTeamMemberInput:
    patient_id: strawberry.ID
    physiotherapist_id: strawberry.ID


def _member(input: CareTeamMemberInput) -> tuple[uuid.UUID, uuid.UUID]:
    return (
        parse_uuid_id(input.patient_id, "Patient", field="patientId"),
        parse_uuid_id(input.physiotherapist_id, "Physiotherapist", field="physiotherapistId"),
    )


async def care_team_ids(info: Info, patient_id: uuid.UUID) -> list[uuid.UUID]:
    """The patient's care team (physiotherapist ids, in the order they joined), batched."""
    rows = await info.context.loaders.all_children(TEAM_OF_PATIENT).load(patient_id)
    return [row["physiotherapist_id"] for row in rows]


async def add_care_team_member(info: Info, input: CareTeamMemberInput) -> Patient:
    """Put a physiotherapist of the clinic on the patient's care team (already there: no
    change). NOT_FOUND for a patient or physiotherapist the clinic does not have."""
    identity = info.context.require_role(Role.ADMIN, Role.RECEPTIONIST)
    patient_id, physio_id = _member(input)
    statement = (
        insert(care_team_members)
        .values(clinic_id=identity.clinic_id, patient_id=patient_id, physiotherapist_id=physio_id)
        .on_conflict_do_nothing(index_elements=["patient_id", "physiotherapist_id"])
    )
    await info.context.db.fetch(statement)
    return await required_patient(info, patient_id)


async def remove_care_team_member(info: Info, input: CareTeamMemberInput) -> Patient:
    """Take a physiotherapist off the patient's care team (not on it: no change). They keep
    treating the patient only if assigned or booked with them."""
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST)
    patient_id, physio_id = _member(input)
    patient = await load_patient(info, patient_id)
    if patient is None:
        raise not_found("Patient", field="patientId")
    if await info.context.loaders.by_id(physiotherapists).load(physio_id) is None:
        raise not_found("Physiotherapist", field="physiotherapistId")
    await info.context.db.fetch(
        delete(care_team_members).where(
            care_team_members.c.patient_id == patient_id,
            care_team_members.c.physiotherapist_id == physio_id,
        )
    )
    return patient
