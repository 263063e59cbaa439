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
from seed.reference import CITIES
from seed.stream import ID_EPOCH_MS, NAMESPACE, ClinicSpec
from seed.tables import merge

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
            await Loader(connection, None, silent=silent).copy(batch)
    finally:
        await connection.close()
    return demo_logins()
