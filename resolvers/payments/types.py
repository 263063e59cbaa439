"""The payment, its enums and filter, and the `paymentChanged` event."""

import enum
import uuid
from datetime import date
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from graph.api.context import Info
from graph.api.declared_fields import declared_fields
from graph.api.object_types import register
from graph.api.relay import Node
from resolvers.events import CURSOR_DESCRIPTION, ChangeOp
from resolvers.objects import build
from resolvers.patients.data import required_patient_row
from resolvers.scheduling.data import appointment_row

if TYPE_CHECKING:
    from resolvers.patients.types import Patient
    from resolvers.scheduling.types import Appointment

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]
AppointmentRef = Annotated["Appointment", strawberry.lazy("resolvers.scheduling.types")]


@strawberry.enum
class PaymentMethod(enum.Enum):
    PIX = "pix"
    CREDIT_CARD = "credit_card"
    DEBIT_CARD = "debit_card"
    BOLETO = "boleto"
    CASH = "cash"
    INSURANCE = "insurance"


@strawberry.enum
class PaymentStatus(enum.Enum):
    PENDING = "pending"
    PAID = "paid"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


@strawberry.input
class PaymentFilter:
    status: list[PaymentStatus] | None = None
    patient_id: strawberry.ID | None = None
    overdue: bool | None = None
    from_: date | None = strawberry.field(name="from", default=None)
    to: date | None = None


@register
@strawberry.type
@declared_fields
class Payment(Node):
    method: PaymentMethod
    status: PaymentStatus
    db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    appointment_db_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def patient(self, info: Info) -> PatientRef:
        return cast(
            "Patient", build("Patient", await required_patient_row(info, self.patient_db_id))
        )

    @strawberry.field
    async def appointment(self, info: Info) -> AppointmentRef | None:
        if self.appointment_db_id is None:
            return None
        row = await appointment_row(info, self.appointment_db_id)
        return cast("Appointment", build("Appointment", row)) if row else None


@strawberry.type
class PaymentEvent:
    op: ChangeOp
    payment: Payment
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
