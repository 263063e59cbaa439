"""LGPD: consents, data-subject requests, revocations and the audit trail, computed weekly from
the clinic's data."""

from datetime import timedelta

from resolvers.compliance.enums import Framework, Severity
from resolvers.compliance.evaluation import Evaluation, by_share, computed
from resolvers.compliance.metrics import Metrics
from resolvers.compliance.spec import CheckSpec
from resolvers.compliance.text import counted, local_date, share

EVERY = timedelta(days=7)

SPECS = (
    CheckSpec(
        Framework.LGPD,
        "consent_coverage",
        "Cobertura de consentimento",
        "LGPD arts. 7, 8 e 11 — consentimento registrado para cada paciente ativo",
        EVERY,
    ),
    CheckSpec(
        Framework.LGPD,
        "overdue_requests",
        "Prazo das solicitações de titulares",
        "LGPD arts. 18 e 19 — resposta ao titular em até 15 dias",
        EVERY,
    ),
    CheckSpec(
        Framework.LGPD,
        "revocations",
        "Revogações de consentimento",
        "LGPD art. 8, § 5º — revogação do consentimento atendida",
        EVERY,
    ),
    CheckSpec(
        Framework.LGPD,
        "audit_trail",
        "Trilha de auditoria",
        "LGPD art. 37 — registro das operações de tratamento de dados",
        EVERY,
    ),
)


def _consent_coverage(spec: CheckSpec, m: Metrics) -> Evaluation:
    missing = m.active_patients - m.consented_patients
    score = share(m.consented_patients, m.active_patients)
    if m.active_patients == 0:
        description = "Não há pacientes ativos; nenhum consentimento a verificar."
    else:
        active = counted(m.active_patients, "paciente ativo", "pacientes ativos")
        description = (
            f"{m.consented_patients} de {active} ({score}%) têm consentimento válido registrado."
        )
    recommendations = []
    if missing:
        recommendations.append(
            f"Colete o consentimento de {counted(missing, 'paciente ativo', 'pacientes ativos')}"
            " sem registro, informando finalidade, base legal e versão da política"
            " (LGPD arts. 8 e 11)."
        )
    return computed(spec, score, by_share(score), missing, description, recommendations)


def _overdue_requests(spec: CheckSpec, m: Metrics) -> Evaluation:
    overdue = m.overdue_requests
    if overdue:
        oldest = m.oldest_overdue_due_at
        since = f" (a mais antiga venceu em {local_date(oldest)})" if oldest else ""
        description = (
            f"{counted(overdue, 'solicitação de titular está', 'solicitações de titulares estão')}"
            f" com o prazo de 15 dias vencido{since}."
        )
    else:
        description = (
            "Nenhuma solicitação de titular está com o prazo vencido"
            f" ({counted(m.open_requests, 'solicitação em aberto', 'solicitações em aberto')})."
        )
    recommendations = []
    if overdue:
        recommendations.append(
            "Responda já às solicitações vencidas e registre a resposta (LGPD art. 19)."
        )
    if m.requests_due_soon:
        recommendations.append(
            f"{counted(m.requests_due_soon, 'solicitação vence', 'solicitações vencem')}"
            " nos próximos 3 dias."
        )
    severity = Severity.CRITICAL if overdue >= 3 else Severity.HIGH
    return computed(
        spec, max(0, 100 - 25 * overdue), severity, overdue, description, recommendations
    )


def _revocations(spec: CheckSpec, m: Metrics) -> Evaluation:
    pending = m.unanswered_revocations
    if pending:
        oldest = m.oldest_unanswered_revocation_at
        since = f" (a mais antiga desde {local_date(oldest)})" if oldest else ""
        waiting = counted(
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
    return computed(
        spec, max(0, 100 - 20 * pending), Severity.HIGH, pending, description, recommendations
    )


def _audit_trail(spec: CheckSpec, m: Metrics) -> Evaluation:
    expected = len(m.audited_tables) + len(m.unaudited_tables)
    score = share(len(m.audited_tables), expected)
    if m.unaudited_tables:
        description = (
            f"A trilha de auditoria cobre {len(m.audited_tables)} de {expected} tabelas exigidas;"
            f" sem auditoria: {', '.join(m.unaudited_tables)}."
        )
        recommendations = ["Reative os gatilhos de auditoria das tabelas indicadas."]
    else:
        description = f"A trilha de auditoria cobre as {expected} tabelas exigidas."
        recommendations = []
    return computed(
        spec, score, Severity.CRITICAL, len(m.unaudited_tables), description, recommendations
    )


EVALUATORS = {
    "consent_coverage": _consent_coverage,
    "overdue_requests": _overdue_requests,
    "revocations": _revocations,
    "audit_trail": _audit_trail,
}
