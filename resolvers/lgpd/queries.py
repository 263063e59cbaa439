"""The LGPD area's Query fields: data-subject requests and the audit log."""

import strawberry

from graph.api.relay import Connection
from resolvers.lgpd import audit_log, requests
from resolvers.lgpd.types import AuditEntry, DataSubjectRequest


@strawberry.type
class LgpdQueries:
    data_subject_requests: Connection[DataSubjectRequest] = strawberry.field(
        resolver=requests.list_data_subject_requests
    )
    audit_log: Connection[AuditEntry] = strawberry.field(resolver=audit_log.audit_log_entries)
