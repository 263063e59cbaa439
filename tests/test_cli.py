"""The `fisioflow` command, run as a newcomer would run it."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import jwt

from graph.schema import sdl
from tests.conftest import JWT_SECRET

FISIOFLOW = str(Path(sys.executable).parent / "fisioflow")


def run(*args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [FISIOFLOW, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_export_schema_prints_the_sdl() -> None:
    result = run("export-schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == sdl()


async def test_create_clinic_then_token(database_url: str, superuser: asyncpg.Connection) -> None:
    created = run(
        "create-clinic",
        "--name",
        "Clínica Nova",
        "--admin-email",
        "dono@clinicanova.com.br",
        "--admin-password",
        "senha-segura-1",
        database_url=database_url,
    )
    assert created.returncode == 0, created.stderr
    clinic_id = created.stdout.strip().splitlines()[-1]
    assert await superuser.fetchval("select name from clinics where id = $1::uuid", clinic_id) == (
        "Clínica Nova"
    )

    issued = run("token", "--email", "dono@clinicanova.com.br", database_url=database_url)
    assert issued.returncode == 0, issued.stderr
    claims = jwt.decode(issued.stdout.strip(), JWT_SECRET, algorithms=["HS256"])
    assert claims["clinic_id"] == clinic_id
    assert claims["role"] == "admin"

    unknown = run("token", "--email", "ninguem@example.com", database_url=database_url)
    assert unknown.returncode == 1

    bad = run(
        "create-clinic",
        "--name",
        "X",
        "--admin-email",
        "not-an-email",
        "--admin-password",
        "senha-segura-1",
        database_url=database_url,
    )
    assert bad.returncode == 2


def test_db_current_reports_head(database_url: str) -> None:
    from graph.migrate import head_revision

    result = run("db", "current", database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert head_revision() in result.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_on_a_private_database_and_stop_it_cleanly() -> None:
    """`fisioflow serve` with no DATABASE_URL: local PostgreSQL, demo data, GraphiQL, clean stop."""
    data_dir = Path(tempfile.mkdtemp(prefix="fisioflow-serve-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["FISIOFLOW_DATA_DIR"] = str(data_dir)
    server = subprocess.Popen(
        [FISIOFLOW, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise AssertionError("server did not become ready")
        page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
        assert "graphiql" in page.text.lower()
        login = httpx.post(
            f"{base}/graphql",
            json={
                "query": 'mutation { login(input: {email: "admin@demo.fisioflow.dev",'
                ' password: "fisioflow-demo"}) { viewer { role clinic { name } } } }'
            },
        ).json()
        assert login["data"]["login"]["viewer"]["role"] == "ADMIN"
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert str(data_dir.resolve() / "pgdata") in output
    assert "admin@demo.fisioflow.dev" in output
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "PostgreSQL left running"
    shutil.rmtree(data_dir, ignore_errors=True)
