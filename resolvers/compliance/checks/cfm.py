"""CFM/COFFITO (Resolução COFFITO nº 414/2012): evolution recorded for every session, and
records that name their author's CREFITO, computed monthly from the clinic's data."""

from datetime import timedelta

from resolvers.compliance.enums import Framework, Severity
from resolvers.compliance.evaluation import Evaluation, by_share, computed
from resolvers.compliance.metrics import Metrics
from resolvers.compliance.spec import CheckSpec
from resolvers.compliance.text import counted, share

EVERY = timedelta(days=30)

SPECS = (
    CheckSpec(
        Framework.CFM,
        "evolution_records",
        "Evolução registrada em prontuário",
        "Resolução COFFITO nº 414/2012 — evolução registrada a cada atendimento",
        EVERY,
    ),
    CheckSpec(
        Framework.CFM,
        "author_crefito",
        "Identificação do autor do prontuário",
        "Resolução COFFITO nº 414/2012 — autor identificado com o número do CREFITO",
        EVERY,
    ),
)


def _evolution_records(spec: CheckSpec, m: Metrics) -> Evaluation:
    missing = m.appointments_without_record
    total = m.completed_appointments
    score = share(total - missing, total)
    if missing:
        description = (
            f"{missing} de {counted(total, 'atendimento concluído', 'atendimentos concluídos')}"
            " há mais de 24 horas estão sem registro de evolução no prontuário."
        )
        recommendations = [
            "Registre a evolução de cada atendimento no prontuário do paciente"
            " (Resolução COFFITO nº 414/2012)."
        ]
    else:
        description = (
            "Todos os atendimentos concluídos há mais de 24 horas têm registro no prontuário"
            f" ({counted(total, 'atendimento', 'atendimentos')})."
        )
        recommendations = []
    return computed(spec, score, by_share(score), missing, description, recommendations)


def _author_crefito(spec: CheckSpec, m: Metrics) -> Evaluation:
    bad = m.prontuarios_without_crefito
    total = m.total_prontuarios
    score = share(total - bad, total)
    if bad:
        description = (
            f"{bad} de {counted(total, 'prontuário', 'prontuários')} não trazem um número de"
            " CREFITO válido do autor."
        )
        recommendations = [
            "Corrija o cadastro do fisioterapeuta e registre um adendo identificando o autor"
            " com o número do CREFITO."
        ]
    else:
        description = (
            "Todos os prontuários identificam o autor com o número do CREFITO"
            f" ({counted(total, 'prontuário', 'prontuários')})."
        )
        recommendations = []
    return computed(spec, score, Severity.HIGH, bad, description, recommendations)


EVALUATORS = {
    "evolution_records": _evolution_records,
    "author_crefito": _author_crefito,
}
