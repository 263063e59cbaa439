"""The schema: every area's queries and mutations, assembled in one place."""

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from graph.api.aggregate_types import define_aggregate_types
from graph.api.list_inputs import define_where_inputs
from graph.extensions.auth_gate import RequireIdentity
from graph.extensions.compiled_queries import CompiledQueries
from graph.extensions.error_masking import MaskInternalErrors
from graph.extensions.input_limits import InputLimits
from graph.extensions.operation_metrics import OperationMetrics
from graph.extensions.replica_reads import ReadsOnReplicas
from graph.extensions.request_limits import RequestLimits
from graph.extensions.transport_gate import SubscriptionsOnlyOverWebsockets
from graph.extensions.units import each_field_its_own_transaction
from graph.sql.compiler import Registry
from models.declarations import DECLARATIONS
from resolvers.accounts.mutations import AccountMutations
from resolvers.accounts.queries import AccountQueries
from resolvers.accounts.types import Clinic
from resolvers.aggregates import AggregateQueries
from resolvers.care_team.mutations import CareTeamMutations
from resolvers.clinical.mutations import ClinicalMutations
from resolvers.clinical.queries import ClinicalQueries
from resolvers.clinical.subscriptions import ClinicalSubscriptions
from resolvers.clinical.types import Prontuario, VitalSigns
from resolvers.compliance.mutations import ComplianceMutations
from resolvers.compliance.queries import ComplianceQueries
from resolvers.compliance.subscriptions import ComplianceSubscriptions
from resolvers.compliance.types import ComplianceCheck, ComplianceIssue
from resolvers.exercises.mutations import ExerciseMutations
from resolvers.exercises.queries import ExerciseQueries
from resolvers.exercises.subscriptions import ExerciseSubscriptions
from resolvers.exercises.types import Exercise, ExerciseExecution, ExercisePrescription
from resolvers.lgpd.mutations import LgpdMutations
from resolvers.lgpd.queries import LgpdQueries
from resolvers.lgpd.subscriptions import LgpdSubscriptions
from resolvers.lgpd.types import AuditEntry, Consent, DataSubjectRequest
from resolvers.node.queries import NodeQueries
from resolvers.patients.mutations import PatientMutations
from resolvers.patients.queries import PatientQueries
from resolvers.patients.subscriptions import PatientSubscriptions
from resolvers.patients.types import Patient
from resolvers.payments.mutations import PaymentMutations
from resolvers.payments.queries import PaymentQueries
from resolvers.payments.subscriptions import PaymentSubscriptions
from resolvers.payments.types import Payment
from resolvers.scheduling.availability import AvailabilityMutations, AvailabilityQueries
from resolvers.scheduling.mutations import SCHEDULE_APPOINTMENT, SchedulingMutations
from resolvers.scheduling.queries import SchedulingQueries
from resolvers.scheduling.series import SeriesMutations
from resolvers.scheduling.subscriptions import SchedulingSubscriptions
from resolvers.scheduling.types import Appointment, AppointmentSeries
from resolvers.staff.mutations import StaffMutations
from resolvers.staff.queries import StaffQueries
from resolvers.staff.types import Physiotherapist
from resolvers.webhooks.mutations import WebhookMutations
from resolvers.webhooks.queries import WebhookQueries

# Each area's root fields, in the order schema.graphql lists them.
Query = merge_types(
    "Query",
    (
        NodeQueries,
        AccountQueries,
        PatientQueries,
        StaffQueries,
        SchedulingQueries,
        AvailabilityQueries,
        PaymentQueries,
        ClinicalQueries,
        ExerciseQueries,
        LgpdQueries,
        ComplianceQueries,
        AggregateQueries,
        WebhookQueries,
    ),
)
Mutation = each_field_its_own_transaction(
    merge_types(
        "Mutation",
        (
            AccountMutations,
            StaffMutations,
            PatientMutations,
            CareTeamMutations,
            SchedulingMutations,
            SeriesMutations,
            AvailabilityMutations,
            PaymentMutations,
            ClinicalMutations,
            ExerciseMutations,
            LgpdMutations,
            ComplianceMutations,
            WebhookMutations,
        ),
    )
)
Subscription = merge_types(
    "Subscription",
    (
        SchedulingSubscriptions,
        PaymentSubscriptions,
        ExerciseSubscriptions,
        ClinicalSubscriptions,
        PatientSubscriptions,
        LgpdSubscriptions,
        ComplianceSubscriptions,
    ),
)


# The lists' `where` inputs and the aggregates' keys name the enums (and types) every area
# has now registered.
define_where_inputs()
define_aggregate_types()

# What the query compiler answers: the declared types it may serve, and the one mutation it runs.
COMPILED = Registry.of(DECLARATIONS.values(), {"scheduleAppointment": SCHEDULE_APPOINTMENT})

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[
        Clinic,
        Patient,
        Physiotherapist,
        Appointment,
        AppointmentSeries,
        Payment,
        Prontuario,
        VitalSigns,
        Exercise,
        ExercisePrescription,
        ExerciseExecution,
        Consent,
        DataSubjectRequest,
        AuditEntry,
        ComplianceCheck,
        ComplianceIssue,
    ],
    config=StrawberryConfig(auto_camel_case=True),
    extensions=[
        OperationMetrics,
        ParserCache,
        ValidationCache,
        RequestLimits,
        ReadsOnReplicas,
        RequireIdentity,
        SubscriptionsOnlyOverWebsockets,
        InputLimits,
        CompiledQueries.using(COMPILED),
        MaskInternalErrors,
    ],
)


def sdl() -> str:
    return schema.as_str() + "\n"
