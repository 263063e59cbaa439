"""The clinic's status: each framework scored from its check types (computed: from live data;
recorded: its latest check; never assessed: 0), with findings and open issues.

A framework is PENDING while nothing of it was assessed, NON_COMPLIANT when a check fails or
a high/critical issue is open, PENDING when a recorded check is missing or past its
next-check date, else COMPLIANT.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import RowMapping, select

from graph.api.builders import from_row
from graph.sql.session import RequestDb
from models.compliance import compliance_checks, compliance_issues
from resolvers.compliance.catalogue import COMPUTED, specs_of
from resolvers.compliance.enums import SERIOUS, SEVERITY_RANK, ComplianceState, Framework, Severity
from resolvers.compliance.metrics import Metrics, fetch_metrics
from resolvers.compliance.spec import CheckSpec
from resolvers.compliance.text import counted, local_date
from resolvers.compliance.types import (
    ComplianceCheck,
    ComplianceIssue,
    ComplianceStatus,
    FrameworkCompliance,
)

RECENT_CHECKS = 10
OPEN_ISSUES_SHOWN = 100


@dataclass
class _Component:
    spec: CheckSpec
    score: int
    assessed: bool
    failing: bool
    serious: bool
    outdated: bool
    finding: str | None


def _component_from_check(spec: CheckSpec, row: RowMapping | None, now: datetime) -> _Component:
    if row is None:
        return _Component(
            spec, 0, False, False, False, True,
            f"Nenhuma verificação registrada de “{spec.title}”.",
        )  # fmt: skip
    state = ComplianceState(row["state"])
    severity = Severity(row["severity"])
    checked = local_date(row["last_checked"])
    failing = state is ComplianceState.NON_COMPLIANT
    outdated = row["next_check"] < now or state is ComplianceState.PENDING
    finding: str | None = None
    if failing:
        unmet = counted(row["issues_found"], "critério não atendido", "critérios não atendidos")
        finding = f"{spec.title}: {unmet} na verificação de {checked}."
    elif state is ComplianceState.PENDING:
        finding = f"{spec.title}: verificação incompleta em {checked}."
    if row["next_check"] < now:
        stale = (
            f"A verificação de “{spec.title}” venceu em {local_date(row['next_check'])}; refaça-a."
        )
        finding = f"{finding} {stale}" if finding else stale
    return _Component(
        spec, row["score"], True, failing, failing and severity in SERIOUS, outdated, finding
    )


def _component_from_data(spec: CheckSpec, metrics: Metrics) -> _Component:
    result = COMPUTED[spec.check_type](spec, metrics)
    failing = result.state is ComplianceState.NON_COMPLIANT
    return _Component(
        spec, result.score, True, failing, failing and result.severity in SERIOUS, False,
        result.description if failing else None,
    )  # fmt: skip


def _framework(
    framework: Framework,
    metrics: Metrics,
    latest: dict[tuple[str, str], RowMapping],
    open_issues: list[RowMapping],
    now: datetime,
) -> FrameworkCompliance:
    components = [
        _component_from_data(spec, metrics)
        if spec.computed
        else _component_from_check(spec, latest.get((framework.value, spec.check_type)), now)
        for spec in specs_of(framework)
    ]
    findings = [c.finding for c in components if c.finding]
    issues = [row for row in open_issues if row["framework"] == framework.value]
    serious_issues = [row for row in issues if Severity(row["severity"]) in SERIOUS]
    if issues:
        text = f"{counted(len(issues), 'pendência em aberto', 'pendências em aberto')}"
        if serious_issues:
            text += f", {len(serious_issues)} de severidade alta ou crítica"
        findings.append(text + ".")
    score = math.floor(sum(c.score for c in components) / len(components))
    if not any(c.assessed for c in components):
        state = ComplianceState.PENDING
    elif any(c.failing for c in components) or serious_issues:
        state = ComplianceState.NON_COMPLIANT
    elif any(c.outdated for c in components):
        state = ComplianceState.PENDING
    else:
        state = ComplianceState.COMPLIANT
    return FrameworkCompliance(framework=framework, score=score, state=state, findings=findings)


def _issue_order(row: RowMapping) -> tuple[int, float]:
    return (-SEVERITY_RANK[Severity(row["severity"])], row["created_at"].timestamp())


async def compute_compliance_status(db: RequestDb, clinic_id: uuid.UUID) -> ComplianceStatus:
    """The clinic's status as `db`'s identity (a staff role of that clinic) sees it.

    Four statements: the live metrics, the latest check of each type, the recent checks and
    the open issues. For the `complianceStatusChanged` subscription too: call it with the
    subscriber's own RequestDb on each compliance_checks / compliance_issues event.
    """
    now = datetime.now(UTC)
    metrics = await fetch_metrics(db)
    c = compliance_checks.c
    latest_rows = await db.fetch(
        select(compliance_checks)
        .distinct(c.framework, c.check_type)
        .order_by(c.framework, c.check_type, c.last_checked.desc(), c.id.desc())
    )
    latest = {(row["framework"], row["check_type"]): row for row in latest_rows}
    recent = await db.fetch(
        select(compliance_checks).order_by(c.last_checked.desc(), c.id.desc()).limit(RECENT_CHECKS)
    )
    i = compliance_issues.c
    open_rows = list(
        await db.fetch(
            select(compliance_issues)
            .where(i.resolved.is_(False))
            .order_by(i.created_at.desc(), i.id)
            .limit(OPEN_ISSUES_SHOWN)
        )
    )
    open_rows.sort(key=_issue_order)
    frameworks = [_framework(f, metrics, latest, open_rows, now) for f in Framework]
    overall = round(sum(f.score for f in frameworks) / len(frameworks))
    return ComplianceStatus(
        overall_score=overall,
        frameworks=frameworks,
        recent_checks=[from_row(ComplianceCheck, row) for row in recent],
        open_issues=[from_row(ComplianceIssue, row) for row in open_rows],
        computed_at=now,
        clinic_db_id=clinic_id,
    )
