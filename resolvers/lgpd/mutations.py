"""The LGPD area's Mutation fields: consents, data-subject requests, export, anonymization."""

from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers.lgpd import anonymization, consents, export, requests
from resolvers.lgpd.types import Consent, DataExport, DataSubjectRequest

if TYPE_CHECKING:
    from resolvers.patients.types import Patient

PatientRef = Annotated["Patient", strawberry.lazy("resolvers.patients.types")]


@strawberry.type
class LgpdMutations:
    grant_consent: Consent = strawberry.field(resolver=consents.grant_consent)
    revoke_consent: Consent = strawberry.field(resolver=consents.revoke_consent)
    acknowledge_consent_revocation: Consent = strawberry.field(
        resolver=consents.acknowledge_consent_revocation
    )
    file_data_subject_request: DataSubjectRequest = strawberry.field(
        resolver=requests.file_data_subject_request
    )
    fulfill_data_subject_request: DataSubjectRequest = strawberry.field(
        resolver=requests.fulfill_data_subject_request
    )
    export_patient_data: DataExport = strawberry.field(resolver=export.export_patient_data)
    anonymize_patient: PatientRef = strawberry.field(resolver=anonymization.anonymize_patient)
