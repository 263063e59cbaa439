"""A statement timeout is TIMEOUT and an unreachable database SERVICE_UNAVAILABLE, on the
normal path and on the fast path alike; the statement that timed out is never sent again,
and the log gets one line, not a stack trace."""

import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event, text
from starlette.applications import Starlette

from graph.core.ids import to_global_id
from tests.support.apps import client_of, custom_app
from tests.support.factories import ClinicWorld, make_clinic
from tests.support.graphql_client import StatementCounter, error_codes, graphql

# Compiled into one statement; `patients` and `physiotherapists` are non-null root fields.
COUNTS = "query Counts { patients { totalCount } physiotherapists { totalCount } }"
NULLABLE = "query Nullable($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }"
CLOSED_PORT_URL = "postgresql://postgres@127.0.0.1:18499/fisioflow"  # nothing listens there


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await make_clinic(superuser)


def counted(app: Starlette) -> StatementCounter:
    """Every statement the app sends, on either path."""
    counter = StatementCounter()
    event.listen(app.state.engine.sync_engine, "before_cursor_execute", counter)
    app.state.fast_path.statement_listeners.append(counter.fast_read)
    return counter


@pytest.fixture
async def slow_app(database_url: str) -> AsyncIterator[Starlette]:
    async with custom_app(database_url, statement_timeout_ms=300) as app:
        yield app


async def locked_out(
    superuser: asyncpg.Connection, client: httpx.AsyncClient, *request: Any
) -> Any:
    """The answer to a request while another transaction holds `patients` exclusively (its
    statements wait for the lock until their timeout)."""
    transaction = superuser.transaction()
    await transaction.start()
    try:
        await superuser.execute("lock table patients in access exclusive mode")
        return await graphql(client, *request)
    finally:
        await transaction.rollback()


def database_log(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the server logs (its logging config, graph/observability/logging.py, drops
    strawberry's own
    error log): no stack trace; the records of graph/core/errors.py."""
    records = [r for r in caplog.records if r.name != "strawberry.execution"]
    assert all(record.exc_info is None for record in records), [r.name for r in records]
    assert not any("Traceback" in record.getMessage() for record in records)
    return [r for r in records if r.name == "fisioflow.errors"]


async def test_a_statement_timeout_on_the_normal_path_is_timeout_and_runs_once(
    database_url: str,
    superuser: asyncpg.Connection,
    world: ClinicWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = world.token(world.admin)
    async with (
        custom_app(database_url, statement_timeout_ms=300, compile_queries=False) as app,
        client_of(app) as client,
    ):
        statements = counted(app)
        with caplog.at_level(logging.WARNING):
            body = await locked_out(superuser, client, COUNTS, None, token)
        assert error_codes(body) == ["TIMEOUT"]  # `patients` is non-null: execution ends
        assert body["data"] is None
        # The identity round trip, then the one statement that timed out.
        assert statements.count == 2, statements.statements
        assert "patients" in statements.statements[1]
        [line] = database_log(caplog)
        assert "statement timeout" in line.getMessage()
        again = await graphql(client, COUNTS, None, token)
        assert again["data"]["patients"]["totalCount"] == len(world.patient_ids)


async def test_a_statement_timeout_on_the_fast_path_is_answered_there(
    slow_app: Starlette,
    database_url: str,
    superuser: asyncpg.Connection,
    world: ClinicWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = world.token(world.admin)
    async with (
        client_of(slow_app) as client,
        custom_app(database_url, statement_timeout_ms=300, compile_queries=False) as oracle_app,
        client_of(oracle_app) as oracle,
    ):
        for _ in range(2):  # compiled by the normal path, then served by the fast path
            assert "errors" not in await graphql(client, COUNTS, None, token)
        statements = counted(slow_app)
        with caplog.at_level(logging.WARNING):
            body = await locked_out(superuser, client, COUNTS, None, token)
        assert statements.statements == [statements.statements[0]], statements.statements
        assert "gql_execute" not in statements.statements[0]  # the plan's own SQL, sent once
        assert error_codes(body) == ["TIMEOUT"]
        [line] = database_log(caplog)
        assert "statement timeout" in line.getMessage()
        # Word for word what the resolvers answer (the normal path of an app without the
        # compiler), locations and paths included.
        assert body == await locked_out(superuser, oracle, COUNTS, None, token)
        # Nullable root fields are null beside the errors.
        variables = {"id": to_global_id("Patient", world.patient_ids[0])}
        for _ in range(2):
            await graphql(client, NULLABLE, variables, token)
        fast = await locked_out(superuser, client, NULLABLE, variables, token)
        assert fast == await locked_out(superuser, oracle, NULLABLE, variables, token)
        # A timeout is not "not visible": `node` is null with the error, and `nodes`, non-null,
        # makes `data` null.
        assert error_codes(fast) == ["TIMEOUT", "TIMEOUT"]
        assert fast["data"] is None


async def test_an_unreachable_database_is_service_unavailable(
    app: Starlette, world: ClinicWorld, caplog: pytest.LogCaptureFixture
) -> None:
    token = world.token(world.admin)
    async with client_of(app) as client:  # compiles COUNTS, for the fast path to know it
        assert "errors" not in await graphql(client, COUNTS, None, token)
    async with custom_app(CLOSED_PORT_URL) as dead, client_of(dead) as client:
        attempts: list[object] = []
        event.listen(dead.state.engine.sync_engine, "do_connect", lambda *a: attempts.append(a))
        with caplog.at_level(logging.WARNING):
            fast = await client.post(
                "/graphql",
                json={"query": COUNTS},
                headers={"Authorization": f"Bearer {token}"},
            )
            normal = await graphql(client, "{ me { email } }", None, token)
        # The fast path answered without handing the request on (no second try to connect).
        assert fast.status_code == 200, fast.text
        assert fast.headers["content-type"].startswith("application/json")
        assert error_codes(fast.json()) == ["SERVICE_UNAVAILABLE"]
        assert error_codes(normal) == ["SERVICE_UNAVAILABLE"]
        assert len(attempts) == 1  # the normal path's one try
        lines = database_log(caplog)  # one line from each path
        assert [r.getMessage().split(":")[0] for r in lines] == ["database unavailable"] * 2
        ready = await client.get("/readyz")
        assert ready.status_code == 503


async def test_a_connection_the_server_ended_is_service_unavailable(
    database_url: str,
    superuser: asyncpg.Connection,
    world: ClinicWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server ends the app's pooled connection (an operator, a restart: 57P01); the
    request that meets it is SERVICE_UNAVAILABLE, and the pool recovers for the next one."""
    token = world.token(world.admin)
    query = "{ me { email } }"
    async with custom_app(database_url, compile_queries=False) as app, client_of(app) as client:
        assert "errors" not in await graphql(client, query, None, token)
        async with app.state.engine.connect() as connection:  # the pool's one connection
            pid = await connection.scalar(text("select pg_backend_pid()"))
        assert await superuser.fetchval("select pg_terminate_backend($1)", pid)
        with caplog.at_level(logging.WARNING):
            body = await graphql(client, query, None, token)
        assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
        [line] = database_log(caplog)
        assert "database unavailable" in line.getMessage()
        again = await graphql(client, query, None, token)
        assert again["data"]["me"]["email"] == world.emails["admin"]
