"""`createPayment` (idempotent: a retry with the same key answers the same payment) and the
state changes `markPaymentPaid`, `refundPayment`, `cancelPayment`."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import strawberry

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.errors import CONFLICT, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.core.validators import aware, money
from graph.sql.writes import insert_unless_exists, update_in_state
from models.patients import patients
from models.payments import payments
from models.scheduling import appointments
from resolvers.payments.types import Payment, PaymentMethod, PaymentStatus


@strawberry.input
class CreatePaymentInput:
    patient_id: strawberry.ID
    amount: Decimal
    method: PaymentMethod
    idempotency_key: str
    appointment_id: strawberry.ID | None = None
    due_date: date | None = None
    notes: str | None = None


@strawberry.input
class MarkPaymentPaidInput:
    id: strawberry.ID
    paid_at: datetime | None = None
    gateway_transaction_id: str | None = None


@strawberry.input
class RefundPaymentInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.input
class CancelPaymentInput:
    id: strawberry.ID
    reason: str | None = None


@dataclass(frozen=True)
class NewPayment:
    """A validated createPayment input; its fingerprint tells a retry from a different charge."""

    patient_id: uuid.UUID
    appointment_id: uuid.UUID | None
    amount: Decimal
    method: str
    due_date: date | None
    notes: str | None

    @classmethod
    def of(cls, input: CreatePaymentInput) -> "NewPayment":
        return cls(
            patient_id=parse_uuid_id(input.patient_id, "Patient", field="patientId"),
            appointment_id=parse_uuid_id(input.appointment_id, "Appointment", field="appointmentId")
            if input.appointment_id
            else None,
            amount=money(input.amount, "amount"),
            method=input.method.value,
            due_date=input.due_date,
            notes=(input.notes or "").strip() or None,
        )

    def fingerprint(self) -> str:
        canonical = orjson.dumps(
            [
                str(self.patient_id),
                str(self.appointment_id),
                str(self.amount),
                self.method,
                str(self.due_date),
                self.notes,
            ]
        )
        return hashlib.sha256(canonical).hexdigest()


def _idempotency_key(value: str) -> str:
    key = value.strip()
    if not key:
        raise bad_input("idempotencyKey", "idempotencyKey must not be empty")
    return key


async def _check_references(info: Info, new: NewPayment) -> None:
    loaders = info.context.loaders
    if await loaders.by_id(patients).load(new.patient_id) is None:
        raise not_found("Patient", field="patientId")
    if new.appointment_id is not None:
        appointment = await loaders.by_id(appointments).load(new.appointment_id)
        if appointment is None:
            raise not_found("Appointment", field="appointmentId")
        if appointment["patient_id"] != new.patient_id:
            raise bad_input("appointmentId", "The appointment belongs to another patient")


async def create_payment(info: Info, input: CreatePaymentInput) -> Payment:
    """Insert, or return the payment an earlier call with the same key created."""
    identity = info.context.require_role(Role.ADMIN, Role.RECEPTIONIST)
    key = _idempotency_key(input.idempotency_key)
    new = NewPayment.of(input)
    await _check_references(info, new)
    fingerprint = new.fingerprint()
    values = {
        "clinic_id": identity.clinic_id,
        "patient_id": new.patient_id,
        "appointment_id": new.appointment_id,
        "amount": new.amount,
        "method": new.method,
        "due_date": new.due_date,
        "notes": new.notes,
        "idempotency_key": key,
        "request_fingerprint": fingerprint,
    }
    row = await insert_unless_exists(info.context.db, payments, values, "idempotency_key")
    if row["request_fingerprint"] != fingerprint:
        raise ApiError(
            CONFLICT,
            "This idempotencyKey was already used for a different payment",
            field="idempotencyKey",
        )
    return from_row(Payment, row)


def _payment_id(global_id: str) -> uuid.UUID:
    return parse_uuid_id(global_id, "Payment")


def _reason(value: str | None) -> str | None:
    return (value or "").strip() or None


async def mark_payment_paid(info: Info, input: MarkPaymentPaidInput) -> Payment:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST)
    paid_at = aware(input.paid_at, "paidAt") if input.paid_at else datetime.now(UTC)
    if paid_at > datetime.now(UTC):
        raise bad_input("paidAt", "paidAt must not be in the future")
    row = await update_in_state(
        info.context.db,
        payments,
        _payment_id(input.id),
        ("pending",),
        {
            "status": PaymentStatus.PAID.value,
            "paid_at": paid_at,
            "gateway_transaction_id": _reason(input.gateway_transaction_id),
        },
        "Payment",
    )
    return from_row(Payment, row)


async def refund_payment(info: Info, input: RefundPaymentInput) -> Payment:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST)
    row = await update_in_state(
        info.context.db,
        payments,
        _payment_id(input.id),
        ("paid",),
        {
            "status": PaymentStatus.REFUNDED.value,
            "refunded_at": datetime.now(UTC),
            "status_reason": _reason(input.reason),
        },
        "Payment",
    )
    return from_row(Payment, row)


async def cancel_payment(info: Info, input: CancelPaymentInput) -> Payment:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST)
    row = await update_in_state(
        info.context.db,
        payments,
        _payment_id(input.id),
        ("pending",),
        {
            "status": PaymentStatus.CANCELLED.value,
            "cancelled_at": datetime.now(UTC),
            "status_reason": _reason(input.reason),
        },
        "Payment",
    )
    return from_row(Payment, row)


@strawberry.type
class PaymentMutations:
    create_payment: Payment = strawberry.field(resolver=create_payment)
    mark_payment_paid: Payment = strawberry.field(resolver=mark_payment_paid)
    refund_payment: Payment = strawberry.field(resolver=refund_payment)
    cancel_payment: Payment = strawberry.field(resolver=cancel_payment)
