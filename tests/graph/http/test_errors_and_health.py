"""Errors reach clients with a code and nothing internal; health endpoints tell the truth."""

import asyncpg
import httpx

from graph.core.settings import Settings
from graph.http.app import create_app
from graph.schema import sdl
from tests.support.apps import JWT_SECRET, close_app
from tests.support.factories import make_clinic
from tests.support.graphql_client import error_codes, graphql

LEAKS = ("asyncpg", "sqlalchemy", "SELECT", "select ", "Traceback", ".py", "5439", "refused")


async def test_database_outage_is_service_unavailable_without_details(
    superuser: asyncpg.Connection,
) -> None:
    world = await make_clinic(superuser)
    down = create_app(
        Settings(database_url="postgresql://postgres@127.0.0.1:5439/nowhere", jwt_secret=JWT_SECRET)
    )
    transport = httpx.ASGITransport(app=down)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        body = await graphql(client, "{ patients { totalCount } }", token=world.token(world.admin))
        ready = await client.get("/readyz")
        health = await client.get("/healthz")
    await close_app(down)
    assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
    assert body["errors"][0]["message"] == "The database is unavailable; try again shortly"
    assert not any(leak in str(body) for leak in LEAKS), body
    assert ready.status_code == 503
    assert health.status_code == 200


async def test_validation_errors_carry_a_code(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    unknown = await graphql(client, "{ patients { nope } }", token=token)
    assert error_codes(unknown) == ["GRAPHQL_VALIDATION_FAILED"]
    bad_variable = await graphql(
        client, "query($n: Int) { patients(first: $n) { totalCount } }", {"n": "ten"}, token=token
    )
    assert error_codes(bad_variable) == ["BAD_USER_INPUT"]


async def test_ready_when_migrated(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


def test_schema_file_is_current() -> None:
    with open("schema.graphql") as committed:
        assert committed.read() == sdl(), "run: fisioflow export-schema > schema.graphql"
