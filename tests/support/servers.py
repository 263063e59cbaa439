"""Real `fisioflow serve` processes for tests that need a running server (websockets, signals),
and uvicorn in the test's own process for tests that watch the app while clients talk to it."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

FISIOFLOW = str(Path(sys.executable).parent / "fisioflow")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    log: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def stop(self) -> str:
        """SIGTERM, as an orchestrator would; the process's output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        return self.log.read_text()


def wait_ready(base: str, server: "Server", seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited: {server.log.read_text()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready")


def start_server(log: Path, *args: str, **env: str) -> Server:
    """`fisioflow serve` on a free port, ready; `env` adds to the environment (`DATABASE_URL=""`:
    the embedded PostgreSQL). Its output goes to `log`: a pipe nobody reads would fill up and
    stall the server."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [FISIOFLOW, "serve", "--port", str(port), *args],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    server = Server(process, port, log)
    try:
        wait_ready(server.http, server)
    except BaseException:
        server.stop()
        raise
    return server


@contextmanager
def running_server(database_url: str, *args: str, **env: str) -> Iterator[Server]:
    """`fisioflow serve` on a free port against `database_url`, stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="fisioflow-serve-") as folder:
        server = start_server(Path(folder) / "serve.log", *args, DATABASE_URL=database_url, **env)
        try:
            yield server
        finally:
            server.stop()


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """`app` served by uvicorn in this process and event loop (its lifespan starts the broker),
    for tests that count what the app itself does while real clients talk to it; its
    websocket URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup()
    try:
        yield f"ws://127.0.0.1:{config.port}/graphql"
    finally:
        await server.shutdown()
