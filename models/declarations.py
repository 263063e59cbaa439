"""Every type declaration, by GraphQL type name: the one place a type's columns, global ID,
relations, list sort, root list and filters are written (vocabulary: models/type_map.py;
each declaration sits beside its table)."""

from collections.abc import Mapping

from models.accounts import CLINIC, PHYSIOTHERAPIST, STAFF_USER
from models.clinical import PRONTUARIO, PRONTUARIO_ADDENDUM, VITAL_SIGNS
from models.compliance import (
    AUDIT_ENTRY,
    COMPLIANCE_CHECK,
    COMPLIANCE_ISSUE,
    CONSENT,
    DATA_SUBJECT_REQUEST,
)
from models.exercises import EXERCISE, EXERCISE_EXECUTION, EXERCISE_PRESCRIPTION
from models.patients import PATIENT
from models.payments import PAYMENT
from models.scheduling import APPOINTMENT, APPOINTMENT_SERIES, APPOINTMENT_STATUS_CHANGE
from models.type_map import TypeMap

DECLARATIONS: Mapping[str, TypeMap] = {
    declaration.name: declaration
    for declaration in (
        CLINIC,
        PHYSIOTHERAPIST,
        STAFF_USER,
        PATIENT,
        APPOINTMENT,
        APPOINTMENT_SERIES,
        APPOINTMENT_STATUS_CHANGE,
        PAYMENT,
        PRONTUARIO,
        PRONTUARIO_ADDENDUM,
        VITAL_SIGNS,
        EXERCISE,
        EXERCISE_PRESCRIPTION,
        EXERCISE_EXECUTION,
        CONSENT,
        DATA_SUBJECT_REQUEST,
        AUDIT_ENTRY,
        COMPLIANCE_CHECK,
        COMPLIANCE_ISSUE,
    )
}
