"""`prontuarioAdded` and `vitalSignsRecorded`: clinical records as they are written, for those
who may read them (never a receptionist), each delivery in the audit log as a read by every
subscriber it reaches."""

from collections.abc import AsyncGenerator

import strawberry

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.identity import Role
from graph.realtime.broker import declared_topic
from resolvers.clinical.data import record_prontuario_reads, record_vital_signs_reads
from resolvers.clinical.types import Prontuario, ProntuarioEvent, VitalSigns, VitalSignsEvent
from resolvers.events import After, event_cursor, optional_id, row_matches

PRONTUARIOS = declared_topic("prontuarioAdded", "Prontuario")
VITAL_SIGNS = declared_topic("vitalSignsRecorded", "VitalSigns")
CLINICAL_READERS = (Role.ADMIN, Role.PHYSIOTHERAPIST, Role.PATIENT)


async def prontuario_added(
    info: Info, patient_id: strawberry.ID | None = None, after: After = None
) -> AsyncGenerator[ProntuarioEvent, None]:
    """New prontuários of the patients you may read (a physiotherapist: those they treat; a
    patient: their own)."""
    info.context.require_role(*CLINICAL_READERS)
    matches = row_matches(patient_id=optional_id(patient_id, "Patient", "patientId"))
    async for event, row in info.context.events(PRONTUARIOS, matches, after=after):
        if event.op == "INSERT":
            await record_prontuario_reads(info, [row["id"]])
            yield ProntuarioEvent(
                prontuario=from_row(Prontuario, row), cursor=event_cursor(info, event)
            )


async def vital_signs_recorded(
    info: Info, patient_id: strawberry.ID | None = None, after: After = None
) -> AsyncGenerator[VitalSignsEvent, None]:
    """New vital-sign readings of the patients you may read."""
    info.context.require_role(*CLINICAL_READERS)
    matches = row_matches(patient_id=optional_id(patient_id, "Patient", "patientId"))
    async for event, row in info.context.events(VITAL_SIGNS, matches, after=after):
        if event.op == "INSERT":
            await record_vital_signs_reads(info, [row["id"]])
            yield VitalSignsEvent(
                vital_signs=from_row(VitalSigns, row), cursor=event_cursor(info, event)
            )


@strawberry.type
class ClinicalSubscriptions:
    prontuario_added: AsyncGenerator[ProntuarioEvent, None] = strawberry.subscription(
        resolver=prontuario_added
    )
    vital_signs_recorded: AsyncGenerator[VitalSignsEvent, None] = strawberry.subscription(
        resolver=vital_signs_recorded
    )
