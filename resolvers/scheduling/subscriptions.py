"""`appointmentChanged`: appointments created or changed, as the subscriber may see them."""

from collections.abc import AsyncGenerator

import strawberry

from graph.api.builders import from_row
from graph.api.context import Info
from graph.realtime.broker import declared_topic
from resolvers.events import After, ChangeOp, event_cursor, optional_id, row_matches
from resolvers.scheduling.types import Appointment, AppointmentEvent

APPOINTMENTS = declared_topic("appointmentChanged", "Appointment")


async def appointment_changed(
    info: Info,
    physiotherapist_id: strawberry.ID | None = None,
    patient_id: strawberry.ID | None = None,
    after: After = None,
) -> AsyncGenerator[AppointmentEvent, None]:
    matches = row_matches(
        physiotherapist_id=optional_id(physiotherapist_id, "Physiotherapist", "physiotherapistId"),
        patient_id=optional_id(patient_id, "Patient", "patientId"),
    )
    async for event, row in info.context.events(APPOINTMENTS, matches, after=after):
        yield AppointmentEvent(
            op=ChangeOp(event.op),
            appointment=from_row(Appointment, row),
            cursor=event_cursor(info, event),
        )


@strawberry.type
class SchedulingSubscriptions:
    appointment_changed: AsyncGenerator[AppointmentEvent, None] = strawberry.subscription(
        resolver=appointment_changed
    )
