"""Test-wide fixtures: a real PostgreSQL (`DATABASE_URL`, or a throwaway embedded server) and a
freshly migrated database for the session."""

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import event
from starlette.applications import Starlette

from graph.core.settings import Settings
from graph.http.app import create_app
from graph.sql import migrate
from graph.sql.database import embedded_postgres
from tests.support.apps import JWT_SECRET, close_app
from tests.support.database import create_database, drop_database, plain_dsn
from tests.support.graphql_client import DifferentialClient, StatementCounter
from tests.support.pgbouncer import PgBouncer, pgbouncer
from tests.support.subscribers import close_test_connections

os.environ["FISIOFLOW_JWT_SECRET"] = JWT_SECRET


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


@pytest.fixture(scope="session")
def bouncer(server_url: str) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the test server (tests/support/pgbouncer.py)."""
    with pgbouncer(server_url) as running:
        yield running


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[Starlette]:
    application = create_app(Settings(database_url=database_url, jwt_secret=JWT_SECRET))
    yield application
    await close_app(application)


@pytest.fixture(scope="session")
async def resolver_app(database_url: str) -> AsyncIterator[Starlette]:
    """The same server with the query compiler off: the oracle of the differential checks."""
    settings = Settings(database_url=database_url, jwt_secret=JWT_SECRET, compile_queries=False)
    application = create_app(settings)
    yield application
    await close_app(application)


@pytest.fixture
async def client(app: Starlette, resolver_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    base = "http://fisioflow.test"
    async with (
        DifferentialClient(transport=httpx.ASGITransport(app=app), base_url=base) as c,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=resolver_app), base_url=base) as o,
    ):
        c.oracle = o
        yield c


@pytest.fixture
def statements(app: Starlette) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    sync_engine = app.state.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", counter)
    listeners = app.state.fast_path.statement_listeners
    listeners.append(counter.fast_read)
    yield counter
    listeners.remove(counter.fast_read)
    event.remove(sync_engine, "before_cursor_execute", counter)


@pytest.fixture
async def close_connections() -> AsyncIterator[None]:
    """Closes the websocket connections the test opened (tests/support/subscribers.py)."""
    yield
    await close_test_connections()
