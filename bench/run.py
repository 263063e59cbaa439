"""The load benchmark of issue 8: the GraphQL server against its raw-SQL ceiling, in one run.

    .venv/bin/python bench/run.py [--patients 20000] [--clinics 10] [--duration 10]
                                  [--connections 32] [--scale 1|10] [--warmup 3]
                                  [--repeat 1]
                                  [--operations point,nested,three_level,agenda,revenue,mutation]
                                  [--ceiling-round-trips 3|1|4] [--pgbouncer POOL_SIZE]

Needs wrk (`apt-get install -y wrk`). What it does:

1. Database: `DATABASE_URL` if set (with `--scale 10`: the database of that name plus `_x10` on
   the same server, created if missing), else a private embedded PostgreSQL under
   `./.fisioflow/bench` (`./.fisioflow/bench-x10` for `--scale 10`). Migrates it and seeds
   `--patients` x `--scale` patients over `--clinics` clinics with seed.volume.seed_volume (clinics
   already there are skipped, so a re-run starts in seconds; a database seeded with other sizes
   is refused). PostgreSQL keeps its defaults (fsync and synchronous_commit on: every mutation
   waits for its WAL flush, on both targets).
2. Starts `fisioflow serve` and the ceiling (bench/ceiling.py under uvicorn), each one process
   pinned to CPU 0 (`taskset -c 0`), both with the same fresh FISIOFLOW_JWT_SECRET and the same
   pool size; wrk runs pinned to CPU 1 (PostgreSQL is not pinned). Logs go to the data folder.
   `--pgbouncer N`: the server reaches the database through Debian's PgBouncer in transaction
   mode with N server connections (`FISIOFLOW_POOLER=transaction`, tests/support/pgbouncer.py);
   the ceiling stays on direct connections, so the ratio shows what the pooler costs.
3. Calls as a receptionist of the first clinic (graph.auth.issue_token). Operations:
   point (`node(id:)` on a patient), nested (50 patients -> physiotherapist, last 10
   appointments -> payments), three_level (10 physiotherapists -> 10 patients -> 5
   appointments), agenda (a physiotherapist's week of scheduled and confirmed appointments
   ordered by start, with the patient: `where` on a relation, a range and an enum list, and
   `orderBy`; each request the next of the clinic's physiotherapists; the week is the first
   that starts, Monday 00:00 in the clinic's time zone, on or after the day of the clinic's
   first scheduled or confirmed appointment), revenue (`paymentsAggregate` of paid payments
   grouped by month of `paidAt` and method over the 12 months up to the clinic's last
   payment) and mutation
   (`scheduleAppointment`; every request takes a distinct free slot: startsAt = a base in
   2100 + n x 30 min, rotating over the clinic's physiotherapists and 100 patients that come
   last by name, so the read operations' pages are not touched; the appointments the run
   inserted are deleted at the end).
4. Checks once that both answer every operation with the same `data` (the agenda: for every
   physiotherapist it rotates over; the mutation: same startsAt and status, an Appointment id),
   and warns when not.
5. SQL statements per request: `--sql-samples` sequential requests per operation; for the
   server the delta of its /metrics `fisioflow_sql_statements_per_request` sum over the delta of
   its count (statements through its SQLAlchemy engine, BEGIN/COMMIT not included, or its fast
   path's one call of gql_execute); for the ceiling its own /stats counter (the identity
   statement and the operation's statement, or the one call; round trips, which also count
   BEGIN and COMMIT, are printed beside it). `--ceiling-round-trips` picks the ceiling's way
   (bench/ceiling.py): 3 by default, or 1, the server's own technique.
6. Per operation and target: a `--warmup` second wrk run, then a timed one
   (`wrk --latency -t1 -c<connections> -d<duration>s --timeout 30s`); the idle process of the
   other target is stopped (SIGSTOP) meanwhile so it takes no CPU. A Lua `response` hook
   counts responses that are not 200 or contain "errors"; a `done` hook prints req/s, p50, p99.
   `--repeat N` alternates N timed runs of server and ceiling and keeps the median run of each
   (use it on a busy machine: other processes' load shifts single runs a lot).
7. Prints the table (req/s, p50, p99, SQL statements/request, errors, server/ceiling ratio),
   the machine (nproc, CPU model, PostgreSQL version, load average) and the command line, and
   writes the numbers to `<data folder>/last-run.json`.
"""

import argparse
import asyncio
import base64
import json
import math
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.core.calendar import CLINIC_TIME_ZONE, TIME_ZONE_NAME  # noqa: E402
from graph.core.identity import Identity, Role  # noqa: E402
from graph.core.ids import to_global_id  # noqa: E402
from graph.security.auth import issue_token  # noqa: E402
from graph.sql import migrate  # noqa: E402
from graph.sql.database import embedded_postgres, listen_dsn  # noqa: E402
from seed.calendar import WORKING_HOURS  # noqa: E402
from seed.volume import seed_volume, volume_specs  # noqa: E402
from tests.support.pgbouncer import pgbouncer  # noqa: E402

FISIOFLOW = str(Path(sys.executable).parent / "fisioflow")
OPERATIONS = ("point", "nested", "three_level", "agenda", "revenue", "mutation")
TARGETS = ("server", "ceiling")
SLOT_FLOOR = datetime(2100, 1, 1, tzinfo=UTC)  # bench appointments live from here on
SLOT_MINUTES = 30
# The mutation books weekday afternoons (the seed's last working interval), inside the seeded
# working hours: slot n is the physiotherapist n % P's, at afternoon time n // P of a weekday.
AFTERNOON = WORKING_HOURS[-1]
SLOTS_PER_DAY = (AFTERNOON[1].hour - AFTERNOON[0].hour) * 60 // SLOT_MINUTES
MUTATION_PATIENTS = 100
AGENDA_STATUSES = ("scheduled", "confirmed")  # the agenda query's status filter, as stored

QUERIES = {
    "point": "query Point($id: ID!) { node(id: $id) { ... on Patient"
    " { id name email phone birthDate cpf status } } }",
    "nested": "{ patients(first: 50) { edges { node { id name physiotherapist { id name }"
    " appointments(last: 10) { edges { node { id startsAt status"
    " payments { id amount status } } } } } } } }",
    "three_level": "{ physiotherapists(first: 10) { edges { node { id name patients(first: 10)"
    " { edges { node { id name appointments(first: 5) { edges { node { id startsAt status }"
    " } } } } } } } } }",
    "agenda": "query Agenda($physio: ID!, $from: DateTime!, $to: DateTime!)"
    " { appointments(first: 50, where: {physiotherapist: {id: {eq: $physio}},"
    " startsAt: {gte: $from, lt: $to}, status: {in: [SCHEDULED, CONFIRMED]}},"
    " orderBy: [STARTS_AT_ASC]) { edges { node { id startsAt endsAt status type"
    " patient { id name } } } } }",
    "revenue": "query Revenue($from: DateTime!, $to: DateTime!)"
    " { paymentsAggregate(where: {status: {eq: PAID}, paidAt: {gte: $from, lt: $to}},"
    " groupBy: [PAID_AT_MONTH, METHOD]) { groups(first: 100)"
    " { key { paidAtMonth method } count sum { amount } } } }",
    "mutation": "mutation Schedule($input: ScheduleAppointmentInput!)"
    " { scheduleAppointment(input: $input) { id startsAt status } }",
}
LABELS = {
    "point": "point (patient by id)",
    "nested": "nested (50 patients)",
    "three_level": "3-level connection",
    "agenda": "agenda (week, where+orderBy)",
    "revenue": "revenue (aggregate, groupBy)",
    "mutation": "mutation (schedule)",
}

# ---------------------------------------------------------------------------------------------
# wrk scripts (generated per run: the token, ids and slot offsets are baked in)
# ---------------------------------------------------------------------------------------------

LUA_COMMON = r"""
local threads = {}
tid = 0
counter = 0
errors = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local errs, most = 0, 0
  for _, t in ipairs(threads) do
    errs = errs + t:get("errors")
    most = math.max(most, t:get("counter"))
  end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %.1f, "p99_us": %.1f, "errors": %d,'
    .. ' "max_counter": %d, "threads": %d, "timeouts": %d, "status_errors": %d,'
    .. ' "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errs,
    most, #threads, summary.errors.timeout, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write))
end
"""

LUA_STATIC = r"""-- generated by bench/run.py: one fixed request
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer __TOKEN__"
wrk.body = [==[__BODY__]==]
"""

LUA_MUTATION = r"""-- generated by bench/run.py: every request takes a distinct free slot
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer __TOKEN__"
local base = __BASE__          -- epoch seconds of slot 0
local offset = __OFFSET__      -- first slot number of this run
local patients = {__PATIENTS__}
local physios = {__PHYSIOS__}
local template = [==[__TEMPLATE__]==]

function request()
  local n = offset + counter * __THREADS__ + tid
  counter = counter + 1
  -- bench/run.py slot_start, in Lua
  local t = math.floor(n / #physios)
  local d, k = math.floor(t / __SLOTS_PER_DAY__), t % __SLOTS_PER_DAY__
  local day = math.floor(d / 5) * 7 + d % 5
  local starts = base + day * 86400 + __AFTERNOON_SECONDS__ + k * __SLOT_SECONDS__
  local body = string.format(template, patients[n % #patients + 1], physios[n % #physios + 1],
    os.date("!%Y-%m-%dT%H:%M:%SZ", starts))
  return wrk.format(nil, nil, nil, body)
end
"""

LUA_ROTATING = r"""-- generated by bench/run.py: each request the next of a list of ids
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer __TOKEN__"
local ids = {__IDS__}
local template = [==[__TEMPLATE__]==]

function request()
  local n = counter * __THREADS__ + tid
  counter = counter + 1
  return wrk.format(nil, nil, nil, string.format(template, ids[n % #ids + 1]))
end
"""


def lua_string_list(values: list[str]) -> str:
    return ", ".join(f'"{value}"' for value in values)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


@dataclass
class Fixture:
    """Who calls, and the ids the operations use."""

    clinic_id: uuid.UUID
    identity: Identity
    point_patient: uuid.UUID
    mutation_patients: list[uuid.UUID]
    physiotherapists: list[uuid.UUID]
    slot_base: datetime  # a Monday 00:00 in the clinic's time zone: slot 0's day
    agenda_week: datetime  # Monday 00:00 in the clinic's time zone
    revenue_year: tuple[datetime, datetime]  # [from, to): 12 whole months, clinic time
    pg_version: str


def slot_start(monday: datetime, physiotherapists: int, slot: int) -> datetime:
    """Slot n's start: time n // P of the weekday afternoons from `monday` on (P physiotherapists
    share each time; the Lua script of the mutation computes the same)."""
    day, index = divmod(slot // physiotherapists, SLOTS_PER_DAY)
    week, weekday = divmod(day, 5)
    minutes = AFTERNOON[0].hour * 60 + index * SLOT_MINUTES
    return monday + timedelta(days=week * 7 + weekday, minutes=minutes)


class Slots:
    """Slot numbers handed out to mutation requests, never twice in a run."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, count: int) -> int:
        first = self.next
        self.next += count
        return first


def plain_dsn(url: str) -> str:
    return listen_dsn(url)


@contextmanager
def database(scale: int) -> Iterator[str]:
    """DATABASE_URL (its `_x10` sibling for --scale 10), else a private embedded PostgreSQL."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url if scale == 1 else asyncio.run(sibling_database(url, f"_x{scale}"))
        return
    folder = data_folder(scale)
    print(f"DATABASE_URL is unset: embedded PostgreSQL in {folder / 'pgdata'}", flush=True)
    with embedded_postgres(folder) as embedded:
        yield embedded


@contextmanager
def pooled(url: str, pool_size: int | None) -> Iterator[dict[str, str]]:
    """The server's database settings: none more (direct), or behind PgBouncer in transaction
    mode with `pool_size` server connections (LISTEN and migrations on the direct URL)."""
    if pool_size is None:
        yield {}
        return
    with pgbouncer(url, pool_size) as bouncer:
        print(f"PgBouncer (transaction mode, pool {pool_size}) on port {bouncer.port}", flush=True)
        yield {
            "DATABASE_URL": bouncer.url_for(url),
            "FISIOFLOW_POOLER": "transaction",
            "FISIOFLOW_DIRECT_DATABASE_URL": url,
        }


def data_folder(scale: int) -> Path:
    return ROOT / ".fisioflow" / ("bench" if scale == 1 else f"bench-x{scale}")


async def sibling_database(url: str, suffix: str) -> str:
    parsed = make_url(url)
    name = f"{parsed.database or 'postgres'}{suffix}"
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        if not await connection.fetchval("select 1 from pg_database where datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return parsed.set(database=name).render_as_string(hide_password=False)


def seed(url: str, clinics: int, patients: int) -> None:
    started = time.perf_counter()
    last = 0.0

    def progress(stage: str, done: int) -> None:
        nonlocal last
        now = time.perf_counter()
        if stage == "done" and sys.stdout.isatty() and (now - last > 1 or done >= patients):
            last = now
            print(f"\rseed: {done:,}/{patients:,} patients", end="", flush=True)

    summary = asyncio.run(seed_volume(url, clinics, patients, progress))
    found = asyncio.run(count_patients(url, clinics, patients))
    if found != patients:
        raise SystemExit(
            f"the database holds {found:,} patients in the benchmark's clinics, not {patients:,}:"
            " it was seeded with other --patients/--clinics (seed_volume skips clinics that"
            " exist). Remove its data folder (or use another DATABASE_URL) and run again."
        )
    what = f"{len(summary.clinic_ids)} clinics seeded" if summary.clinic_ids else "already seeded"
    print(
        f"\rseed: {patients:,} patients in {clinics} clinics ({what},"
        f" {time.perf_counter() - started:.1f} s)"
    )


async def count_patients(url: str, clinics: int, patients: int) -> int:
    ids = [spec.clinic_id for spec in volume_specs(42, clinics, patients)]
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        found = await connection.fetchval(
            "select count(*) from patients where clinic_id = any($1::uuid[])", ids
        )
    finally:
        await connection.close()
    return int(found)


async def load_fixture(url: str, clinics: int, patients: int) -> Fixture:
    clinic_id = volume_specs(42, clinics, patients)[0].clinic_id  # seed_volume's default seed
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        user = await connection.fetchrow(
            "select id, role from users where clinic_id = $1 and active"
            " and role in ('receptionist', 'admin')"
            " order by role = 'receptionist' desc, email limit 1",
            clinic_id,
        )
        if user is None:
            raise SystemExit(f"clinic {clinic_id} has no receptionist or admin: is it seeded?")
        identity = Identity(user["id"], clinic_id, Role(user["role"]))
        point_patient = await connection.fetchval(
            "select id from patients where clinic_id = $1 and email is not null"
            " order by id limit 1 offset 10",
            clinic_id,
        )
        mutation_patients = [
            row["id"]
            for row in await connection.fetch(
                "select id from patients where clinic_id = $1 order by name desc, id desc"
                f" limit {MUTATION_PATIENTS}",
                clinic_id,
            )
        ]
        physios = [
            row["id"]
            for row in await connection.fetch(
                "select id from physiotherapists where clinic_id = $1 order by name, id",
                clinic_id,
            )
        ]
        latest = await connection.fetchval(
            "select max(starts_at) from appointments where clinic_id = $1", clinic_id
        )
        # slot 0 a day after the floor and after anything a killed run left behind; the day
        # before slot 0 holds the slots of the answer check
        base = SLOT_FLOOR + timedelta(days=1)
        if latest is not None and latest + timedelta(days=2) > base:
            base = latest + timedelta(days=2)
        local = base.astimezone(CLINIC_TIME_ZONE)
        monday = local.date() + timedelta(days=(7 - local.weekday()) % 7)
        base = datetime(monday.year, monday.month, monday.day, tzinfo=CLINIC_TIME_ZONE)
        agenda_week = await connection.fetchval(
            "select date_trunc('week', date_trunc('day', min(starts_at) at time zone $3)"
            " + interval '6 days') at time zone $3 from appointments"
            " where clinic_id = $1 and status = any($2::text[]) and starts_at < $4",
            clinic_id,
            list(AGENDA_STATUSES),
            TIME_ZONE_NAME,
            SLOT_FLOOR,
        )
        year = await connection.fetchrow(
            "select (m - interval '12 months') at time zone $2 as from_, m at time zone $2 as to_"
            " from (select date_trunc('month', max(paid_at) at time zone $2)"
            " + interval '1 month' as m from payments where clinic_id = $1) last",
            clinic_id,
            TIME_ZONE_NAME,
        )
        if agenda_week is None or year is None or year["to_"] is None:
            raise SystemExit(f"clinic {clinic_id} has no future appointments or no payments")
        version = await connection.fetchval("show server_version")
    finally:
        await connection.close()
    return Fixture(
        clinic_id,
        identity,
        point_patient,
        mutation_patients,
        physios,
        base,
        agenda_week,
        (year["from_"], year["to_"]),
        str(version),
    )


async def remove_bench_appointments(url: str, clinic_id: uuid.UUID) -> int:
    """Delete what the mutation runs inserted (quietly, without audit/notify triggers, when the
    login may: a superuser's session_replication_role)."""
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        superuser = await connection.fetchval(
            "select rolsuper from pg_roles where rolname = current_user"
        )
        async with connection.transaction():
            if superuser:
                await connection.execute("set local session_replication_role = replica")
            status = await connection.execute(
                "delete from appointments where clinic_id = $1 and starts_at >= $2",
                clinic_id,
                SLOT_FLOOR,
            )
    finally:
        await connection.close()
    return int(status.split()[-1])


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ceiling_command(port: int) -> list[str]:
    app = ["--app-dir", str(ROOT / "bench"), "ceiling:create_app", "--factory"]
    options = ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    return [sys.executable, "-m", "uvicorn", *app, *options, "--log-level", "warning"]


def pinned(command: list[str], cpu: int | None) -> list[str]:
    if cpu is None:
        return command
    return ["taskset", "-c", str(cpu), *command]


@dataclass
class Target:
    name: str
    process: subprocess.Popen[bytes]
    base: str  # http://127.0.0.1:port
    graphql_path: dict[str, str]  # operation -> path
    log: Path

    def url(self, operation: str) -> str:
        return self.base + self.graphql_path[operation]

    def pause(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_target(
    name: str,
    command: list[str],
    env: dict[str, str],
    port: int,
    ready_path: str,
    paths: dict[str, str],
    log: Path,
) -> Target:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    target = Target(name, process, f"http://127.0.0.1:{port}", paths, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}; see {log}")
        try:
            if httpx.get(target.base + ready_path, timeout=2).status_code == 200:
                return target
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    target.stop()
    raise SystemExit(f"{name} did not become ready; see {log}")


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


@dataclass
class Bodies:
    fixture: Fixture
    token: str

    def read(self, operation: str, n: int = 0) -> dict[str, Any]:
        """The body of a read operation; the agenda's of the n-th physiotherapist."""
        fixture = self.fixture
        variables: dict[str, Any] = {}
        if operation == "point":
            variables = {"id": to_global_id("Patient", fixture.point_patient)}
        elif operation == "agenda":
            physio = fixture.physiotherapists[n % len(fixture.physiotherapists)]
            variables = {
                "physio": to_global_id("Physiotherapist", physio),
                "from": utc_text(fixture.agenda_week),
                "to": utc_text(fixture.agenda_week + timedelta(days=7)),
            }
        elif operation == "revenue":
            variables = {"from": utc_text(fixture.revenue_year[0])}
            variables["to"] = utc_text(fixture.revenue_year[1])
        return {"query": QUERIES[operation], "variables": variables}

    def variants(self, operation: str) -> list[dict[str, Any]]:
        """Every body a run of a read operation sends."""
        count = len(self.fixture.physiotherapists) if operation == "agenda" else 1
        return [self.read(operation, n) for n in range(count)]

    def schedule(
        self, slot: int, physio: int | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        fixture = self.fixture
        physios = fixture.physiotherapists
        starts_at = at or slot_start(fixture.slot_base, len(physios), slot)
        patients = fixture.mutation_patients
        return {
            "query": QUERIES["mutation"],
            "variables": {
                "input": {
                    "patientId": to_global_id("Patient", patients[slot % len(patients)]),
                    "physiotherapistId": to_global_id(
                        "Physiotherapist",
                        physios[(slot if physio is None else physio) % len(physios)],
                    ),
                    "startsAt": utc_text(starts_at),
                    "durationMinutes": SLOT_MINUTES,
                    "type": "SESSION",
                }
            },
        }

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def utc_text(moment: datetime) -> str:
    """A DateTime variable: UTC, seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def post(client: httpx.Client, target: Target, operation: str, body: dict[str, Any]) -> Any:
    response = client.post(target.url(operation), content=json.dumps(body))
    try:
        return response.json()
    except ValueError:
        return {"errors": [{"message": f"HTTP {response.status_code}: {response.text[:200]}"}]}


def first_difference(a: Any, b: Any, path: str = "data") -> str | None:
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'server' if key in a else 'ceiling'}"
            if found := first_difference(a[key], b[key], f"{path}.{key}"):
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)} items"
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            if found := first_difference(x, y, f"{path}[{n}]"):
                return found
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}"


def type_of_global_id(value: Any) -> str:
    text = str(value)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().split(":")[0]
    except ValueError:
        return f"malformed id {text!r}"


def check_answers(
    targets: dict[str, Target], bodies: Bodies, operations: list[str]
) -> dict[str, str]:
    """Each operation once on both; the first difference of their `data` (or "same")."""
    results: dict[str, str] = {}
    with httpx.Client(headers=bodies.headers, timeout=60) as client:
        for operation in operations:
            if operation == "mutation":
                # same time, two physiotherapists and two patients (neither may be booked
                # twice at once): both must succeed with the same answer
                at = bodies.fixture.slot_base + timedelta(hours=WORKING_HOURS[0][0].hour)
                answers = [
                    post(client, targets[name], operation, bodies.schedule(n, physio=n, at=at))
                    for n, name in enumerate(TARGETS)
                ]
                for answer in answers:
                    node = (answer.get("data") or {}).get("scheduleAppointment")
                    if isinstance(node, dict) and "id" in node:
                        node["id"] = type_of_global_id(node["id"])
            else:
                answers = [{"data": []}, {"data": []}]
                for body in bodies.variants(operation):  # one answer: the list of them all
                    for answer, name in zip(answers, TARGETS, strict=True):
                        one = post(client, targets[name], operation, body)
                        answer["data"].append(one.get("data"))
                        answer["errors"] = answer.get("errors") or one.get("errors")
                if operation in ("agenda", "revenue") and not any(
                    rows_of(data) for data in answers[1]["data"]
                ):
                    print(f"WARNING {operation}: the ceiling found no rows", flush=True)
            problems = [
                f"{name} answered errors: {json.dumps(answer.get('errors'))[:300]}"
                for name, answer in zip(TARGETS, answers, strict=True)
                if answer.get("errors") or answer.get("data") is None
            ]
            difference = first_difference(answers[0].get("data"), answers[1].get("data"))
            if difference:
                problems.append(f"different data: {difference}")
            results[operation] = "; ".join(problems) or "same"
    return results


def rows_of(data: Any) -> int:
    """Edges or groups in an agenda or revenue answer."""
    if not isinstance(data, dict):
        return 0
    root = data.get("appointments") or data.get("paymentsAggregate") or {}
    return len(root.get("edges") or root.get("groups") or [])


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else math.nan


def statements_per_request(
    targets: dict[str, Target], bodies: Bodies, operations: list[str], samples: int, slots: Slots
) -> dict[tuple[str, str], str]:
    """SQL statements per request: sequential requests, the targets' own counters' deltas."""
    found: dict[tuple[str, str], str] = {}
    with httpx.Client(headers=bodies.headers, timeout=60) as client:

        def server_counters() -> tuple[float, float, float]:
            text = client.get(targets["server"].base + "/metrics").text
            name = "fisioflow_sql_statements_per_request"
            return metric(text, f"{name}_sum"), metric(text, f"{name}_count"), math.nan

        def ceiling_counters() -> tuple[float, float, float]:
            stats = client.get(targets["ceiling"].base + "/stats").json()
            return stats["statements"], stats["requests"], stats["round_trips"]

        for operation in operations:
            for name in TARGETS:
                before = server_counters() if name == "server" else ceiling_counters()
                for _ in range(samples):
                    if operation == "mutation":
                        body = bodies.schedule(slots.take(1))
                    else:
                        body = bodies.read(operation)
                    post(client, targets[name], operation, body)
                after = server_counters() if name == "server" else ceiling_counters()
                statements, requests = after[0] - before[0], after[1] - before[1]
                if math.isnan(statements) or requests <= 0:
                    found[operation, name] = "n/a"
                    continue
                value = f"{statements / requests:.1f}"
                if name == "ceiling":
                    value += f" ({(after[2] - before[2]) / requests:.0f} rt)"
                found[operation, name] = value
    return found


# ---------------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    timeouts: int
    socket_errors: int
    load_average: float
    raw: dict[str, Any] = field(default_factory=dict)


def write_script(
    folder: Path, operation: str, target: str, bodies: Bodies, slots: Slots, threads: int
) -> tuple[Path, int]:
    """The Lua script of one wrk run; for the mutation, the slot number it starts at."""
    offset = 0
    if operation == "mutation":
        fixture = bodies.fixture
        template = json.dumps(bodies.schedule(0)).replace("%", "%%")
        data = bodies.schedule(0)["variables"]["input"]
        for key in ("patientId", "physiotherapistId", "startsAt"):
            template = template.replace(json.dumps(data[key]), '"%s"', 1)
        offset = slots.next
        script = (
            LUA_MUTATION.replace("__THREADS__", str(threads))
            .replace("__BASE__", str(int(fixture.slot_base.timestamp())))
            .replace("__OFFSET__", str(offset))
            .replace("__SLOT_SECONDS__", str(SLOT_MINUTES * 60))
            .replace("__AFTERNOON_SECONDS__", str(AFTERNOON[0].hour * 3600))
            .replace("__SLOTS_PER_DAY__", str(SLOTS_PER_DAY))
            .replace(
                "__PATIENTS__",
                lua_string_list([to_global_id("Patient", p) for p in fixture.mutation_patients]),
            )
            .replace(
                "__PHYSIOS__",
                lua_string_list(
                    [to_global_id("Physiotherapist", p) for p in fixture.physiotherapists]
                ),
            )
            .replace("__TEMPLATE__", template)
        )
    elif operation == "agenda":
        body = bodies.read(operation)
        physio = body["variables"]["physio"]
        template = json.dumps(body).replace("%", "%%").replace(json.dumps(physio), '"%s"', 1)
        ids = [variant["variables"]["physio"] for variant in bodies.variants(operation)]
        script = (
            LUA_ROTATING.replace("__THREADS__", str(threads))
            .replace("__IDS__", lua_string_list(ids))
            .replace("__TEMPLATE__", template)
        )
    else:
        script = LUA_STATIC.replace("__BODY__", json.dumps(bodies.read(operation)))
    script = script.replace("__TOKEN__", bodies.token) + LUA_COMMON
    path = folder / f"{operation}-{target}.lua"
    path.write_text(script)
    return path, offset


def run_wrk(
    url: str,
    script: Path,
    seconds: int,
    connections: int,
    threads: int,
    cpu: int | None,
) -> dict[str, Any]:
    command = pinned(
        [
            "wrk",
            "--latency",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url,
        ],
        cpu,
    )
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    match = re.search(r"^BENCH (\{.*\})$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or not match:
        raise SystemExit(f"wrk failed:\n{completed.stdout}\n{completed.stderr}")
    stats: dict[str, Any] = json.loads(match.group(1))
    stats["output"] = completed.stdout
    return stats


def measure(
    target: Target,
    other: Target,
    operation: str,
    bodies: Bodies,
    slots: Slots,
    args: argparse.Namespace,
    folder: Path,
    wrk_cpu: int | None,
    warmup: int,
) -> Result:
    """A warm-up run (unless `warmup` is 0), then the timed run; `other` paused meanwhile."""
    other.pause()
    try:
        stats: dict[str, Any] = {}
        for seconds in (warmup, args.duration):
            if seconds <= 0:
                continue
            load = os.getloadavg()[0]
            script, offset = write_script(
                folder, operation, target.name, bodies, slots, args.threads
            )
            stats = run_wrk(
                target.url(operation), script, seconds, args.connections, args.threads, wrk_cpu
            )
            if operation == "mutation":
                slots.next = max(slots.next, offset + stats["max_counter"] * stats["threads"])
    finally:
        other.resume()
    seconds_run = stats["duration_us"] / 1e6
    return Result(
        requests_per_second=stats["requests"] / seconds_run if seconds_run else 0.0,
        p50_ms=stats["p50_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        requests=stats["requests"],
        errors=stats["errors"],
        timeouts=stats["timeouts"],
        socket_errors=stats["socket_errors"],
        load_average=load,
        raw={k: v for k, v in stats.items() if k != "output"},
    )


def median_run(runs: list[Result]) -> Result:
    """The run with the median req/s (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda run: run.requests_per_second)
    return ordered[(len(ordered) - 1) // 2]


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_table(
    results: dict[tuple[str, str], Result],
    statements: dict[tuple[str, str], str],
    checks: dict[str, str],
    operations: list[str],
) -> None:
    header = ("operation", "target", "req/s", "p50 ms", "p99 ms", "SQL/req", "errors", "ratio")
    rows: list[tuple[str, ...]] = [header]
    for operation in operations:
        server, ceiling = results[operation, "server"], results[operation, "ceiling"]
        ratio = server.requests_per_second / ceiling.requests_per_second
        for name, result in (("server", server), ("ceiling", ceiling)):
            errors = str(result.errors)
            if result.timeouts or result.socket_errors:
                errors += f" (+{result.timeouts} timeouts, {result.socket_errors} socket)"
            rows.append(
                (
                    LABELS[operation] if name == "server" else "",
                    name,
                    f"{result.requests_per_second:,.0f}",
                    f"{result.p50_ms:.1f}",
                    f"{result.p99_ms:.1f}",
                    statements.get((operation, name), "n/a"),
                    f"{errors}/{result.requests}",
                    f"{ratio:.2f}" if name == "server" else "",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    numeric = {2, 3, 4, 7}
    for n, row in enumerate(rows):
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for operation in operations:
        if checks.get(operation, "same") != "same":
            print(f"WARNING {operation}: {checks[operation]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=20_000, help="patients at scale 1")
    parser.add_argument("--clinics", type=int, default=10)
    parser.add_argument("--duration", type=int, default=10, help="seconds per timed run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--scale", type=int, choices=(1, 10), default=1)
    parser.add_argument("--sql-samples", type=int, default=20)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="timed runs per operation and target, alternating;"
        " the table shows the run with the median req/s",
    )
    parser.add_argument("--operations", default=",".join(OPERATIONS))
    parser.add_argument(
        "--pgbouncer",
        type=int,
        metavar="POOL_SIZE",
        help="serve through Debian's PgBouncer in transaction mode with POOL_SIZE server"
        " connections (FISIOFLOW_POOLER=transaction); the ceiling stays on direct connections",
    )
    parser.add_argument(
        "--ceiling-round-trips",
        type=int,
        choices=(1, 3, 4),
        default=3,
        help="3: BEGIN+identity, statement, COMMIT (a hand-written service); 1: the server's"
        " own one-call technique (gql_execute); 4: PostGraphile's",
    )
    args = parser.parse_args()
    operations = [op.strip() for op in args.operations.split(",") if op.strip()]
    if unknown := set(operations) - set(OPERATIONS):
        parser.error(f"unknown operations: {', '.join(sorted(unknown))}")
    operations = [op for op in OPERATIONS if op in operations]  # the mutation runs last
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    command_line = shlex.join([".venv/bin/python", "bench/run.py", *sys.argv[1:]])
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    can_pin = len(cpus) >= 2 and shutil.which("taskset") is not None
    app_cpu, wrk_cpu = (cpus[0], cpus[1]) if can_pin else (None, None)
    patients = args.patients * args.scale
    folder = data_folder(args.scale)
    folder.mkdir(parents=True, exist_ok=True)
    scripts = Path(tempfile.mkdtemp(prefix="lua-", dir=folder))

    with database(args.scale) as url, pooled(url, args.pgbouncer) as server_env:
        migrate.upgrade(url)
        seed(url, args.clinics, patients)
        fixture = asyncio.run(load_fixture(url, args.clinics, patients))
        secret = secrets.token_urlsafe(48)
        token = issue_token(fixture.identity, secret, 24 * 3600)[0]
        bodies = Bodies(fixture, token)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "FISIOFLOW_JWT_SECRET": secret,
            "CEILING_ROUND_TRIPS": str(args.ceiling_round_trips),
        }
        slots = Slots()
        targets: dict[str, Target] = {}
        try:
            port = free_port()
            targets["server"] = start_target(
                "server",
                pinned([FISIOFLOW, "serve", "--port", str(port)], app_cpu),
                {**env, **server_env},
                port,
                "/readyz",
                dict.fromkeys(OPERATIONS, "/graphql"),
                folder / "server.log",
            )
            port = free_port()
            targets["ceiling"] = start_target(
                "ceiling",
                pinned(ceiling_command(port), app_cpu),
                env,
                port,
                "/healthz",
                {op: f"/graphql/{op}" for op in OPERATIONS},
                folder / "ceiling.log",
            )
            print("checking that both give the same answers ...", flush=True)
            checks = check_answers(targets, bodies, operations)
            for operation, verdict in checks.items():
                if verdict != "same":
                    print(f"WARNING {operation}: {verdict}", flush=True)
            print("counting SQL statements per request ...", flush=True)
            statements = statements_per_request(
                targets, bodies, operations, args.sql_samples, slots
            )
            load_before = os.getloadavg()
            runs: dict[tuple[str, str], list[Result]] = {}
            for operation in operations:
                for repeat in range(args.repeat):
                    for name in TARGETS:
                        other = targets["ceiling" if name == "server" else "server"]
                        print(
                            f"wrk: {operation} on {name} ({repeat + 1}/{args.repeat}) ...",
                            flush=True,
                        )
                        result = measure(
                            targets[name],
                            other,
                            operation,
                            bodies,
                            slots,
                            args,
                            scripts,
                            wrk_cpu,
                            args.warmup if repeat == 0 else 0,
                        )
                        runs.setdefault((operation, name), []).append(result)
            results = {key: median_run(value) for key, value in runs.items()}
            load_after = os.getloadavg()
        finally:
            for target in targets.values():
                target.stop()
            shutil.rmtree(scripts, ignore_errors=True)
            if "mutation" in operations:
                removed = asyncio.run(remove_bench_appointments(url, fixture.clinic_id))
                print(f"removed the {removed:,} appointments the run scheduled")

    print()
    print_table(results, statements, checks, operations)
    print()
    print(
        f"machine: {len(cpus) or os.cpu_count()} CPUs ({cpu_model()}), PostgreSQL"
        f" {fixture.pg_version}, Python {platform.python_version()}"
    )
    pinning = (
        f"server and ceiling on CPU {app_cpu}, wrk on CPU {wrk_cpu}, PostgreSQL unpinned"
        if can_pin
        else "no CPU pinning (fewer than 2 CPUs or no taskset)"
    )
    print(f"pinning: {pinning}; the idle target is paused (SIGSTOP) during the other's runs")
    print(
        "load average (1/5/15 min): before runs "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + " ".join(f"{x:.2f}" for x in load_after)
    )
    print(
        f"data: {patients:,} patients in {args.clinics} clinics; caller: "
        f"{fixture.identity.role.value} of the first clinic; wrk -t{args.threads}"
        f" -c{args.connections} -d{args.duration}s after a {args.warmup} s warm-up"
        + (f", median of {args.repeat} alternating runs" if args.repeat > 1 else "")
    )
    print(
        "SQL/req: server = its /metrics statements per request (its fast path: one call of"
        " gql_execute); ceiling = statements (round trips incl. BEGIN/COMMIT);"
        f" ceiling round trips: {args.ceiling_round_trips}"
    )
    print(f"command: {command_line}")
    report = {
        "command": command_line,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": len(cpus) or os.cpu_count(),
            "cpu_model": cpu_model(),
            "postgresql": fixture.pg_version,
            "ceiling_round_trips": args.ceiling_round_trips,
            "load_before": load_before,
            "load_after": load_after,
        },
        "checks": checks,
        "results": [
            {
                "operation": operation,
                "target": name,
                "sql_per_request": statements.get((operation, name)),
                **{k: v for k, v in vars(result).items() if k != "raw"},
                "wrk": result.raw,
                "all_runs_requests_per_second": [
                    run.requests_per_second for run in runs[operation, name]
                ],
            }
            for (operation, name), result in results.items()
        ],
    }
    (folder / "last-run.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
