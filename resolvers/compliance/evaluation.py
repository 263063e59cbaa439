"""A check's result: score, state, severity, findings, and the failures that become issues.
Recorded checks (ANVISA, WCAG) score exactly the assessment submitted."""

from dataclasses import dataclass, field
from datetime import datetime

from resolvers.compliance.enums import SEVERITY_RANK, ComplianceState, Severity
from resolvers.compliance.spec import CheckSpec
from resolvers.compliance.text import counted, local_date, share


@dataclass(frozen=True)
class Failure:
    requirement: str
    description: str
    severity: Severity


@dataclass
class Evaluation:
    score: int
    state: ComplianceState
    severity: Severity
    issues_found: int
    description: str
    recommendations: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)


def computed(
    spec: CheckSpec,
    score: int,
    severity: Severity,
    problems: int,
    description: str,
    recommendations: list[str],
) -> Evaluation:
    if problems == 0:
        return Evaluation(
            score, ComplianceState.COMPLIANT, Severity.LOW, 0, description, recommendations,
            passed=[spec.requirement],
        )  # fmt: skip
    failure = Failure(spec.requirement, description, severity)
    return Evaluation(
        score, ComplianceState.NON_COMPLIANT, severity, problems, description, recommendations,
        failures=[failure],
    )  # fmt: skip


def by_share(score: int) -> Severity:
    if score >= 90:
        return Severity.MEDIUM
    return Severity.HIGH if score >= 70 else Severity.CRITICAL


@dataclass(frozen=True)
class Answer:
    met: bool
    note: str | None


def evaluate_recorded(
    spec: CheckSpec, answers: dict[str, Answer], notes: str | None, now: datetime
) -> Evaluation:
    unmet = [c for c in spec.criteria if c.code in answers and not answers[c.code].met]
    met = [c for c in spec.criteria if c.code in answers and answers[c.code].met]
    unanswered = [c for c in spec.criteria if c.code not in answers]
    score = share(len(met), len(spec.criteria))
    description = (
        f"Verificação registrada: {len(met)} de"
        f" {counted(len(spec.criteria), 'critério atendido', 'critérios atendidos')}"
    )
    if unanswered:
        description += (
            f"; {counted(len(unanswered), 'critério não avaliado', 'critérios não avaliados')}"
        )
    description += "."
    if notes:
        description += f" Observações: {notes}"
    failures = [
        Failure(
            c.requirement,
            answers[c.code].note or f"Critério não atendido na verificação de {local_date(now)}.",
            c.severity,
        )
        for c in unmet
    ]
    recommendations = [f"Corrija: {c.text}." for c in unmet]
    recommendations += [f"Avalie também: {c.text}." for c in unanswered]
    if unmet:
        state = ComplianceState.NON_COMPLIANT
        severity = max((c.severity for c in unmet), key=SEVERITY_RANK.__getitem__)
    else:
        state = ComplianceState.PENDING if unanswered else ComplianceState.COMPLIANT
        severity = Severity.LOW
    return Evaluation(
        score, state, severity, len(unmet), description, recommendations, failures,
        passed=[c.requirement for c in met],
    )  # fmt: skip
