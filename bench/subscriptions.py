"""Subscription benchmark: fan-out latency (commit → delivery) and memory per idle subscription.

    .venv/bin/python bench/subscriptions.py [--subscribers 1000] [--cohorts 10] [--events 40]
                                            [--idle 3000] [--nested]

Starts a private PostgreSQL (or uses DATABASE_URL), one `fisioflow serve` process, opens
`--subscribers` websocket subscriptions to `appointmentChanged` spread over `--cohorts`
identity cohorts (admins, receptionists and one per physiotherapist), then inserts
appointments one at a time and measures, for every subscriber, the time from the inserting
transaction's commit to the event's arrival. Then it opens `--idle` more idle subscriptions
and reports the server's resident memory per subscription.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

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


async def subscribe(url: str, token: str, query: str = SUBSCRIPTION) -> ClientConnection:
    ws = await connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], proxy=None, open_timeout=60
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    return ws


async def collect(ws: ClientConnection, arrivals: dict[str, list[float]]) -> None:
    async for raw in ws:
        message = json.loads(raw)
        if message.get("type") == "next":
            appointment = message["payload"]["data"]["appointmentChanged"]["appointment"]
            arrivals.setdefault(appointment["id"], []).append(time.perf_counter())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fan_out(args: argparse.Namespace, database_url: str, server_port: int) -> None:
    dsn = listen_dsn(database_url)
    cohorts, physio_ids, patient = await make_clinic(dsn, args.cohorts - 2)
    url = f"ws://127.0.0.1:{server_port}/graphql"
    tokens = [
        issue_token(cohorts[i % len(cohorts)], SECRET, 3600)[0] for i in range(args.subscribers)
    ]
    sockets = []
    for start in range(0, len(tokens), 100):
        query = NESTED_SUBSCRIPTION if args.nested else SUBSCRIPTION
        batch = tokens[start : start + 100]
        sockets += await asyncio.gather(*(subscribe(url, t, query) for t in batch))
    arrivals: dict[str, list[float]] = {}
    readers = [asyncio.create_task(collect(ws, arrivals)) for ws in sockets]
    await asyncio.sleep(1)

    # Every physiotherapist cohort sees every appointment of the clinic (read access), so
    # each event reaches all subscribers.
    conn = await asyncpg.connect(dsn)
    commits: dict[str, float] = {}
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
        commits[to_global_id("Appointment", row_id)] = time.perf_counter()
        await asyncio.sleep(args.interval)
    await asyncio.sleep(2)
    await conn.close()

    latencies = [
        (arrival - commits[key]) * 1000 for key, times in arrivals.items() for arrival in times
    ]
    expected = args.events * args.subscribers
    print(
        f"fan-out: {args.subscribers} subscribers in {len(cohorts)} cohorts, {args.events} events"
    )
    print(f"  delivered {len(latencies)} of {expected}")
    print(
        f"  commit → delivery ms: p50 {statistics.median(latencies):.1f}"
        f"  p99 {percentile(latencies, 0.99):.1f}  max {max(latencies):.1f}"
    )
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def idle_memory(args: argparse.Namespace, database_url: str, server: psutil.Process) -> None:
    cohorts, _, _ = await make_clinic(listen_dsn(database_url), 2)
    url = f"ws://127.0.0.1:{args.port}/graphql"
    token = issue_token(cohorts[0], SECRET, 3600)[0]
    await asyncio.sleep(1)
    before = server.memory_info().rss
    sockets = []
    for _ in range(0, args.idle, 100):
        sockets += await asyncio.gather(*(subscribe(url, token) for _ in range(100)))
    await asyncio.sleep(2)
    after = server.memory_info().rss
    per = (after - before) / len(sockets)
    print(f"idle: {len(sockets)} subscriptions (one per connection) held by one process")
    print(f"  server RSS {before / 2**20:.0f} → {after / 2**20:.0f} MiB: {per / 1024:.1f} KiB each")
    print(f"  ≈ {int(1024 * 2**20 / per):,} idle subscriptions per GiB of server memory")
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--cohorts", type=int, default=10)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--idle", type=int, default=3000)
    parser.add_argument(
        "--nested", action="store_true", help="select the patient's and physiotherapist's names"
    )
    args = parser.parse_args()
    os.environ["FISIOFLOW_JWT_SECRET"] = SECRET
    with ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL") or stack.enter_context(
            embedded_postgres(Path(tempfile.mkdtemp(prefix="fisioflow-bench-")))
        )
        migrate.upgrade(database_url)
        server = stack.enter_context(running_server(database_url))
        args.port = server.port
        process = psutil.Process(server.process.pid)
        asyncio.run(fan_out(args, database_url, server.port))
        asyncio.run(idle_memory(args, database_url, process))


if __name__ == "__main__":
    main()
