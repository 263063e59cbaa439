"""Every limit answers QUERY_TOO_COMPLEX (or RATE_LIMITED), never a 500, and is configurable."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from graphql import OperationDefinitionNode, parse
from strawberry.extensions.validation_cache import _get_validate_cache

from graph.core.settings import Settings
from graph.schema import schema
from graph.security.limits import FULL_SCAN, count_aliases, max_depth, query_cost
from tests.support.apps import app_client
from tests.support.factories import ClinicWorld, make_clinic
from tests.support.graphql_client import StatementCounter, error_codes, graphql


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await make_clinic(superuser)


def _nested_viewer(levels: int) -> str:
    """`me { physiotherapist { patients { edges { node { physiotherapist ...` of some depth."""
    inner = "id"
    for _ in range(levels):
        inner = f"physiotherapist {{ patients(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"
    return f"{{ me {{ {inner} }} }}"


async def test_depth_limit(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    token = world.token(world.physio)
    shallow = await graphql(client, _nested_viewer(2), token=token)
    assert "errors" not in shallow, shallow
    deep = await graphql(client, _nested_viewer(3), token=token)  # 13 levels > 12
    assert error_codes(deep) == ["QUERY_TOO_COMPLEX"]
    assert "nested 13 levels" in deep["errors"][0]["message"]
    assert "data" not in deep


async def test_depth_counts_through_fragments(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    query = """{ me { ...A } }
    fragment A on Viewer { physiotherapist { patients(first: 1) { edges { node { ...B } } } } }
    fragment B on Patient { physiotherapist { patients(first: 1) { edges { node { ...C } } } } }
    fragment C on Patient { physiotherapist { patients(first: 1) { edges { node { id } } } } }
    """
    assert max_depth(parse(query)) == 13
    body = await graphql(client, query, token=world.token(world.physio))
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]


async def test_depth_limit_is_configurable(database_url: str, world: ClinicWorld) -> None:
    async with app_client(database_url, max_depth=3) as client:
        body = await graphql(client, _nested_viewer(1), token=world.token(world.physio))
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]


async def test_token_limit(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    many = "{ me { " + " ".join(["role"] * 2500) + " } }"
    body = await graphql(client, many, token=world.token(world.admin))
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "2000 tokens" in body["errors"][0]["message"]
    comments = "{ me { role } }" + "\n#" * 2500  # comments count too: no free parsing
    assert error_codes(await graphql(client, comments, token=world.token(world.admin))) == [
        "QUERY_TOO_COMPLEX"
    ]
    fine = "{ me { " + " ".join(["role"] * 500) + " } }"
    assert "errors" not in await graphql(client, fine, token=world.token(world.admin))


def _aliases(count: int, field: str = "role") -> str:
    return " ".join(f"a{i}: {field}" for i in range(count))


async def test_alias_limit(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    token = world.token(world.admin)
    assert "errors" not in await graphql(client, f"{{ me {{ {_aliases(30)} }} }}", token=token)
    body = await graphql(client, f"{{ me {{ {_aliases(31)} }} }}", token=token)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "31 aliases" in body["errors"][0]["message"]


async def test_aliases_are_counted_through_fragment_spreads(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    """GHSA-fr49-mhgj-crfc: 10 aliases in a fragment spread 10 times are 100 aliases."""
    token = world.token(world.admin)
    spreads = " ".join(["...F"] * 10)
    query = f"{{ me {{ {spreads} }} }} fragment F on Viewer {{ {_aliases(10)} }}"
    assert count_aliases(parse(query)) == 100
    body = await graphql(client, query, token=token)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]

    # Spreads of spreads, and inline fragments: still counted.
    nested = (
        "{ me { ... on Viewer { ...G ...G } } }"
        f" fragment G on Viewer {{ ...F ...F }} fragment F on Viewer {{ {_aliases(10)} }}"
    )
    assert count_aliases(parse(nested)) == 40
    assert error_codes(await graphql(client, nested, token=token)) == ["QUERY_TOO_COMPLEX"]


async def test_exponential_fragments_are_measured_not_expanded(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    """F0 spreads F1 twice, F1 spreads F2 twice, ...: 2^40 aliases, measured in linear time."""
    fragments = " ".join(
        f"fragment F{i} on Viewer {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40)
    )
    query = f"{{ me {{ ...F0 }} }} {fragments} fragment F40 on Viewer {{ a: role }}"
    assert count_aliases(parse(query)) == 2**40
    body = await graphql(client, query, token=world.token(world.admin))
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]


NESTED_PAGES = """query($outer: Int, $inner: Int) {
  patients(first: $outer) { edges { node {
    appointments(first: $inner) { edges { node { id } } } } } }
}"""


async def test_cost_limit_multiplies_page_sizes(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    token = world.token(world.admin)
    body = await graphql(client, NESTED_PAGES, {"outer": 100, "inner": 100}, token=token)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "objects" in body["errors"][0]["message"]
    assert "data" not in body
    small = await graphql(client, NESTED_PAGES, {"outer": 10, "inner": 10}, token=token)
    assert "errors" not in small, small
    # Literals, fragments and default page sizes (20 when `first` is absent) count alike.
    literal = """{ patients(first: 100) { ...P } }
    fragment P on PatientConnection { edges { node {
      appointments(first: 30) { edges { node { id } } } payments { edges { node { id } } } } } }"""
    assert error_codes(await graphql(client, literal, token=token)) == ["QUERY_TOO_COMPLEX"]


COSTLY_AGGREGATE = """query($first: Int!) {
  paymentsAggregate(groupBy: [PATIENT, METHOD]) {
    count
    groups(first: $first) { key { patient { appointments(first: 20) { edges { node { id } } } } } }
  }
}"""


async def test_a_costly_aggregate_is_refused_before_any_sql(
    client: httpx.AsyncClient, world: ClinicWorld, statements: StatementCounter
) -> None:
    token = world.token(world.admin)
    statements.reset()
    body = await graphql(client, COSTLY_AGGREGATE, {"first": 1000}, token=token)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "data" not in body
    assert statements.count == 0, statements.statements
    small = await graphql(client, COSTLY_AGGREGATE, {"first": 10}, token=token)
    assert "errors" not in small, small


def _cost(document: str, variables: dict[str, Any] | None = None) -> int:
    parsed = parse(document)
    operation = parsed.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return query_cost(schema._schema, parsed, operation, variables or {})


def test_aggregates_and_unindexed_columns_cost_a_full_scan() -> None:
    plain = _cost("{ paymentsAggregate { count } }")
    assert plain == 1 + FULL_SCAN
    grouped = _cost("{ paymentsAggregate(groupBy: [METHOD, STATUS]) { count } }")
    assert grouped == plain + 2 * FULL_SCAN
    # `groups` is as large as its `first` (default 100), its key objects counted too.
    groups = _cost(
        "{ paymentsAggregate(groupBy: [PATIENT]) { groups { key { patient { id } } } } }"
    )
    assert groups == 1 + 2 * FULL_SCAN + 100 * (1 + 1 + 1)
    # starts_at is indexed (with clinic_id first), status is not; relations join on ids.
    indexed = '{ appointments(where: {startsAt: {gte: "2026-01-01T00:00:00Z"}}) { totalCount } }'
    assert _cost(indexed) == 1
    unindexed = "query($w: AppointmentWhere) { appointments(where: $w) { totalCount } }"
    where = {"or": [{"status": {"eq": "COMPLETED"}}, {"not": {"status": {"eq": "NO_SHOW"}}}]}
    assert _cost(unindexed, {"w": where}) == 1 + FULL_SCAN  # one column, however often
    through = {"patient": {"status": {"eq": "ACTIVE"}}, "price": {"gt": 10}}
    assert _cost(unindexed, {"w": through}) == 1 + 2 * FULL_SCAN
    ordered = "{ payments(orderBy: [AMOUNT_DESC, CREATED_AT_ASC]) { totalCount } }"
    assert _cost(ordered) == 1 + FULL_SCAN


async def test_cost_limit_is_configurable(database_url: str, world: ClinicWorld) -> None:
    async with app_client(database_url, max_cost=50) as client:
        body = await graphql(
            client, NESTED_PAGES, {"outer": 10, "inner": 10}, token=world.token(world.admin)
        )
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]


async def test_batch_cap(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    headers = {"Authorization": f"Bearer {world.token(world.admin)}"}
    two = [{"query": "{ me { role } }"}, {"query": "query Two { me { email } }"}]
    response = await client.post("/graphql", json=two, headers=headers)
    assert response.status_code == 200
    assert response.json() == [
        {"data": {"me": {"role": "ADMIN"}}},
        {"data": {"me": {"email": world.emails["admin"]}}},
    ]
    eleven = [{"query": "{ me { role } }"}] * 11
    response = await client.post("/graphql", json=eleven, headers=headers)
    assert response.status_code == 400
    assert error_codes(response.json()) == ["QUERY_TOO_COMPLEX"]


async def test_body_size_limit(database_url: str) -> None:
    async with app_client(database_url, max_body_bytes=2000) as client:
        big = {"query": "{ __typename }", "variables": {"padding": "x" * 5000}}
        response = await client.post("/graphql", json=big)
        assert response.status_code == 413
        assert error_codes(response.json()) == ["QUERY_TOO_COMPLEX"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
            yield b'{"query": "{ __typename }", "variables": {"padding": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}}'

        streamed = await client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert error_codes(streamed.json()) == ["QUERY_TOO_COMPLEX"]
        small = await client.post("/graphql", json={"query": "{ __typename }"})
        assert small.status_code == 200


def test_limits_default_to_safe_values() -> None:
    settings = Settings()
    assert settings.max_depth == 12
    assert settings.max_tokens == 2000
    assert settings.max_aliases == 30
    assert settings.max_cost == 10_000
    assert settings.max_batch_operations == 10
    assert settings.max_body_bytes == 1_048_576
    assert settings.statement_timeout_ms == 5_000
    assert settings.login_max_failures_per_email_and_address == 5
    assert settings.login_max_failures_per_email == 20


async def test_concurrent_requests_under_limits_stay_healthy(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    token = world.token(world.admin)
    bodies = await asyncio.gather(
        *(graphql(client, "{ me { role } }", token=token) for _ in range(10))
    )
    assert all(b["data"]["me"]["role"] == "ADMIN" for b in bodies)


async def test_limits_keep_the_validation_cache_effective(client: httpx.AsyncClient) -> None:
    """ValidationCache keys on the validation rules: the limit rules are made once per limit
    value, not once per request, or every request would miss the cache."""
    cache = _get_validate_cache(128)
    await graphql(client, "query CacheProbe { __typename }")
    before = cache.cache_info()
    for _ in range(3):
        await graphql(client, "query CacheProbe { __typename }")
    after = cache.cache_info()
    assert after.hits - before.hits == 3
    assert after.misses == before.misses
