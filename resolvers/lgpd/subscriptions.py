"""`consentChanged` and `dataSubjectRequestChanged`: consents granted or revoked and requests
filed or fulfilled, as the subscriber may see them (a patient: their own)."""

from collections.abc import AsyncGenerator

import strawberry

from graph.api.builders import from_row
from graph.api.context import Info
from graph.realtime.broker import declared_topic
from resolvers.events import After, ChangeOp, event_cursor, optional_id, row_matches
from resolvers.lgpd.types import Consent, ConsentEvent, DataSubjectRequest, DataSubjectRequestEvent

CONSENTS = declared_topic("consentChanged", "Consent")
REQUESTS = declared_topic("dataSubjectRequestChanged", "DataSubjectRequest")


async def consent_changed(
    info: Info, patient_id: strawberry.ID | None = None, after: After = None
) -> AsyncGenerator[ConsentEvent, None]:
    info.context.require_identity()
    matches = row_matches(patient_id=optional_id(patient_id, "Patient", "patientId"))
    async for event, row in info.context.events(CONSENTS, matches, after=after):
        yield ConsentEvent(
            op=ChangeOp(event.op), consent=from_row(Consent, row), cursor=event_cursor(info, event)
        )


async def data_subject_request_changed(
    info: Info, after: After = None
) -> AsyncGenerator[DataSubjectRequestEvent, None]:
    info.context.require_identity()
    async for event, row in info.context.events(REQUESTS, row_matches(), after=after):
        yield DataSubjectRequestEvent(
            op=ChangeOp(event.op),
            data_subject_request=from_row(DataSubjectRequest, row),
            cursor=event_cursor(info, event),
        )


@strawberry.type
class LgpdSubscriptions:
    consent_changed: AsyncGenerator[ConsentEvent, None] = strawberry.subscription(
        resolver=consent_changed
    )
    data_subject_request_changed: AsyncGenerator[DataSubjectRequestEvent, None] = (
        strawberry.subscription(resolver=data_subject_request_changed)
    )
