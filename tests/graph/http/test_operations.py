"""Operations: health, readiness, Prometheus metrics, JSON logs without personal data, and a
graceful shutdown that finishes the requests in flight."""

import asyncio
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from graph.observability.logging import JsonFormatter, redact
from graph.observability.metrics import MAX_OPERATION_NAMES, Metrics
from graph.sql.database import create_engine
from tests.support.apps import app_client, client_of, custom_app
from tests.support.database import create_database, drop_database
from tests.support.factories import PASSWORD, ClinicWorld, make_clinic
from tests.support.graphql_client import graphql
from tests.support.servers import running_server
from tests.support.subscribers import Connection

FISIOFLOW = str(Path(sys.executable).parent / "fisioflow")


def valid_cpf(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(9)]
    for length in (9, 10):
        total = sum(d * (length + 1 - i) for i, d in enumerate(digits))
        digits.append((total * 10 % 11) % 10)
    return "".join(map(str, digits))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_healthz_and_readyz(client: httpx.AsyncClient, server_url: str) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    empty = await create_database(server_url)  # reachable, but no migration applied
    try:
        async with app_client(empty) as fresh:
            ready = await fresh.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "migrations pending"
            assert (await fresh.get("/healthz")).status_code == 200
    finally:
        await drop_database(server_url, empty)


def _samples(metrics_text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_metrics(database_url: str, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    async with custom_app(database_url) as app, client_of(app) as client:
        for _ in range(3):
            await graphql(client, "query Me { me { role } }", token=token)
        await graphql(client, "query Me { me { role } }")  # no token
        await graphql(client, "query Nested { patients { edges { node { name } } } }", token=token)
        await graphql(client, "{ me { nope } }", token=token)
        await client.post(
            "/graphql",
            json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},
        )
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    operations = "fisioflow_graphql_operations_total"
    assert value(operations, operation="Me", type="query", outcome="OK") == 3
    assert value(operations, operation="Me", type="query", outcome="UNAUTHENTICATED") == 1
    assert value(operations, operation="Nested", type="query", outcome="OK") == 1
    assert (
        value(operations, operation="anonymous", type="query", outcome="GRAPHQL_VALIDATION_FAILED")
        == 1
    )
    assert (
        value(operations, operation="unknown", type="unknown", outcome="PERSISTED_QUERY_NOT_FOUND")
        == 1
    )
    latency = "fisioflow_graphql_operation_duration_seconds_count"
    assert value(latency, operation="Me", type="query") == 4
    assert value("fisioflow_sql_statements_per_request_count") >= 5
    # `me { role }` needs no statement; the list needs the identity statement and its page.
    assert value("fisioflow_sql_statements_per_request_sum") >= 2
    assert (
        value("fisioflow_http_requests_total", route="/graphql", method="POST", status="200") >= 6
    )
    assert value("fisioflow_db_pool_connections", state="size") == 10
    assert value("fisioflow_db_pool_connections", state="checked_out") == 0
    assert ("fisioflow_websocket_subscriptions_active", ()) in samples
    assert ("fisioflow_websocket_connections_active", ()) in samples


async def test_operation_names_cannot_flood_the_metrics(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await graphql(client, f"query Flood{i} {{ __typename }}")
    metrics = (await client.get("/metrics")).text
    assert 'operation="Flood4"' in metrics  # well under the cap
    registry = Metrics.__new__(Metrics)
    registry._names = set()
    labels = {registry.operation_label(f"Op{i}") for i in range(MAX_OPERATION_NAMES + 50)}
    assert len(labels) == MAX_OPERATION_NAMES + 1 and "other" in labels


async def test_log_lines_redact_database_values(database_url: str) -> None:
    """SQLAlchemy appends statement parameters (and PostgreSQL a DETAIL with the values) to a
    database error: none of it may reach a log line."""
    engine = create_engine(database_url, pool_size=1)
    email, cpf = "maria.sigilo@example.com", "52998224725"
    try:
        async with engine.connect() as connection:
            await connection.execute(
                text("select 1 / 0 where :email <> :cpf"), {"email": email, "cpf": cpf}
            )
    except DBAPIError as error:
        record = logging.LogRecord(
            "fisioflow.errors",
            logging.ERROR,
            __file__,
            1,
            "failed for %s",
            (email,),
            (type(error), error, error.__traceback__),
        )
        line = JsonFormatter().format(record)
    finally:
        await engine.dispose()
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and "division by zero" in entry["exception"]
    assert email not in line and cpf not in line
    assert redact("Key (cpf)=(529.982.247-25) already exists") == "Key redacted already exists"
    assert "[token]" in redact("Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl")


def _wait_ready(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[0]
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("server did not become ready")


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await make_clinic(superuser)


LOGIN = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }"
CREATE = "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id name } }"


def _exercise_with_personal_data(
    client: httpx.Client, world: ClinicWorld, patient: dict[str, str]
) -> list[str]:
    """Requests full of personal data and tokens; what the logs must not show."""
    admin = world.token(world.admin)
    auth = {"Authorization": f"Bearer {admin}"}

    def post(query: str, variables: Any = None, headers: Any = None) -> Any:
        body = {"query": query, "variables": variables}
        return client.post("/graphql", json=body, headers=headers).json()

    post(LOGIN, {"e": world.emails["admin"], "p": "wrong-pass-1"})
    issued = post(LOGIN, {"e": world.emails["physio"], "p": PASSWORD})["data"]["login"]["token"]
    created = post(CREATE, {"i": patient}, auth)
    assert created["data"]["createPatient"]["name"] == patient["name"]
    duplicate = post(CREATE, {"i": patient}, auth)
    assert duplicate["errors"][0]["extensions"]["code"] == "CONFLICT"
    search = f'{{ patients(filter: {{search: "{patient["cpf"]}"}}) {{ totalCount }} }}'
    client.get("/graphql", params={"query": search}, headers=auth)
    post(f'{{ patients(filter: {{search: "{patient["email"]}"}}) {{ nope }} }}', None, auth)
    post("{ me { role } }", None, {"Authorization": f"Bearer {admin}x"})
    post("query($n: Int) { patients(first: $n) { totalCount } }", {"n": patient["name"]}, auth)
    return [
        admin,
        issued,
        world.emails["admin"],
        world.emails["physio"],
        PASSWORD,
        *patient.values(),
    ]


def _in_flight_request_survives_sigterm(
    server: subprocess.Popen[str], port: int, token: str
) -> None:
    body = json.dumps({"query": "query InFlight { me { role } }"}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        connection.sendall(head + body[:10])  # the request has begun: its body is on the way
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.poll() is None, "the server quit with a request in flight"
        with pytest.raises(OSError):  # no new connections once shutting down
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        connection.sendall(body[10:])
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 200 OK", answer
    assert json.loads(rest.partition(b"\r\n\r\n")[2]) == {"data": {"me": {"role": "ADMIN"}}}


def test_serve_logs_json_without_personal_data_and_shuts_down_gracefully(
    database_url: str, world: ClinicWorld
) -> None:
    rng = random.Random()
    cpf = valid_cpf(rng)
    patient = {
        "name": f"Maria Sigilosa {rng.randrange(10**6)}",
        "cpf": cpf,
        "email": f"maria.sigilosa.{rng.randrange(10**6)}@example.com",
    }
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "FISIOFLOW_LOG_LEVEL": "DEBUG"}
    server = subprocess.Popen(
        [FISIOFLOW, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_ready(base, server)
        with httpx.Client(base_url=base, timeout=10) as client:
            secrets_sent = _exercise_with_personal_data(client, world, patient)
        _in_flight_request_survives_sigterm(server, port, world.token(world.admin))
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0, output

    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [e for e in entries if e["logger"] == "fisioflow.access"]
    assert len(access) >= 8
    assert all(len(e["request_id"]) == 32 and "status" in e and "duration_ms" in e for e in access)
    in_flight = [e for e in access if any(o["name"] == "InFlight" for o in e.get("operations", []))]
    assert in_flight and in_flight[0]["status"] == 200
    assert any(e["logger"].startswith("uvicorn") for e in entries)
    for secret in secrets_sent:
        assert secret not in output, f"personal data or a token in the logs: {secret[:6]}..."
    assert f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}" not in output
    assert "?query=" not in output and "search" not in output


def test_serve_refuses_a_weak_secret_in_production(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        FISIOFLOW_ENV="production", FISIOFLOW_JWT_SECRET="short", FISIOFLOW_DATA_DIR=str(tmp_path)
    )
    result = subprocess.run(
        [FISIOFLOW, "serve", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "FISIOFLOW_JWT_SECRET" in result.stderr
    assert not (tmp_path / "pgdata").exists(), "nothing should start"
    env.pop("FISIOFLOW_JWT_SECRET")
    missing = subprocess.run(
        [FISIOFLOW, "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert missing.returncode == 2
    assert "must be set in production" in missing.stderr


async def test_metrics_count_active_websocket_subscriptions(
    database_url: str, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)

    async def gauges(base: str) -> tuple[float, float]:
        async with httpx.AsyncClient(base_url=base) as http:
            samples = _samples((await http.get("/metrics")).text)
        return (
            samples[("fisioflow_websocket_subscriptions_active", ())],
            samples[("fisioflow_websocket_connections_active", ())],
        )

    with running_server(database_url) as server:
        assert await gauges(server.http) == (0, 0)
        ws = await Connection.open(server.ws, world.token(world.admin))
        await ws.subscribe("subscription { paymentChanged { op } }")
        await ws.subscribe("subscription { paymentChanged { op } }")
        await asyncio.sleep(0.3)
        assert await gauges(server.http) == (2, 1)
        await ws.close()
        await asyncio.sleep(0.3)
        assert await gauges(server.http) == (0, 0)
