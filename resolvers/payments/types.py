"""The payment, its enums and filter, and the `paymentChanged` event."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from sqlalchemy import RowMapping

from graph.api.context import Info
from graph.api.relay import Node
from graph.core.ids import to_global_id
from resolvers.events import ChangeOp
from resolvers.objects import build, register
from resolvers.patients.data import required_patient_row
from resolvers.payments.data import clinic_today
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
class Payment(Node):
    id: strawberry.ID
    amount: Decimal
    method: PaymentMethod
    status: PaymentStatus
    due_date: date | None
    paid_at: datetime | None
    gateway_transaction_id: str | None
    notes: str | None
    created_at: datetime
    db_id: strawberry.Private[uuid.UUID]
    patient_db_id: strawberry.Private[uuid.UUID]
    appointment_db_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: RowMapping) -> "Payment":
        return cls(
            id=strawberry.ID(to_global_id("Payment", row["id"])),
            amount=row["amount"],
            method=PaymentMethod(row["method"]),
            status=PaymentStatus(row["status"]),
            due_date=row["due_date"],
            paid_at=row["paid_at"],
            gateway_transaction_id=row["gateway_transaction_id"],
            notes=row["notes"],
            created_at=row["created_at"],
            db_id=row["id"],
            patient_db_id=row["patient_id"],
            appointment_db_id=row["appointment_id"],
        )

    @strawberry.field
    def overdue(self) -> bool:
        return (
            self.status is PaymentStatus.PENDING
            and self.due_date is not None
            and self.due_date < clinic_today()
        )

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
