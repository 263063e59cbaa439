"""The compliance clock (migration 0026), called as the server and as an attacker would: a
deadline that passes is told once, as an event of its clinic only, whoever ticks and however
many tick at once; a request can neither tick nor read the clock."""

import asyncio
import uuid

import asyncpg
import pytest

from tests.migrations.test_triggers import CLINIC, PATIENT, conn, db_url, request
from tests.support.database import plain_dsn

__all__ = ["conn", "db_url"]  # the fixtures, shared with test_triggers

TICK = "SELECT compliance_clock_tick()"


async def _request_due_in(conn: asyncpg.Connection, seconds: float) -> uuid.UUID:
    """An open data-subject request of the clinic whose 15-day deadline is `seconds` away."""
    request_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO data_subject_requests (clinic_id, patient_id, kind, requested_at)"
        " VALUES ($1, $2, 'access', now() - interval '15 days' + make_interval(secs => $3))"
        " RETURNING id",
        CLINIC,
        PATIENT,
        seconds,
    )
    return request_id


async def _clock_events(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM events WHERE table_name = 'compliance_clock' AND clinic_id = $1",
        CLINIC,
    )
    return count


async def test_a_passed_deadline_is_told_once_as_an_event_of_its_clinic(
    conn: asyncpg.Connection,
) -> None:
    await conn.fetchval(TICK)  # the clock at now
    before = await _clock_events(conn)
    await _request_due_in(conn, 0.5)
    await asyncio.sleep(0.8)
    assert await conn.fetchval(TICK) >= 1
    assert await _clock_events(conn) == before + 1
    await conn.fetchval(TICK)
    assert await _clock_events(conn) == before + 1  # told once
    row = await conn.fetchrow(
        "SELECT row_id, op, refs FROM events WHERE table_name = 'compliance_clock'"
        " AND clinic_id = $1 ORDER BY seq DESC LIMIT 1",
        CLINIC,
    )
    assert row is not None and row["row_id"] == CLINIC and row["refs"] == "{}"


async def test_processes_ticking_at_once_tell_a_moment_once(
    db_url: str, conn: asyncpg.Connection
) -> None:
    await conn.fetchval(TICK)
    before = await _clock_events(conn)
    await _request_due_in(conn, 0.3)
    await asyncio.sleep(0.6)
    tickers = [await asyncpg.connect(plain_dsn(db_url)) for _ in range(4)]
    try:
        await asyncio.gather(*(ticker.fetchval(TICK) for ticker in tickers))
    finally:
        for ticker in tickers:
            await ticker.close()
    assert await _clock_events(conn) == before + 1


async def test_a_request_cannot_tick_or_read_the_clock_and_a_patient_never_sees_it(
    conn: asyncpg.Connection,
) -> None:
    for role in ("admin", "patient"):
        async with request(conn, role) as c:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await c.fetchval(TICK)
        async with request(conn, role) as c:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await c.fetch("SELECT * FROM compliance_clock")
    await conn.fetchval(TICK)
    await _request_due_in(conn, 0.2)
    await asyncio.sleep(0.4)
    await conn.fetchval(TICK)
    async with request(conn, "admin") as c:
        assert (
            await c.fetchval("SELECT count(*) FROM events WHERE table_name = 'compliance_clock'")
            >= 1
        )
    async with request(conn, "patient") as c:
        assert (
            await c.fetchval("SELECT count(*) FROM events WHERE table_name = 'compliance_clock'")
            == 0
        )
