"""What a webhook can subscribe to, and the payload each event of the log becomes.

`EVENTS` is the one declaration: each WebhookEvent is a table of the event log (0020, 0021)
and the operations that count. A payload carries the event's type, its position in the log,
the clinic, the time and global IDs — never a name, e-mail, CPF or phone.
"""

import enum
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from graph.core.ids import to_global_id


class WebhookEvent(enum.Enum):
    APPOINTMENT_CREATED = "APPOINTMENT_CREATED"
    APPOINTMENT_UPDATED = "APPOINTMENT_UPDATED"
    APPOINTMENT_REMINDER = "APPOINTMENT_REMINDER"
    PAYMENT_CHANGED = "PAYMENT_CHANGED"
    EXERCISE_EXECUTION_RECORDED = "EXERCISE_EXECUTION_RECORDED"
    PRONTUARIO_CHANGED = "PRONTUARIO_CHANGED"
    PATIENT_CHANGED = "PATIENT_CHANGED"
    CONSENT_CHANGED = "CONSENT_CHANGED"
    DATA_SUBJECT_REQUEST_CHANGED = "DATA_SUBJECT_REQUEST_CHANGED"


ANY = frozenset({"INSERT", "UPDATE", "DELETE"})

# (event table, operation) → the WebhookEvent it is.
EVENTS: Mapping[WebhookEvent, tuple[str, frozenset[str]]] = {
    WebhookEvent.APPOINTMENT_CREATED: ("appointments", frozenset({"INSERT"})),
    WebhookEvent.APPOINTMENT_UPDATED: ("appointments", frozenset({"UPDATE", "DELETE"})),
    WebhookEvent.APPOINTMENT_REMINDER: ("appointment_reminders", frozenset({"INSERT"})),
    WebhookEvent.PAYMENT_CHANGED: ("payments", ANY),
    WebhookEvent.EXERCISE_EXECUTION_RECORDED: ("exercise_executions", ANY),
    WebhookEvent.PRONTUARIO_CHANGED: ("prontuarios", ANY),
    WebhookEvent.PATIENT_CHANGED: ("patients", ANY),
    WebhookEvent.CONSENT_CHANGED: ("consents", ANY),
    WebhookEvent.DATA_SUBJECT_REQUEST_CHANGED: ("data_subject_requests", ANY),
}

# The GraphQL type of each table's rows and of the ids in an event's `refs`.
TYPE_OF_TABLE = {
    "appointments": "Appointment",
    "appointment_reminders": "AppointmentReminder",
    "payments": "Payment",
    "exercise_executions": "ExerciseExecution",
    "prontuarios": "Prontuario",
    "patients": "Patient",
    "consents": "Consent",
    "data_subject_requests": "DataSubjectRequest",
}
TYPE_OF_REF = {
    "patient_id": ("patientId", "Patient"),
    "old_patient_id": ("previousPatientId", "Patient"),
    "physiotherapist_id": ("physiotherapistId", "Physiotherapist"),
    "old_physiotherapist_id": ("previousPhysiotherapistId", "Physiotherapist"),
    "appointment_id": ("appointmentId", "Appointment"),
}


def event_of(table: str, op: str) -> WebhookEvent | None:
    """The WebhookEvent a change of `table` by `op` is, if any."""
    for event, (event_table, ops) in EVENTS.items():
        if event_table == table and op in ops:
            return event
    return None


def payload(
    event: WebhookEvent,
    seq: int,
    clinic_id: uuid.UUID,
    table: str,
    op: str,
    row_id: uuid.UUID,
    refs: Mapping[str, Any],
    recorded_at: datetime,
) -> dict[str, Any]:
    """The body of a delivery of one event. `refs`: the ids the event log holds, plus the
    appointment of a reminder."""
    data: dict[str, Any] = {"id": to_global_id(TYPE_OF_TABLE[table], row_id), "operation": op}
    for key, (name, type_name) in TYPE_OF_REF.items():
        if refs.get(key):
            data[name] = to_global_id(type_name, refs[key])
    return {
        "event": event.value,
        "eventId": str(seq),
        "clinicId": to_global_id("Clinic", clinic_id),
        "occurredAt": recorded_at.isoformat(),
        "data": data,
    }
