"""`paymentChanged`: payments created or changed, for the front desk and the patient."""

from collections.abc import AsyncGenerator

import strawberry

from graph.api.context import Info
from graph.core.identity import Role
from graph.realtime.broker import table_topic
from models.patients import patients
from models.payments import payments
from resolvers.events import ChangeOp, optional_id, row_matches
from resolvers.payments.types import Payment, PaymentEvent

PAYMENTS = table_topic("paymentChanged", payments, {"patient_id": patients})


async def payment_changed(
    info: Info, patient_id: strawberry.ID | None = None
) -> AsyncGenerator[PaymentEvent, None]:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PATIENT)
    matches = row_matches(patient_id=optional_id(patient_id, "Patient", "patientId"))
    async for event, row in info.context.events(PAYMENTS, matches):
        yield PaymentEvent(op=ChangeOp(event.op), payment=Payment.from_row(row))


@strawberry.type
class PaymentSubscriptions:
    payment_changed: AsyncGenerator[PaymentEvent, None] = strawberry.subscription(
        resolver=payment_changed
    )
