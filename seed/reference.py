"""Reference data: Brazilian names and places, clinical templates, the texts of notes."""

from typing import NamedTuple

FEMALE_NAMES = (
    "Maria", "Ana", "Francisca", "Antônia", "Adriana", "Juliana", "Márcia", "Fernanda",
    "Patrícia", "Aline", "Sandra", "Camila", "Amanda", "Bruna", "Jéssica", "Letícia", "Júlia",
    "Luciana", "Vanessa", "Mariana", "Gabriela", "Rafaela", "Beatriz", "Larissa", "Carolina",
    "Daniela", "Natália", "Renata", "Simone", "Cláudia", "Vitória", "Isabela", "Manuela",
    "Laura", "Sofia", "Helena", "Alice", "Valentina", "Lívia", "Giovanna", "Raquel", "Tatiane",
    "Priscila", "Luana", "Débora", "Eliane", "Rosângela", "Lúcia", "Cristina", "Sônia",
)  # fmt: skip
MALE_NAMES = (
    "José", "João", "Antônio", "Francisco", "Carlos", "Paulo", "Pedro", "Lucas", "Luiz",
    "Marcos", "Gabriel", "Rafael", "Daniel", "Marcelo", "Bruno", "Eduardo", "Felipe",
    "Raimundo", "Rodrigo", "Manoel", "Mateus", "André", "Fernando", "Fábio", "Leonardo",
    "Gustavo", "Guilherme", "Leandro", "Tiago", "Anderson", "Ricardo", "Márcio", "Jorge",
    "Sebastião", "Alexandre", "Roberto", "Edson", "Diego", "Vitor", "Sérgio", "Cláudio",
    "Geraldo", "Adriano", "Luciano", "Júlio", "Renato", "Miguel", "Arthur", "Heitor", "Davi",
)  # fmt: skip
SURNAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima",
    "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares",
    "Fernandes", "Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira",
    "Nunes", "Marques", "Machado", "Mendes", "Freitas", "Cardoso", "Ramos", "Gonçalves",
    "Santana", "Teixeira", "Araújo", "Moura", "Cavalcanti", "Monteiro", "Batista", "Correia",
    "Pinto", "Campos", "Melo", "Reis", "Duarte", "Cunha", "Castro", "Barros", "Farias",
    "Azevedo", "Siqueira", "Borges", "Nogueira", "Pires", "Prado", "Medeiros", "Rezende",
    "Magalhães", "Queiroz",
)  # fmt: skip


class City(NamedTuple):
    name: str
    uf: str
    ddd: int
    crefito_region: int
    cep_prefix: int


CITIES = (
    City("São Paulo", "SP", 11, 3, 1),
    City("Rio de Janeiro", "RJ", 21, 2, 20),
    City("Belo Horizonte", "MG", 31, 4, 30),
    City("Porto Alegre", "RS", 51, 5, 90),
    City("Curitiba", "PR", 41, 8, 80),
    City("Salvador", "BA", 71, 7, 40),
    City("Recife", "PE", 81, 1, 50),
    City("Fortaleza", "CE", 85, 6, 60),
    City("Brasília", "DF", 61, 11, 70),
    City("Florianópolis", "SC", 48, 10, 88),
    City("Goiânia", "GO", 62, 11, 74),
    City("Campinas", "SP", 19, 3, 13),
    City("Vitória", "ES", 27, 15, 29),
    City("Belém", "PA", 91, 12, 66),
)
CLINIC_PREFIXES = (
    "Clínica Movimento", "Centro de Fisioterapia Vida Ativa", "Espaço Reabilitar",
    "Clínica Corpo em Equilíbrio", "FisioSaúde", "Instituto de Reabilitação Integrada",
    "Clínica Mover Bem", "Núcleo de Fisioterapia Postural",
)  # fmt: skip
STREET_TYPES = ("Rua", "Rua", "Rua", "Avenida", "Avenida", "Travessa", "Alameda")
STREET_NAMES = (
    "das Flores", "Sete de Setembro", "XV de Novembro", "Tiradentes", "Dom Pedro II",
    "Santos Dumont", "Rui Barbosa", "Getúlio Vargas", "Marechal Deodoro", "José Bonifácio",
    "Castro Alves", "Duque de Caxias", "São João", "Brasil", "da Independência",
    "das Palmeiras", "dos Andradas", "Presidente Vargas", "Barão do Rio Branco",
    "Monteiro Lobato", "Machado de Assis", "Carlos Gomes", "Princesa Isabel", "Quintino Bocaiúva",
)  # fmt: skip
NEIGHBOURHOODS = (
    "Centro", "Jardim América", "Vila Nova", "Boa Vista", "Santo Antônio", "São José",
    "Jardim Europa", "Bela Vista", "Santa Luzia", "Cidade Nova", "Parque São Jorge",
    "Vila Mariana", "Jardim Botânico", "Alto da Boa Vista", "Santa Cecília", "Liberdade",
)  # fmt: skip
SPECIALTIES = (
    "Traumato-ortopédica", "Neurofuncional", "Esportiva", "Cardiorrespiratória", "Gerontologia",
    "Saúde da mulher", "Pediátrica", "Reumatológica",
)  # fmt: skip


class Condition(NamedTuple):
    anamnesis: str
    physical_exam: str
    diagnosis: str
    prognosis: str
    treatment_plan: str
    exercises: tuple[str, ...]  # names in the shared library


CONDITIONS = (
    Condition(
        "Dor lombar há cerca de 6 meses, pior ao permanecer sentado(a) e ao final do dia. Nega "
        "irradiação para membros inferiores. Trabalha em escritório, sedentário(a).",
        "Dor à palpação da musculatura paravertebral lombar. Flexão de tronco limitada. "
        "Lasègue negativo bilateralmente. Força muscular preservada.",
        "Lombalgia mecânica crônica (CID-10 M54.5) com déficit de controle motor lombopélvico.",
        "Bom, com adesão ao programa domiciliar.",
        "Educação em dor, mobilização lombar, fortalecimento de core e glúteos, alongamento de "
        "cadeia posterior e orientação ergonômica.",
        ("Ponte glútea", "Prancha abdominal", "Gato-camelo", "Alongamento de isquiotibiais em pé"),
    ),
    Condition(
        "Dor cervical com rigidez matinal e cefaleia tensional associada, há 3 meses. Uso "
        "prolongado de computador e celular.",
        "Anteriorização de cabeça, tensão em trapézio superior e levantador da escápula. "
        "Rotação cervical reduzida à direita.",
        "Cervicalgia mecânica (CID-10 M54.2).",
        "Bom.",
        "Terapia manual, alongamento de trapézio, fortalecimento de flexores profundos do "
        "pescoço e orientação postural.",
        (
            "Alongamento de trapézio superior",
            "Flexão e extensão cervical ativa",
            "Remada com faixa elástica",
            "Alongamento de peitoral na porta",
        ),
    ),
    Condition(
        "Pós-operatório de reconstrução do ligamento cruzado anterior do joelho direito "
        "(enxerto de isquiotibiais) há 3 semanas, após entorse no futebol.",
        "Edema discreto, ADM de flexão do joelho 95°, extensão completa. Déficit de ativação "
        "do quadríceps. Marcha com muletas, carga parcial.",
        "Pós-operatório de reconstrução de LCA (CID-10 S83.5).",
        "Bom; retorno ao esporte previsto entre 8 e 9 meses.",
        "Controle de edema, ganho de ADM, ativação e fortalecimento de quadríceps, treino de "
        "marcha e propriocepção progressiva.",
        (
            "Extensão de joelho sentado com caneleira",
            "Agachamento na parede",
            "Apoio unipodal",
            "Step-up no degrau",
        ),
    ),
    Condition(
        "Dor no ombro esquerdo ao elevar o braço acima da cabeça, há 2 meses, com piora "
        "noturna ao deitar sobre o lado afetado.",
        "Arco doloroso entre 60° e 120°. Testes de Neer e Hawkins positivos. Força de rotação "
        "externa reduzida (grau 4).",
        "Tendinopatia do manguito rotador / síndrome do impacto (CID-10 M75.1).",
        "Bom a regular, dependendo da adesão.",
        "Analgesia, mobilidade escapular, fortalecimento de manguito rotador e estabilizadores "
        "da escápula.",
        (
            "Rotação externa de ombro com faixa elástica",
            "Pêndulo de Codman",
            "Remada com faixa elástica",
            "Círculos de ombro",
        ),
    ),
    Condition(
        "Entorse em inversão do tornozelo direito há 10 dias, ao descer escada. Usou gelo e "
        "repouso.",
        "Edema em região maleolar lateral, dor à palpação do ligamento talofibular anterior. "
        "Gaveta anterior negativa. Apoio unipodal instável.",
        "Entorse de tornozelo grau II (CID-10 S93.4).",
        "Bom.",
        "Controle de edema, mobilidade de tornozelo, fortalecimento de fibulares e treino "
        "proprioceptivo.",
        (
            "Mobilização de tornozelo na parede",
            "Elevação de panturrilha",
            "Apoio unipodal em superfície instável",
            "Apoio unipodal",
        ),
    ),
    Condition(
        "Dor em ambos os joelhos há 2 anos, pior ao subir escadas e ao levantar da cadeira. "
        "Rigidez matinal de cerca de 15 minutos.",
        "Crepitação patelofemoral bilateral, leve varo. Fraqueza de quadríceps e abdutores do "
        "quadril. TUG 12 segundos.",
        "Osteoartrite de joelhos (CID-10 M17.0).",
        "Regular; foco em controle de sintomas e função.",
        "Fortalecimento de quadríceps e glúteos, exercícios aeróbicos de baixo impacto, "
        "educação e controle de peso.",
        (
            "Extensão de joelho sentado com caneleira",
            "Sentar e levantar da cadeira",
            "Abdução de quadril em decúbito lateral",
            "Agachamento na parede",
        ),
    ),
    Condition(
        "AVC isquêmico há 4 meses com hemiparesia à esquerda. Deambula com bengala, refere "
        "medo de cair.",
        "Espasticidade leve em flexores do cotovelo (Ashworth 1+). Déficit de equilíbrio "
        "(Berg 41/56). Marcha com redução da fase de balanço à esquerda.",
        "Hemiparesia esquerda pós-AVC (CID-10 I69.4).",
        "Regular; ganhos funcionais esperados com terapia intensiva.",
        "Treino de marcha e transferências, equilíbrio, fortalecimento do hemicorpo afetado e "
        "alongamentos.",
        (
            "Transferência de peso lateral",
            "Marcha em tandem",
            "Sentar e levantar da cadeira",
            "Alongamento de panturrilha na parede",
        ),
    ),
    Condition(
        "Dor no calcanhar esquerdo ao dar os primeiros passos pela manhã, há 4 meses. Corre "
        "3 vezes por semana.",
        "Dor à palpação da inserção medial da fáscia plantar. Dorsiflexão do tornozelo "
        "limitada. Encurtamento de tríceps sural.",
        "Fascite plantar (CID-10 M72.2).",
        "Bom.",
        "Alongamento de fáscia e panturrilha, fortalecimento intrínseco do pé, ajuste de "
        "carga de treino.",
        (
            "Alongamento da fáscia plantar",
            "Alongamento de panturrilha na parede",
            "Elevação de panturrilha",
        ),
    ),
    Condition(
        "Dor lombar irradiada para a perna esquerda até o pé, com formigamento, há 5 semanas. "
        "Ressonância com protrusão discal L5-S1.",
        "Lasègue positivo a 45° à esquerda. Reflexo aquileu diminuído à esquerda. Força "
        "preservada.",
        "Hérnia discal lombar com radiculopatia (CID-10 M51.1).",
        "Regular a bom.",
        "Controle da dor, mobilização neural, estabilização segmentar e retorno gradual às "
        "atividades.",
        (
            "Deslizamento neural do nervo ciático",
            "Báscula pélvica",
            "Prancha abdominal",
            "Alongamento do piriforme deitado",
        ),
    ),
    Condition(
        "Dispneia aos médios esforços, tosse produtiva matinal. Ex-tabagista (40 anos-maço). "
        "Diagnóstico de DPOC há 5 anos.",
        "Padrão respiratório apical, uso de musculatura acessória. SpO2 93% em repouso. "
        "Teste de caminhada de 6 minutos: 380 m.",
        "Doença pulmonar obstrutiva crônica (CID-10 J44.9).",
        "Regular; foco em qualidade de vida e tolerância ao esforço.",
        "Reabilitação pulmonar: reeducação respiratória, higiene brônquica, treino aeróbico e "
        "fortalecimento de membros.",
        (
            "Respiração diafragmática",
            "Respiração com lábios semicerrados",
            "Tosse assistida (huffing)",
            "Incentivador respiratório",
        ),
    ),
    Condition(
        "Perda urinária ao tossir, espirrar e correr, há 1 ano, após o segundo parto.",
        "Contração do assoalho pélvico grau 2 (Oxford modificada), baixa resistência. "
        "Sem prolapso aparente.",
        "Incontinência urinária de esforço (CID-10 N39.3).",
        "Bom.",
        "Treino dos músculos do assoalho pélvico, consciência corporal e exercícios "
        "respiratórios associados.",
        ("Contração do assoalho pélvico (Kegel)", "Respiração diafragmática", "Ponte glútea"),
    ),
    Condition(
        "Idoso(a) com duas quedas nos últimos 6 meses, dentro de casa. Refere tontura "
        "ocasional ao levantar.",
        "Berg 44/56, TUG 15 segundos, sentar e levantar 5 vezes em 16 segundos. Fraqueza de "
        "membros inferiores.",
        "Instabilidade postural com risco de quedas (CID-10 R26.8).",
        "Bom com treino regular.",
        "Treino de equilíbrio estático e dinâmico, fortalecimento de membros inferiores e "
        "orientações de prevenção de quedas no domicílio.",
        (
            "Apoio unipodal",
            "Marcha em tandem",
            "Sentar e levantar da cadeira",
            "Marcha com obstáculos",
        ),
    ),
)

EVOLUTIONS = (
    "Paciente relata melhora da dor desde a última sessão. Realizados exercícios "
    "terapêuticos conforme plano, sem intercorrências.",
    "Refere dor leve ao final do dia. Mantida conduta; progressão de carga nos exercícios de "
    "fortalecimento.",
    "Boa evolução funcional. Executou o programa domiciliar regularmente. Progredido nível dos "
    "exercícios.",
    "Queixa de piora após esforço no trabalho. Realizada terapia manual e orientações; "
    "reduzida a carga temporariamente.",
    "Sessão realizada com foco em mobilidade e controle motor. Paciente tolerou bem.",
    "Melhora da amplitude de movimento. Reforçadas orientações posturais e de autocuidado.",
    "Paciente motivado(a), sem dor durante a sessão. Iniciado treino funcional específico.",
    "Dor controlada. Revisados exercícios domiciliares, corrigida execução da ponte glútea.",
)  # fmt: skip
DISCHARGE_TEXT = (
    "Alta fisioterapêutica: objetivos do plano atingidos, paciente sem dor nas atividades "
    "diárias. Orientado(a) a manter o programa domiciliar."
)
ADDENDA = (
    "Adendo: corrigida a lateralidade descrita no exame físico (lado esquerdo).",
    "Adendo: paciente trouxe exame de imagem; achados compatíveis com a avaliação clínica.",
    "Adendo: incluída orientação de aplicar gelo por 15 minutos após os exercícios.",
    "Adendo: retificada a escala de dor registrada na sessão (EVA 4/10, não 6/10).",
)  # fmt: skip
APPOINTMENT_NOTES = (
    "Trazer exames de imagem.", "Paciente prefere horários pela manhã.", "Atendimento pelo "
    "convênio; levar carteirinha.", "Usar roupas confortáveis.", "Primeira vez na clínica.",
    "Retorno após viagem.",
)  # fmt: skip
CANCEL_REASONS = (
    "Paciente com imprevisto no trabalho.", "Paciente com sintomas gripais.",
    "Remarcação solicitada pelo paciente.", "Fisioterapeuta indisponível.",
    "Problema de transporte.",
)  # fmt: skip
NO_SHOW_REASONS = (
    "Não atendeu as ligações.", "Esqueceu a sessão.", "Avisou depois do horário.", None,
)  # fmt: skip
PRESCRIPTION_NOTES = (
    "Realizar em dias alternados.", "Parar se a dor passar de 5/10.", "Fazer após aquecimento.",
    "Manter respiração fluida durante o exercício.", None, None,
)  # fmt: skip
EXECUTION_NOTES = (
    "Senti um pouco de dor no final.", "Fácil hoje!", "Fiz com mais carga.",
    "Cansei mais que o normal.", "Sem dor.",
)  # fmt: skip
CONSENTS = (
    ("Tratamento de dados de saúde para a prestação do atendimento",
     "Tutela da saúde (LGPD art. 11, II, f)", 1.0),
    ("Lembretes de consulta por WhatsApp e SMS", "Consentimento (LGPD art. 7, I)", 0.6),
    ("Uso de dados anonimizados em pesquisa científica", "Consentimento (LGPD art. 11, I)", 0.25),
)  # fmt: skip
DSR_DETAILS = "Solicitação feita pelo portal do paciente."
DSR_KINDS = ("access", "correction", "anonymization", "portability", "sharing_information")
METHODS = ("pix", "pix", "pix", "credit_card", "credit_card", "debit_card", "boleto", "cash")

COMPLIANCE_CHECKS = (
    ("lgpd", "consent_coverage", "Cobertura de consentimentos dos pacientes ativos"),
    ("lgpd", "data_subject_requests", "Solicitações de titulares respondidas em até 15 dias"),
    ("cfm", "prontuario_completeness", "Evolução registrada para cada atendimento realizado"),
    ("cfm", "record_retention", "Retenção de prontuários por 20 anos"),
    ("anvisa", "equipment_maintenance", "Manutenção preventiva de equipamentos"),
    ("anvisa", "infection_control", "Protocolo de limpeza e controle de infecção"),
    ("wcag", "color_contrast", "Contraste de cores nas telas do paciente"),
    ("wcag", "keyboard_navigation", "Navegação por teclado no portal"),
)  # fmt: skip
COMPLIANCE_ISSUES = (
    ("lgpd", "Art. 18", "Solicitação de acesso de titular sem resposta no prazo."),
    ("lgpd", "Art. 46", "Senha compartilhada entre recepcionistas."),
    ("cfm", "Res. COFFITO 414/2012", "Atendimentos sem evolução registrada no prontuário."),
    ("anvisa", "RDC 63/2011", "Calibração do aparelho de ultrassom vencida."),
    ("wcag", "1.4.3", "Botão de confirmação com contraste insuficiente."),
    ("wcag", "2.4.7", "Foco do teclado invisível no formulário de agendamento."),
)  # fmt: skip


class LibraryExercise(NamedTuple):
    """What the seed needs of an exercise of the shared library (migration 0004)."""

    name: str
    duration_seconds: int | None


# The patient's front-desk data and clinical profile (seed/profile.py).
INSURERS = (
    ("Unimed", ("Nacional", "Estadual", "Empresarial")),
    ("Bradesco Saúde", ("Top Nacional", "Efetivo")),
    ("SulAmérica", ("Clássico", "Especial 100")),
    ("Amil", ("S380", "S450")),
    ("Hapvida", ("Mix",)),
    ("Porto Seguro Saúde", ("Bronze", "Prata")),
)
RELATIONSHIPS = ("mãe", "pai", "cônjuge", "filho(a)", "irmão(ã)", "amigo(a)")
# Channels by how often a clinic's patients choose them (the rest: phone, e-mail, none).
CHANNEL_WEIGHTS = (("whatsapp", 70), ("sms", 8), ("email", 10), ("phone", 10), ("none", 2))
ALLERGIES = (
    "Dipirona", "Penicilina", "Anti-inflamatórios (AINEs)", "Látex", "Iodo", "Esparadrapo",
    "Amoxicilina", "Sulfa",
)  # fmt: skip
CHRONIC_CONDITIONS = (
    "Hipertensão arterial", "Diabetes mellitus tipo 2", "Hipotireoidismo", "Asma",
    "Osteoporose", "Fibromialgia", "Dislipidemia", "Depressão",
)  # fmt: skip
MEDICATIONS = (
    "Losartana 50 mg", "Metformina 850 mg", "Levotiroxina 50 mcg", "Sinvastatina 20 mg",
    "Omeprazol 20 mg", "Sertralina 50 mg", "Paracetamol 750 mg se dor", "Alendronato 70 mg",
)  # fmt: skip
