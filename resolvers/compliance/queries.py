"""The compliance area's Query fields: the status, the checks and issues, the catalogue."""

import strawberry

from graph.api.builders import row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.core.identity import Role
from graph.sql.declared import filter_conditions
from graph.sql.list_query import ListQuery
from models.compliance import compliance_checks, compliance_issues
from resolvers.compliance.catalogue import CATALOGUE_LIST
from resolvers.compliance.enums import Framework
from resolvers.compliance.status import compute_compliance_status
from resolvers.compliance.types import (
    ComplianceCheck,
    ComplianceCheckType,
    ComplianceIssue,
    ComplianceStatus,
)

STAFF = (Role.ADMIN, Role.PHYSIOTHERAPIST, Role.RECEPTIONIST)


async def compliance_status(info: Info) -> ComplianceStatus:
    identity = info.context.require_role(*STAFF)
    return await compute_compliance_status(info.context.db, identity.clinic_id)


@declared_list("ComplianceCheck")
async def list_compliance_checks(
    info: Info,
    query: ListQuery,
    framework: Framework | None = None,
    check_type: str | None = None,
) -> Connection[ComplianceCheck]:
    """Every recorded check run, oldest first (`last: N` gives the newest)."""
    info.context.require_role(*STAFF)
    given = {"framework": framework, "checkType": check_type}
    conditions = filter_conditions("ComplianceCheck", given, prefix="")
    return await list_connection(
        info.context.db,
        compliance_checks,
        query,
        row_builder(ComplianceCheck),
        conditions,
    )


@declared_list("ComplianceIssue")
async def list_compliance_issues(
    info: Info,
    query: ListQuery,
    framework: Framework | None = None,
    resolved: bool | None = None,
) -> Connection[ComplianceIssue]:
    info.context.require_role(*STAFF)
    given = {"framework": framework, "resolved": resolved}
    conditions = filter_conditions("ComplianceIssue", given, prefix="")
    return await list_connection(
        info.context.db,
        compliance_issues,
        query,
        row_builder(ComplianceIssue),
        conditions,
    )


def compliance_check_types(framework: Framework | None = None) -> list[ComplianceCheckType]:
    """The catalogue `runComplianceCheck` accepts."""
    return [
        ComplianceCheckType.of(spec)
        for spec in CATALOGUE_LIST
        if framework is None or spec.framework is framework
    ]


@strawberry.type
class ComplianceQueries:
    compliance_status: ComplianceStatus = strawberry.field(resolver=compliance_status)
    compliance_checks: Connection[ComplianceCheck] = strawberry.field(
        resolver=list_compliance_checks
    )
    compliance_issues: Connection[ComplianceIssue] = strawberry.field(
        resolver=list_compliance_issues
    )
    compliance_check_types: list[ComplianceCheckType] = strawberry.field(
        resolver=compliance_check_types
    )
