"""Test-wide fixtures: a real PostgreSQL (`DATABASE_URL`, or a throwaway embedded server) and a
freshly migrated database for the session."""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from graph.core.settings import Settings
from graph.extensions.compiled_queries import coerce_variables, plans, validated
from graph.http.app import create_app
from graph.sql import migrate
from graph.sql.compiler import shape_of
from graph.sql.database import embedded_postgres

JWT_SECRET = "test-secret-" + "x" * 40
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


async def close_app(application: Starlette) -> None:
    """What the app's lifespan does on shutdown (tests drive apps without one)."""
    await application.state.fast_path.close()
    await application.state.engine.dispose()


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


class DifferentialClient(httpx.AsyncClient):
    """A client of the app whose compiled read operations are also sent to the resolver-only
    app: `graphql()` asserts that both answer the same JSON."""

    oracle: httpx.AsyncClient | None = None


@pytest.fixture
async def client(app: Starlette, resolver_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    base = "http://fisioflow.test"
    async with (
        DifferentialClient(transport=httpx.ASGITransport(app=app), base_url=base) as c,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=resolver_app), base_url=base) as o,
    ):
        c.oracle = o
        yield c


class StatementCounter:
    """Counts the SQL statements the app's engine sends while `counting` is on."""

    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        self.count += 1
        self.statements.append(str(args[2]))

    def fast_read(self, statement: str) -> None:
        """A statement of graph/fast_path (raw asyncpg, unseen by SQLAlchemy's events)."""
        self.count += 1
        self.statements.append(statement)

    def reset(self) -> None:
        self.count = 0
        self.statements.clear()


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


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """POST a GraphQL request as a client would; the decoded JSON body."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = {"query": query, "variables": variables or {}}
    response = await client.post("/graphql", json=payload, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    oracle = getattr(client, "oracle", None)
    if oracle is not None and was_compiled(query, variables or {}):
        expected = (await oracle.post("/graphql", json=payload, headers=headers)).json()
        assert body == expected, f"compiled and resolver paths differ for {query}"
    return body


def was_compiled(query: str, variables: dict[str, Any]) -> bool:
    """Whether the app has a compiled plan for this request (graph/compiled_execution): plans
    are keyed by the shape of the variables as coerced (defaults filled in)."""
    known, ready = validated.get((query, None))
    if not known or ready is None:
        return False
    coerced = coerce_variables(ready.graphql_schema, ready.operation, variables)
    if coerced is None:
        return False
    known, plan = plans.get((query, None, shape_of(coerced)))
    return known and plan is not None and plan.mutation is None


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
