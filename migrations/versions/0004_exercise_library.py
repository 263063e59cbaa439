"""The shared exercise library: exercises every clinic reads, changed only by migrations.

Revision ID: 0004_exercise_library
Revises: 0003_triggers
Create Date: 2026-11-22

Rows with `clinic_id` NULL are the shared library (see 0001/0002: every authenticated role of
every clinic reads them, nobody writes them through fisioflow_app). Ids are
uuid5(LIBRARY_NAMESPACE, "exercise:<name>"), stable across databases; `fisioflow seed` reads the
library from here (seed/loader.py `shared_library`). The data is frozen here on purpose: a later
change to the library is a new migration.

`exercises` is FORCE'd, so its owner is under RLS too and has no policy to write the library
with; the migration lifts FORCE for its own transaction (the ALTER holds an ACCESS EXCLUSIVE
lock until commit, so nobody sees the table without it) and restores it before committing.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from migrations.sql import run_script

revision: str = "0004_exercise_library"
down_revision: str | None = "0003_triggers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIBRARY_NAMESPACE = uuid.UUID("6f1c0b52-3d7e-4d8e-9a55-0f5e1a1f1a10")

# (name, category, difficulty, duration_seconds, description, instructions)
LIBRARY: tuple[tuple[str, str, str, int | None, str, tuple[str, ...]], ...] = (
    (
        "Alongamento de isquiotibiais em pé",
        "Alongamento",
        "easy",
        30,
        "Alonga a musculatura posterior da coxa.",
        (
            "Apoie o calcanhar em um degrau baixo.",
            "Incline o tronco à frente com a coluna reta.",
            "Mantenha 30 segundos sem balançar.",
        ),
    ),
    (
        "Alongamento de quadríceps em pé",
        "Alongamento",
        "easy",
        30,
        "Alonga a musculatura anterior da coxa.",
        (
            "Apoie-se na parede.",
            "Segure o tornozelo e leve o calcanhar ao glúteo.",
            "Mantenha os joelhos alinhados.",
        ),
    ),
    (
        "Alongamento de panturrilha na parede",
        "Alongamento",
        "easy",
        30,
        "Alonga gastrocnêmio e sóleo.",
        (
            "Mãos na parede, uma perna atrás.",
            "Calcanhar de trás no chão, joelho estendido.",
            "Incline o corpo até sentir alongar.",
        ),
    ),
    (
        "Alongamento do piriforme deitado",
        "Alongamento",
        "easy",
        30,
        "Alivia tensão glútea profunda.",
        (
            "Deite de costas e cruze o tornozelo sobre o joelho.",
            "Puxe a coxa de baixo em direção ao peito.",
        ),
    ),
    (
        "Alongamento de trapézio superior",
        "Alongamento",
        "easy",
        30,
        "Reduz tensão cervical.",
        (
            "Sentado, incline a cabeça para o lado.",
            "Com a mão, aumente levemente a inclinação.",
            "Mantenha o ombro oposto relaxado.",
        ),
    ),
    (
        "Alongamento de peitoral na porta",
        "Alongamento",
        "easy",
        30,
        "Abre a região anterior do ombro.",
        (
            "Apoie os antebraços no batente da porta.",
            "Dê um passo à frente até sentir alongar o peito.",
        ),
    ),
    (
        "Alongamento de flexores do quadril em afundo",
        "Alongamento",
        "medium",
        30,
        "Alonga iliopsoas.",
        (
            "Ajoelhe com uma perna à frente.",
            "Contraia o glúteo e leve o quadril à frente.",
            "Mantenha o tronco ereto.",
        ),
    ),
    (
        "Alongamento da fáscia plantar",
        "Alongamento",
        "easy",
        30,
        "Indicado na fascite plantar.",
        ("Sentado, cruze o pé sobre o joelho.", "Puxe os dedos do pé em direção à canela."),
    ),
    (
        "Ponte glútea",
        "Fortalecimento",
        "easy",
        None,
        "Fortalece glúteos e estabilizadores do tronco.",
        (
            "Deite de costas, joelhos dobrados.",
            "Eleve o quadril até alinhar tronco e coxas.",
            "Desça devagar.",
        ),
    ),
    (
        "Agachamento na parede",
        "Fortalecimento",
        "medium",
        45,
        "Fortalece quadríceps com baixo impacto.",
        (
            "Costas apoiadas na parede.",
            "Deslize até os joelhos formarem cerca de 60°.",
            "Mantenha a posição.",
        ),
    ),
    (
        "Prancha abdominal",
        "Fortalecimento",
        "medium",
        30,
        "Estabilização do core.",
        ("Apoie antebraços e pontas dos pés.", "Mantenha o corpo alinhado, sem elevar o quadril."),
    ),
    (
        "Rotação externa de ombro com faixa elástica",
        "Fortalecimento",
        "easy",
        None,
        "Fortalece o manguito rotador.",
        (
            "Cotovelo a 90° junto ao corpo.",
            "Gire o antebraço para fora contra a faixa.",
            "Volte devagar.",
        ),
    ),
    (
        "Extensão de joelho sentado com caneleira",
        "Fortalecimento",
        "easy",
        None,
        "Fortalece quadríceps.",
        (
            "Sentado, com caneleira no tornozelo.",
            "Estenda o joelho completamente e segure 2 segundos.",
        ),
    ),
    (
        "Abdução de quadril em decúbito lateral",
        "Fortalecimento",
        "easy",
        None,
        "Fortalece glúteo médio.",
        ("Deite de lado com as pernas estendidas.", "Eleve a perna de cima sem girar o quadril."),
    ),
    (
        "Elevação de panturrilha",
        "Fortalecimento",
        "easy",
        None,
        "Fortalece tríceps sural.",
        ("Em pé, apoie as mãos na parede.", "Suba na ponta dos pés e desça devagar."),
    ),
    (
        "Remada com faixa elástica",
        "Fortalecimento",
        "medium",
        None,
        "Fortalece estabilizadores da escápula.",
        (
            "Prenda a faixa à frente na altura do peito.",
            "Puxe levando os cotovelos para trás.",
            "Aproxime as escápulas.",
        ),
    ),
    (
        "Contração do assoalho pélvico (Kegel)",
        "Fortalecimento",
        "easy",
        10,
        "Fortalece a musculatura do assoalho pélvico.",
        ("Contraia como se segurasse a urina.", "Mantenha 5 a 10 segundos e relaxe o mesmo tempo."),
    ),
    (
        "Gato-camelo",
        "Mobilidade",
        "easy",
        60,
        "Mobilidade da coluna em quatro apoios.",
        (
            "Fique em quatro apoios.",
            "Arredonde as costas e depois afunde suavemente.",
            "Acompanhe com a respiração.",
        ),
    ),
    (
        "Rotação torácica em quatro apoios",
        "Mobilidade",
        "medium",
        None,
        "Melhora a rotação da coluna torácica.",
        ("Em quatro apoios, mão atrás da cabeça.", "Gire o tronco levando o cotovelo ao teto."),
    ),
    (
        "Círculos de ombro",
        "Mobilidade",
        "easy",
        45,
        "Aquecimento e mobilidade do ombro.",
        ("Em pé, braços relaxados.", "Faça círculos amplos para trás e para frente."),
    ),
    (
        "Mobilização de tornozelo na parede",
        "Mobilidade",
        "easy",
        None,
        "Ganho de dorsiflexão.",
        ("Pé a um palmo da parede.", "Leve o joelho até a parede sem tirar o calcanhar do chão."),
    ),
    (
        "Flexão e extensão cervical ativa",
        "Mobilidade",
        "easy",
        45,
        "Mobilidade do pescoço.",
        ("Sentado com a coluna ereta.", "Olhe para baixo e para cima devagar, sem dor."),
    ),
    (
        "Deslizamento neural do nervo ciático",
        "Mobilidade",
        "medium",
        None,
        "Mobilização neural para ciatalgia.",
        (
            "Sentado na beira da cadeira.",
            "Estenda o joelho enquanto olha para cima.",
            "Flexione o joelho olhando para baixo.",
        ),
    ),
    (
        "Pêndulo de Codman",
        "Mobilidade",
        "easy",
        60,
        "Mobilidade suave do ombro.",
        (
            "Apoie uma mão na mesa e incline o tronco.",
            "Deixe o outro braço pendente e faça pequenos círculos.",
        ),
    ),
    (
        "Báscula pélvica",
        "Mobilidade",
        "easy",
        None,
        "Consciência e mobilidade lombopélvica.",
        (
            "Deite de costas com joelhos dobrados.",
            "Encoste a lombar no chão e depois arqueie levemente.",
        ),
    ),
    (
        "Apoio unipodal",
        "Equilíbrio",
        "easy",
        30,
        "Equilíbrio estático.",
        ("Fique em um pé só perto de um apoio.", "Mantenha 30 segundos; troque de perna."),
    ),
    (
        "Apoio unipodal em superfície instável",
        "Equilíbrio",
        "hard",
        30,
        "Propriocepção de tornozelo e joelho.",
        ("Fique em um pé sobre almofada ou disco.", "Mantenha o joelho levemente flexionado."),
    ),
    (
        "Marcha em tandem",
        "Equilíbrio",
        "medium",
        60,
        "Equilíbrio dinâmico.",
        (
            "Caminhe em linha reta encostando o calcanhar na ponta do pé.",
            "Use um corredor com apoio por perto.",
        ),
    ),
    (
        "Alcance funcional em pé",
        "Equilíbrio",
        "medium",
        None,
        "Controle postural anterior.",
        ("Em pé, braços estendidos à frente.", "Alcance o mais longe possível sem mover os pés."),
    ),
    (
        "Sentar e levantar da cadeira",
        "Equilíbrio",
        "easy",
        None,
        "Força e equilíbrio funcional.",
        ("Sente na ponta de uma cadeira firme.", "Levante sem usar as mãos e sente devagar."),
    ),
    (
        "Transferência de peso lateral",
        "Equilíbrio",
        "easy",
        60,
        "Controle de carga entre os membros.",
        (
            "Pés afastados na largura do quadril.",
            "Transfira o peso de um lado para o outro devagar.",
        ),
    ),
    (
        "Step-up no degrau",
        "Equilíbrio",
        "medium",
        None,
        "Força e equilíbrio em subida.",
        ("Suba no degrau com uma perna.", "Estenda o joelho totalmente e desça controlando."),
    ),
    (
        "Marcha com obstáculos",
        "Equilíbrio",
        "hard",
        120,
        "Equilíbrio dinâmico e prevenção de quedas.",
        ("Distribua objetos baixos no chão.", "Caminhe passando por cima deles com atenção."),
    ),
    (
        "Respiração diafragmática",
        "Respiratório",
        "easy",
        120,
        "Reeducação do padrão respiratório.",
        (
            "Deite com uma mão no abdome.",
            "Inspire pelo nariz expandindo o abdome.",
            "Expire devagar pela boca.",
        ),
    ),
    (
        "Respiração com lábios semicerrados",
        "Respiratório",
        "easy",
        120,
        "Reduz a dispneia.",
        ("Inspire pelo nariz contando até 2.", "Expire com os lábios semicerrados contando até 4."),
    ),
    (
        "Inspiração fracionada em tempos",
        "Respiratório",
        "medium",
        90,
        "Expansão pulmonar.",
        ("Inspire em 3 etapas curtas pelo nariz sem expirar.", "Expire lentamente ao final."),
    ),
    (
        "Tosse assistida (huffing)",
        "Respiratório",
        "medium",
        None,
        "Higiene brônquica.",
        ("Inspire profundamente.", "Expire forte com a boca aberta, como embaçando um espelho."),
    ),
    (
        "Incentivador respiratório",
        "Respiratório",
        "easy",
        None,
        "Expansão pulmonar com aparelho.",
        ("Sente-se ereto com o incentivador.", "Inspire devagar mantendo a esfera elevada."),
    ),
    (
        "Expansão costal lateral",
        "Respiratório",
        "easy",
        90,
        "Ventilação das bases pulmonares.",
        ("Mãos nas costelas laterais.", "Inspire direcionando o ar contra as mãos."),
    ),
    (
        "Respiração com elevação dos braços",
        "Respiratório",
        "easy",
        90,
        "Coordena respiração e movimento.",
        ("Inspire elevando os braços.", "Expire baixando os braços devagar."),
    ),
)

library = sa.table(
    "exercises",
    sa.column("id", sa.Uuid),
    sa.column("clinic_id", sa.Uuid),
    sa.column("name", sa.Text),
    sa.column("description", sa.Text),
    sa.column("category", sa.Text),
    sa.column("difficulty", sa.Text),
    sa.column("duration_seconds", sa.Integer),
    sa.column("instructions", ARRAY(sa.Text)),
)


def library_id(name: str) -> uuid.UUID:
    return uuid.uuid5(LIBRARY_NAMESPACE, f"exercise:{name}")


def upgrade() -> None:
    run_script(
        "SET LOCAL ROLE fisioflow_owner;\nALTER TABLE exercises NO FORCE ROW LEVEL SECURITY;"
    )
    rows = [
        {
            "id": library_id(name),
            "clinic_id": None,
            "name": name,
            "description": description,
            "category": category,
            "difficulty": difficulty,
            "duration_seconds": seconds,
            "instructions": list(steps),
        }
        for name, category, difficulty, seconds, description, steps in LIBRARY
    ]
    op.execute(pg_insert(library).values(rows).on_conflict_do_nothing(index_elements=["id"]))
    run_script("ALTER TABLE exercises FORCE ROW LEVEL SECURITY;\nRESET ROLE;")


def downgrade() -> None:
    """Removes the library rows no prescription refers to (prescribed ones must stay)."""
    run_script(
        "SET LOCAL ROLE fisioflow_owner;\n"
        "ALTER TABLE exercises NO FORCE ROW LEVEL SECURITY;\n"
        "ALTER TABLE exercise_prescriptions NO FORCE ROW LEVEL SECURITY;"
    )
    ids = [library_id(entry[0]) for entry in LIBRARY]
    op.get_bind().execute(
        sa.text(
            "DELETE FROM exercises e WHERE e.clinic_id IS NULL AND e.id = ANY(:ids)"
            " AND NOT EXISTS (SELECT FROM exercise_prescriptions p WHERE p.exercise_id = e.id)"
        ).bindparams(sa.bindparam("ids", type_=ARRAY(sa.Uuid))),
        {"ids": ids},
    )
    run_script(
        "ALTER TABLE exercises FORCE ROW LEVEL SECURITY;\n"
        "ALTER TABLE exercise_prescriptions FORCE ROW LEVEL SECURITY;\n"
        "RESET ROLE;"
    )
