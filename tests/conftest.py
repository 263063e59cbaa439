"""Test-wide fixtures: a real PostgreSQL (`DATABASE_URL`, or a throwaway embedded server) and a
freshly migrated database for the session."""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from graph import migrate
from graph.database import embedded_postgres

os.environ.setdefault("FISIOFLOW_JWT_SECRET", "test-secret-" + "x" * 40)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server to create test databases on."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    folder = Path(tempfile.mkdtemp(prefix="fisioflow-test-"))
    try:
        with embedded_postgres(folder) as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def database_url_for(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def plain_dsn(url: str) -> str:
    """The URL as asyncpg's connect() takes it (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(server: str) -> str:
    name = f"fisioflow_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(plain_dsn(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return database_url_for(server, name)


async def drop_database(server: str, url: str) -> None:
    name = make_url(url).database
    admin = await asyncpg.connect(plain_dsn(server))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A database migrated to head, shared by the session's tests."""
    url = await create_database(server_url)
    await asyncio.to_thread(migrate.upgrade, url)
    yield url
    await drop_database(server_url, url)


@pytest.fixture
async def superuser(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection as the server's login role (which bypasses RLS when superuser)."""
    connection = await asyncpg.connect(plain_dsn(database_url))
    yield connection
    await connection.close()
