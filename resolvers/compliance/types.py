"""Compliance checks and issues, the clinic's status, and the catalogue's check types."""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from graph.api.builders import from_row
from graph.api.context import Info
from graph.api.declared_fields import declared_fields
from graph.api.object_types import register
from graph.api.relay import Node
from graph.core.errors import not_found
from models.compliance import compliance_checks
from resolvers.accounts.data import clinic_row
from resolvers.compliance.data import ISSUES_OF_CHECK
from resolvers.compliance.enums import ComplianceState, Framework, Severity
from resolvers.compliance.spec import CheckSpec
from resolvers.events import OPTIONAL_CURSOR_DESCRIPTION
from resolvers.objects import build

if TYPE_CHECKING:
    from resolvers.accounts.types import Clinic

ClinicRef = Annotated["Clinic", strawberry.lazy("resolvers.accounts.types")]


@register
@strawberry.type(description="An issue a compliance check found, open until resolved.")
@declared_fields
class ComplianceIssue(Node):
    framework: Framework
    severity: Severity
    check_db_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field  # the check that found (or last confirmed) this issue
    async def check(self, info: Info) -> "ComplianceCheck | None":
        if self.check_db_id is None:
            return None
        row = await info.context.loaders.by_id(compliance_checks).load(self.check_db_id)
        return from_row(ComplianceCheck, row) if row else None


@register
@strawberry.type(description="One run of a compliance check, with its result.")
@declared_fields
class ComplianceCheck(Node):
    framework: Framework
    state: ComplianceState
    severity: Severity
    db_id: strawberry.Private[uuid.UUID]

    @strawberry.field  # issues this check opened or confirmed
    async def issues(self, info: Info) -> list[ComplianceIssue]:
        rows = await info.context.loaders.all_children(ISSUES_OF_CHECK).load(self.db_id)
        return [from_row(ComplianceIssue, row) for row in rows]


@strawberry.type
class FrameworkCompliance:
    framework: Framework
    score: int
    state: ComplianceState
    findings: list[str]


@strawberry.type(description="The clinic's compliance, computed now from live data and checks.")
class ComplianceStatus:
    overall_score: int
    frameworks: list[FrameworkCompliance]
    recent_checks: list[ComplianceCheck]
    open_issues: list[ComplianceIssue]
    computed_at: datetime
    clinic_db_id: strawberry.Private[uuid.UUID]
    cursor: str | None = strawberry.field(default=None, description=OPTIONAL_CURSOR_DESCRIPTION)

    @strawberry.field
    async def clinic(self, info: Info) -> ClinicRef:
        row = await clinic_row(info, self.clinic_db_id)
        if row is None:
            raise not_found("Clinic")
        return cast("Clinic", build("Clinic", row))


@strawberry.type(description="A criterion of a recorded (ANVISA, WCAG) check.")
class ComplianceCriterion:
    code: str
    description: str
    requirement: str
    severity: Severity


@strawberry.type(description="A check `runComplianceCheck` knows how to evaluate.")
class ComplianceCheckType:
    framework: Framework
    check_type: str
    title: str
    requirement: str
    computed: bool = strawberry.field(
        description="Evaluated from the clinic's data; otherwise recorded from `criteria`."
    )
    next_check_in_days: int
    criteria: list[ComplianceCriterion]

    @classmethod
    def of(cls, spec: CheckSpec) -> "ComplianceCheckType":
        return cls(
            framework=spec.framework,
            check_type=spec.check_type,
            title=spec.title,
            requirement=spec.requirement,
            computed=spec.computed,
            next_check_in_days=spec.interval.days,
            criteria=[
                ComplianceCriterion(
                    code=c.code, description=c.text, requirement=c.requirement, severity=c.severity
                )
                for c in spec.criteria
            ],
        )
