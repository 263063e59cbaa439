"""`runComplianceCheck` (stores the result and keeps one open issue per failing requirement:
refreshed while it still fails, resolved when a later check finds it fixed) and
`resolveComplianceIssue`."""

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import strawberry
from sqlalchemy import RowMapping, func, select

from graph.api.builders import from_row
from graph.api.context import Info
from graph.core.errors import INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.sql.session import RequestDb
from graph.sql.writes import insert_row
from models.compliance import compliance_checks, compliance_issues
from resolvers.compliance.catalogue import CATALOGUE, COMPUTED, specs_of
from resolvers.compliance.enums import Framework
from resolvers.compliance.evaluation import Answer, Evaluation, evaluate_recorded
from resolvers.compliance.metrics import fetch_metrics
from resolvers.compliance.spec import CheckSpec
from resolvers.compliance.text import local_date
from resolvers.compliance.types import ComplianceCheck, ComplianceIssue


@strawberry.input(description="The result of one criterion of a recorded check.")
class ComplianceCriterionResultInput:
    code: str
    met: bool
    note: str | None = None


@strawberry.input
class RunComplianceCheckInput:
    framework: Framework
    check_type: str
    criteria: list[ComplianceCriterionResultInput] | None = strawberry.field(
        default=None,
        description="Recorded checks (ANVISA, WCAG) only: the result of each criterion.",
    )
    notes: str | None = None


@strawberry.input
class ResolveComplianceIssueInput:
    id: strawberry.ID
    resolution: str | None = None


def _spec(input: RunComplianceCheckInput) -> CheckSpec:
    spec = CATALOGUE.get((input.framework, input.check_type.strip()))
    if spec is None:
        known = ", ".join(s.check_type for s in specs_of(input.framework))
        raise bad_input(
            "checkType", f"Unknown checkType for {input.framework.name}; expected one of: {known}"
        )
    return spec


def _answers(spec: CheckSpec, input: RunComplianceCheckInput) -> dict[str, Answer]:
    given = input.criteria or []
    if spec.computed:
        if given:
            raise bad_input("criteria", f"{spec.check_type} is computed from the clinic's data")
        return {}
    if not given:
        raise bad_input("criteria", "A recorded check needs the result of its criteria")
    codes = {c.code for c in spec.criteria}
    answers: dict[str, Answer] = {}
    for item in given:
        code = item.code.strip()
        if code not in codes:
            raise bad_input(
                "criteria", f"Unknown criterion {code!r}; expected one of: {', '.join(codes)}"
            )
        if code in answers:
            raise bad_input("criteria", f"Criterion {code!r} given twice")
        note = (item.note or "").strip() or None
        answers[code] = Answer(item.met, note)
    return answers


async def _sync_issues(
    db: RequestDb,
    clinic_id: uuid.UUID,
    spec: CheckSpec,
    check_id: uuid.UUID,
    result: Evaluation,
    now: datetime,
) -> None:
    """One open issue per failing requirement; resolve the ones this check found fixed."""
    i = compliance_issues.c
    rows = await db.fetch(
        select(compliance_issues)
        .where(
            i.framework == spec.framework.value,
            i.requirement.in_(spec.requirements),
            i.resolved.is_(False),
        )
        .order_by(i.created_at.desc(), i.id)
    )
    open_by_requirement: dict[str, list[RowMapping]] = defaultdict(list)
    for row in rows:
        open_by_requirement[row["requirement"]].append(row)
    for failure in result.failures:
        existing = open_by_requirement.get(failure.requirement)
        values: dict[str, Any] = {
            "check_id": check_id,
            "description": failure.description,
            "severity": failure.severity.value,
        }
        if existing:
            await db.fetch(
                compliance_issues.update().where(i.id == existing[0]["id"]).values(**values)
            )
        else:
            await insert_row(
                db,
                compliance_issues,
                {
                    **values,
                    "clinic_id": clinic_id,
                    "framework": spec.framework.value,
                    "requirement": failure.requirement,
                },
                returning=("id",),
            )
    fixed = [row["id"] for r in result.passed for row in open_by_requirement.get(r, [])]
    if fixed:
        await db.fetch(
            compliance_issues.update()
            .where(i.id.in_(fixed))
            .values(
                resolved=True,
                resolved_at=now,
                resolution=f"Resolvida automaticamente: a verificação de {local_date(now)}"
                " não encontrou mais o problema.",
            )
        )


async def run_compliance_check(info: Info, input: RunComplianceCheckInput) -> ComplianceCheck:
    """Evaluate one catalogue check on the clinic's data (or the submitted assessment)."""
    identity = info.context.require_role(Role.ADMIN)
    spec = _spec(input)
    answers = _answers(spec, input)
    notes = (input.notes or "").strip() or None
    db = info.context.db
    # Two admins running the same check at once would otherwise both open the same issue.
    lock_key = f"compliance:{identity.clinic_id}:{spec.framework.value}:{spec.check_type}"
    await db.fetch(select(func.pg_advisory_xact_lock(func.hashtextextended(lock_key, 0))))
    now = datetime.now(UTC)
    if spec.computed:
        result = COMPUTED[spec.check_type](spec, await fetch_metrics(db))
    else:
        result = evaluate_recorded(spec, answers, notes, now)
    row = await insert_row(
        db,
        compliance_checks,
        {
            "clinic_id": identity.clinic_id,
            "framework": spec.framework.value,
            "check_type": spec.check_type,
            "state": result.state.value,
            "severity": result.severity.value,
            "score": result.score,
            "last_checked": now,
            "next_check": now + spec.interval,
            "issues_found": result.issues_found,
            "description": result.description,
            "recommendations": result.recommendations,
        },
    )
    await _sync_issues(db, identity.clinic_id, spec, row["id"], result, now)
    return from_row(ComplianceCheck, row)


async def resolve_compliance_issue(
    info: Info, input: ResolveComplianceIssueInput
) -> ComplianceIssue:
    info.context.require_role(Role.ADMIN)
    issue_id = parse_uuid_id(input.id, "ComplianceIssue")
    resolution = (input.resolution or "").strip() or None
    i = compliance_issues.c
    row = await info.context.db.fetch_one(
        compliance_issues.update()
        .where(i.id == issue_id, i.resolved.is_(False))
        .values(resolved=True, resolved_at=func.now(), resolution=resolution)
        .returning(*compliance_issues.c)
    )
    if row is not None:
        return from_row(ComplianceIssue, row)
    if await info.context.loaders.by_id(compliance_issues).load(issue_id) is None:
        raise not_found("ComplianceIssue", field="id")
    raise ApiError(INVALID_STATE, "This compliance issue is already resolved")


@strawberry.type
class ComplianceMutations:
    run_compliance_check: ComplianceCheck = strawberry.field(resolver=run_compliance_check)
    resolve_compliance_issue: ComplianceIssue = strawberry.field(resolver=resolve_compliance_issue)
