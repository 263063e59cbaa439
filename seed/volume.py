"""The volume seed: many clinics of generated patients and a year of history, for benchmarks."""

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import date

from graph.core.calendar import clinic_today
from graph.security.passwords import hash_password
from seed.calendar import Calendar
from seed.generator import ClinicGenerator
from seed.loader import (
    Loader,
    Progress,
    analyze,
    can_silence_triggers,
    connect,
    existing_clinics,
    load_clinic,
    shared_library,
)
from seed.reference import CITIES, CLINIC_PREFIXES
from seed.stream import ID_EPOCH_MS, NAMESPACE, ClinicSpec

SEED_PASSWORD = "fisioflow-seed"


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
    calendar = Calendar(anchor or clinic_today())
    password_hash = await asyncio.to_thread(hash_password, SEED_PASSWORD)
    connection = await connect(dsn)
    try:
        summary.triggers_disabled = await can_silence_triggers(connection)
        async with connection.transaction():
            exercises = await shared_library(connection)
        specs = volume_specs(seed, clinics, patients)
        present = await existing_clinics(connection, [s.clinic_id for s in specs])
        loader = Loader(connection, progress, silent=summary.triggers_disabled)
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
