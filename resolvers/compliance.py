"""Compliance: the per-framework status computed from live data, checks, issues.

A catalogue names every check type per framework. LGPD and CFM/COFFITO checks are computed
from the clinic's data (aggregates from the `compliance_metrics()` SECURITY DEFINER function,
so every staff role sees the same numbers whatever rows its own RLS shows); ANVISA and WCAG
checks are recorded assessments: the caller submits the result of each criterion of the
catalogue and the check scores exactly that. `runComplianceCheck` stores the result and keeps
one open issue per failing requirement (refreshed when still failing, resolved automatically
when a later check finds it fixed).

Scoring: every catalogue check type of a framework scores 0-100 (computed: from live data;
recorded: its latest check; never assessed: 0). A framework's score is their mean, the
overall score the mean of the four frameworks. A framework is PENDING while nothing of it was
assessed, NON_COMPLIANT when a check fails or a high/critical issue is open, PENDING when a
recorded check is missing or past its next-check date, else COMPLIANT. Findings are plain
Portuguese for the clinic's data-protection officer.
"""

import enum
import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import ColumnElement, RowMapping, func, select, text

from graph.api.context import Info
from graph.api.relay import Connection, Node, list_connection
from graph.core.errors import INVALID_STATE, ApiError, bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id, to_global_id
from graph.sql.loaders import ChildList
from graph.sql.pagination import PageArgs, SortKey
from graph.sql.session import RequestDb
from graph.sql.writes import insert_row
from models.compliance import compliance_checks, compliance_issues

if TYPE_CHECKING:
    from resolvers.accounts import Clinic

ClinicRef = Annotated["Clinic", strawberry.lazy("resolvers.accounts")]

CLINIC_TIME_ZONE = ZoneInfo("America/Sao_Paulo")
STAFF = (Role.ADMIN, Role.PHYSIOTHERAPIST, Role.RECEPTIONIST)
RECENT_CHECKS = 10
OPEN_ISSUES_SHOWN = 100
PASSING_SCORE = 80


@strawberry.enum
class Framework(enum.Enum):
    LGPD = "lgpd"
    CFM = "cfm"
    ANVISA = "anvisa"
    WCAG = "wcag"


@strawberry.enum
class ComplianceState(enum.Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    PENDING = "pending"


@strawberry.enum
class Severity(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}
SERIOUS = (Severity.HIGH, Severity.CRITICAL)

FRAMEWORK_NAMES = {
    Framework.LGPD: "LGPD",
    Framework.CFM: "CFM/COFFITO",
    Framework.ANVISA: "ANVISA",
    Framework.WCAG: "WCAG",
}


# --- the catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One item of a recorded assessment."""

    code: str
    text: str
    severity: Severity
    requirement: str


@dataclass(frozen=True)
class CheckSpec:
    framework: Framework
    check_type: str
    title: str
    requirement: str
    interval: timedelta
    criteria: tuple[Criterion, ...] = ()

    @property
    def computed(self) -> bool:
        return not self.criteria

    @property
    def requirements(self) -> tuple[str, ...]:
        if self.computed:
            return (self.requirement,)
        return tuple(c.requirement for c in self.criteria)


def _recorded(
    framework: Framework,
    check_type: str,
    title: str,
    reference: str,
    interval_days: int,
    items: Sequence[tuple[str, str, Severity]],
    show_code: bool = False,
) -> CheckSpec:
    criteria = tuple(
        Criterion(
            code,
            text,
            severity,
            f"{reference} {code} — {text}" if show_code else f"{reference} — {text}",
        )
        for code, text, severity in items
    )
    return CheckSpec(
        framework, check_type, title, reference, timedelta(days=interval_days), criteria
    )


LGPD_EVERY = timedelta(days=7)
CFM_EVERY = timedelta(days=30)
L, M, H, C = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL

CATALOGUE_LIST: tuple[CheckSpec, ...] = (
    CheckSpec(
        Framework.LGPD,
        "consent_coverage",
        "Cobertura de consentimento",
        "LGPD arts. 7, 8 e 11 — consentimento registrado para cada paciente ativo",
        LGPD_EVERY,
    ),
    CheckSpec(
        Framework.LGPD,
        "overdue_requests",
        "Prazo das solicitações de titulares",
        "LGPD arts. 18 e 19 — resposta ao titular em até 15 dias",
        LGPD_EVERY,
    ),
    CheckSpec(
        Framework.LGPD,
        "revocations",
        "Revogações de consentimento",
        "LGPD art. 8, § 5º — revogação do consentimento atendida",
        LGPD_EVERY,
    ),
    CheckSpec(
        Framework.LGPD,
        "audit_trail",
        "Trilha de auditoria",
        "LGPD art. 37 — registro das operações de tratamento de dados",
        LGPD_EVERY,
    ),
    CheckSpec(
        Framework.CFM,
        "evolution_records",
        "Evolução registrada em prontuário",
        "Resolução COFFITO nº 414/2012 — evolução registrada a cada atendimento",
        CFM_EVERY,
    ),
    CheckSpec(
        Framework.CFM,
        "author_crefito",
        "Identificação do autor do prontuário",
        "Resolução COFFITO nº 414/2012 — autor identificado com o número do CREFITO",
        CFM_EVERY,
    ),
    _recorded(
        Framework.ANVISA,
        "sanitary_license",
        "Licença sanitária e responsável técnico",
        "RDC ANVISA nº 63/2011",
        365,
        [
            ("licenca_vigente", "Licença sanitária vigente e afixada em local visível", C),
            ("responsavel_tecnico", "Responsável técnico designado e registrado no conselho", H),
        ],
    ),
    _recorded(
        Framework.ANVISA,
        "infection_control",
        "Limpeza, desinfecção e controle de infecção",
        "RDC ANVISA nº 63/2011",
        180,
        [
            ("pop_limpeza", "Procedimentos escritos de limpeza e desinfecção disponíveis", H),
            ("higiene_maos", "Pia, sabonete líquido e álcool 70% nos pontos de atendimento", H),
            ("registro_limpeza", "Limpeza de macas e equipamentos registrada a cada uso", M),
        ],
    ),
    _recorded(
        Framework.ANVISA,
        "equipment_maintenance",
        "Manutenção e calibração de equipamentos",
        "RDC ANVISA nº 509/2021",
        180,
        [
            ("inventario", "Inventário atualizado dos equipamentos de saúde", M),
            ("manutencao_preventiva", "Manutenção preventiva dentro do prazo do fabricante", H),
            ("calibracao", "Calibração de eletroterapia e ultrassom registrada", H),
        ],
    ),
    _recorded(
        Framework.ANVISA,
        "waste_management",
        "Gerenciamento de resíduos de serviços de saúde",
        "RDC ANVISA nº 222/2018",
        365,
        [
            ("pgrss", "Plano de Gerenciamento de Resíduos (PGRSS) elaborado", H),
            ("segregacao", "Resíduos segregados e identificados na origem", M),
            ("coleta_licenciada", "Coleta por empresa licenciada, com comprovantes", M),
        ],
    ),
    _recorded(
        Framework.WCAG,
        "color_contrast",
        "Contraste e uso de cores",
        "WCAG 2.1 AA",
        90,
        [
            ("1.4.3", "Contraste mínimo de 4,5:1 para texto", H),
            ("1.4.11", "Contraste de 3:1 em componentes de interface e gráficos", M),
            ("1.4.1", "Cor não é o único meio de transmitir informação", M),
        ],
        show_code=True,
    ),
    _recorded(
        Framework.WCAG,
        "keyboard_navigation",
        "Navegação por teclado",
        "WCAG 2.1 AA",
        90,
        [
            ("2.1.1", "Todas as funções operáveis pelo teclado", H),
            ("2.1.2", "Sem armadilha de foco do teclado", H),
            ("2.4.3", "Ordem de foco lógica", M),
            ("2.4.7", "Foco do teclado visível", M),
        ],
        show_code=True,
    ),
    _recorded(
        Framework.WCAG,
        "text_alternatives",
        "Alternativas em texto e legendas",
        "WCAG 2.1 AA",
        90,
        [
            ("1.1.1", "Alternativa em texto para imagens e vídeos de exercícios", H),
            ("1.2.2", "Legendas nos vídeos de exercícios", M),
        ],
        show_code=True,
    ),
    _recorded(
        Framework.WCAG,
        "forms_and_labels",
        "Formulários e rótulos",
        "WCAG 2.1 AA",
        90,
        [
            ("3.3.1", "Erros de preenchimento identificados em texto", M),
            ("3.3.2", "Rótulos ou instruções em todos os campos", M),
            ("4.1.2", "Nome, função e valor expostos a tecnologias assistivas", H),
        ],
        show_code=True,
    ),
)
CATALOGUE: dict[tuple[Framework, str], CheckSpec] = {
    (spec.framework, spec.check_type): spec for spec in CATALOGUE_LIST
}


def specs_of(framework: Framework) -> list[CheckSpec]:
    return [spec for spec in CATALOGUE_LIST if spec.framework is framework]


# --- Portuguese text helpers -----------------------------------------------------------------


def _n(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _date(value: datetime) -> str:
    return value.astimezone(CLINIC_TIME_ZONE).strftime("%d/%m/%Y")


def _share(part: int, whole: int) -> int:
    """Whole percent, rounded down: 99.6% is not 100%."""
    return 100 if whole == 0 else math.floor(100 * part / whole)


# --- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    """The clinic's aggregates, from compliance_metrics() (migration 0005)."""

    active_patients: int
    consented_patients: int
    open_requests: int
    overdue_requests: int
    oldest_overdue_due_at: datetime | None
    requests_due_soon: int
    unanswered_revocations: int
    oldest_unanswered_revocation_at: datetime | None
    completed_appointments: int
    appointments_without_record: int
    total_prontuarios: int
    prontuarios_without_crefito: int
    audited_tables: tuple[str, ...]
    unaudited_tables: tuple[str, ...]


async def fetch_metrics(db: RequestDb) -> Metrics:
    row = await db.fetch_one(text("select * from compliance_metrics()"))
    assert row is not None, "compliance_metrics() returns one row"
    values = dict(row)
    values["audited_tables"] = tuple(values["audited_tables"] or ())
    values["unaudited_tables"] = tuple(values["unaudited_tables"] or ())
    return Metrics(**values)


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


def _computed(
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


def _by_share(score: int) -> Severity:
    if score >= 90:
        return Severity.MEDIUM
    return Severity.HIGH if score >= 70 else Severity.CRITICAL


def _consent_coverage(spec: CheckSpec, m: Metrics) -> Evaluation:
    missing = m.active_patients - m.consented_patients
    score = _share(m.consented_patients, m.active_patients)
    if m.active_patients == 0:
        description = "Não há pacientes ativos; nenhum consentimento a verificar."
    else:
        active = _n(m.active_patients, "paciente ativo", "pacientes ativos")
        description = (
            f"{m.consented_patients} de {active} ({score}%) têm consentimento válido registrado."
        )
    recommendations = []
    if missing:
        recommendations.append(
            f"Colete o consentimento de {_n(missing, 'paciente ativo', 'pacientes ativos')} sem"
            " registro, informando finalidade, base legal e versão da política (LGPD arts. 8 e 11)."
        )
    return _computed(spec, score, _by_share(score), missing, description, recommendations)


def _overdue_requests(spec: CheckSpec, m: Metrics) -> Evaluation:
    overdue = m.overdue_requests
    if overdue:
        oldest = m.oldest_overdue_due_at
        since = f" (a mais antiga venceu em {_date(oldest)})" if oldest else ""
        description = (
            f"{_n(overdue, 'solicitação de titular está', 'solicitações de titulares estão')}"
            f" com o prazo de 15 dias vencido{since}."
        )
    else:
        description = (
            "Nenhuma solicitação de titular está com o prazo vencido"
            f" ({_n(m.open_requests, 'solicitação em aberto', 'solicitações em aberto')})."
        )
    recommendations = []
    if overdue:
        recommendations.append(
            "Responda já às solicitações vencidas e registre a resposta (LGPD art. 19)."
        )
    if m.requests_due_soon:
        recommendations.append(
            f"{_n(m.requests_due_soon, 'solicitação vence', 'solicitações vencem')}"
            " nos próximos 3 dias."
        )
    severity = Severity.CRITICAL if overdue >= 3 else Severity.HIGH
    return _computed(
        spec, max(0, 100 - 25 * overdue), severity, overdue, description, recommendations
    )


def _revocations(spec: CheckSpec, m: Metrics) -> Evaluation:
    pending = m.unanswered_revocations
    if pending:
        oldest = m.oldest_unanswered_revocation_at
        since = f" (a mais antiga desde {_date(oldest)})" if oldest else ""
        waiting = _n(
            pending, "revogação de consentimento aguarda", "revogações de consentimento aguardam"
        )
        description = f"{waiting} confirmação de que o tratamento foi interrompido{since}."
        recommendations = [
            "Interrompa o tratamento dos dados para as finalidades revogadas e confirme cada"
            " revogação (LGPD art. 8, § 5º)."
        ]
    else:
        description = "Todas as revogações de consentimento foram atendidas."
        recommendations = []
    return _computed(
        spec, max(0, 100 - 20 * pending), Severity.HIGH, pending, description, recommendations
    )


def _audit_trail(spec: CheckSpec, m: Metrics) -> Evaluation:
    expected = len(m.audited_tables) + len(m.unaudited_tables)
    score = _share(len(m.audited_tables), expected)
    if m.unaudited_tables:
        description = (
            f"A trilha de auditoria cobre {len(m.audited_tables)} de {expected} tabelas exigidas;"
            f" sem auditoria: {', '.join(m.unaudited_tables)}."
        )
        recommendations = ["Reative os gatilhos de auditoria das tabelas indicadas."]
    else:
        description = f"A trilha de auditoria cobre as {expected} tabelas exigidas."
        recommendations = []
    return _computed(
        spec, score, Severity.CRITICAL, len(m.unaudited_tables), description, recommendations
    )


def _evolution_records(spec: CheckSpec, m: Metrics) -> Evaluation:
    missing = m.appointments_without_record
    total = m.completed_appointments
    score = _share(total - missing, total)
    if missing:
        description = (
            f"{missing} de {_n(total, 'atendimento concluído', 'atendimentos concluídos')}"
            " há mais de 24 horas estão sem registro de evolução no prontuário."
        )
        recommendations = [
            "Registre a evolução de cada atendimento no prontuário do paciente"
            " (Resolução COFFITO nº 414/2012)."
        ]
    else:
        description = (
            "Todos os atendimentos concluídos há mais de 24 horas têm registro no prontuário"
            f" ({_n(total, 'atendimento', 'atendimentos')})."
        )
        recommendations = []
    return _computed(spec, score, _by_share(score), missing, description, recommendations)


def _author_crefito(spec: CheckSpec, m: Metrics) -> Evaluation:
    bad = m.prontuarios_without_crefito
    total = m.total_prontuarios
    score = _share(total - bad, total)
    if bad:
        description = (
            f"{bad} de {_n(total, 'prontuário', 'prontuários')} não trazem um número de CREFITO"
            " válido do autor."
        )
        recommendations = [
            "Corrija o cadastro do fisioterapeuta e registre um adendo identificando o autor"
            " com o número do CREFITO."
        ]
    else:
        description = (
            "Todos os prontuários identificam o autor com o número do CREFITO"
            f" ({_n(total, 'prontuário', 'prontuários')})."
        )
        recommendations = []
    return _computed(spec, score, Severity.HIGH, bad, description, recommendations)


COMPUTED: dict[str, Callable[[CheckSpec, Metrics], Evaluation]] = {
    "consent_coverage": _consent_coverage,
    "overdue_requests": _overdue_requests,
    "revocations": _revocations,
    "audit_trail": _audit_trail,
    "evolution_records": _evolution_records,
    "author_crefito": _author_crefito,
}


@dataclass(frozen=True)
class Answer:
    met: bool
    note: str | None


def _evaluate_recorded(
    spec: CheckSpec, answers: dict[str, Answer], notes: str | None, now: datetime
) -> Evaluation:
    unmet = [c for c in spec.criteria if c.code in answers and not answers[c.code].met]
    met = [c for c in spec.criteria if c.code in answers and answers[c.code].met]
    unanswered = [c for c in spec.criteria if c.code not in answers]
    score = _share(len(met), len(spec.criteria))
    description = (
        f"Verificação registrada: {len(met)} de"
        f" {_n(len(spec.criteria), 'critério atendido', 'critérios atendidos')}"
    )
    if unanswered:
        description += (
            f"; {_n(len(unanswered), 'critério não avaliado', 'critérios não avaliados')}"
        )
    description += "."
    if notes:
        description += f" Observações: {notes}"
    failures = [
        Failure(
            c.requirement,
            answers[c.code].note or f"Critério não atendido na verificação de {_date(now)}.",
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


# --- GraphQL types ---------------------------------------------------------------------------

CHECK_SORT = SortKey((compliance_checks.c.last_checked, compliance_checks.c.id))
ISSUE_SORT = SortKey((compliance_issues.c.created_at, compliance_issues.c.id))
ISSUES_OF_CHECK = ChildList(compliance_issues, "check_id", ISSUE_SORT)


@strawberry.type(description="An issue a compliance check found, open until resolved.")
class ComplianceIssue(Node):
    id: strawberry.ID
    framework: Framework
    requirement: str
    description: str
    severity: Severity
    resolved: bool
    resolution: str | None
    created_at: datetime
    resolved_at: datetime | None
    check_db_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: RowMapping) -> "ComplianceIssue":
        return cls(
            id=strawberry.ID(to_global_id("ComplianceIssue", row["id"])),
            framework=Framework(row["framework"]),
            requirement=row["requirement"],
            description=row["description"],
            severity=Severity(row["severity"]),
            resolved=row["resolved"],
            resolution=row["resolution"],
            created_at=row["created_at"],
            resolved_at=row["resolved_at"],
            check_db_id=row["check_id"],
        )

    @strawberry.field  # the check that found (or last confirmed) this issue
    async def check(self, info: Info) -> "ComplianceCheck | None":
        if self.check_db_id is None:
            return None
        return await load_compliance_check(info, self.check_db_id)


@strawberry.type(description="One run of a compliance check, with its result.")
class ComplianceCheck(Node):
    id: strawberry.ID
    framework: Framework
    check_type: str
    state: ComplianceState
    severity: Severity
    score: int
    last_checked: datetime
    next_check: datetime
    issues_found: int
    description: str
    recommendations: list[str]
    db_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: RowMapping) -> "ComplianceCheck":
        return cls(
            id=strawberry.ID(to_global_id("ComplianceCheck", row["id"])),
            framework=Framework(row["framework"]),
            check_type=row["check_type"],
            state=ComplianceState(row["state"]),
            severity=Severity(row["severity"]),
            score=row["score"],
            last_checked=row["last_checked"],
            next_check=row["next_check"],
            issues_found=row["issues_found"],
            description=row["description"],
            recommendations=list(row["recommendations"] or ()),
            db_id=row["id"],
        )

    @strawberry.field  # issues this check opened or confirmed
    async def issues(self, info: Info) -> list[ComplianceIssue]:
        rows = await info.context.loaders.all_children(ISSUES_OF_CHECK).load(self.db_id)
        return [ComplianceIssue.from_row(row) for row in rows]


async def load_compliance_check(info: Info, check_id: uuid.UUID) -> ComplianceCheck | None:
    row = await info.context.loaders.by_id(compliance_checks).load(check_id)
    return ComplianceCheck.from_row(row) if row else None


async def load_compliance_issue(info: Info, issue_id: uuid.UUID) -> ComplianceIssue | None:
    row = await info.context.loaders.by_id(compliance_issues).load(issue_id)
    return ComplianceIssue.from_row(row) if row else None


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

    @strawberry.field
    async def clinic(self, info: Info) -> ClinicRef:
        from resolvers.accounts import load_clinic

        clinic = await load_clinic(info, self.clinic_db_id)
        if clinic is None:
            raise not_found("Clinic")
        return clinic


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


# --- status ----------------------------------------------------------------------------------


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
    checked = _date(row["last_checked"])
    failing = state is ComplianceState.NON_COMPLIANT
    outdated = row["next_check"] < now or state is ComplianceState.PENDING
    finding: str | None = None
    if failing:
        unmet = _n(row["issues_found"], "critério não atendido", "critérios não atendidos")
        finding = f"{spec.title}: {unmet} na verificação de {checked}."
    elif state is ComplianceState.PENDING:
        finding = f"{spec.title}: verificação incompleta em {checked}."
    if row["next_check"] < now:
        stale = f"A verificação de “{spec.title}” venceu em {_date(row['next_check'])}; refaça-a."
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
        text = f"{_n(len(issues), 'pendência em aberto', 'pendências em aberto')}"
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
        recent_checks=[ComplianceCheck.from_row(row) for row in recent],
        open_issues=[ComplianceIssue.from_row(row) for row in open_rows],
        computed_at=now,
        clinic_db_id=clinic_id,
    )


async def compliance_status(info: Info) -> ComplianceStatus:
    identity = info.context.require_role(*STAFF)
    return await compute_compliance_status(info.context.db, identity.clinic_id)


# --- lists -----------------------------------------------------------------------------------


async def list_compliance_checks(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    framework: Framework | None = None,
    check_type: str | None = None,
) -> Connection[ComplianceCheck]:
    """Every recorded check run, oldest first (`last: N` gives the newest)."""
    info.context.require_role(*STAFF)
    conditions: list[ColumnElement[bool]] = []
    if framework is not None:
        conditions.append(compliance_checks.c.framework == framework.value)
    if check_type is not None:
        conditions.append(compliance_checks.c.check_type == check_type.strip())
    return await list_connection(
        info.context.db,
        compliance_checks,
        CHECK_SORT,
        PageArgs.parse(first, after, last, before),
        ComplianceCheck.from_row,
        conditions,
    )


async def list_compliance_issues(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    framework: Framework | None = None,
    resolved: bool | None = None,
) -> Connection[ComplianceIssue]:
    info.context.require_role(*STAFF)
    conditions: list[ColumnElement[bool]] = []
    if framework is not None:
        conditions.append(compliance_issues.c.framework == framework.value)
    if resolved is not None:
        conditions.append(compliance_issues.c.resolved.is_(resolved))
    return await list_connection(
        info.context.db,
        compliance_issues,
        ISSUE_SORT,
        PageArgs.parse(first, after, last, before),
        ComplianceIssue.from_row,
        conditions,
    )


def compliance_check_types(framework: Framework | None = None) -> list[ComplianceCheckType]:
    """The catalogue `runComplianceCheck` accepts."""
    return [
        ComplianceCheckType.of(spec)
        for spec in CATALOGUE_LIST
        if framework is None or spec.framework is framework
    ]


# --- mutations -------------------------------------------------------------------------------


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
                resolution=f"Resolvida automaticamente: a verificação de {_date(now)}"
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
        result = _evaluate_recorded(spec, answers, notes, now)
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
    return ComplianceCheck.from_row(row)


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
        return ComplianceIssue.from_row(row)
    if await info.context.loaders.by_id(compliance_issues).load(issue_id) is None:
        raise not_found("ComplianceIssue", field="id")
    raise ApiError(INVALID_STATE, "This compliance issue is already resolved")
