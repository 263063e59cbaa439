"""The migrations go up, all the way down, and up again on an empty database."""

import asyncio

import asyncpg

from graph.sql import migrate
from tests.support.database import create_database, drop_database, plain_dsn


async def _tables(url: str) -> set[str]:
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        rows = await connection.fetch("select tablename from pg_tables where schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows}


async def test_upgrade_downgrade_upgrade(server_url: str) -> None:
    url = await create_database(server_url)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        after_first = await _tables(url)
        assert {"clinics", "patients", "appointments", "prontuarios", "audit_log"} <= after_first

        await asyncio.to_thread(migrate.downgrade, url, "base")
        assert await _tables(url) <= {"alembic_version"}

        await asyncio.to_thread(migrate.upgrade, url)
        assert await _tables(url) == after_first
    finally:
        await drop_database(server_url, url)
