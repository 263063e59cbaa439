"""`fisioflow db backup` and `fisioflow db restore` (graph/sql/backup.py) as an operator runs
them: a round trip into a new database keeps every table's rows, the records themselves, the
owners, row-level security and its policies, and RLS still keeps each clinic to itself."""

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from graph.core.identity import Identity
from graph.sql import migrate
from graph.sql.backup import BackupError, client_bin, embedded_bin
from graph.sql.database import embedded_postgres
from tests.support.database import create_database, drop_database, plain_dsn
from tests.support.factories import (
    ClinicWorld,
    add_appointment,
    add_payment,
    add_prontuario,
    make_clinic,
)
from tests.support.servers import FISIOFLOW

TABLES = "select tablename from pg_tables where schemaname = 'public' order by tablename"
SECURITY = """
select c.relname, c.relrowsecurity, c.relforcerowsecurity, c.relowner::regrole::text,
       coalesce(c.relacl::text, '')
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = 'public' and c.relkind in ('r', 'v', 'S')
 order by c.relname
"""
POLICIES = """
select tablename, policyname, permissive, roles::text, cmd, qual, with_check
  from pg_policies where schemaname = 'public' order by tablename, policyname
"""
FUNCTIONS = """
select p.oid::regprocedure::text, p.prosecdef, p.proowner::regrole::text, md5(p.prosrc)
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname = 'public' order by 1
"""
TRIGGERS = (
    "select tgrelid::regclass::text, tgname from pg_trigger where not tgisinternal order by 1, 2"
)


TABLES_WITH_ROWS = ("clinics", "patients", "appointments", "payments", "prontuarios", "audit_log")


@dataclass
class Source:
    url: str
    clinics: list[ClinicWorld]


@pytest.fixture(scope="module")
async def source(server_url: str) -> AsyncIterator[Source]:
    """A migrated database with two clinics, their appointments, payments and prontuários."""
    url = await create_database(server_url)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        conn = await asyncpg.connect(plain_dsn(url))
        try:
            clinics = [await make_clinic(conn, f"Clínica Backup {n}") for n in (1, 2)]
            starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
            for world in clinics:
                physio = world.physio.physiotherapist_id
                assert physio is not None
                for n, patient in enumerate(world.patient_ids[:3]):
                    appointment = await add_appointment(
                        conn, world, patient, physio, starts + timedelta(hours=n)
                    )
                    await add_payment(conn, world, patient, appointment_id=appointment)
                    await add_prontuario(conn, world, patient, physio, addendum="Revisado")
        finally:
            await conn.close()
        yield Source(url, clinics)
    finally:
        await drop_database(server_url, url)


def fisioflow(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [FISIOFLOW, "db", *args], env=environment, capture_output=True, text=True, timeout=300
    )


async def _read(url: str, sql: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        tables = [row["tablename"] for row in await conn.fetch(TABLES)]
        return {t: await conn.fetchval(f'select count(*) from "{t}"') for t in tables}
    finally:
        await conn.close()


async def _patients_seen_as(url: str, who: Identity) -> set[object]:
    """The clinics of the patients `who` sees, as the server's requests see them."""
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL ROLE fisioflow_app")
            await conn.execute(
                "select set_config('app.user_id', $1, true), set_config('app.clinic_id', $2, true),"
                " set_config('app.role', $3, true), set_config('app.physiotherapist_id', '', true),"
                " set_config('app.patient_id', '', true)",
                str(who.user_id),
                str(who.clinic_id),
                who.role.value,
            )
            return {row["clinic_id"] for row in await conn.fetch("select clinic_id from patients")}
    finally:
        await conn.close()


@pytest.fixture
async def target(server_url: str) -> AsyncIterator[str]:
    url = await create_database(server_url)
    yield url
    await drop_database(server_url, url)


async def test_a_round_trip_keeps_rows_records_owners_and_rls(
    source: Source, target: str, tmp_path: Path
) -> None:
    file = tmp_path / "fisioflow.dump"
    made = await asyncio.to_thread(fisioflow, source.url, "backup", str(file))
    assert made.returncode == 0, made.stderr
    assert made.stdout == "" and file.stat().st_size > 0
    restored = await asyncio.to_thread(fisioflow, target, "restore", str(file))
    assert restored.returncode == 0, restored.stderr

    before, after = await _counts(source.url), await _counts(target)
    assert after == before
    for table in TABLES_WITH_ROWS:
        assert before[table] > 0, table
    for sql in (
        "select * from alembic_version",
        "select * from clinics order by id",
        "select * from patients order by id",
        "select * from payments order by id",
        "select * from prontuarios order by id",
        SECURITY,
        POLICIES,
        FUNCTIONS,
        TRIGGERS,
    ):
        assert await _read(target, sql) == await _read(source.url, sql), sql
    security = await _read(target, SECURITY)
    assert security[[row[0] for row in security].index("patients")][:4] == (
        "patients",
        True,
        True,
        "fisioflow_owner",
    )

    for world in source.clinics:
        for who in (world.admin, world.receptionist):
            assert await _patients_seen_as(target, who) == {world.clinic_id}


async def test_restore_refuses_a_database_that_is_not_empty(source: Source, tmp_path: Path) -> None:
    file = tmp_path / "fisioflow.dump"
    assert (await asyncio.to_thread(fisioflow, source.url, "backup", str(file))).returncode == 0
    counts = await _counts(source.url)
    refused = await asyncio.to_thread(fisioflow, source.url, "restore", str(file))
    assert refused.returncode == 2
    assert refused.stderr.startswith("fisioflow: the target database is not empty")
    assert "Traceback" not in refused.stderr
    assert await _counts(source.url) == counts
    missing = await asyncio.to_thread(fisioflow, source.url, "restore", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such backup file" in missing.stderr


def test_client_programs_match_the_servers_major_version(tmp_path: Path) -> None:
    folder = embedded_bin()
    assert folder is not None
    assert client_bin(18) == folder  # the embedded server's own
    with pytest.raises(BackupError, match="postgresql-client-99"):
        client_bin(99)
    with pytest.raises(BackupError, match="PostgreSQL 18"):
        client_bin(18, tmp_path)  # a configured folder without them


ROLES = """
select rolname, rolsuper, rolbypassrls, rolinherit, rolcanlogin from pg_roles
 where rolname in ('fisioflow_owner', 'fisioflow_app') order by rolname
"""


async def test_a_restore_on_a_new_cluster_creates_the_roles(source: Source, tmp_path: Path) -> None:
    """A cluster that never ran the migrations (no fisioflow roles): the restore creates them
    as migration 0001 does, and owners, policies and RLS come back as on the first cluster."""
    file = tmp_path / "fisioflow.dump"
    assert (await asyncio.to_thread(fisioflow, source.url, "backup", str(file))).returncode == 0
    with embedded_postgres(tmp_path / "second") as fresh:
        assert await _read(fresh, ROLES) == []
        restored = await asyncio.to_thread(fisioflow, fresh, "restore", str(file))
        assert restored.returncode == 0, restored.stderr
        assert await _read(fresh, ROLES) == await _read(source.url, ROLES)
        assert await _counts(fresh) == await _counts(source.url)
        for sql in (SECURITY, POLICIES, "select * from patients order by id"):
            assert await _read(fresh, sql) == await _read(source.url, sql), sql
        for world in source.clinics:
            assert await _patients_seen_as(fresh, world.admin) == {world.clinic_id}
