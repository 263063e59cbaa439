"""ANVISA: the sanitary license, infection control, equipment and waste, recorded assessments."""

from resolvers.compliance.enums import Framework, Severity
from resolvers.compliance.spec import recorded

L, M, H, C = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL

SPECS = (
    recorded(
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
    recorded(
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
    recorded(
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
    recorded(
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
)
