"""Two `fisioflow serve` processes behind Debian's HAProxy running deploy/haproxy.cfg, met as
clients meet them: HTTP with httpx, subscriptions with `gql` over the proxied websocket. A
change made through one process reaches subscribers on the other, a process that stops loses
no request and no event (its subscribers resume on the other with `after`), and the client
address the login limits count is the balancer's word, not the client's."""

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from tests.support.factories import ClinicWorld, make_clinic, session_booking
from tests.support.receiver import http_receiver
from tests.support.servers import Server, free_port, running_server
from tests.support.subscribers import Connection, Subscription

CONFIG = Path(__file__).parents[2] / "deploy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"

APPOINTMENTS = """subscription($after: String) {
  appointmentChanged(after: $after) { cursor op appointment { id } }
}"""
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id } }"""
LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { viewer { role } } }"""

pytestmark = pytest.mark.skipif(
    not os.path.exists(HAPROXY) and not os.environ.get("CI"),
    reason="haproxy is not installed (.ci/run installs it)",
)


@dataclass
class Balanced:
    """The balancer's address and the processes behind it, in the config's order."""

    url: str
    servers: list[Server]

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"


def _ready(url: str, log: Path, seconds: float = 30) -> None:
    """Until the balancer forwards /readyz to a process that answers it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"haproxy did not forward to a ready process: {log.read_text()}")


@pytest.fixture
def balanced(database_url: str) -> Iterator[Balanced]:
    limits = {"FISIOFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS": "3"}
    with (
        running_server(database_url, **limits) as first,
        running_server(database_url, **limits) as second,
        tempfile.TemporaryDirectory(prefix="fisioflow-haproxy-") as folder,
    ):
        port = free_port()
        env = {
            **os.environ,
            "FISIOFLOW_LB_BIND": f"127.0.0.1:{port}",
            "FISIOFLOW_API_1": f"127.0.0.1:{first.port}",
            "FISIOFLOW_API_2": f"127.0.0.1:{second.port}",
        }
        log = Path(folder) / "haproxy.log"
        with log.open("w") as output:
            proxy = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(CONFIG)], env=env, stdout=output, stderr=output
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _ready(url, log)
            yield Balanced(url, [first, second])
        finally:
            proxy.terminate()
            proxy.wait(timeout=30)


async def _metrics(server: Server) -> list[str]:
    """A process's own /metrics samples (read directly, not through the balancer)."""
    async with httpx.AsyncClient(base_url=server.http) as direct:
        return (await direct.get("/metrics")).text.splitlines()


async def _metric(server: Server, name: str) -> float:
    """One unlabelled gauge of a process."""
    samples = [line for line in await _metrics(server) if line.startswith(f"{name} ")]
    assert len(samples) == 1, f"{name} not in /metrics"
    return float(samples[0].split()[1])


async def _graphql_requests(server: Server) -> float:
    """How many HTTP requests to /graphql a process has answered."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in await _metrics(server)
        if line.startswith("fisioflow_http_requests_total{") and 'route="/graphql"' in line
    )


async def _until(check: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.1)


async def _post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


_slots = iter(range(1, 100_000))


async def _schedule(http: httpx.AsyncClient, world: ClinicWorld) -> str:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3, hours=next(_slots))
    body = await _post(
        http,
        SCHEDULE,
        {"input": session_booking(world, starts)},
        world.token(world.receptionist),
    )
    assert "errors" not in body, body
    appointment: str = body["data"]["scheduleAppointment"]["id"]
    return appointment


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await make_clinic(superuser)


async def _subscribers_on_each(
    balanced: Balanced, token: str, after: str | None = None
) -> list[tuple[Connection, Subscription]]:
    """Two websocket connections through the balancer, one subscription each: least-connections
    puts one on each process (checked on the processes' own gauges)."""
    opened = []
    for expected in (1, 2):
        connection = await Connection.open(balanced.ws, token)
        opened.append((connection, await connection.subscribe(APPOINTMENTS, {"after": after})))

        async def registered(total: int = expected) -> bool:
            counts = [
                await _metric(s, "fisioflow_websocket_subscriptions_active")
                for s in balanced.servers
            ]
            return sum(counts) == total

        await _until(registered)
    counts = [await _metric(s, "fisioflow_websocket_connections_active") for s in balanced.servers]
    assert counts == [1, 1]
    return opened


async def test_requests_are_spread_and_answered_through_the_balancer(
    balanced: Balanced, world: ClinicWorld
) -> None:
    before = [await _graphql_requests(s) for s in balanced.servers]
    async with httpx.AsyncClient(base_url=balanced.url) as http:
        for _ in range(20):
            body = await _post(http, "{ me { role } }", {}, world.token(world.admin))
            assert body == {"data": {"me": {"role": "ADMIN"}}}
    after = [await _graphql_requests(s) for s in balanced.servers]
    served = [a - b for a, b in zip(after, before, strict=True)]
    assert sum(served) == 20
    assert all(count > 0 for count in served), served


async def test_a_change_through_one_process_reaches_subscribers_on_both(
    balanced: Balanced, world: ClinicWorld
) -> None:
    subscribers = await _subscribers_on_each(balanced, world.token(world.receptionist))
    try:
        async with httpx.AsyncClient(base_url=balanced.url) as http:
            appointment = await _schedule(http, world)
        for _, subscription in subscribers:
            event = (await subscription.data())["appointmentChanged"]
            assert (event["op"], event["appointment"]["id"]) == ("CREATED", appointment)
    finally:
        for connection, _ in subscribers:
            await connection.close()


async def test_a_stopping_process_loses_no_request_and_no_event(
    balanced: Balanced, world: ClinicWorld
) -> None:
    token = world.token(world.receptionist)
    subscribers = await _subscribers_on_each(balanced, token)
    try:
        async with httpx.AsyncClient(base_url=balanced.url) as http:
            first = await _schedule(http, world)
            cursors = []
            for _, subscription in subscribers:
                event = (await subscription.data())["appointmentChanged"]
                assert event["appointment"]["id"] == first
                cursors.append(event["cursor"])
            assert cursors[0] == cursors[1]  # one position in one log, whichever process

            balanced.servers[0].stop()  # SIGTERM, as an orchestrator rolling a release would
            # Its subscriber is told it is going away; the other one stays.
            ended = [await _ended_with(s) for _, s in subscribers]
            assert sorted(ended, key=str) == [1001, None]
            survivor = subscribers[ended.index(None)][1]
            # Every request still gets its answer, from the process that is left.
            for _ in range(10):
                body = await _post(http, "{ me { role } }", {}, token)
                assert body == {"data": {"me": {"role": "RECEPTIONIST"}}}
            missed = await _schedule(http, world)

        # The closed subscriber resumes through the balancer from its last cursor: the event
        # committed while it was away comes first.
        resumed = await Connection.open(balanced.ws, token)
        subscribers.append((resumed, await resumed.subscribe(APPOINTMENTS, {"after": cursors[0]})))
        replayed = (await subscribers[-1][1].data())["appointmentChanged"]
        assert replayed["appointment"]["id"] == missed
        assert (await survivor.data())["appointmentChanged"]["appointment"]["id"] == missed
    finally:
        for connection, _ in subscribers:
            await connection.close()


async def _ended_with(subscription: Subscription) -> int | None:
    """The close code that ended a subscription's connection; None while it stays open (a
    second's wait, with no event expected meanwhile)."""
    try:
        return await subscription.closed_with(within=1)
    except TimeoutError:
        return None


async def test_a_forged_forwarded_for_does_not_escape_the_address_limit(
    balanced: Balanced, world: ClinicWorld
) -> None:
    """The balancer replaces X-Forwarded-For with the connection's address: an attacker who
    sends a new address with every guess is still one address (3 failures per process here)."""
    codes = []
    async with httpx.AsyncClient(base_url=balanced.url) as http:
        for n in range(8):
            response = await http.post(
                "/graphql",
                json={
                    "query": LOGIN,
                    "variables": {"email": f"nobody{n}@example.com", "password": "wrong-guess"},
                },
                headers={"X-Forwarded-For": f"198.51.100.{n + 1}"},
            )
            codes.append(response.json()["errors"][0]["extensions"]["code"])
    # At most 3 failures on each of the two processes, refusals after that (had the forged
    # addresses counted, all 8 would be failures).
    assert set(codes) == {"UNAUTHENTICATED", "RATE_LIMITED"}, codes
    assert 3 <= codes.count("UNAUTHENTICATED") <= 6, codes


CREATE_WEBHOOK = """mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { webhook { id } } }"""


async def test_a_webhook_delivery_goes_out_once_with_two_processes(
    balanced: Balanced, world: ClinicWorld, superuser: asyncpg.Connection
) -> None:
    """Both processes run the webhook worker against one database: each delivery is sent by
    one of them, once."""
    with http_receiver() as receiver:
        try:
            async with httpx.AsyncClient(base_url=balanced.url) as http:
                body = await _post(
                    http,
                    CREATE_WEBHOOK,
                    {"input": {"url": receiver.url, "events": ["APPOINTMENT_CREATED"]}},
                    world.token(world.admin),
                )
                assert "errors" not in body, body
                booked = {await _schedule(http, world) for _ in range(12)}

            async def all_delivered() -> bool:
                states = await superuser.fetch(
                    "SELECT status FROM webhook_deliveries WHERE clinic_id = $1", world.clinic_id
                )
                return len(states) == len(booked) and {s["status"] for s in states} == {"delivered"}

            await _until(all_delivered, seconds=60)
        finally:
            await superuser.execute(
                "UPDATE webhooks SET enabled = false WHERE clinic_id = $1", world.clinic_id
            )
    deliveries = [request.headers["X-FisioFlow-Delivery"] for request in receiver.received]
    assert len(deliveries) == len(set(deliveries)) == len(booked)
    sent = {orjson.loads(request.body)["data"]["id"] for request in receiver.received}
    assert sent == booked
