"""`paymentChanged`: payments created or changed, for the front desk and the patient."""

from collections.abc import AsyncGenerator

import strawberry

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.identity import Role
from graph.realtime.broker import declared_topic
from resolvers.events import After, ChangeOp, event_cursor, optional_id, row_matches
from resolvers.payments.types import Payment, PaymentEvent

PAYMENTS = declared_topic("paymentChanged", "Payment")


async def payment_changed(
    info: Info, patient_id: strawberry.ID | None = None, after: After = None
) -> AsyncGenerator[PaymentEvent, None]:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PATIENT)
    matches = row_matches(patient_id=optional_id(patient_id, "Patient", "patientId"))
    async for event, row in info.context.events(PAYMENTS, matches, after=after):
        yield PaymentEvent(
            op=ChangeOp(event.op), payment=from_row(Payment, row), cursor=event_cursor(info, event)
        )


@strawberry.type
class PaymentSubscriptions:
    payment_changed: AsyncGenerator[PaymentEvent, None] = strawberry.subscription(
        resolver=payment_changed
    )
