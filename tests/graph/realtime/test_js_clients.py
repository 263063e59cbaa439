"""The npm `graphql-ws` client (what GraphiQL, Apollo and urql use) against a running server:
tests/js/subscribe.mjs subscribes and prints what happens as JSON lines.

Skipped only where Node is not installed; .ci/run installs the npm packages (`npm ci`), and the
fixture below does it too when they are missing.
"""

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.factories import make_clinic, session_booking
from tests.support.servers import Server, running_server

JS = Path(__file__).resolve().parents[2] / "js"
NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    not (NODE and NPM) and not os.environ.get("CI"), reason="Node.js is not installed"
)

APPOINTMENT_CHANGED = """subscription { appointmentChanged { op appointment { id status } } }"""
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id } }"""


@pytest.fixture(scope="module")
def node_packages() -> Path:
    assert NODE and NPM, "install Node.js 20"
    if not (JS / "node_modules" / "graphql-ws").is_dir():
        subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, capture_output=True
        )
    return JS


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    with running_server(database_url) as running:
        yield running


class NodeSubscriber:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, within: float = 15) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), within)
        assert raw, "the node client ended without a word"
        line: dict[str, Any] = json.loads(raw)
        return line


@asynccontextmanager
async def node_subscriber(
    packages: Path, server: Server, token: str, query: str
) -> AsyncIterator[NodeSubscriber]:
    assert NODE
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(packages / "subscribe.mjs"),
        server.ws,
        token,
        query,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield NodeSubscriber(process)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def test_graphql_ws_client_receives_an_event(
    node_packages: Path, server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    async with node_subscriber(
        node_packages, server, world.token(world.receptionist), APPOINTMENT_CHANGED
    ) as client:
        assert await client.line() == {"connected": True}
        await asyncio.sleep(0.3)  # the subscribe message follows the ack
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        async with httpx.AsyncClient(base_url=server.http) as http:
            response = await http.post(
                "/graphql",
                json={
                    "query": SCHEDULE,
                    "variables": {"input": session_booking(world, starts)},
                },
                headers={"Authorization": f"Bearer {world.token(world.receptionist)}"},
            )
        created = response.json()["data"]["scheduleAppointment"]["id"]
        assert await client.line() == {
            "next": {
                "data": {
                    "appointmentChanged": {
                        "op": "CREATED",
                        "appointment": {"id": created, "status": "SCHEDULED"},
                    }
                }
            }
        }


async def test_graphql_ws_client_is_refused_for_a_deactivated_login(
    node_packages: Path, server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    await superuser.execute(
        "update users set active = false where id = $1", world.receptionist.user_id
    )
    async with node_subscriber(node_packages, server, token, APPOINTMENT_CHANGED) as client:
        seen = [await client.line(), await client.line()]
        assert {"closed": 4403, "reason": "Forbidden"} in seen
        assert {"connected": True} not in seen
