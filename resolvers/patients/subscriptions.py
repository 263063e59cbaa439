"""`patientChanged`: patients registered or changed (anonymization included), for the staff
and for the patient themself."""

from collections.abc import AsyncGenerator

import strawberry

from graph.api.builders import from_row
from graph.api.context import Info
from graph.realtime.broker import declared_topic
from resolvers.events import After, ChangeOp, event_cursor, optional_id, row_matches
from resolvers.patients.types import Patient, PatientEvent

PATIENTS = declared_topic("patientChanged", "Patient")


async def patient_changed(
    info: Info, patient_id: strawberry.ID | None = None, after: After = None
) -> AsyncGenerator[PatientEvent, None]:
    info.context.require_identity()
    matches = row_matches(id=optional_id(patient_id, "Patient", "patientId"))
    async for event, row in info.context.events(PATIENTS, matches, after=after):
        yield PatientEvent(
            op=ChangeOp(event.op), patient=from_row(Patient, row), cursor=event_cursor(info, event)
        )


@strawberry.type
class PatientSubscriptions:
    patient_changed: AsyncGenerator[PatientEvent, None] = strawberry.subscription(
        resolver=patient_changed
    )
