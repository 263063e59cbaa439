"""Subscription benchmark: fan-out latency (commit → delivery) and memory per idle subscription.

    .venv/bin/python bench/subscriptions.py [--subscribers 1000] [--cohorts 10] [--events 40]
                                            [--idle 10000] [--nested] [--clients 2] [--stages]

Starts a private PostgreSQL (or uses DATABASE_URL), one `fisioflow serve` process, opens
`--subscribers` websocket subscriptions to `appointmentChanged` spread over `--cohorts`
identity cohorts (admins, receptionists and one per physiotherapist), then inserts
appointments one at a time and measures, for every subscriber, the time from the inserting
transaction's commit to the event's arrival. Then it opens `--idle` more idle subscriptions
and reports the server's resident memory per subscription.

The client must not be what is measured: the subscribers are split among `--clients`
processes, each reading its sockets without a task per message (`LeanSubscriber`: websockets'
sans-I/O protocol parses the frames of a TCP read, all stamped with that read's time) and
checking each frame's operation id. Times are `time.monotonic_ns()`, one clock for every
process on the machine. `--stages` has the server log when each stage was done per event
(graph/realtime/stages.py) and prints the medians beside the commit.

Figures, where the time goes and what is left: docs/operations.md, "Realtime latency".
"""

import argparse
import asyncio
import multiprocessing
import os
import re
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import asyncpg
import orjson
import psutil
import uvloop
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graph.core.identity import Identity, Role
from graph.core.ids import to_global_id
from graph.security.auth import issue_token
from graph.sql import migrate
from graph.sql.database import embedded_postgres, listen_dsn
from tests.support.servers import running_server

SECRET = "bench-secret-" + "x" * 40
SUBSCRIPTION = "subscription { appointmentChanged { op appointment { id startsAt } } }"
# --nested: what an agenda screen shows, the appointment's patient and physiotherapist too.
NESTED_SUBSCRIPTION = """subscription { appointmentChanged { op appointment { id startsAt
  patient { name } physiotherapist { name } } } }"""
# The server's stage lines (graph/realtime/stages.py).
STAGE_LINE = re.compile(
    r"realtime stage (?P<stage>\w+) seq=(?P<seq>\d+) first=(?P<first>\d+) last=(?P<last>\d+)"
)
# Sockets: the server's and the clients' ends of 10,000 idle subscriptions live on this machine.
HARD_FILES = resource.getrlimit(resource.RLIMIT_NOFILE)[1]


async def make_clinic(dsn: str, physios: int) -> tuple[list[Identity], list[uuid.UUID], uuid.UUID]:
    """A clinic with `physios` physiotherapists and a patient; identities for each cohort."""
    conn = await asyncpg.connect(dsn)
    try:
        clinic = await conn.fetchval("insert into clinics (name) values ('Bench') returning id")
        physio_ids = [
            await conn.fetchval(
                "insert into physiotherapists (clinic_id, name, email, crefito)"
                " values ($1, $2, $3, $4) returning id",
                clinic,
                f"Fisio {i}",
                f"fisio{i}.{uuid.uuid4().hex[:6]}@bench.dev",
                f"CREFITO-3/{300000 + i}-F",
            )
            for i in range(physios)
        ]
        patient = await conn.fetchval(
            "insert into patients (clinic_id, name, physiotherapist_id) values ($1, 'P', $2)"
            " returning id",
            clinic,
            physio_ids[0],
        )
        # Real logins: the server re-reads events as them and checks they are active.
        logins = [(Role.ADMIN, None), (Role.RECEPTIONIST, None)]
        logins += [(Role.PHYSIOTHERAPIST, p) for p in physio_ids]
        cohorts = []
        for role, physio in logins:
            user_id = await conn.fetchval(
                "insert into users (clinic_id, email, password_hash, role, physiotherapist_id)"
                " values ($1, $2, 'not-a-hash', $3, $4) returning id",
                clinic,
                f"{role.value}.{uuid.uuid4().hex[:8]}@bench.dev",
                role.value,
                physio,
            )
            cohorts.append(Identity(user_id, clinic, role, physio))
    finally:
        await conn.close()
    return cohorts, physio_ids, patient


class LeanSubscriber(asyncio.Protocol):
    """One websocket with one graphql-transport-ws subscription, read without an asyncio
    task per message: websockets' sans-I/O protocol parses the frames of each TCP read, orjson
    the messages. Arrivals are stamped once per read (every frame in it arrived then)."""

    def __init__(self, url: str, token: str, query: str, operation_id: str) -> None:
        self.ws = ClientProtocol(parse_uri(url), subprotocols=[Subprotocol("graphql-transport-ws")])
        self.token = token
        self.query = query
        self.operation_id = operation_id
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.arrivals: list[tuple[str, int]] = []  # (appointment id, time.monotonic_ns())
        self.wrong_ids = 0
        self.endings: list[bytes] = []  # `error`/`complete` messages: the subscription ended
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.ws.send_request(self.ws.connect())
        self._flush()

    def _send(self, message: dict[str, Any]) -> None:
        self.ws.send_text(orjson.dumps(message))
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    self._fail(self.ws.handshake_exc)
                else:
                    self._send({"type": "connection_init", "payload": {"token": self.token}})
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._message(event.data, now)
        self._flush()  # pongs, a close frame's echo

    def _message(self, raw: bytes, now: int) -> None:
        message = orjson.loads(raw)
        kind = message.get("type")
        if kind == "connection_ack":
            self._send(
                {"id": self.operation_id, "type": "subscribe", "payload": {"query": self.query}}
            )
            self.subscribed.set_result(None)
        elif message.get("id") != self.operation_id:
            self.wrong_ids += 1
        elif kind == "next":
            appointment = message["payload"]["data"]["appointmentChanged"]["appointment"]
            self.arrivals.append((appointment["id"], now))
        elif kind in ("error", "complete"):
            self.endings.append(raw)

    def _fail(self, error: BaseException) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("closed before the subscription started"))


async def subscribe_all(
    url: str, tokens: list[str], query: str, first: int
) -> list[LeanSubscriber]:
    """A socket and subscription per token, 100 handshakes at a time; operation ids are unique
    across all client processes (`first` + index) so a frame framed for another is caught."""
    loop = asyncio.get_running_loop()
    subscribers: list[LeanSubscriber] = []
    for start in range(0, len(tokens), 100):
        batch = [
            LeanSubscriber(url, token, query, f"op-{first + start + i}")
            for i, token in enumerate(tokens[start : start + 100])
        ]
        await asyncio.gather(
            *(
                loop.create_connection(lambda s=s: s, "127.0.0.1", parse_uri(url).port)
                for s in batch
            )
        )
        await asyncio.wait_for(asyncio.gather(*(s.subscribed for s in batch)), 60)
        subscribers += batch
    return subscribers


def client_process(pipe: Connection, url: str, tokens: list[str], query: str, first: int) -> None:
    """A bench client process: subscribe, say so, wait for the word to stop, report arrivals."""

    async def run() -> None:
        subscribers = await subscribe_all(url, tokens, query, first)
        pipe.send("subscribed")
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        pipe.send(
            {
                "arrivals": [a for s in subscribers for a in s.arrivals],
                "wrong_ids": sum(s.wrong_ids for s in subscribers),
                "endings": [e for s in subscribers for e in s.endings],
            }
        )
        for s in subscribers:
            if s.transport is not None:
                s.transport.close()

    uvloop.run(run())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fan_out(
    args: argparse.Namespace, database_url: str, server_port: int
) -> tuple[dict[str, int], dict[int, str]]:
    """Run the fan-out; each event's commit time and its log position (for the stage timing)."""
    dsn = listen_dsn(database_url)
    cohorts, physio_ids, patient = await make_clinic(dsn, args.cohorts - 2)
    url = f"ws://127.0.0.1:{server_port}/graphql"
    tokens = [
        issue_token(cohorts[i % len(cohorts)], SECRET, 3600)[0] for i in range(args.subscribers)
    ]
    query = NESTED_SUBSCRIPTION if args.nested else SUBSCRIPTION
    # The subscribers split among client processes (spawned: no inherited event loop).
    spawn = multiprocessing.get_context("spawn")
    clients = []
    for n in range(args.clients):
        share = tokens[n :: args.clients]
        ours, theirs = spawn.Pipe()
        process = spawn.Process(
            target=client_process, args=(theirs, url, share, query, n * len(tokens))
        )
        process.start()
        clients.append((process, ours))
    loop = asyncio.get_running_loop()
    for _, pipe in clients:
        assert await loop.run_in_executor(None, pipe.recv) == "subscribed"
    await asyncio.sleep(1)

    # Every physiotherapist cohort sees every appointment of the clinic (read access), so
    # each event reaches all subscribers.
    conn = await asyncpg.connect(dsn)
    commits: dict[str, int] = {}
    positions: dict[int, str] = {}
    base = datetime.now(UTC) + timedelta(days=30)
    for n in range(args.events):
        starts = base + timedelta(hours=n)
        async with conn.transaction():
            row_id = await conn.fetchval(
                "insert into appointments (clinic_id, patient_id, physiotherapist_id, starts_at,"
                " ends_at, type) values ($1, $2, $3, $4, $5, 'session') returning id",
                cohorts[0].clinic_id,
                patient,
                physio_ids[n % len(physio_ids)],
                starts,
                starts + timedelta(minutes=30),
            )
        key = to_global_id("Appointment", row_id)
        commits[key] = time.monotonic_ns()
        # Its position in the event log (appended at commit, by a deferred trigger), which
        # the server's stage lines name; read as the log's own functions do (migration 0020).
        async with conn.transaction():
            await conn.execute("select set_config('fisioflow.definer', 'events', true)")
            seq = await conn.fetchval(
                "select seq from events where table_name = 'appointments' and row_id = $1",
                row_id,
            )
        positions[int(seq)] = key
        await asyncio.sleep(args.interval)
    await asyncio.sleep(2)
    await conn.close()

    reports = []
    for process, pipe in clients:
        pipe.send("stop")
        reports.append(await loop.run_in_executor(None, pipe.recv))
        process.join()
    arrivals = [arrival for report in reports for arrival in report["arrivals"]]
    latencies = [(at - commits[key]) / 1e6 for key, at in arrivals]
    per_event: dict[str, list[float]] = defaultdict(list)
    for (key, _), latency in zip(arrivals, latencies, strict=True):
        per_event[key].append(latency)
    expected = args.events * args.subscribers
    print(
        f"fan-out: {args.subscribers} subscribers in {len(cohorts)} cohorts, {args.events} events"
        f" ({'nested' if args.nested else 'flat'}), {args.clients} client process(es)"
    )
    print(f"  delivered {len(latencies)} of {expected}")
    print(
        f"  frames with another operation's id: {sum(r['wrong_ids'] for r in reports)};"
        f" subscriptions ended: {sum(len(r['endings']) for r in reports)}"
    )
    print(
        f"  commit → delivery ms: p50 {statistics.median(latencies):.1f}"
        f"  p99 {percentile(latencies, 0.99):.1f}  max {max(latencies):.1f}"
    )
    order = {key: n for n, key in enumerate(commits)}
    # The first event meets cold caches (each pooled connection prepares its statements): its
    # 1/events of the deliveries alone can set the p99, so the figure without it is shown too.
    warm = [latency for (key, _), latency in zip(arrivals, latencies, strict=True) if order[key]]
    print(
        f"  without the first event: p50 {statistics.median(warm):.1f}"
        f"  p99 {percentile(warm, 0.99):.1f}"
    )
    slowest = sorted(per_event, key=lambda key: max(per_event[key]), reverse=True)[:3]
    print(
        "  slowest events (last frame, ms after commit): "
        + ", ".join(f"#{order[key] + 1} {max(per_event[key]):.1f}" for key in slowest)
    )
    firsts = [min(values) for values in per_event.values()]
    spreads = [max(values) - min(values) for values in per_event.values()]
    print(
        f"  per event, median: first frame {statistics.median(firsts):.1f} ms after commit,"
        f" last {statistics.median(spreads):.1f} ms after the first"
    )
    return commits, positions


def stage_report(log: str, positions: dict[int, str], commits: dict[str, int]) -> None:
    """The server's stage timing (FISIOFLOW_REALTIME_STAGE_TIMING): per stage, the median over
    events of the time from commit to the stage's first and last mark for that event."""
    after: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in log.splitlines():
        found = STAGE_LINE.search(line)
        if found and int(found["seq"]) in positions:
            commit = commits[positions[int(found["seq"])]]
            first, last = (int(found[end]) - commit for end in ("first", "last"))
            after[found["stage"]].append((first / 1e6, last / 1e6))
    if after:
        print("  server stages, ms after commit (median over events): first  last")
    for stage, times in after.items():
        first = statistics.median(f for f, _ in times)
        last = statistics.median(la for _, la in times)
        print(f"    {stage:<10} {first:7.1f} {last:7.1f}")


async def idle_memory(args: argparse.Namespace, database_url: str, server: psutil.Process) -> None:
    cohorts, _, _ = await make_clinic(listen_dsn(database_url), 2)
    url = f"ws://127.0.0.1:{args.port}/graphql"
    token = issue_token(cohorts[0], SECRET, 3600)[0]
    await asyncio.sleep(1)
    before = server.memory_info().rss
    subscribers = await subscribe_all(url, [token] * args.idle, SUBSCRIPTION, 0)
    await asyncio.sleep(2)
    after = server.memory_info().rss
    per = (after - before) / len(subscribers)
    print(f"idle: {len(subscribers)} subscriptions (one per connection) held by one process")
    print(f"  server RSS {before / 2**20:.0f} → {after / 2**20:.0f} MiB: {per / 1024:.1f} KiB each")
    print(f"  ≈ {int(1024 * 2**20 / per):,} idle subscriptions per GiB of server memory")
    for subscriber in subscribers:
        if subscriber.transport is not None:
            subscriber.transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--cohorts", type=int, default=10)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument(
        "--nested", action="store_true", help="select the patient's and physiotherapist's names"
    )
    parser.add_argument(
        "--stages", action="store_true", help="have the server log when each stage is done"
    )
    args = parser.parse_args()
    os.environ["FISIOFLOW_JWT_SECRET"] = SECRET
    resource.setrlimit(resource.RLIMIT_NOFILE, (HARD_FILES, HARD_FILES))
    with ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL") or stack.enter_context(
            embedded_postgres(Path(tempfile.mkdtemp(prefix="fisioflow-bench-")))
        )
        migrate.upgrade(database_url)
        env = {"FISIOFLOW_REALTIME_STAGE_TIMING": "true"} if args.stages else {}
        server = stack.enter_context(running_server(database_url, **env))
        args.port = server.port
        process = psutil.Process(server.process.pid)
        commits, positions = asyncio.run(fan_out(args, database_url, server.port))
        stage_report(server.log.read_text(), positions, commits)
        if args.idle:
            uvloop.run(idle_memory(args, database_url, process))


if __name__ == "__main__":
    main()
