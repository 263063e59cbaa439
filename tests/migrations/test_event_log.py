"""The event log (migration 0020): commit order, its access rule, and retention."""

import uuid

import asyncpg
import pytest

from tests.migrations.test_triggers import CLINIC, PATIENT, conn, db_url, request
from tests.support.database import plain_dsn

__all__ = ["conn", "db_url"]  # the fixtures, shared with test_triggers


async def _add_patient(c: asyncpg.Connection, clinic: uuid.UUID, name: str) -> uuid.UUID:
    row_id: uuid.UUID = await c.fetchval(
        "INSERT INTO patients (clinic_id, name) VALUES ($1, $2) RETURNING id", clinic, name
    )
    return row_id


async def _seq_of(c: asyncpg.Connection, row_id: uuid.UUID) -> int:
    seq: int = await c.fetchval("SELECT seq FROM events WHERE row_id = $1", row_id)
    return seq


async def test_positions_follow_commit_order_not_start_order(
    db_url: str, conn: asyncpg.Connection
) -> None:
    """The first writer commits last: its event comes after, so `seq > n` never skips one."""
    first = await asyncpg.connect(plain_dsn(db_url))
    second = await asyncpg.connect(plain_dsn(db_url))
    try:
        early = first.transaction()
        await early.start()
        early_id = await _add_patient(first, CLINIC, "Começou antes")
        async with second.transaction():
            late_id = await _add_patient(second, CLINIC, "Terminou antes")
        await early.commit()
        assert await _seq_of(conn, late_id) < await _seq_of(conn, early_id)
    finally:
        await first.close()
        await second.close()


async def test_a_request_reads_its_clinics_events_and_a_patient_only_their_own(
    conn: asyncpg.Connection,
) -> None:
    other_clinic = await conn.fetchval("INSERT INTO clinics (name) VALUES ('Outra') RETURNING id")
    outsider = await _add_patient(conn, other_clinic, "De fora")
    async with request(conn, "receptionist", commit=True) as c:
        stranger = await _add_patient(c, CLINIC, "Estranho")
    for role in ("admin", "receptionist", "physiotherapist"):
        async with request(conn, role) as c:
            seen = {r["row_id"] for r in await c.fetch("SELECT row_id FROM events")}
            assert {stranger, PATIENT} <= seen and outsider not in seen, role
    async with request(conn, "patient") as c:
        rows = await c.fetch("SELECT row_id, refs ->> 'patient_id' AS patient FROM events")
        assert rows and {r["patient"] for r in rows} == {str(PATIENT)}
        assert stranger not in {r["row_id"] for r in rows}
    async with request(conn, "anonymous") as c:
        assert await c.fetchval("SELECT count(*) FROM events") == 0


@pytest.mark.parametrize(
    ("statement", "sqlstate"),
    [
        ("INSERT INTO events (clinic_id, table_name, op, row_id) VALUES ($1, 'patients',"
         " 'INSERT', gen_random_uuid())", "42501"),  # another clinic's: RLS
        ("UPDATE events SET op = 'DELETE' WHERE clinic_id <> $1", "42501"),
        ("DELETE FROM events WHERE clinic_id <> $1", "42501"),
        ("SELECT count(*) FROM events_after(0, 10) WHERE clinic_id <> $1", "42501"),
        ("SELECT purge_events(interval '0 s') WHERE $1::uuid IS NOT NULL", "42501"),
        ("UPDATE event_log_state SET purged_through = 0 WHERE $1::uuid IS NOT NULL", "42501"),
    ],
)  # fmt: skip
async def test_a_request_cannot_forge_rewrite_or_read_the_whole_log(
    conn: asyncpg.Connection, statement: str, sqlstate: str
) -> None:
    other_clinic = await conn.fetchval("INSERT INTO clinics (name) VALUES ('Alheia') RETURNING id")
    await _add_patient(conn, other_clinic, "Alheio")
    async with request(conn, "admin") as c:
        with pytest.raises(asyncpg.PostgresError) as raised:
            await c.execute(statement, other_clinic)
    assert raised.value.sqlstate == sqlstate


async def test_the_server_reads_the_whole_log_and_purges_a_prefix(
    conn: asyncpg.Connection,
) -> None:
    async with request(conn, "receptionist", commit=True) as c:
        kept = await _add_patient(c, CLINIC, "Recente")
    everything = await conn.fetch("SELECT seq, row_id FROM events_after(0, 100000)")
    assert [r["seq"] for r in everything] == sorted(r["seq"] for r in everything)
    assert kept in {r["row_id"] for r in everything}
    kept_seq = await _seq_of(conn, kept)
    await conn.execute("UPDATE events SET recorded_at = recorded_at - interval '8 days'"
                       " WHERE seq < $1", kept_seq)  # fmt: skip
    through = await conn.fetchval("SELECT purge_events(interval '7 days')")
    assert through == kept_seq - 1
    assert await conn.fetchval("SELECT purged_through FROM event_log_state") == through
    assert await conn.fetchval("SELECT min(seq) FROM events") == kept_seq
    assert await conn.fetchval("SELECT purge_events(interval '7 days')") == 0
    async with request(conn, "patient") as c:  # anyone may learn the horizon
        assert await c.fetchval("SELECT purged_through FROM event_log_state") == through
