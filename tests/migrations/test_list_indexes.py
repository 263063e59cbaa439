"""Migration 0011: the indexes of the lists' orders, filters and aggregates exist, serve the
queries they are for under RLS (the planner told to avoid scanning the table and sorting: the
index gives the order), and go away on downgrade. Runs in a private database (it migrates up
and down)."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from graph.sql import migrate
from tests.support.database import create_database, drop_database, plain_dsn

BEFORE = "0010_encrypted_cursors"  # the revision before 0011
CREATED = {
    "payments_clinic_status_paid_idx",
    "payments_clinic_due_idx",
    "patients_clinic_birth_date_idx",
    "patients_clinic_created_idx",
}

# (query as the lists run it, the index that must serve it, whether from the index alone)
QUERIES: dict[str, tuple[str, str, bool]] = {
    "agenda": (
        "select id, starts_at, status from appointments where physiotherapist_id = $1"
        " and starts_at >= now() and starts_at < now() + interval '7 days'"
        " and status = any('{scheduled,confirmed}') order by starts_at, id limit 51",
        "appointments_physiotherapist_starts_idx",
        False,
    ),
    "revenue": (
        "select date_trunc('month', paid_at at time zone 'America/Sao_Paulo')::date, method,"
        " count(*), sum(amount) from payments where status = 'paid'"
        " and paid_at >= now() - interval '1 year' and paid_at < now() group by 1, 2",
        "payments_clinic_status_paid_idx",
        True,  # RLS's patient policy reads patient_id: the index includes it
    ),
    "payments_due": (
        "select id, amount, due_date from payments where status = 'pending'"
        " order by due_date, id limit 21",
        "payments_clinic_due_idx",
        False,
    ),
    "patients_birth_date": (
        "select id, name, birth_date from patients order by birth_date desc nulls first, id desc"
        " limit 21",
        "patients_clinic_birth_date_idx",
        False,
    ),
    "patients_newest": (
        "select id, name, created_at from patients order by created_at desc, id desc limit 21",
        "patients_clinic_created_idx",
        False,
    ),
}


CLINICS = [uuid.uuid4() for _ in range(4)]
PATIENTS = 2000  # per clinic, 20 physiotherapists, an appointment and 10 payments each

# Clinics shaped like the volume seed's (a few statuses, 10% pending payments), statistics
# gathered, triggers off (rows for plans only).
SEED = f"""
SET LOCAL session_replication_role = replica;
INSERT INTO clinics (id, name) SELECT c, 'Clínica ' || c FROM unnest($1::uuid[]) c;
INSERT INTO physiotherapists (clinic_id, name, email, crefito)
    SELECT id, 'Fisio ' || n, n || '@' || id || '.test', 'CREFITO-3/' || n || '-F'
    FROM clinics, generate_series(0, 19) n;
INSERT INTO patients (clinic_id, name, birth_date, created_at)
    SELECT c.id, 'Paciente ' || n, date '1950-01-01' + n * 7, now() - n * interval '1 hour'
    FROM clinics c, generate_series(1, {PATIENTS}) n;
INSERT INTO appointments (clinic_id, patient_id, physiotherapist_id, starts_at, ends_at, type,
                          status)
    SELECT clinic_id, id, (SELECT ph.id FROM physiotherapists ph
                           WHERE ph.clinic_id = p.clinic_id AND ph.email LIKE (n % 20) || '@%'),
           now() + (n - {PATIENTS // 2}) * interval '1 hour',
           now() + (n - {PATIENTS // 2}) * interval '1 hour' + interval '50 minutes',
           'session', (array['scheduled', 'confirmed', 'completed'])[1 + n % 3]
    FROM (SELECT *, row_number() OVER (PARTITION BY clinic_id ORDER BY id) n FROM patients) p;
INSERT INTO payments (clinic_id, patient_id, amount, method, status, due_date, paid_at,
                      idempotency_key, request_fingerprint)
    SELECT clinic_id, id, 100, 'pix', s, current_date + (random() * 60)::int,
           CASE WHEN s = 'paid' THEN now() - random() * interval '400 days' END,
           'key-' || id || '-' || k, 'x'
    FROM patients,
         unnest(array['paid', 'paid', 'paid', 'paid', 'paid', 'paid', 'paid', 'paid',
                      'pending', 'cancelled']) WITH ORDINALITY AS statuses(s, k);
ANALYZE;
"""


@pytest.fixture(scope="module")
async def url(server_url: str) -> AsyncIterator[str]:
    url = await create_database(server_url)
    await asyncio.to_thread(migrate.upgrade, url)
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        async with connection.transaction():
            for statement in SEED.strip().split(";\n"):
                await connection.execute(statement, *([CLINICS] if "$1" in statement else []))
        await connection.execute("VACUUM payments")  # index-only scans see all-visible pages
    finally:
        await connection.close()
    try:
        yield url
    finally:
        await drop_database(server_url, url)


async def _indexes(url: str) -> set[str]:
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        rows = await connection.fetch(
            "select indexname from pg_indexes where schemaname = 'public'"
        )
    finally:
        await connection.close()
    return {row["indexname"] for row in rows}


def _scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan] if "Index Name" in plan else []
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


@pytest.mark.parametrize("name", sorted(QUERIES))
async def test_the_index_serves_its_query_under_rls(url: str, name: str) -> None:
    sql, index, index_only = QUERIES[name]
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        async with connection.transaction():
            await connection.execute(
                "select set_config('role', 'fisioflow_app', true),"
                " set_config('app.clinic_id', $1, true), set_config('app.role', 'receptionist',"
                " true), set_config('enable_seqscan', 'off', true),"
                " set_config('enable_bitmapscan', 'off', true),"
                " set_config('enable_sort', 'off', true)",
                str(CLINICS[0]),
            )
            physio = "select id from physiotherapists where clinic_id = $1"
            arguments = [await connection.fetchval(physio, CLINICS[0])] if "$1" in sql else []
            raw = await connection.fetchval(f"explain (format json) {sql}", *arguments)
    finally:
        await connection.close()
    plan = json.loads(raw)[0]["Plan"]
    scans = {scan["Index Name"]: scan["Node Type"] for scan in _scans(plan)}
    assert index in scans, f"{name}: {scans}"
    assert (scans[index] == "Index Only Scan") == index_only, f"{name}: {scans}"


async def test_downgrade_drops_them_and_upgrade_restores_them(url: str) -> None:
    assert await _indexes(url) >= CREATED
    await asyncio.to_thread(migrate.downgrade, url, BEFORE)
    assert not CREATED & await _indexes(url)
    await asyncio.to_thread(migrate.upgrade, url)
    assert await _indexes(url) >= CREATED
