"""Calling the API as a client does, and checking what it did: the differential client
(compiled answers equal the resolvers'), SQL statement counts, error codes."""

from typing import Any

import httpx

from graph.extensions.compiled_queries import coerce_variables, plans, validated
from graph.sql.compiler import shape_of


class DifferentialClient(httpx.AsyncClient):
    """A client of the app whose compiled read operations are also sent to the resolver-only
    app: `graphql()` asserts that both answer the same JSON."""

    oracle: httpx.AsyncClient | None = None


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
    """Whether the app has a compiled plan for this request
    (graph/extensions/compiled_queries): plans are keyed by the shape of the variables as
    coerced (defaults filled in)."""
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
