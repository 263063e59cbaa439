"""Deterministic seed data: a volume data set for benchmarks, the demo clinic, and new clinics.

`seed_volume` builds every row in plain Python (tuples; one pseudo-random stream per clinic, so
the same arguments give the same rows and ids) and loads them with COPY, one transaction per
clinic, in chunks of patients. A login that may (superuser) loads with
`session_replication_role = replica`: the audit and notify triggers stay silent, and so do the
foreign-key triggers, so the generator keeps every reference consistent itself (the tests check
each foreign key). Ids are UUIDv7-shaped and increasing per clinic, so every index on them is
appended to at its right edge (random v4 ids made the 100k-patient load ~30% slower).
"""

import asyncio
import math
import random
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import NamedTuple

import asyncpg
from sqlalchemy.engine import make_url

from graph.core.validators import cpf_with_check_digits, mod11_digit
from graph.security.passwords import hash_password

Row = tuple[object, ...]
Batch = dict[str, list[Row]]
Progress = Callable[[str, int], None]

TZ = timezone(timedelta(hours=-3))  # America/Sao_Paulo (no DST since 2019)
NAMESPACE = uuid.UUID("6f1c0b52-3d7e-4d8e-9a55-0f5e1a1f1a10")
SEED_PASSWORD = "fisioflow-seed"
DEMO_PASSWORD = "fisioflow-demo"
DEMO_CLINIC_NAME = "Clínica FisioFlow Demo"
DEMO_DOMAIN = "demo.fisioflow.dev"
DEMO_CLINIC_ID = uuid.uuid5(NAMESPACE, "demo-clinic")
ID_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00Z, the start of seeded ids
CHUNK_PATIENTS = 1000
PATIENTS_PER_PHYSIO = 40
PAST_DAYS = 273  # the year of appointments: 39 weeks back, 13 weeks ahead
FUTURE_DAYS = 91
FIRST_HOUR = 7
SLOTS_PER_DAY = 12  # hourly slots 07:00-18:00; no appointment is longer than an hour
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

COLUMNS: dict[str, tuple[str, ...]] = {
    "clinics": ("id", "name", "cnpj", "created_at", "updated_at"),
    "physiotherapists": (
        "id", "clinic_id", "name", "email", "crefito", "specialty", "phone", "active",
        "created_at", "updated_at",
    ),
    "patients": (
        "id", "clinic_id", "physiotherapist_id", "name", "email", "phone", "birth_date", "cpf",
        "cns", "address", "status", "created_at", "updated_at",
    ),
    "users": (
        "id", "clinic_id", "email", "password_hash", "role", "physiotherapist_id", "patient_id",
        "active", "created_at", "updated_at",
    ),
    "appointments": (
        "id", "clinic_id", "patient_id", "physiotherapist_id", "starts_at", "ends_at", "type",
        "status", "notes", "price", "cancel_reason", "cancelled_at", "completed_at",
        "created_at", "updated_at",
    ),
    "prontuarios": (
        "id", "clinic_id", "patient_id", "author_id", "appointment_id", "kind", "anamnesis",
        "physical_exam", "diagnosis", "prognosis", "treatment_plan", "expected_sessions",
        "evolution", "vital_signs", "author_name", "author_crefito", "created_at",
    ),
    "prontuario_addenda": ("id", "clinic_id", "prontuario_id", "author_id", "text", "created_at"),
    "exercise_prescriptions": (
        "id", "clinic_id", "patient_id", "exercise_id", "physiotherapist_id", "sets",
        "repetitions", "duration_seconds", "frequency_per_week", "notes", "status", "starts_on",
        "ends_on", "created_at", "updated_at",
    ),
    "exercise_executions": (
        "id", "clinic_id", "prescription_id", "patient_id", "executed_at", "sets_done",
        "repetitions_done", "duration_seconds", "pain_level", "patient_notes", "sensor_data",
        "created_at",
    ),
    "payments": (
        "id", "clinic_id", "patient_id", "appointment_id", "amount", "method", "status",
        "due_date", "paid_at", "refunded_at", "cancelled_at", "status_reason",
        "gateway_transaction_id", "notes", "idempotency_key", "request_fingerprint",
        "created_at", "updated_at",
    ),
    "consents": (
        "id", "clinic_id", "patient_id", "purpose", "legal_basis", "policy_version", "granted",
        "granted_at", "revoked_at", "created_at", "updated_at",
    ),
    "data_subject_requests": (
        "id", "clinic_id", "patient_id", "kind", "details", "requested_at", "due_at",
        "fulfilled_at", "response", "created_at", "updated_at",
    ),
    "compliance_checks": (
        "id", "clinic_id", "framework", "check_type", "state", "severity", "score",
        "last_checked", "next_check", "issues_found", "description", "recommendations",
        "created_at",
    ),
    "compliance_issues": (
        "id", "clinic_id", "check_id", "framework", "requirement", "description", "severity",
        "resolved", "resolution", "created_at", "resolved_at",
    ),
}  # fmt: skip
# Tables in foreign-key order (COPY checks references row by row when triggers are on).
TABLE_ORDER: tuple[str, ...] = tuple(COLUMNS)

# ---------------------------------------------------------------------------------------------
# Reference data: names, places, clinical templates
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Public types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    password: str


@dataclass
class SeedSummary:
    clinic_ids: list[uuid.UUID] = field(default_factory=list)
    skipped_clinic_ids: list[uuid.UUID] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    admin_emails: list[str] = field(default_factory=list)
    password: str = SEED_PASSWORD
    triggers_disabled: bool = False
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# ---------------------------------------------------------------------------------------------
# Brazilian identifiers
# ---------------------------------------------------------------------------------------------


_CPF_BAD_BASES = tuple(int(str(d) * 9) for d in range(10))  # 000000000, 111111111, ...
_CPF_SPACE = 10**9 - len(_CPF_BAD_BASES)
_CPF_STEP = 982_451_653  # a prime, so index -> (index * step + offset) % space is a bijection


def cpf_for_index(index: int, salt: int) -> str:
    """A valid CPF, distinct for every index below ~10^9 (for one salt), never all one digit."""
    base = (index * _CPF_STEP + salt) % _CPF_SPACE
    for bad in _CPF_BAD_BASES:  # skip the all-same-digit bases, keeping the map a bijection
        if base >= bad:
            base += 1
    return cpf_with_check_digits(base)


def cnpj_from_base(base: int) -> str:
    digits = [int(c) for c in f"{base % 10**8:08d}0001"]
    digits.append(mod11_digit(digits, (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)))
    digits.append(mod11_digit(digits, (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)))
    return "".join(map(str, digits))


def cns_from_rng(rng: random.Random) -> str:
    """A provisional Cartão Nacional de Saúde number (starts 7-9; weighted sum % 11 == 0)."""
    digits = [rng.randrange(7, 10), *(rng.randrange(10) for _ in range(13))]
    total = sum(d * w for d, w in zip(digits, range(15, 1, -1), strict=True))
    last = -total % 11
    if last == 10:  # move the weight-2 digit by one: changes the sum by 2
        digits[13] += 1 if digits[13] < 9 else -1
        total = sum(d * w for d, w in zip(digits, range(15, 1, -1), strict=True))
        last = -total % 11
    return "".join(map(str, digits)) + str(last)


def is_valid_cns(cns: str) -> bool:
    if len(cns) != 15 or not cns.isdigit():
        return False
    return sum(int(c) * w for c, w in zip(cns, range(15, 0, -1), strict=True)) % 11 == 0


def crefito(region: int, number: int) -> str:
    return f"CREFITO-{region}/{number:06d}-F"


def slug(text: str) -> str:
    """`João` -> `joao`: ASCII, lower case, for e-mail addresses."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", plain.lower())


# ---------------------------------------------------------------------------------------------
# The calendar: business-day hourly slots over one year around the anchor date
# ---------------------------------------------------------------------------------------------


class Calendar:
    """Hourly slots on business days from PAST_DAYS before to FUTURE_DAYS after the anchor."""

    def __init__(self, anchor: date) -> None:
        self.anchor = anchor
        self.now = datetime(anchor.year, anchor.month, anchor.day, tzinfo=TZ)
        days = (anchor + timedelta(days=n) for n in range(-PAST_DAYS, FUTURE_DAYS))
        self.days = [d for d in days if d.weekday() < 5]
        self.first_future_day = next(i for i, d in enumerate(self.days) if d >= anchor)
        self.slot_starts = [
            datetime(d.year, d.month, d.day, FIRST_HOUR + h, tzinfo=TZ)
            for d in self.days
            for h in range(SLOTS_PER_DAY)
        ]


class Appt(NamedTuple):
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    kind: str
    status: str
    price: Decimal
    created_at: datetime


class Physio(NamedTuple):
    id: uuid.UUID
    name: str
    crefito: str


# ---------------------------------------------------------------------------------------------
# One clinic's rows
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClinicSpec:
    """What differs between a volume clinic and the demo clinic."""

    key: str  # seeds the clinic's pseudo-random stream
    clinic_id: uuid.UUID
    name: str
    city: City
    domain: str
    patients: int
    cpf_salt: int
    id_epoch_ms: int  # where the clinic's increasing ids start (a Unix time in ms)
    first_patient_index: int = 0  # global patient number, for unique CPFs across clinics
    physio_names: tuple[str, ...] = ()  # empty: generated
    patient_names: tuple[str, ...] = ()  # fixed names for the first patients
    patient_logins: int | None = None  # the first N patients get logins; None: ~5%
    numbered_patient_emails: bool = True
    ongoing_episodes: bool = False  # every treatment spans today (demo)
    app_user_ratio: float = 0.4  # patients who log home exercises in the app

    @property
    def admin_email(self) -> str:
        return f"admin@{self.domain}"

    @property
    def receptionist_email(self) -> str:
        return f"recepcao@{self.domain}"

    @property
    def physio_count(self) -> int:
        if self.physio_names:
            return len(self.physio_names)
        return max(2, math.ceil(self.patients / PATIENTS_PER_PHYSIO))


def empty_batch() -> Batch:
    return {name: [] for name in COLUMNS}


class ClinicGenerator:
    """Produces a clinic's rows as tuples in COLUMNS order; deterministic for a spec + anchor.

    `between(a, b)` stands in for `self.between(a, b)` (a third of the cost)."""

    def __init__(
        self,
        spec: ClinicSpec,
        calendar: Calendar,
        password_hash: str,
        exercises: Sequence[tuple[uuid.UUID, LibraryExercise]],
    ) -> None:
        self.spec = spec
        self.cal = calendar
        self.password_hash = password_hash
        self.rng = random.Random(spec.key)
        self.random = self.rng.random
        self.counter = spec.id_epoch_ms << 12
        self.cid = spec.clinic_id
        self.exercises = {exercise.name: (id_, exercise) for id_, exercise in exercises}
        self.opened = calendar.now - timedelta(days=730)
        self.prices = self._price_table()
        self.physios: list[Physio] = []
        self.occupied: list[set[int]] = []
        self.emails: set[str] = set()
        self.admin_id = self.new_id()

    def between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low))

    def new_id(self) -> uuid.UUID:
        """A UUIDv7-shaped id: a per-clinic increasing counter in the timestamp and sequence
        fields, pseudo-random bits after it. Increasing ids land at the right edge of every
        index on them, which makes bulk loads faster than random v4 ids."""
        self.counter += 1
        count = self.counter  # 48-bit "milliseconds" + 12-bit sequence
        high = ((count >> 12) << 80) | (0x7 << 76) | ((count & 0xFFF) << 64) | (0b10 << 62)
        return uuid.UUID(int=high | self.rng.getrandbits(62))

    def _price_table(self) -> dict[str, Decimal]:
        session = self.rng.randrange(90, 170, 10)
        return {
            "evaluation": Decimal(f"{session + 60}.00"),
            "reevaluation": Decimal(f"{session + 30}.00"),
            "session": Decimal(f"{session}.00"),
            "teleconsultation": Decimal(f"{session - 20}.00"),
        }

    # -- clinic, staff ----------------------------------------------------------------------

    def staff_rows(self) -> Batch:
        out = empty_batch()
        spec, opened = self.spec, self.opened
        cnpj = cnpj_from_base(self.between(10**7, 10**8))
        out["clinics"].append((self.cid, spec.name, cnpj, opened, opened))
        self._user(out, self.admin_id, spec.admin_email, "admin", None, None, opened)
        self._user(out, self.new_id(), spec.receptionist_email, "receptionist", None, None, opened)
        first_number = self.between(100_000, 800_000)
        for j in range(spec.physio_count):
            self._physio(out, j, first_number + 37 * j)
        return out

    def _physio(self, out: Batch, j: int, number: int) -> None:
        rng, spec = self.rng, self.spec
        name = spec.physio_names[j] if spec.physio_names else self.person_name()
        physio = Physio(self.new_id(), name, crefito(spec.city.crefito_region, number))
        email = self.unique_email(name, spec.domain)
        joined = self.opened + timedelta(days=self.between(0, 300))
        out["physiotherapists"].append(
            (physio.id, self.cid, name, email, physio.crefito, rng.choice(SPECIALTIES),
             self.phone(), True, joined, joined)
        )  # fmt: skip
        self._user(out, self.new_id(), email, "physiotherapist", physio.id, None, joined)
        self.physios.append(physio)
        self.occupied.append(set())

    def _user(
        self,
        out: Batch,
        user_id: uuid.UUID,
        email: str,
        role: str,
        physio_id: uuid.UUID | None,
        patient_id: uuid.UUID | None,
        at: datetime,
    ) -> None:
        out["users"].append(
            (user_id, self.cid, email, self.password_hash, role, physio_id, patient_id, True,
             at, at)
        )  # fmt: skip

    def person_name(self) -> str:
        rng = self.rng
        first = rng.choice(FEMALE_NAMES if rng.random() < 0.55 else MALE_NAMES)
        last = rng.choice(SURNAMES)
        if rng.random() < 0.7:
            return f"{first} {rng.choice(SURNAMES)} {last}"
        return f"{first} {last}"

    def unique_email(self, name: str, domain: str, number: int | None = None) -> str:
        parts = name.split()
        local = f"{slug(parts[0])}.{slug(parts[-1])}"
        if number is not None:
            local = f"{local}.{number}"
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def phone(self) -> str:
        return f"({self.spec.city.ddd}) 9{self.between(6000, 10000)}-{self.between(0, 10000):04d}"

    def address(self) -> str:
        rng, city = self.rng, self.spec.city
        cep = f"{city.cep_prefix:02d}{self.between(0, 1000):03d}-{self.between(0, 1000):03d}"
        return (
            f"{rng.choice(STREET_TYPES)} {rng.choice(STREET_NAMES)}, {self.between(1, 3000)} - "
            f"{rng.choice(NEIGHBOURHOODS)}, {city.name} - {city.uf}, {cep}"
        )

    # -- patients and their history ---------------------------------------------------------

    def patient_rows(self, start: int, stop: int) -> Batch:
        out = empty_batch()
        for i in range(start, stop):
            self.add_patient(i, out)
        return out

    def add_patient(self, i: int, out: Batch) -> None:
        rng, spec = self.rng, self.spec
        patient_id = self.new_id()
        physio_index = i % len(self.physios)
        physio = self.physios[physio_index]
        appts = self.appointments(patient_id, physio, self.schedule(physio_index))
        status = self.patient_status(appts)
        created = (appts[0].created_at if appts else self.cal.now) - timedelta(
            days=self.between(1, 20)
        )
        name = spec.patient_names[i] if i < len(spec.patient_names) else self.person_name()
        email = None
        if rng.random() < 0.85 or i < len(spec.patient_names):
            number = spec.first_patient_index + i + 1 if spec.numbered_patient_emails else None
            email = self.unique_email(name, spec.domain, number)
        out["patients"].append(
            (patient_id, self.cid, physio.id, name, email, self.phone(), self.birth_date(),
             cpf_for_index(spec.first_patient_index + i, spec.cpf_salt),
             cns_from_rng(rng) if rng.random() < 0.6 else None, self.address(), status,
             created, appts[-1].created_at if appts else created)
        )  # fmt: skip
        if email is not None and self.gets_login(i):
            self._user(out, self.new_id(), email, "patient", None, patient_id, created)
        self.add_history(out, patient_id, physio, appts, status, created)

    def add_history(
        self,
        out: Batch,
        patient_id: uuid.UUID,
        physio: Physio,
        appts: list[Appt],
        status: str,
        created: datetime,
    ) -> None:
        cid = self.cid
        out["appointments"].extend(
            (a.id, cid, patient_id, physio.id, a.starts_at, a.ends_at, a.kind, a.status,
             *self.appointment_details(a), a.created_at, a.created_at)
            for a in appts
        )  # fmt: skip
        self.payments(out, patient_id, appts)
        condition = self.rng.choice(CONDITIONS)
        evaluated = self.prontuarios(out, patient_id, physio, appts, status, condition)
        if evaluated is not None:
            self.prescriptions(out, patient_id, physio, evaluated, condition)
        self.consents(out, patient_id, created)
        self.data_subject_request(out, patient_id)

    def gets_login(self, i: int) -> bool:
        if self.spec.patient_logins is not None:
            return i < self.spec.patient_logins
        return self.rng.random() < 0.05

    def birth_date(self) -> date:
        rng = self.rng
        years = self.between(6, 18) if rng.random() < 0.05 else self.between(18, 88)
        return self.cal.anchor - timedelta(days=years * 365 + self.between(0, 365))

    def schedule(self, physio_index: int) -> list[int]:
        """Free slots (day * SLOTS_PER_DAY + hour) of the physiotherapist for one treatment:
        roughly twice a week at the patient's usual hour, moved to the next free hour."""
        rng, cal = self.rng, self.cal
        occupied = self.occupied[physio_index]
        count = self.between(6, 15)
        last_day = len(cal.days)
        if self.spec.ongoing_episodes:
            day = max(0, cal.first_future_day - self.between(8, 25))
        else:
            day = self.between(0, max(1, last_day - count * 3))
        hour = self.between(0, SLOTS_PER_DAY)
        slots: list[int] = []
        while len(slots) < count and day < last_day:
            slot = self.free_slot(occupied, day, hour)
            if slot is None:
                break
            occupied.add(slot)
            slots.append(slot)
            day = slot // SLOTS_PER_DAY + rng.choice((2, 2, 3, 3, 3, 4, 5, 7, 10))
        return slots

    def free_slot(self, occupied: set[int], day: int, hour: int) -> int | None:
        for d in range(day, len(self.cal.days)):
            for k in range(SLOTS_PER_DAY):
                slot = d * SLOTS_PER_DAY + (hour + k) % SLOTS_PER_DAY
                if slot not in occupied:
                    return slot
        return None

    def appointments(self, patient_id: uuid.UUID, physio: Physio, slots: list[int]) -> list[Appt]:
        cal = self.cal
        now = cal.now
        appts: list[Appt] = []
        booked = cal.slot_starts[slots[0]] - timedelta(days=self.between(1, 15)) if slots else now
        for n, slot in enumerate(slots):
            starts = cal.slot_starts[slot]
            kind = self.appointment_kind(n)
            minutes = 60 if kind in ("evaluation", "reevaluation") else 50
            status = self.appointment_status(starts, n)
            created = min(booked, now - timedelta(hours=1))
            appts.append(
                Appt(self.new_id(), starts, starts + timedelta(minutes=minutes), kind, status,
                     self.prices[kind], created)
            )  # fmt: skip
            booked = starts
        return appts

    def appointment_kind(self, n: int) -> str:
        if n == 0:
            return "evaluation"
        if n % 8 == 0:
            return "reevaluation"
        return "teleconsultation" if self.rng.random() < 0.08 else "session"

    def appointment_status(self, starts: datetime, n: int) -> str:
        roll = self.rng.random()
        if starts < self.cal.now:
            if n == 0 or roll < 0.84:
                return "completed"
            return "cancelled" if roll < 0.93 else "no_show"
        if roll < 0.04:
            return "cancelled"
        if starts < self.cal.now + timedelta(days=7) and roll < 0.6:
            return "confirmed"
        return "scheduled"

    def appointment_details(self, a: Appt) -> Row:
        """notes, price, cancel_reason, cancelled_at, completed_at"""
        rng = self.rng
        notes = rng.choice(APPOINTMENT_NOTES) if rng.random() < 0.15 else None
        if a.status == "cancelled":
            cancelled = min(a.starts_at - timedelta(hours=self.between(2, 48)), self.cal.now)
            cancelled = max(cancelled, a.created_at)
            return (notes, a.price, rng.choice(CANCEL_REASONS), cancelled, None)
        completed = a.ends_at if a.status == "completed" else None
        return (notes, a.price, None, None, completed)

    def patient_status(self, appts: list[Appt]) -> str:
        if not appts or appts[-1].starts_at >= self.cal.now:
            return "active"
        roll = self.rng.random()
        return "discharged" if roll < 0.5 else "inactive" if roll < 0.8 else "active"

    # -- payments -----------------------------------------------------------------------------

    def payments(self, out: Batch, patient_id: uuid.UUID, appts: list[Appt]) -> None:
        rng = self.rng
        method = "insurance" if rng.random() < 0.12 else rng.choice(METHODS)
        for n, a in enumerate(appts):
            charge = self.charge(a)
            if charge is None:
                continue
            amount, status, note = charge
            out["payments"].append(self.payment_row(patient_id, a, n, amount, method, status, note))

    def charge(self, a: Appt) -> tuple[Decimal, str, str | None] | None:
        """amount, status, notes of the payment for an appointment (None: no payment)."""
        roll = self.rng.random()
        if a.status == "completed":
            status = "paid" if roll < 0.86 else "pending" if roll < 0.96 else "cancelled"
            if status == "paid" and self.rng.random() < 0.015:
                status = "refunded"
            return a.price, status, None
        if a.status == "no_show":
            if roll >= 0.5:
                return None
            fee = (a.price / 2).quantize(Decimal("0.01"))
            return fee, "paid" if roll < 0.3 else "pending", "Taxa de não comparecimento"
        if a.status == "cancelled":
            return (
                (a.price, "refunded" if roll < 0.1 else "cancelled", None) if roll < 0.25 else None
            )
        if roll < 0.35:  # future appointment charged in advance
            return a.price, "paid" if roll < 0.08 else "pending", "Pagamento antecipado"
        return None

    def payment_row(
        self,
        patient_id: uuid.UUID,
        a: Appt,
        n: int,
        amount: Decimal,
        method: str,
        status: str,
        notes: str | None,
    ) -> Row:
        now = self.cal.now
        created = a.created_at if a.starts_at >= now else min(a.ends_at, now)
        due = (a.starts_at + timedelta(days=10)).date()
        paid = refunded = cancelled = None
        gateway = reason = None
        if status in ("paid", "refunded"):
            paid = min(created + timedelta(hours=self.between(0, 72)), now)
            gateway = self.gateway_id(method)
        if status == "refunded":
            refunded = min(paid + timedelta(days=self.between(1, 10)), now) if paid else None
            reason = "Estorno solicitado pelo paciente"
        if status == "cancelled":
            cancelled = min(created + timedelta(days=self.between(0, 5)), now)
            reason = "Atendimento cancelado" if a.status == "cancelled" else "Cortesia"
        payment_id = self.new_id()
        updated = refunded or cancelled or paid or created
        return (payment_id, self.cid, patient_id, a.id, amount, method, status, due, paid,
                refunded, cancelled, reason, gateway, notes, f"seed-{payment_id.hex}",
                f"seed:{patient_id.hex[:8]}:{n}", created, updated)  # fmt: skip

    def gateway_id(self, method: str) -> str | None:
        bits = self.rng.getrandbits(64)
        if method == "pix":
            return f"E{bits:020d}"[:21]
        if method in ("credit_card", "debit_card"):
            return f"ch_{bits:016x}"
        if method == "boleto":
            return f"bol_{bits:016x}"
        if method == "insurance":
            return f"guia-{bits % 10**9:09d}"
        return None

    # -- prontuários ----------------------------------------------------------------------------

    def prontuarios(
        self,
        out: Batch,
        patient_id: uuid.UUID,
        physio: Physio,
        appts: list[Appt],
        status: str,
        condition: Condition,
    ) -> Appt | None:
        """The evaluation on the first completed appointment, then an evolution for (almost)
        every completed one, a discharge note for discharged patients. Returns the evaluated
        appointment."""
        done = [a for a in appts if a.status == "completed"]
        if not done:
            return None
        rng = self.rng
        rows = out["prontuarios"]
        rows.append(self.evaluation_row(patient_id, physio, done[0], len(appts), condition))
        for n, a in enumerate(done[1:], start=1):
            last = n == len(done) - 1
            if last and status == "discharged":
                kind, text = "discharge", DISCHARGE_TEXT
            elif rng.random() < 0.03:
                continue  # the occasional missing evolution (a compliance finding)
            else:
                kind = "evolution"
                text = f"Sessão {n + 1}. {rng.choice(EVOLUTIONS)} EVA {self.between(0, 7)}/10."
            rows.append(
                (self.new_id(), self.cid, patient_id, physio.id, a.id, kind, None, None, None,
                 None, None, None, text, None, physio.name, physio.crefito, self.noted(a))
            )  # fmt: skip
        if rng.random() < 0.08:
            self.addendum(out, rows[-1], physio)
        return done[0]

    def evaluation_row(
        self, patient_id: uuid.UUID, physio: Physio, a: Appt, sessions: int, c: Condition
    ) -> Row:
        vitals = (
            f'{{"pa": "{self.between(105, 145)}/{self.between(65, 95)}", '
            f'"fc": {self.between(58, 98)}, "spo2": {self.between(93, 100)}, '
            f'"eva": {self.between(3, 10)}}}'
        )
        return (self.new_id(), self.cid, patient_id, physio.id, a.id, "evaluation", c.anamnesis,
                c.physical_exam, c.diagnosis, c.prognosis, c.treatment_plan, max(1, sessions),
                None, vitals, physio.name, physio.crefito, self.noted(a))  # fmt: skip

    def noted(self, a: Appt) -> datetime:
        return a.ends_at + timedelta(minutes=self.between(5, 120))

    def addendum(self, out: Batch, prontuario: Row, physio: Physio) -> None:
        created = prontuario[-1]
        assert isinstance(created, datetime)
        at = min(created + timedelta(hours=self.between(2, 72)), self.cal.now)
        out["prontuario_addenda"].append(
            (self.new_id(), self.cid, prontuario[0], physio.id, self.rng.choice(ADDENDA),
             max(at, created))
        )  # fmt: skip

    # -- exercises --------------------------------------------------------------------------

    def prescriptions(
        self, out: Batch, patient_id: uuid.UUID, physio: Physio, evaluated: Appt, c: Condition
    ) -> None:
        rng = self.rng
        logs = rng.random() < self.spec.app_user_ratio
        starts = evaluated.starts_at.date()
        for name in rng.sample(c.exercises, self.between(2, 4)):
            exercise_id, exercise = self.exercises[name]
            ends = starts + timedelta(days=self.between(28, 57))
            row = self.prescription_row(patient_id, physio, exercise_id, exercise, starts, ends)
            out["exercise_prescriptions"].append(row)
            if logs:
                self.executions(out, patient_id, row)

    def prescription_row(
        self,
        patient_id: uuid.UUID,
        physio: Physio,
        exercise_id: uuid.UUID,
        exercise: LibraryExercise,
        starts: date,
        ends: date,
    ) -> Row:
        rng, today = self.rng, self.cal.anchor
        timed = exercise.duration_seconds is not None
        if ends < today:
            status = "completed" if rng.random() < 0.85 else "cancelled"
        else:
            status = "active" if rng.random() < 0.88 else "paused"
        created = datetime(starts.year, starts.month, starts.day, 19, tzinfo=TZ)
        return (self.new_id(), self.cid, patient_id, exercise_id, physio.id, self.between(2, 5),
                None if timed else self.between(8, 16), exercise.duration_seconds,
                self.between(2, 6), rng.choice(PRESCRIPTION_NOTES), status, starts, ends,
                created, created)  # fmt: skip

    def executions(self, out: Batch, patient_id: uuid.UUID, prescription: Row) -> None:
        rng, cal = self.rng, self.cal
        (pid, _, _, _, _, sets, reps, seconds, per_week, _, _, starts, ends, _, _) = prescription
        assert isinstance(starts, date) and isinstance(ends, date) and isinstance(per_week, int)
        days = (min(ends, cal.anchor) - starts).days
        if days <= 0:
            return
        count = int(days / 7 * per_week * rng.uniform(0.3, 0.9))
        rows = out["exercise_executions"]
        base = datetime(starts.year, starts.month, starts.day, tzinfo=TZ)
        for k in sorted(self.between(0, days * 24) for _ in range(min(count, 24))):
            at = base + timedelta(hours=k, minutes=self.between(0, 60))
            if at >= cal.now:
                continue
            pain = max(0, 6 - 6 * k // (days * 24) - self.between(0, 3))
            note = rng.choice(EXECUTION_NOTES) if rng.random() < 0.1 else None
            sensor = (
                f'{{"source": "app", "rom_degrees": {self.between(60, 150)}}}'
                if rng.random() < 0.15
                else None
            )
            rows.append((self.new_id(), self.cid, pid, patient_id, at, sets, reps, seconds, pain,
                         note, sensor, at))  # fmt: skip

    # -- LGPD -------------------------------------------------------------------------------

    def consents(self, out: Batch, patient_id: uuid.UUID, created: datetime) -> None:
        rng = self.rng
        for purpose, basis, share in CONSENTS:
            if rng.random() >= share:
                continue
            revoked = None
            if share < 1.0 and rng.random() < 0.1:
                revoked = min(created + timedelta(days=self.between(10, 200)), self.cal.now)
            out["consents"].append(
                (self.new_id(), self.cid, patient_id, purpose, basis, "2024.1", revoked is None,
                 created, revoked, created, revoked or created)
            )  # fmt: skip

    def data_subject_request(self, out: Batch, patient_id: uuid.UUID) -> None:
        rng, now = self.rng, self.cal.now
        if rng.random() >= 0.005:
            return
        requested = now - timedelta(days=self.between(1, 120), hours=self.between(0, 24))
        due = requested + timedelta(days=15)
        fulfilled = response = None
        if rng.random() < 0.7:
            fulfilled = min(requested + timedelta(days=self.between(1, 14)), now)
            response = "Solicitação atendida; resposta enviada por e-mail ao titular."
        kind = rng.choice(DSR_KINDS)
        out["data_subject_requests"].append(
            (self.new_id(), self.cid, patient_id, kind, DSR_DETAILS, requested, due, fulfilled,
             response, requested, fulfilled or requested)
        )  # fmt: skip

    # -- compliance -------------------------------------------------------------------------

    def compliance_rows(self) -> Batch:
        out = empty_batch()
        rng, now = self.rng, self.cal.now
        check_ids: dict[str, uuid.UUID] = {}
        for framework, check_type, description in COMPLIANCE_CHECKS:
            check_id = self.new_id()
            check_ids.setdefault(framework, check_id)
            score = self.between(55, 101)
            state = "compliant" if score >= 80 else "non_compliant" if score >= 60 else "pending"
            checked = now - timedelta(days=self.between(1, 60))
            severity = "low" if score >= 80 else "medium" if score >= 70 else "high"
            out["compliance_checks"].append(
                (check_id, self.cid, framework, check_type, state, severity, score, checked,
                 checked + timedelta(days=90), 0 if score >= 80 else self.between(1, 5),
                 description, ["Revisar o procedimento com a equipe."] if score < 80 else [],
                 checked)
            )  # fmt: skip
        for framework, requirement, description in COMPLIANCE_ISSUES:
            created = now - timedelta(days=self.between(1, 90))
            resolved = rng.random() < 0.4
            out["compliance_issues"].append(
                (self.new_id(), self.cid, check_ids[framework], framework, requirement,
                 description, rng.choice(("low", "medium", "high", "critical")), resolved,
                 "Corrigido e verificado." if resolved else None, created,
                 created + timedelta(days=3) if resolved else None)
            )  # fmt: skip
        return out


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


class Loader:
    """COPYs batches in foreign-key order and reports cumulative row counts."""

    def __init__(self, connection: asyncpg.Connection, progress: Progress | None) -> None:
        self.connection = connection
        self.progress = progress
        self.rows: dict[str, int] = dict.fromkeys(TABLE_ORDER, 0)

    async def copy(self, batch: Batch) -> None:
        for table in TABLE_ORDER:
            records = batch[table]
            if not records:
                continue
            await self.connection.copy_records_to_table(
                table, records=records, columns=COLUMNS[table]
            )
            self.rows[table] += len(records)
            if self.progress is not None:
                self.progress(table, self.rows[table])


async def connect(dsn: str) -> asyncpg.Connection:
    """asyncpg connection for a `postgresql://` or SQLAlchemy `postgresql+asyncpg://` URL."""
    plain = make_url(dsn).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.connect(plain)


async def can_silence_triggers(connection: asyncpg.Connection) -> bool:
    """Whether this login may load with `session_replication_role = replica` (a superuser, or
    PostgreSQL 15+ `GRANT SET ON PARAMETER session_replication_role`). Raises PermissionError
    when row-level security is on and the login cannot bypass it: the seed writes every
    clinic's rows, which no request identity may."""
    row = await connection.fetchrow(
        "select rolsuper, rolbypassrls, exists(select from pg_class where oid = "
        "'public.patients'::regclass and relrowsecurity) as rls "
        "from pg_roles where rolname = current_user"
    )
    assert row is not None
    if row["rls"] and not (row["rolsuper"] or row["rolbypassrls"]):
        raise PermissionError(
            "seeding needs a login that bypasses row-level security (superuser or BYPASSRLS)"
        )
    if row["rolsuper"]:
        return True
    try:
        sql = "select has_parameter_privilege('session_replication_role', 'SET')"
        return bool(await connection.fetchval(sql))
    except asyncpg.UndefinedFunctionError:  # PostgreSQL < 15
        return False


async def begin_bulk(connection: asyncpg.Connection, clinic_id: uuid.UUID, silent: bool) -> None:
    """Inside a transaction: silence the triggers when allowed; name the clinic for any that
    still fire (the audit trigger reads the request settings)."""
    if silent:
        await connection.execute("SET LOCAL session_replication_role = replica")
    await connection.execute(
        "select set_config('app.clinic_id', $1, true), set_config('app.role', 'admin', true)",
        str(clinic_id),
    )


async def shared_library(connection: asyncpg.Connection) -> list[tuple[uuid.UUID, LibraryExercise]]:
    """The shared library (clinic_id NULL) as migration 0004 installs it: the one source of
    those exercises; conditions prescribe them by name."""
    rows = await connection.fetch(
        "select id, name, duration_seconds from exercises where clinic_id is null"
    )
    return [(r["id"], LibraryExercise(r["name"], r["duration_seconds"])) for r in rows]


async def load_clinic(
    connection: asyncpg.Connection,
    generator: ClinicGenerator,
    loader: Loader,
    silent: bool,
    patients_done: Callable[[int], None],
) -> None:
    """One transaction: staff, patients in chunks (bounded memory), compliance rows.

    Generation is not overlapped with the COPY in a thread: the GIL made that no faster."""
    total = generator.spec.patients
    async with connection.transaction():
        await begin_bulk(connection, generator.cid, silent)
        await loader.copy(generator.staff_rows())
        for start in range(0, total, CHUNK_PATIENTS):
            batch = generator.patient_rows(start, min(start + CHUNK_PATIENTS, total))
            await loader.copy(batch)
            patients_done(len(batch["patients"]))
        await loader.copy(generator.compliance_rows())


async def existing_clinics(connection: asyncpg.Connection, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = await connection.fetch("select id from clinics where id = any($1::uuid[])", ids)
    return {row["id"] for row in rows}


def today() -> date:
    return datetime.now(TZ).date()


# ---------------------------------------------------------------------------------------------
# Volume seed
# ---------------------------------------------------------------------------------------------


def volume_specs(seed: int, clinics: int, patients: int) -> list[ClinicSpec]:
    """`patients` spread over `clinics` (the first ones take the remainder)."""
    specs: list[ClinicSpec] = []
    first = 0
    for k in range(clinics):
        count = patients // clinics + (1 if k < patients % clinics else 0)
        city = CITIES[k % len(CITIES)]
        prefix = CLINIC_PREFIXES[(k // len(CITIES) + seed) % len(CLINIC_PREFIXES)]
        specs.append(
            ClinicSpec(
                key=f"fisioflow-seed:{seed}:{k}",
                clinic_id=uuid.uuid5(NAMESPACE, f"seed:{seed}:clinic:{k}"),
                name=f"{prefix} {city.name} {k + 1:02d}",
                city=city,
                domain=f"clinica{k + 1:02d}.seed{seed}.fisioflow.dev",
                patients=count,
                cpf_salt=seed * 7_919,
                id_epoch_ms=ID_EPOCH_MS + k * 86_400_000,
                first_patient_index=first,
            )
        )
        first += count
    return specs


async def seed_volume(
    dsn: str,
    clinics: int,
    patients: int,
    progress: Progress | None = None,
    seed: int = 42,
    anchor: date | None = None,
) -> SeedSummary:
    """Seeds `clinics` clinics with `patients` patients in total and a year of history.

    Deterministic: the same arguments (and the same `anchor` day, default today in Brasília
    time, around which the year of appointments is laid out) give the same rows and ids.
    Clinics that already exist (same seed and number) are skipped. Progress is reported as
    (table name, rows copied so far), ("done", patients seeded or skipped, of `patients`) and
    ("analyze", tables analyzed).
    """
    if clinics < 1 or patients < 0:
        raise ValueError("clinics must be >= 1 and patients >= 0")
    started = time.perf_counter()
    summary = SeedSummary()
    calendar = Calendar(anchor or today())
    password_hash = await asyncio.to_thread(hash_password, SEED_PASSWORD)
    connection = await connect(dsn)
    try:
        summary.triggers_disabled = await can_silence_triggers(connection)
        async with connection.transaction():
            exercises = await shared_library(connection)
        specs = volume_specs(seed, clinics, patients)
        present = await existing_clinics(connection, [s.clinic_id for s in specs])
        loader = Loader(connection, progress)
        done = 0

        def patients_done(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress("done", done)

        for spec in specs:
            if spec.clinic_id in present:
                summary.skipped_clinic_ids.append(spec.clinic_id)
                patients_done(spec.patients)
                continue
            generator = ClinicGenerator(spec, calendar, password_hash, exercises)
            await load_clinic(
                connection, generator, loader, summary.triggers_disabled, patients_done
            )
            summary.clinic_ids.append(spec.clinic_id)
            summary.admin_emails.append(spec.admin_email)
        if summary.clinic_ids:
            await analyze(connection, progress)
        summary.rows = loader.rows
    finally:
        await connection.close()
    summary.seconds = time.perf_counter() - started
    return summary


async def analyze(connection: asyncpg.Connection, progress: Progress | None) -> None:
    """Fresh planner statistics after a bulk load."""
    for n, table in enumerate(TABLE_ORDER, start=1):
        await connection.execute(f"ANALYZE {table}")
        if progress is not None:
            progress("analyze", n)


# ---------------------------------------------------------------------------------------------
# Demo clinic
# ---------------------------------------------------------------------------------------------

DEMO_SPEC = ClinicSpec(
    key="fisioflow-demo",
    clinic_id=DEMO_CLINIC_ID,
    name=DEMO_CLINIC_NAME,
    city=CITIES[0],
    domain=DEMO_DOMAIN,
    patients=8,
    cpf_salt=123_456_789,
    id_epoch_ms=ID_EPOCH_MS - 86_400_000,
    physio_names=("Ana Beatriz Souza", "Carlos Eduardo Lima"),
    patient_names=(
        "Maria Oliveira Santos",
        "João Pedro Almeida",
        "Fernanda Costa Ribeiro",
        "Lucas Martins Ferreira",
        "Juliana Rocha Dias",
        "Roberto Carvalho Nunes",
        "Beatriz Gomes Araújo",
        "Antônio Pereira Barbosa",
    ),
    patient_logins=3,
    numbered_patient_emails=False,
    ongoing_episodes=True,
    app_user_ratio=1.0,
)


def demo_logins() -> list[DemoLogin]:
    spec = DEMO_SPEC
    people = [
        (spec.admin_email, "admin"),
        *((f"{slug(n.split()[0])}.{slug(n.split()[-1])}@{spec.domain}", "physiotherapist")
          for n in spec.physio_names),
        (spec.receptionist_email, "receptionist"),
        *((f"{slug(n.split()[0])}.{slug(n.split()[-1])}@{spec.domain}", "patient")
          for n in spec.patient_names[: spec.patient_logins]),
    ]  # fmt: skip
    return [DemoLogin(email, role, DEMO_PASSWORD) for email, role in people]


async def seed_demo(dsn: str) -> list[DemoLogin]:
    """Seeds the demo clinic once (a second call finds it and writes nothing); returns its
    logins, all with the password `fisioflow-demo`."""
    connection = await connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute("select pg_advisory_xact_lock(hashtext('fisioflow-demo'))")
            if await existing_clinics(connection, [DEMO_CLINIC_ID]):
                return demo_logins()
            silent = await can_silence_triggers(connection)
            exercises = await shared_library(connection)
            password_hash = await asyncio.to_thread(hash_password, DEMO_PASSWORD)
            generator = ClinicGenerator(DEMO_SPEC, Calendar(today()), password_hash, exercises)
            await begin_bulk(connection, DEMO_CLINIC_ID, silent)
            batch = generator.staff_rows()
            merge(batch, generator.patient_rows(0, DEMO_SPEC.patients))
            merge(batch, generator.compliance_rows())
            await Loader(connection, None).copy(batch)
    finally:
        await connection.close()
    return demo_logins()


def merge(into: Batch, other: Batch) -> None:
    for table, rows in other.items():
        into[table].extend(rows)


# ---------------------------------------------------------------------------------------------
# create-clinic
# ---------------------------------------------------------------------------------------------


def validate_new_clinic(name: str, admin_email: str, admin_password: str) -> None:
    if not name.strip():
        raise ValueError("the clinic name must not be empty")
    if not EMAIL_RE.match(admin_email):
        raise ValueError(f"not an e-mail address: {admin_email!r}")
    if len(admin_password) < 8:
        raise ValueError("the admin password must have at least 8 characters")


async def create_clinic(dsn: str, name: str, admin_email: str, admin_password: str) -> uuid.UUID:
    """A new clinic and its first admin login; returns the clinic's id."""
    validate_new_clinic(name, admin_email, admin_password)
    password_hash = await asyncio.to_thread(hash_password, admin_password)
    clinic_id, user_id = uuid.uuid4(), uuid.uuid4()
    connection = await connect(dsn)
    try:
        await can_silence_triggers(connection)  # checks that the login bypasses RLS
        async with connection.transaction():
            await connection.execute(
                "select set_config('app.clinic_id', $1, true), set_config('app.role', 'admin', "
                "true), set_config('app.user_id', $2, true)",
                str(clinic_id),
                str(user_id),
            )
            taken = await connection.fetchval(
                "select exists(select from users where lower(email) = lower($1))", admin_email
            )
            if taken:
                raise ValueError(f"a user with the e-mail {admin_email!r} already exists")
            await connection.execute(
                "insert into clinics (id, name) values ($1, $2)", clinic_id, name.strip()
            )
            await connection.execute(
                "insert into users (id, clinic_id, email, password_hash, role) "
                "values ($1, $2, $3, $4, 'admin')",
                user_id,
                clinic_id,
                admin_email.strip(),
                password_hash,
            )
    finally:
        await connection.close()
    return clinic_id


# ---------------------------------------------------------------------------------------------
# link-login
# ---------------------------------------------------------------------------------------------


async def link_login(dsn: str, email: str, subject: str | None) -> bool:
    """Make the external identity provider's user `subject` (its tokens' `sub`) act as the
    login `email`, or unlink it (None); False when there is no such login. A subject linked
    to another login is refused by the unique constraint (ValueError)."""
    connection = await connect(dsn)
    try:
        await can_silence_triggers(connection)  # checks that the login bypasses RLS
        try:
            status = await connection.execute(
                "update users set external_subject = $2 where lower(email) = lower($1)",
                email.strip(),
                subject,
            )
        except asyncpg.UniqueViolationError:
            raise ValueError(f"the subject {subject!r} is linked to another login") from None
        except asyncpg.CheckViolationError:
            raise ValueError("the subject must have 1 to 255 characters") from None
    finally:
        await connection.close()
    return bool(status == "UPDATE 1")
