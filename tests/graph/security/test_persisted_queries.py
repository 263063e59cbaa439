"""Automatic Persisted Queries (the Apollo/urql convention) and the allow-list mode."""

import hashlib
import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from graph.core.settings import Settings
from graph.http.app import create_app
from tests.support.apps import JWT_SECRET, app_client
from tests.support.factories import ClinicWorld, make_clinic
from tests.support.graphql_client import StatementCounter, error_codes

ME = "query Me { me { role } }"
PATIENTS = "query Count { patients { totalCount } }"


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def apq(query_hash: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": query_hash}}


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await make_clinic(superuser)


def _headers(world: ClinicWorld) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.token(world.admin)}"}


async def test_automatic_persisted_queries(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    query = "query Role { me { role clinic { name } } }"
    headers = _headers(world)
    miss = await client.post("/graphql", json={"extensions": apq(sha(query))}, headers=headers)
    assert miss.status_code == 200
    assert miss.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    register = await client.post(
        "/graphql", json={"query": query, "extensions": apq(sha(query))}, headers=headers
    )
    assert register.json()["data"]["me"]["role"] == "ADMIN"
    hit = await client.post("/graphql", json={"extensions": apq(sha(query))}, headers=headers)
    assert hit.json() == register.json()
    # Apollo's `useGETForHashedQueries`: the hash in the URL's `extensions` parameter.
    get = await client.get(
        "/graphql",
        params={"extensions": json.dumps(apq(sha(query))), "operationName": "Role"},
        headers=headers,
    )
    assert get.json() == register.json()


async def test_persisted_query_miss_is_400_for_graphql_response_json(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql",
        json={"extensions": apq(sha("{ never { sent } }"))},
        headers={"Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    assert error_codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_hash_must_match_the_query(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    response = await client.post(
        "/graphql",
        json={"query": ME, "extensions": apq(sha(PATIENTS))},
        headers=_headers(world),
    )
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]
    for bad in ({"version": 2, "sha256Hash": sha(ME)}, {"sha256Hash": 12}, "x"):
        body = {"query": ME, "extensions": {"persistedQuery": bad}}
        response = await client.post("/graphql", json=body, headers=_headers(world))
        assert response.status_code in (200, 400)
        assert error_codes(response.json()) == ["BAD_USER_INPUT"]


async def test_invalid_documents_are_not_registered(client: httpx.AsyncClient) -> None:
    query = "{ doesNotExist }"
    first = await client.post("/graphql", json={"query": query, "extensions": apq(sha(query))})
    assert error_codes(first.json()) == ["GRAPHQL_VALIDATION_FAILED"]
    again = await client.post("/graphql", json={"extensions": apq(sha(query))})
    assert error_codes(again.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_apq_can_be_switched_off(database_url: str) -> None:
    async with app_client(database_url, persisted_queries=False) as client:
        response = await client.post("/graphql", json={"extensions": apq(sha(ME))})
    assert error_codes(response.json()) == ["PERSISTED_QUERY_NOT_SUPPORTED"]


def _manifest(tmp_path: Path, documents: list[str], apollo: bool = True) -> Path:
    path = tmp_path / "persisted-queries.json"
    if apollo:
        data: Any = {
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [
                {"id": sha(body), "name": body.split()[1], "type": "query", "body": body}
                for body in documents
            ],
        }
    else:
        data = {f"doc-{i}": body for i, body in enumerate(documents)}
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("apollo", [True, False])
async def test_allow_list_mode(
    database_url: str, world: ClinicWorld, tmp_path: Path, apollo: bool
) -> None:
    manifest = _manifest(tmp_path, [ME], apollo=apollo)
    headers = _headers(world)
    async with app_client(
        database_url, persisted_queries_only=True, persisted_queries_file=manifest
    ) as client:
        by_hash = await client.post("/graphql", json={"extensions": apq(sha(ME))}, headers=headers)
        assert by_hash.json() == {"data": {"me": {"role": "ADMIN"}}}
        by_document_id = await client.post(
            "/graphql", json={"documentId": f"sha256:{sha(ME)}"}, headers=headers
        )
        assert by_document_id.json() == by_hash.json()
        if not apollo:
            by_id = await client.post("/graphql", json={"documentId": "doc-0"}, headers=headers)
            assert by_id.json() == by_hash.json()
        by_text = await client.post("/graphql", json={"query": ME}, headers=headers)
        assert by_text.json() == by_hash.json()

        unknown = await client.post("/graphql", json={"query": PATIENTS}, headers=headers)
        assert error_codes(unknown.json()) == ["FORBIDDEN"]
        unknown_hash = await client.post(
            "/graphql", json={"extensions": apq(sha(PATIENTS))}, headers=headers
        )
        assert error_codes(unknown_hash.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
        # No registration at run time in this mode: hash + query of a new document is refused.
        register = await client.post(
            "/graphql",
            json={"query": PATIENTS, "extensions": apq(sha(PATIENTS))},
            headers=headers,
        )
        assert error_codes(register.json()) == ["FORBIDDEN"]
        introspection = await client.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}
        )
        assert error_codes(introspection.json()) == ["FORBIDDEN"]


def test_allow_list_mode_needs_a_manifest(database_url: str) -> None:
    with pytest.raises(RuntimeError, match="PERSISTED_QUERIES_FILE"):
        create_app(
            Settings(database_url=database_url, jwt_secret=JWT_SECRET, persisted_queries_only=True)
        )


async def test_persisted_hashes_take_the_fast_path(
    client: httpx.AsyncClient, world: ClinicWorld, statements: StatementCounter
) -> None:
    """Once a persisted document has been compiled, its hash alone is answered by
    graph/http/fast_path.py: one statement, the same JSON."""
    query = "query FastPatients { patients(first: 2) { edges { node { id name } } } }"
    headers = _headers(world)
    hits_before = await _persisted_hits(client)
    registered = await client.post(
        "/graphql", json={"query": query, "extensions": apq(sha(query))}, headers=headers
    )
    assert len(registered.json()["data"]["patients"]["edges"]) == 2
    for request in ({"extensions": apq(sha(query))}, {"documentId": f"sha256:{sha(query)}"}):
        statements.reset()
        hit = await client.post("/graphql", json=request, headers=headers)
        assert hit.json() == registered.json()
        executed = [s for s in statements.statements if "PREPARE gql_" not in s]
        assert len(executed) == 1 and executed[0].startswith("select json_build_object")
    assert await _persisted_hits(client) == hits_before + 2


async def _persisted_hits(client: httpx.AsyncClient) -> float:
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith('fisioflow_persisted_queries_total{result="hit"}'):
            return float(line.split()[-1])
    return 0.0
