"""What a deployment shows browsers, caches and scrapers: CORS and websocket origins (one rule,
Settings.origin_allowed), `Cache-Control: no-store` on both request paths, and who may read
/metrics."""

import secrets

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.apps import app_client, client_of, custom_app
from tests.support.factories import make_clinic
from tests.support.servers import running_server

APP_ORIGIN = "https://app.clinica.example"
STRONG_SECRET = secrets.token_urlsafe(48)
PRODUCTION = {"env": "production", "jwt_secret": STRONG_SECRET}
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def _preflight(client: httpx.AsyncClient, origin: str) -> httpx.Response:
    return await client.options("/graphql", headers={"Origin": origin, **PREFLIGHT})


def _allows(answer: httpx.Response, origin: str) -> bool:
    allowed = answer.headers.get("access-control-allow-origin") == origin
    if allowed:
        assert answer.status_code == 200, answer.text
        assert "POST" in answer.headers["access-control-allow-methods"]
        assert "authorization" in answer.headers["access-control-allow-headers"].lower()
    else:
        assert "access-control-allow-origin" not in answer.headers
        assert answer.status_code == 400  # answered by CORS, never the route's 405
    return allowed


async def test_development_accepts_loopback_origins_by_default(database_url: str) -> None:
    async with app_client(database_url) as client:
        for origin in (
            "http://localhost:5173",
            "http://127.0.0.1:3000",
            "http://[::1]:8080",
            "https://localhost",
        ):
            assert _allows(await _preflight(client, origin), origin), origin
        for origin in ("https://evil.example", "http://localhost.evil.example", "null"):
            assert not _allows(await _preflight(client, origin), origin), origin
        answer = await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "http://localhost:5173"},
        )
        assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"


async def test_production_accepts_only_the_configured_origins(database_url: str) -> None:
    async with app_client(database_url, allowed_origins=[APP_ORIGIN], **PRODUCTION) as client:
        assert _allows(await _preflight(client, APP_ORIGIN), APP_ORIGIN)
        for origin in ("http://localhost:5173", "https://evil.example"):
            assert not _allows(await _preflight(client, origin), origin), origin
    async with app_client(database_url, **PRODUCTION) as client:  # none configured: none
        assert not _allows(await _preflight(client, "http://localhost:5173"), "http://localhost")


async def test_websocket_handshakes_follow_the_cors_rule(database_url: str) -> None:
    """A real server: the origins CORS allows may open a websocket, the others are refused."""
    with running_server(database_url, FISIOFLOW_ALLOWED_ORIGINS=APP_ORIGIN) as server:
        for origin, allowed in (
            (APP_ORIGIN, True),
            ("http://localhost:5173", True),
            ("https://evil.example", False),
        ):
            async with httpx.AsyncClient(base_url=server.http) as client:
                assert _allows(await _preflight(client, origin), origin) is allowed, origin
            handshake = connect(
                server.ws, origin=origin, subprotocols=["graphql-transport-ws"], proxy=None
            )
            if allowed:
                async with handshake as ws:
                    assert ws.subprotocol == "graphql-transport-ws"
            else:
                with pytest.raises(InvalidStatus):
                    await handshake


async def test_answers_are_never_stored_by_caches(
    database_url: str, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    query = "{ patients(first: 2) { totalCount edges { node { name } } } }"
    async with custom_app(database_url) as app, client_of(app) as client:
        fast: list[str] = []
        app.state.fast_path.statement_listeners.append(fast.append)
        headers = {"Authorization": f"Bearer {token}"}
        normal = await client.post("/graphql", json={"query": query}, headers=headers)
        assert not fast, "the first request takes the normal path"
        repeat = await client.post("/graphql", json={"query": query}, headers=headers)
        assert fast, "its repeat is answered by the fast path"
        assert normal.json() == repeat.json()
        assert normal.json()["data"]["patients"]["totalCount"] > 0
        written = await client.post(
            "/graphql",
            json={"query": 'mutation { createPatient(input: {name: "Bia Cache"}) { id } }'},
            headers=headers,
        )
        assert written.json()["data"]["createPatient"]["id"]
        answers = [
            normal,
            repeat,
            written,
            await client.get("/graphql", params={"query": "{ me { email } }"}, headers=headers),
            await client.post("/graphql", content=b"{not json", headers=headers),
            await client.get("/healthz"),
            await client.get("/metrics"),
            await _preflight(client, "http://localhost:5173"),
        ]
        for answer in answers:
            assert answer.headers["cache-control"] == "no-store", answer.request.url
        graphiql_file = await client.get("/graphiql/graphiql.min.js")
        assert graphiql_file.status_code == 200
        assert "no-store" not in graphiql_file.headers.get("cache-control", "")


async def test_metrics_behind_a_token(database_url: str) -> None:
    token = secrets.token_urlsafe(32)
    async with app_client(database_url, metrics_token=token) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "fisioflow_" not in refused.text
        allowed = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200
        assert "fisioflow_http_requests_total" in allowed.text


async def test_production_closes_metrics_unless_a_token_or_opened(database_url: str) -> None:
    token = secrets.token_urlsafe(32)
    async with app_client(database_url, **PRODUCTION) as client:
        closed = await client.get("/metrics")
        assert closed.status_code == 403
        assert "FISIOFLOW_METRICS_TOKEN" in closed.text
        assert "fisioflow_http" not in closed.text
    async with app_client(database_url, metrics_public=True, **PRODUCTION) as client:
        assert (await client.get("/metrics")).status_code == 200
    async with app_client(database_url, metrics_token=token, **PRODUCTION) as client:
        assert (await client.get("/metrics")).status_code == 401
        authorized = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert authorized.status_code == 200
