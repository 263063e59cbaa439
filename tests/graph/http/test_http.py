"""GraphQL over HTTP: media types, status codes, parameters, GET, batches, GraphiQL,
production mode and CORS. The tests of the module's app run twice: on direct connections and
through PgBouncer in transaction mode."""

import secrets
from typing import Any

import asyncpg
import httpx
import pytest
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from graph.core.settings import PRODUCTION_LIMITS, Settings
from graph.http.app import create_app
from graph.http.results import ensure_codes
from tests.support.apps import ROUTES, app_client, routed_app
from tests.support.factories import ClinicWorld, make_clinic
from tests.support.graphql_client import error_codes

app = pytest.fixture(scope="module", params=ROUTES)(routed_app)

GRAPHQL_RESPONSE = "application/graphql-response+json"
STRONG_SECRET = secrets.token_urlsafe(48)


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await make_clinic(superuser)


def _auth(world: ClinicWorld, accept: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {world.token(world.admin)}"}
    if accept is not None:
        headers["Accept"] = accept
    return headers


async def _post(
    client: httpx.AsyncClient, body: Any, accept: str | None = None, **headers: str
) -> httpx.Response:
    if accept is not None:
        headers["Accept"] = accept
    return await client.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        (None, "application/json"),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
        ("text/html", "application/json"),
    ],
)
async def test_media_type_negotiation(
    client: httpx.AsyncClient, world: ClinicWorld, accept: str | None, expected: str
) -> None:
    headers = _auth(world)
    if accept is not None:
        headers["Accept"] = accept
    response = await client.post("/graphql", json={"query": "{ me { role } }"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"
    assert response.json() == {"data": {"me": {"role": "ADMIN"}}}


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
async def test_unparsable_json_is_400(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ me { role } }"',
        headers={"Content-Type": "application/json", "Accept": accept},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(accept)
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "body",
    [
        {"query": 42},
        {"query": {"text": "{ me { role } }"}},
        {"query": ["{ me { role } }"]},
        {"query": "{ me { role } }", "variables": "{}"},
        {"query": "{ me { role } }", "variables": [1]},
        {"query": "{ me { role } }", "operationName": 1},
        {"query": "{ me { role } }", "extensions": "x"},
        {"variables": {}},
        "{ me { role } }",
        [],
    ],
)
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
async def test_bad_parameters_are_400(client: httpx.AsyncClient, body: Any, accept: str) -> None:
    response = await _post(client, body, accept)
    assert response.status_code == 400, response.text
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]


async def test_null_parameters_are_allowed(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    body = {
        "query": "{ me { role } }",
        "variables": None,
        "operationName": None,
        "extensions": None,
    }
    response = await _post(client, body, GRAPHQL_RESPONSE, **_auth(world))
    assert response.status_code == 200
    assert response.json()["data"]["me"]["role"] == "ADMIN"


async def test_unsupported_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"{ me { role } }", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ me { role }", None, "GRAPHQL_VALIDATION_FAILED"),  # parse error
        ("{ me { nope } }", None, "GRAPHQL_VALIDATION_FAILED"),  # validation error
        ("query($n: Int!) { patients(first: $n) { totalCount } }", {"n": "x"}, "BAD_USER_INPUT"),
        ("query($n: Int!) { patients(first: $n) { totalCount } }", None, "BAD_USER_INPUT"),
    ],
)
async def test_request_errors_have_no_data_and_status_by_media_type(
    client: httpx.AsyncClient,
    world: ClinicWorld,
    query: str,
    variables: dict[str, Any] | None,
    code: str,
) -> None:
    body = {"query": query, "variables": variables}
    strict = await _post(client, body, GRAPHQL_RESPONSE, **_auth(world))
    assert strict.status_code == 400
    assert "data" not in strict.json()
    assert error_codes(strict.json()) == [code]
    legacy = await _post(client, body, "application/json", **_auth(world))
    assert legacy.status_code == 200
    assert "data" not in legacy.json()
    assert error_codes(legacy.json()) == [code]


async def test_executed_operations_are_200_even_with_errors(client: httpx.AsyncClient) -> None:
    """An operation that ran (here: refused for want of a token) has `data` and status 200."""
    response = await _post(client, {"query": "{ me { role } }"}, GRAPHQL_RESPONSE)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_get_runs_queries(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    response = await client.get(
        "/graphql",
        params={
            "query": "query Me($a: Int) { me { role } patients(first: $a) { totalCount } }",
            "variables": '{"a": 1}',
            "operationName": "Me",
        },
        headers=_auth(world, GRAPHQL_RESPONSE),
    )
    assert response.status_code == 200
    assert response.json()["data"]["me"]["role"] == "ADMIN"
    bad = await client.get(
        "/graphql", params={"query": "{ me { role } }", "variables": "{not json"}
    )
    assert bad.status_code == 400
    assert error_codes(bad.json()) == ["BAD_USER_INPUT"]


async def test_mutation_over_get_is_405(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    mutation = (
        'mutation { createStaffUser(input: {email: "x@example.com", password: "p4ssw0rd-long",'
        " role: ADMIN}) { id } }"
    )
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = await client.get(
            "/graphql", params={"query": mutation}, headers=_auth(world, accept)
        )
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert error_codes(response.json()) == ["BAD_USER_INPUT"]


async def test_operation_name(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    document = "query A { me { role } } query B { me { email } }"
    chosen = await _post(
        client, {"query": document, "operationName": "B"}, GRAPHQL_RESPONSE, **_auth(world)
    )
    assert chosen.json() == {"data": {"me": {"email": world.emails["admin"]}}}
    for name in (None, "C"):
        body = {"query": document, "operationName": name}
        strict = await _post(client, body, GRAPHQL_RESPONSE, **_auth(world))
        assert strict.status_code == 400
        assert error_codes(strict.json()) == ["BAD_USER_INPUT"]
        assert strict.json()["errors"][0]["extensions"]["field"] == "operationName"
        legacy = await _post(client, body, "application/json", **_auth(world))
        assert legacy.status_code == 200
        assert "data" not in legacy.json()


async def test_batch_runs_in_order_in_one_transaction(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    email = f"batch.{secrets.token_hex(4)}@example.com"
    batch = [
        {
            "query": "mutation($e: String!) { createStaffUser(input: {email: $e,"
            ' password: "batch-password-1", role: RECEPTIONIST}) { email } }',
            "variables": {"e": email},
        },
        {"query": "{ me { role } }"},
    ]
    response = await _post(client, batch, **_auth(world))
    assert response.status_code == 200
    assert response.json() == [
        {"data": {"createStaffUser": {"email": email}}},
        {"data": {"me": {"role": "ADMIN"}}},
    ]


async def test_graphiql_is_served_without_cdn(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = await client.get("/graphiql/page.js")
    assert script.status_code == 200
    # CVE-2026-45739: header values (tokens) must never be put in the URL.
    for url_write in ("replaceState", "pushState", "location.search", "location.hash"):
        assert url_write not in script.text
    assert "shouldPersistHeaders: false" in script.text
    for asset in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js"):
        assert (await client.get(f"/graphiql/{asset}")).status_code == 200
    # A GET that is a request (has a query) or is not from a browser gets JSON, not the page.
    assert (await client.get("/graphql", params={"query": "{ __typename }"})).json() == {
        "data": {"__typename": "Query"}
    }
    assert (await client.get("/graphql", headers={"Accept": "*/*"})).status_code == 400


async def test_production_turns_off_introspection_suggestions_and_graphiql(
    database_url: str, world: ClinicWorld
) -> None:
    async with app_client(database_url, env="production", jwt_secret=STRONG_SECRET) as client:
        token = world.token(world.admin)
        assert (await client.get("/graphql", headers={"Accept": "text/html"})).status_code == 404
        assert (await client.get("/graphiql/page.js")).status_code == 404
        introspection = await _post(client, {"query": "{ __schema { types { name } } }"})
        assert set(error_codes(introspection.json())) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "introspection" in introspection.json()["errors"][0]["message"]
        typename = await _post(client, {"query": "{ __typename }"})
        assert typename.json() == {"data": {"__typename": "Query"}}
        typo = await _post(
            client, {"query": "{ me { emial } }"}, **{"Authorization": f"Bearer {token}"}
        )
        message = typo.json()["errors"][0]["message"]
        assert "emial" in message and "Did you mean" not in message and "email" not in message


async def test_production_switches_can_be_reenabled(database_url: str, world: ClinicWorld) -> None:
    async with app_client(
        database_url,
        env="production",
        jwt_secret=STRONG_SECRET,
        introspection=True,
        suggestions=True,
        graphiql=True,
    ) as client:
        assert (await client.get("/graphql", headers={"Accept": "text/html"})).status_code == 200
        schema = await _post(client, {"query": "{ __schema { queryType { name } } }"})
        assert schema.json()["data"]["__schema"]["queryType"]["name"] == "Query"
        typo = await _post(
            client,
            {"query": "{ me { emial } }"},
            Authorization=f"Bearer {world.token(world.admin)}",
        )
        assert "Did you mean" in typo.json()["errors"][0]["message"]


async def test_production_limits_are_stricter_unless_set(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    development = Settings(database_url=database_url)
    production = Settings(database_url=database_url, env="production")
    for name, value in PRODUCTION_LIMITS.items():
        assert getattr(production, name) == value < getattr(development, name)

    sixteen_aliases = "{ " + " ".join(f"a{n}: __typename" for n in range(16)) + " }"
    batch = [{"query": "{ __typename }"}] * 6
    async with app_client(database_url, env="production", jwt_secret=STRONG_SECRET) as client:
        assert error_codes((await _post(client, {"query": sixteen_aliases})).json()) == [
            "QUERY_TOO_COMPLEX"
        ]
        refused = await client.post("/graphql", json=batch)
        assert refused.status_code == 400
    async with app_client(database_url, jwt_secret=STRONG_SECRET) as client:
        assert (await _post(client, {"query": sixteen_aliases})).json()["data"]["a15"] == "Query"
        accepted = await client.post("/graphql", json=batch)
        assert accepted.status_code == 200 and len(accepted.json()) == 6
    monkeypatch.setenv("FISIOFLOW_MAX_ALIASES", "40")  # set explicitly: kept in production
    assert Settings(database_url=database_url, env="production").max_aliases == 40


async def test_development_shows_suggestions(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    typo = await _post(client, {"query": "{ me { emial } }"}, **_auth(world))
    assert "Did you mean" in typo.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "secret", [None, "", "short", "x" * 64, "secret-" + secrets.token_hex(20), "changeme" * 5]
)
def test_production_refuses_a_weak_or_missing_jwt_secret(
    database_url: str, secret: str | None
) -> None:
    with pytest.raises(RuntimeError, match="FISIOFLOW_JWT_SECRET"):
        create_app(Settings(database_url=database_url, env="production", jwt_secret=secret))


async def test_cors_for_configured_origins(database_url: str, world: ClinicWorld) -> None:
    origin = "https://app.clinica.example"
    async with app_client(database_url, allowed_origins=[origin]) as client:
        preflight = await client.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        response = await _post(client, {"query": "{ me { role } }"}, Origin=origin, **_auth(world))
        assert response.headers["access-control-allow-origin"] == origin
        other = await _post(client, {"query": "{ __typename }"}, Origin="https://evil.example")
        assert "access-control-allow-origin" not in other.headers
        # A compiled query's repeat is answered by graph/http/fast_path.py, inside CORS and the
        # request context: the same headers.
        compiled = {"query": "{ patients(first: 1) { totalCount } }"}
        answers = [await _post(client, compiled, Origin=origin, **_auth(world)) for _ in range(2)]
        assert answers[0].json() == answers[1].json()
        for answer in answers:
            assert answer.headers["access-control-allow-origin"] == origin
            assert len(answer.headers["x-request-id"]) == 32


async def test_no_cors_by_default(client: httpx.AsyncClient) -> None:
    response = await _post(client, {"query": "{ __typename }"}, Origin="https://evil.example")
    assert "access-control-allow-origin" not in response.headers


async def test_request_ids(client: httpx.AsyncClient) -> None:
    generated = await _post(client, {"query": "{ __typename }"})
    assert len(generated.headers["x-request-id"]) == 32
    given = await _post(client, {"query": "{ __typename }"}, **{"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    unsafe = await _post(client, {"query": "{ __typename }"}, **{"X-Request-ID": "a b\tc"})
    assert unsafe.headers["x-request-id"] != "a b\tc"


async def test_subscriptions_over_http_are_refused(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    """Subscriptions need a websocket; over HTTP they are a request error, never INTERNAL."""
    subscription = {"query": "subscription { paymentChanged { op } }"}
    strict = await _post(client, subscription, GRAPHQL_RESPONSE, **_auth(world))
    assert strict.status_code == 400
    assert error_codes(strict.json()) == ["BAD_USER_INPUT"]
    assert "websocket" in strict.json()["errors"][0]["message"]
    legacy = await _post(client, subscription, "application/json", **_auth(world))
    assert legacy.status_code == 200 and "data" not in legacy.json()
    get = await client.get("/graphql", params=subscription, headers=_auth(world))
    assert error_codes(get.json()) == ["BAD_USER_INPUT"]


def test_errors_outside_the_resolvers_are_masked() -> None:
    """An exception from an extension hook skips MaskInternalErrors; the view masks it."""
    leaked = GraphQLError("select * from patients", original_error=RuntimeError("asyncpg"))
    document = GraphQLError("Syntax Error: Expected Name")
    result = ExecutionResult(data=None, errors=[leaked, document])
    ensure_codes(result)
    assert [e.formatted for e in result.errors or []] == [
        {"message": "Internal server error", "extensions": {"code": "INTERNAL"}},
        {
            "message": "Syntax Error: Expected Name",
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        },
    ]
