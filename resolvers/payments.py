"""Payments: lists and filters, idempotent creation, and the pending → paid → refunded /
pending → cancelled state machine. Amounts are Decimal from the database to the client."""

import enum
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import orjson
import strawberry
from sqlalchemy import ColumnElement, RowMapping, and_, func, literal

from graph.api.context import Info
from graph.api.relay import Connection, Node, child_connection, list_connection
from graph.core.errors import CONFLICT, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id, to_global_id
from graph.core.validators import aware, money
from graph.sql.compiler import FilterCondition, id_of, one_of
from graph.sql.loaders import ChildList
from graph.sql.pagination import PageArgs, SortKey
from graph.sql.writes import insert_unless_exists, update_in_state
from models.patients import patients
from models.payments import payments
from models.scheduling import appointments

if TYPE_CHECKING:
    from resolvers.patients import Patient
    from resolvers.scheduling import Appointment

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients")]
AppointmentRef = Annotated["Appointment", strawberry.lazy("resolvers.scheduling")]

CLINIC_TIME_ZONE = ZoneInfo("America/Sao_Paulo")


def clinic_today() -> date:
    """`overdue` is judged by the date on the clinic's wall calendar."""
    return datetime.now(CLINIC_TIME_ZONE).date()


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


PAYMENT_SORT = SortKey((payments.c.created_at, payments.c.id))


@strawberry.input
class PaymentFilter:
    status: list[PaymentStatus] | None = None
    patient_id: strawberry.ID | None = None
    overdue: bool | None = None
    from_: date | None = strawberry.field(name="from", default=None)
    to: date | None = None


def _overdue_condition() -> ColumnElement[bool]:
    today = literal(clinic_today())
    return and_(payments.c.status == "pending", payments.c.due_date < today)


def _filter_conditions(filter: PaymentFilter | None) -> list[ColumnElement[bool]]:
    """`from`/`to` bound the payment's due date (its creation date when it has none)."""
    if filter is None:
        return []
    c = payments.c
    conditions: list[ColumnElement[bool]] = []
    if filter.status:
        conditions.append(c.status.in_([s.value for s in filter.status]))
    if filter.patient_id is not None:
        patient = parse_uuid_id(filter.patient_id, "Patient", field="filter.patientId")
        conditions.append(c.patient_id == patient)
    if filter.overdue is not None:
        overdue = _overdue_condition()
        conditions.append(overdue if filter.overdue else ~overdue)
    billing_date = func.coalesce(c.due_date, func.date(c.created_at))
    if filter.from_ is not None:
        conditions.append(billing_date >= filter.from_)
    if filter.to is not None:
        conditions.append(billing_date <= filter.to)
    return conditions


# The same conditions for the query compiler (graph/sql/compiler.py), on its row alias `{t}`;
# `overdue` (which depends on the clinic's today) is left to the resolvers.
PAYMENT_FILTER = {
    "status": one_of("status"),
    "patientId": id_of("patient_id", "Patient", "filter.patientId"),
    "from": FilterCondition(
        "coalesce({t}.due_date, date({t}.created_at)) >= {v}", "date", lambda value: value
    ),
    "to": FilterCondition(
        "coalesce({t}.due_date, date({t}.created_at)) <= {v}", "date", lambda value: value
    ),
}


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
        from resolvers.patients import required_patient

        return await required_patient(info, self.patient_db_id)

    @strawberry.field
    async def appointment(self, info: Info) -> AppointmentRef | None:
        from resolvers.scheduling import load_appointment

        if self.appointment_db_id is None:
            return None
        return await load_appointment(info, self.appointment_db_id)


async def load_payment(info: Info, payment_id: uuid.UUID) -> Payment | None:
    row = await info.context.loaders.by_id(payments).load(payment_id)
    return Payment.from_row(row) if row else None


PAYMENTS_OF_PATIENT = ChildList(payments, "patient_id", PAYMENT_SORT)
PAYMENTS_OF_APPOINTMENT = ChildList(payments, "appointment_id", PAYMENT_SORT)


async def payments_of_patient(
    info: Info, patient_id: uuid.UUID, page: PageArgs
) -> Connection[Payment]:
    return await child_connection(
        info.context.loaders, PAYMENTS_OF_PATIENT, patient_id, page, Payment.from_row
    )


async def payments_of_appointment(info: Info, appointment_id: uuid.UUID) -> list[Payment]:
    rows = await info.context.loaders.all_children(PAYMENTS_OF_APPOINTMENT).load(appointment_id)
    return [Payment.from_row(row) for row in rows]


async def list_payments(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: PaymentFilter | None = None,
) -> Connection[Payment]:
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        payments,
        PAYMENT_SORT,
        PageArgs.parse(first, after, last, before),
        Payment.from_row,
        _filter_conditions(filter),
    )


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
    return Payment.from_row(row)


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
    return Payment.from_row(row)


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
    return Payment.from_row(row)


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
    return Payment.from_row(row)
