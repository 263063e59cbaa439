"""WCAG 2.1 AA: the accessibility of the clinic's apps, recorded assessments."""

from resolvers.compliance.enums import Framework, Severity
from resolvers.compliance.spec import recorded

L, M, H, C = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL

SPECS = (
    recorded(
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
    recorded(
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
    recorded(
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
    recorded(
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
