"""The schema: every area's queries and mutations, assembled in one place."""

from collections.abc import AsyncGenerator

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from graph.api.relay import Connection, Node
from graph.core.errors import MaskInternalErrors
from graph.extensions.auth_gate import RequireIdentity
from graph.extensions.compiled_queries import CompiledQueries
from graph.extensions.transport_gate import SubscriptionsOnlyOverWebsockets
from graph.extensions.units import each_field_its_own_transaction
from graph.observability.metrics import OperationMetrics
from graph.security.input_limits import InputLimits
from graph.security.limits import RequestLimits
from graph.sql import compiler
from resolvers import accounts, care_team, scheduling, staff, subscriptions
from resolvers import clinical as clinical_resolvers
from resolvers import compliance as compliance_resolvers
from resolvers import exercises as exercise_resolvers
from resolvers import lgpd as lgpd_resolvers
from resolvers import node as node_resolvers
from resolvers import patients as patient_resolvers
from resolvers import payments as payment_resolvers


@strawberry.type
class Query:
    node: Node | None = strawberry.field(resolver=node_resolvers.node)
    nodes: list[Node | None] = strawberry.field(resolver=node_resolvers.nodes)
    me: accounts.Viewer = strawberry.field(resolver=accounts.me)
    patients: Connection[patient_resolvers.Patient] = strawberry.field(
        resolver=patient_resolvers.list_patients
    )
    physiotherapists: Connection[staff.Physiotherapist] = strawberry.field(
        resolver=staff.list_physiotherapists
    )
    appointments: Connection[scheduling.Appointment] = strawberry.field(
        resolver=scheduling.list_appointments
    )
    payments: Connection[payment_resolvers.Payment] = strawberry.field(
        resolver=payment_resolvers.list_payments
    )
    exercises: Connection[exercise_resolvers.Exercise] = strawberry.field(
        resolver=exercise_resolvers.list_exercises
    )
    exercise_categories: list[str] = strawberry.field(
        resolver=exercise_resolvers.exercise_categories
    )
    prescriptions: Connection[exercise_resolvers.ExercisePrescription] = strawberry.field(
        resolver=exercise_resolvers.list_prescriptions
    )
    data_subject_requests: Connection[lgpd_resolvers.DataSubjectRequest] = strawberry.field(
        resolver=lgpd_resolvers.list_data_subject_requests
    )
    audit_log: Connection[lgpd_resolvers.AuditEntry] = strawberry.field(
        resolver=lgpd_resolvers.audit_log_entries
    )
    compliance_status: compliance_resolvers.ComplianceStatus = strawberry.field(
        resolver=compliance_resolvers.compliance_status
    )
    compliance_checks: Connection[compliance_resolvers.ComplianceCheck] = strawberry.field(
        resolver=compliance_resolvers.list_compliance_checks
    )
    compliance_issues: Connection[compliance_resolvers.ComplianceIssue] = strawberry.field(
        resolver=compliance_resolvers.list_compliance_issues
    )
    compliance_check_types: list[compliance_resolvers.ComplianceCheckType] = strawberry.field(
        resolver=compliance_resolvers.compliance_check_types
    )


@each_field_its_own_transaction
@strawberry.type
class Mutation:
    login: accounts.AuthPayload = strawberry.field(resolver=accounts.log_in)
    create_physiotherapist: staff.Physiotherapist = strawberry.field(
        resolver=staff.create_physiotherapist
    )
    create_staff_user: accounts.StaffUser = strawberry.field(resolver=accounts.create_staff_user)
    grant_patient_access: patient_resolvers.Patient = strawberry.field(
        resolver=patient_resolvers.grant_patient_access
    )
    create_patient: patient_resolvers.Patient = strawberry.field(
        resolver=patient_resolvers.create_patient
    )
    update_patient: patient_resolvers.Patient = strawberry.field(
        resolver=patient_resolvers.update_patient
    )
    add_care_team_member: patient_resolvers.Patient = strawberry.field(
        resolver=care_team.add_care_team_member
    )
    remove_care_team_member: patient_resolvers.Patient = strawberry.field(
        resolver=care_team.remove_care_team_member
    )
    schedule_appointment: scheduling.Appointment = strawberry.field(
        resolver=scheduling.schedule_appointment
    )
    reschedule_appointment: scheduling.Appointment = strawberry.field(
        resolver=scheduling.reschedule_appointment
    )
    cancel_appointment: scheduling.Appointment = strawberry.field(
        resolver=scheduling.cancel_appointment
    )
    complete_appointment: scheduling.Appointment = strawberry.field(
        resolver=scheduling.complete_appointment
    )
    create_payment: payment_resolvers.Payment = strawberry.field(
        resolver=payment_resolvers.create_payment
    )
    mark_payment_paid: payment_resolvers.Payment = strawberry.field(
        resolver=payment_resolvers.mark_payment_paid
    )
    refund_payment: payment_resolvers.Payment = strawberry.field(
        resolver=payment_resolvers.refund_payment
    )
    cancel_payment: payment_resolvers.Payment = strawberry.field(
        resolver=payment_resolvers.cancel_payment
    )
    create_prontuario: clinical_resolvers.Prontuario = strawberry.field(
        resolver=clinical_resolvers.create_prontuario
    )
    add_prontuario_addendum: clinical_resolvers.Prontuario = strawberry.field(
        resolver=clinical_resolvers.add_prontuario_addendum
    )
    create_exercise: exercise_resolvers.Exercise = strawberry.field(
        resolver=exercise_resolvers.create_exercise
    )
    prescribe_exercise: exercise_resolvers.ExercisePrescription = strawberry.field(
        resolver=exercise_resolvers.prescribe_exercise
    )
    set_prescription_status: exercise_resolvers.ExercisePrescription = strawberry.field(
        resolver=exercise_resolvers.set_prescription_status
    )
    log_exercise_execution: exercise_resolvers.ExerciseExecution = strawberry.field(
        resolver=exercise_resolvers.log_exercise_execution
    )
    grant_consent: lgpd_resolvers.Consent = strawberry.field(resolver=lgpd_resolvers.grant_consent)
    revoke_consent: lgpd_resolvers.Consent = strawberry.field(
        resolver=lgpd_resolvers.revoke_consent
    )
    acknowledge_consent_revocation: lgpd_resolvers.Consent = strawberry.field(
        resolver=lgpd_resolvers.acknowledge_consent_revocation
    )
    file_data_subject_request: lgpd_resolvers.DataSubjectRequest = strawberry.field(
        resolver=lgpd_resolvers.file_data_subject_request
    )
    fulfill_data_subject_request: lgpd_resolvers.DataSubjectRequest = strawberry.field(
        resolver=lgpd_resolvers.fulfill_data_subject_request
    )
    export_patient_data: lgpd_resolvers.DataExport = strawberry.field(
        resolver=lgpd_resolvers.export_patient_data
    )
    anonymize_patient: patient_resolvers.Patient = strawberry.field(
        resolver=lgpd_resolvers.anonymize_patient
    )
    run_compliance_check: compliance_resolvers.ComplianceCheck = strawberry.field(
        resolver=compliance_resolvers.run_compliance_check
    )
    resolve_compliance_issue: compliance_resolvers.ComplianceIssue = strawberry.field(
        resolver=compliance_resolvers.resolve_compliance_issue
    )


@strawberry.type
class Subscription:
    appointment_changed: AsyncGenerator[subscriptions.AppointmentEvent, None] = (
        strawberry.subscription(resolver=subscriptions.appointment_changed)
    )
    payment_changed: AsyncGenerator[subscriptions.PaymentEvent, None] = strawberry.subscription(
        resolver=subscriptions.payment_changed
    )
    exercise_execution_logged: AsyncGenerator[exercise_resolvers.ExerciseExecution, None] = (
        strawberry.subscription(resolver=subscriptions.exercise_execution_logged)
    )
    compliance_status_changed: AsyncGenerator[compliance_resolvers.ComplianceStatus, None] = (
        strawberry.subscription(resolver=subscriptions.compliance_status_changed)
    )


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[
        accounts.Clinic,
        patient_resolvers.Patient,
        staff.Physiotherapist,
        scheduling.Appointment,
        payment_resolvers.Payment,
        clinical_resolvers.Prontuario,
        exercise_resolvers.Exercise,
        exercise_resolvers.ExercisePrescription,
        exercise_resolvers.ExerciseExecution,
        lgpd_resolvers.Consent,
        lgpd_resolvers.DataSubjectRequest,
        lgpd_resolvers.AuditEntry,
        compliance_resolvers.ComplianceCheck,
        compliance_resolvers.ComplianceIssue,
    ],
    config=StrawberryConfig(auto_camel_case=True),
    extensions=[
        OperationMetrics,
        ParserCache,
        ValidationCache,
        RequestLimits,
        RequireIdentity,
        SubscriptionsOnlyOverWebsockets,
        InputLimits,
        CompiledQueries,
        MaskInternalErrors,
    ],
)


compiler.MUTATIONS["scheduleAppointment"] = scheduling.SCHEDULE_APPOINTMENT
compiler.FILTERS.update(
    Patient=patient_resolvers.PATIENT_FILTER,
    Appointment=scheduling.APPOINTMENT_FILTER,
    Payment=payment_resolvers.PAYMENT_FILTER,
)


def sdl() -> str:
    return schema.as_str() + "\n"
