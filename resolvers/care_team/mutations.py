"""`addCareTeamMember` and `removeCareTeamMember`: the front desk changes a patient's team.

The mutations answer the Patient, whose `careTeam` shows the result: a membership holds
nothing of its own worth a type (who granted it and when are in the audit log).
"""

import uuid
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert

from graph.api.context import Info
from graph.core.errors import not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from models.accounts import physiotherapists
from models.care_team import care_team_members
from resolvers.objects import build
from resolvers.patients.data import patient_row, required_patient_row

if TYPE_CHECKING:
    from resolvers.patients.types import Patient

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]


@strawberry.input
class CareTeamMemberInput:
    patient_id: strawberry.ID
    physiotherapist_id: strawberry.ID


def _member(input: CareTeamMemberInput) -> tuple[uuid.UUID, uuid.UUID]:
    return (
        parse_uuid_id(input.patient_id, "Patient", field="patientId"),
        parse_uuid_id(input.physiotherapist_id, "Physiotherapist", field="physiotherapistId"),
    )


async def add_care_team_member(info: Info, input: CareTeamMemberInput) -> PatientRef:
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
    return cast("Patient", build("Patient", await required_patient_row(info, patient_id)))


async def remove_care_team_member(info: Info, input: CareTeamMemberInput) -> PatientRef:
    """Take a physiotherapist off the patient's care team (not on it: no change). They keep
    treating the patient only if assigned or booked with them."""
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST)
    patient_id, physio_id = _member(input)
    patient = await patient_row(info, patient_id)
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
    return cast("Patient", build("Patient", patient))


@strawberry.type
class CareTeamMutations:
    add_care_team_member: PatientRef = strawberry.field(resolver=add_care_team_member)
    remove_care_team_member: PatientRef = strawberry.field(resolver=remove_care_team_member)
