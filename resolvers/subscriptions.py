"""Subscriptions: live changes, each re-read under the subscriber's own identity (graph/broker)."""

import enum
import uuid
from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from graph.api.context import Info
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.realtime.broker import Event, Topic, table_topic
from graph.sql.session import RequestDb
from models.accounts import physiotherapists
from models.exercises import exercise_executions
from models.patients import patients
from models.payments import payments
from models.scheduling import appointments
from resolvers.compliance import ComplianceStatus, compute_compliance_status
from resolvers.exercises import ExerciseExecution
from resolvers.payments import Payment
from resolvers.scheduling import Appointment


@strawberry.enum
class ChangeOp(enum.Enum):
    CREATED = "INSERT"
    UPDATED = "UPDATE"
    DELETED = "DELETE"


@strawberry.type
class AppointmentEvent:
    op: ChangeOp
    appointment: Appointment


@strawberry.type
class PaymentEvent:
    op: ChangeOp
    payment: Payment


APPOINTMENTS = table_topic(
    "appointmentChanged",
    appointments,
    {"patient_id": patients, "physiotherapist_id": physiotherapists},
)
PAYMENTS = table_topic("paymentChanged", payments, {"patient_id": patients})
EXECUTIONS = table_topic("exerciseExecutionLogged", exercise_executions)


async def _recompute_status(db: RequestDb, events: list[Event]) -> list[tuple[Event, Any]]:
    """One fresh status per cohort and batch, however many checks and issues changed."""
    assert db.identity is not None
    return [(events[-1], await compute_compliance_status(db, db.identity.clinic_id))]


COMPLIANCE = Topic(
    "complianceStatusChanged",
    frozenset({"compliance_checks", "compliance_issues"}),
    _recompute_status,
)


def _optional_id(value: strawberry.ID | None, type_name: str, field: str) -> uuid.UUID | None:
    return parse_uuid_id(value, type_name, field=field) if value else None


def row_matches(**wanted: uuid.UUID | None) -> Any:
    """An event filter: every given column of the re-read row equals the wanted id."""
    required = {column: value for column, value in wanted.items() if value is not None}

    def matches(event: Event, row: Any) -> bool:
        return all(row[column] == value for column, value in required.items())

    return matches


async def appointment_changed(
    info: Info,
    physiotherapist_id: strawberry.ID | None = None,
    patient_id: strawberry.ID | None = None,
) -> AsyncGenerator[AppointmentEvent, None]:
    matches = row_matches(
        physiotherapist_id=_optional_id(physiotherapist_id, "Physiotherapist", "physiotherapistId"),
        patient_id=_optional_id(patient_id, "Patient", "patientId"),
    )
    async for event, row in info.context.events(APPOINTMENTS, matches):
        yield AppointmentEvent(op=ChangeOp(event.op), appointment=Appointment.from_row(row))


async def payment_changed(
    info: Info, patient_id: strawberry.ID | None = None
) -> AsyncGenerator[PaymentEvent, None]:
    info.context.require_role(Role.ADMIN, Role.RECEPTIONIST, Role.PATIENT)
    matches = row_matches(patient_id=_optional_id(patient_id, "Patient", "patientId"))
    async for event, row in info.context.events(PAYMENTS, matches):
        yield PaymentEvent(op=ChangeOp(event.op), payment=Payment.from_row(row))


async def exercise_execution_logged(
    info: Info, patient_id: strawberry.ID | None = None
) -> AsyncGenerator[ExerciseExecution, None]:
    """New home-exercise logs; a receptionist has no access to clinical data at all."""
    info.context.require_role(Role.ADMIN, Role.PHYSIOTHERAPIST, Role.PATIENT)
    matches = row_matches(patient_id=_optional_id(patient_id, "Patient", "patientId"))
    async for event, row in info.context.events(EXECUTIONS, matches):
        if event.op == "INSERT":
            yield ExerciseExecution.from_row(row)


async def compliance_status_changed(info: Info) -> AsyncGenerator[ComplianceStatus, None]:
    """The clinic's compliance status, again, whenever a check or an issue changes."""
    info.context.require_role(Role.ADMIN, Role.PHYSIOTHERAPIST, Role.RECEPTIONIST)
    async for _, status in info.context.events(COMPLIANCE, lambda event, value: True):
        yield status
