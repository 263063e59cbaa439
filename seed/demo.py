"""The demo clinic: a few named people with logins, seeded once."""

import asyncio
import uuid
from dataclasses import dataclass

from graph.core.calendar import clinic_today
from graph.security.passwords import hash_password
from seed.calendar import Calendar
from seed.generator import ClinicGenerator
from seed.identifiers import slug
from seed.loader import (
    Loader,
    begin_bulk,
    can_silence_triggers,
    connect,
    existing_clinics,
    shared_library,
)
from seed.reference import CITIES, CONSENTS
from seed.stream import ID_EPOCH_MS, NAMESPACE, ClinicSpec
from seed.tables import COLUMNS, Batch, merge

DEMO_PASSWORD = "fisioflow-demo"
DEMO_CLINIC_NAME = "Clínica FisioFlow Demo"
DEMO_DOMAIN = "demo.fisioflow.dev"
DEMO_CLINIC_ID = uuid.uuid5(NAMESPACE, "demo-clinic")
# A receptionist who left: the admin deactivated the login (it is not among demo_logins()).
DEMO_INACTIVE_LOGIN = f"ex.recepcao@{DEMO_DOMAIN}"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    password: str


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


def remind_demo_patients(batch: Batch, generator: ClinicGenerator) -> None:
    """Reminders to see on a first run (docs/operations.md, "Appointment reminders"): each
    demo patient without a reminders consent gets a granted one (a revoked one stays
    revoked), and the patients with logins are reached by e-mail, so the worker e-mails the
    reminders of their sessions in the next day when SMTP is configured."""
    purpose, basis, _ = CONSENTS[1]
    patient, consent = COLUMNS["patients"], COLUMNS["consents"]
    asked = {
        row[consent.index("patient_id")]
        for row in batch["consents"]
        if row[consent.index("purpose")] == purpose
    }
    with_logins = set(DEMO_SPEC.patient_names[: DEMO_SPEC.patient_logins])
    channel = patient.index("contact_channel")
    for n, row in enumerate(batch["patients"]):
        patient_id, created = row[patient.index("id")], row[patient.index("created_at")]
        if row[patient.index("name")] in with_logins:
            batch["patients"][n] = (*row[:channel], "email", *row[channel + 1 :])
        if patient_id not in asked:
            batch["consents"].append(
                (generator.new_id(), DEMO_CLINIC_ID, patient_id, purpose, basis, "2024.1", True,
                 created, None, created, created)
            )  # fmt: skip


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
            generator = ClinicGenerator(
                DEMO_SPEC, Calendar(clinic_today()), password_hash, exercises
            )
            await begin_bulk(connection, DEMO_CLINIC_ID, silent)
            batch = generator.staff_rows()
            merge(batch, generator.patient_rows(0, DEMO_SPEC.patients))
            merge(batch, generator.compliance_rows())
            merge(batch, generator.former_staff_rows(DEMO_INACTIVE_LOGIN))
            remind_demo_patients(batch, generator)
            await Loader(connection, None, silent=silent).copy(batch)
    finally:
        await connection.close()
    return demo_logins()
