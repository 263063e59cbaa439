"""The request path: statement counts of nested lists, and identities never crossing over a
shared pooled connection. Every test runs twice: on direct connections, and through PgBouncer
in transaction mode with a pool of 2 server connections (tests/support/pgbouncer.py)."""

import asyncio
import hashlib
import random
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from graph.core.identity import Identity, Role
from graph.core.ids import parse_global_id
from graph.extensions.compiled_queries import validated
from graph.security.auth import issue_token
from graph.security.persisted import Resolved
from tests.support.apps import (
    JWT_SECRET,
    ROUTES,
    client_of,
    custom_app,
    route_settings,
    routed_app,
)
from tests.support.factories import make_clinic
from tests.support.graphql_client import StatementCounter, graphql

NESTED = """query($n: Int!) {
  patients(first: $n) {
    totalCount
    edges { node { name physiotherapist { name patients(first: 5) {
      totalCount edges { cursor node { name physiotherapist { crefito } } } } } } }
  }
}"""


async def _clinic_with_physios(conn: asyncpg.Connection, physios: int, patients: int) -> Identity:
    """A clinic whose patients are spread over many physiotherapists."""
    clinic_id = await conn.fetchval("insert into clinics (name) values ('Grande') returning id")
    physio_ids = [
        await conn.fetchval(
            "insert into physiotherapists (clinic_id, name, email, crefito)"
            " values ($1, $2, $3, $4) returning id",
            clinic_id,
            f"Fisio {i:02d}",
            f"fisio{i}.{uuid.uuid4().hex[:6]}@example.com",
            f"CREFITO-3/{200000 + i}-F",
        )
        for i in range(physios)
    ]
    await conn.executemany(
        "insert into patients (clinic_id, physiotherapist_id, name) values ($1, $2, $3)",
        [(clinic_id, physio_ids[i % physios], f"Paciente {i:03d}") for i in range(patients)],
    )
    user_id = await conn.fetchval(
        "insert into users (clinic_id, email, password_hash, role)"
        " values ($1, $2, 'x', 'admin') returning id",
        clinic_id,
        f"admin.{uuid.uuid4().hex[:8]}@example.com",
    )
    return Identity(user_id, clinic_id, Role.ADMIN)


async def test_nested_lists_cost_one_statement_per_level(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    admin = await _clinic_with_physios(superuser, physios=30, patients=60)
    token = issue_token(admin, JWT_SECRET, 600)[0]
    counts = {}
    for n in (5, 50):
        statements.reset()
        body = await graphql(client, NESTED, {"n": n}, token=token)
        assert "errors" not in body, body
        edges = body["data"]["patients"]["edges"]
        assert len(edges) == n
        nested = edges[0]["node"]["physiotherapist"]["patients"]
        assert nested["totalCount"] == 2
        assert len(nested["edges"]) == 2
        counts[n] = statements.count
    assert counts[5] == counts[50], statements.statements
    # identity settings, patients page, total count, physiotherapists, nested pages,
    # nested counts, the nested physiotherapists come from the loader's cache.
    assert counts[50] <= 7, statements.statements


async def test_sibling_fields_share_the_transaction_safely(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    query = """{ a: patients(first: 3) { totalCount edges { node { name } } }
                 b: physiotherapists { totalCount edges { node { name } } }
                 c: me { email clinic { name } } }"""
    body = await graphql(client, query, token=world.token(world.admin))
    assert "errors" not in body, body
    assert body["data"]["b"]["totalCount"] == 2
    assert body["data"]["c"]["email"] == world.emails["admin"]


app = pytest.fixture(scope="module", params=ROUTES)(routed_app)


@pytest.fixture(params=ROUTES)
async def single_connection_client(
    request: pytest.FixtureRequest, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        custom_app(**route_settings(request, database_url), pool_size=1) as app,
        client_of(app) as client,
    ):
        yield client


async def test_interleaved_identities_over_one_pooled_connection(
    single_connection_client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    first = await make_clinic(superuser, "Clínica Um")
    second = await make_clinic(superuser, "Clínica Dois")
    callers = [
        (first.token(first.admin), "Clínica Um", {str(p) for p in first.patient_ids}),
        (second.token(second.receptionist), "Clínica Dois", {str(p) for p in second.patient_ids}),
        (first.token(first.patient), "Clínica Um", {str(first.patient_ids[0])}),
    ]
    query = "{ me { clinic { name } } patients(first: 100) { edges { node { id } } } }"
    order = [random.Random(7).randrange(len(callers)) for _ in range(120)]

    async def call(index: int) -> None:
        token, clinic, patient_ids = callers[index]
        body = await graphql(single_connection_client, query, token=token)
        assert body["data"]["me"]["clinic"]["name"] == clinic
        seen = {edge["node"]["id"] for edge in body["data"]["patients"]["edges"]}
        assert {parse_global_id(s)[1] for s in seen} == patient_ids

    await asyncio.gather(*(call(i) for i in order))
    # And a direct check that no setting outlives its transaction on the pooled connection.
    leftover = await graphql(single_connection_client, "{ __typename }")
    assert leftover["data"] == {"__typename": "Query"}


def test_the_fast_path_loads_without_the_schema() -> None:
    """The fast path and its middleware read requests and negotiate media types without the
    schema (or the resolvers) being imported."""
    code = (
        "import sys, graph.http.fast_path_middleware\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('graph.schema', 'resolvers',"
        " 'graph.http.view')))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _count_lookups(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    persisted = app.state.fast_path.persisted
    lookups: list[str | None] = []
    resolve = persisted.resolve

    def counted(query: str | None, extensions: Mapping[str, Any] | None) -> Resolved:
        lookups.append(query)
        return resolve(query, extensions)

    monkeypatch.setattr(persisted, "resolve", counted)
    return lookups


async def test_one_persisted_query_lookup_per_operation(
    app: Starlette,
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = await make_clinic(superuser)
    lookups = _count_lookups(app, monkeypatch)
    query = f"query Lookups{uuid.uuid4().hex} {{ patients(first: 2) {{ totalCount }} }}"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    headers = {"Authorization": f"Bearer {world.token(world.admin)}"}
    # Hash and text: the fast path looks it up, declines (it is to be registered), and the
    # normal path runs it with the document the fast path found.
    sent = await client.post(
        "/graphql", json={"query": query, "extensions": extensions}, headers=headers
    )
    assert sent.json()["data"]["patients"]["totalCount"] == len(world.patient_ids)
    assert lookups == [query]
    known, _ = validated.get((query, None))
    assert known  # compiled by the normal path: the next request takes the fast path
    hit = await client.post("/graphql", json={"extensions": extensions}, headers=headers)
    assert hit.content == sent.content
    assert lookups == [query, None]
    # A batch (the normal path only): one lookup per operation.
    batch = await client.post(
        "/graphql", json=[{"extensions": extensions}, {"query": query}], headers=headers
    )
    assert [answer["data"] for answer in batch.json()] == [sent.json()["data"]] * 2
    assert lookups == [query, None, None, query]


async def test_compiled_json_goes_out_as_postgresql_built_it(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    """The normal compiled path sends PostgreSQL's JSON text unparsed: the same bytes as the
    fast path, PostgreSQL's own spacing (`"key" : value`, which orjson never writes)."""
    world = await make_clinic(superuser)
    query = (
        f"query Bytes{uuid.uuid4().hex} {{ patients(first: 2) {{ edges {{ node {{ name }} }} }} }}"
    )
    payload = {"query": query}
    headers = {"Authorization": f"Bearer {world.token(world.admin)}"}
    normal = await client.post("/graphql", json=payload, headers=headers)
    assert len(statements.statements) == 2  # the identity settings, the compiled statement
    statements.reset()
    fast = await client.post("/graphql", json=payload, headers=headers)
    sent = [s for s in statements.statements if not s.startswith("SET ROLE fisioflow_app")]
    assert len(sent) == 1  # the fast path: the plan's statement, no identity round trip
    assert normal.content == fast.content
    assert normal.content.startswith(b'{"data":{"patients" : {"edges" : [')
    assert len(normal.json()["data"]["patients"]["edges"]) == 2
