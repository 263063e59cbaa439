"""`node`/`nodes`: one statement per type whatever the number of ids, order kept, and null
for whatever row-level security hides (checked against RLS itself, at SQL level)."""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event
from starlette.applications import Starlette

from graph.core.identity import Identity, Role
from graph.core.ids import to_global_id
from graph.schema import schema
from graph.security.auth import issue_token
from graph.sql import migrate
from models.declarations import DECLARATIONS
from resolvers.objects import is_node
from seed.volume import seed_volume
from tests.support.apps import JWT_SECRET, ROUTES, client_of, custom_app, route_settings
from tests.support.database import create_database, drop_database, plain_dsn
from tests.support.graphql_client import StatementCounter, error_codes, graphql

TABLES = {
    "Clinic": "clinics",
    "Patient": "patients",
    "Physiotherapist": "physiotherapists",
    "Appointment": "appointments",
    "AppointmentSeries": "appointment_series",
    "Payment": "payments",
    "Prontuario": "prontuarios",
    "VitalSigns": "vital_signs",
    "Exercise": "exercises",
    "ExercisePrescription": "exercise_prescriptions",
    "ExerciseExecution": "exercise_executions",
    "Consent": "consents",
    "DataSubjectRequest": "data_subject_requests",
    "ComplianceCheck": "compliance_checks",
    "ComplianceIssue": "compliance_issues",
    "AuditEntry": "audit_log",
    "AppointmentStatusChange": "appointment_status_changes",
}
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }"


class Seeded:
    def __init__(self, url: str, admin: Identity, physio: Identity, other_clinic: uuid.UUID):
        self.url = url
        self.admin = admin
        self.physio = physio
        self.other_clinic = other_clinic


@pytest.fixture(scope="module")
async def seeded(server_url: str) -> AsyncIterator[Seeded]:
    """Two seeded clinics with rows of every Node type (audit entries and data-subject
    requests added here: the seed writes none)."""
    url = await create_database(server_url)
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_volume(plain_dsn(url), 2, 60)
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        await conn.execute(
            "insert into data_subject_requests (clinic_id, patient_id, kind, due_at)"
            " select clinic_id, id, 'access', now() + interval '15 days' from patients"
        )
        await conn.execute("update patients set name = name || ' '")  # audited changes
        users = await conn.fetch(
            "select id, clinic_id, role, physiotherapist_id from users"
            " where role in ('admin', 'physiotherapist') order by clinic_id, role, email"
        )
    finally:
        await conn.close()
    clinic = users[0]["clinic_id"]
    admin = next(u for u in users if u["clinic_id"] == clinic and u["role"] == "admin")
    physio = next(u for u in users if u["clinic_id"] == clinic and u["role"] != "admin")
    yield Seeded(
        url,
        Identity(admin["id"], clinic, Role.ADMIN),
        Identity(physio["id"], clinic, Role.PHYSIOTHERAPIST, physio["physiotherapist_id"]),
        next(u["clinic_id"] for u in users if u["clinic_id"] != clinic),
    )
    await drop_database(server_url, url)


@pytest.fixture(scope="module", params=ROUTES)
async def app(request: pytest.FixtureRequest, seeded: Seeded) -> AsyncIterator[Starlette]:
    """Direct, and through PgBouncer in transaction mode: what RLS hides stays hidden both ways."""
    async with custom_app(**route_settings(request, seeded.url)) as application:
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as c:
        yield c


@pytest.fixture
def statements(app: Starlette) -> AsyncIterator[StatementCounter]:
    counter = StatementCounter()
    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    app.state.fast_path.statement_listeners.append(counter.fast_read)
    yield counter
    app.state.fast_path.statement_listeners.remove(counter.fast_read)
    event.remove(engine, "before_cursor_execute", counter)


async def ids_of(seeded: Seeded, type_name: str, clinic: uuid.UUID, limit: int) -> list[Any]:
    table = TABLES[type_name]
    conn = await asyncpg.connect(plain_dsn(seeded.url))
    try:
        column = "id" if table == "clinics" else "clinic_id"
        shared = " or clinic_id is null" if table == "exercises" else ""  # the shared library
        rows = await conn.fetch(
            f"select id from {table} where {column} = $1{shared} order by id limit $2",
            clinic,
            limit,
        )
    finally:
        await conn.close()
    return [row["id"] for row in rows]


async def visible(seeded: Seeded, who: Identity, type_name: str, ids: list[Any]) -> set[Any]:
    """Of `ids`, those row-level security shows `who` (as the request's transaction runs)."""
    conn = await asyncpg.connect(plain_dsn(seeded.url))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL ROLE fisioflow_app")
            await conn.execute(
                "select set_config('app.user_id', $1, true), set_config('app.clinic_id', $2, true),"
                " set_config('app.role', $3, true), set_config('app.physiotherapist_id', $4, true),"
                " set_config('app.patient_id', '', true)",
                str(who.user_id),
                str(who.clinic_id),
                who.role.value,
                str(who.physiotherapist_id or ""),
            )
            rows = await conn.fetch(
                f"select id from {TABLES[type_name]} where id = any($1)", list(set(ids))
            )
    finally:
        await conn.close()
    return {row["id"] for row in rows}


def unknown_id(type_name: str, rng: random.Random) -> Any:
    global_id = DECLARATIONS[type_name].global_id
    assert global_id is not None
    return rng.randrange(10**12, 2**62) if global_id.kind == "int" else uuid.uuid4()


async def sixty_ids(seeded: Seeded, type_name: str) -> list[Any]:
    """Up to 40 of the caller's clinic, up to 10 of the other clinic, a repeat, then ids of
    no row: 60 in a shuffled order."""
    rng = random.Random(type_name)
    mine = await ids_of(seeded, type_name, seeded.admin.clinic_id, 40)
    theirs = await ids_of(seeded, type_name, seeded.other_clinic, 10)
    ids = [*mine, *theirs, *mine[:1]]
    ids += [unknown_id(type_name, rng) for _ in range(60 - len(ids))]
    rng.shuffle(ids)
    return ids


def test_every_node_type_is_covered() -> None:
    assert schema  # assembled: every area's types are registered
    assert set(TABLES) == {name for name in DECLARATIONS if is_node(name)}


@pytest.mark.parametrize("type_name", sorted(TABLES))
@pytest.mark.parametrize("role", ["admin", "physio"])
async def test_sixty_ids_of_a_type_cost_one_statement(
    client: httpx.AsyncClient,
    statements: StatementCounter,
    seeded: Seeded,
    type_name: str,
    role: str,
) -> None:
    who = seeded.admin if role == "admin" else seeded.physio
    ids = await sixty_ids(seeded, type_name)
    shown = await visible(seeded, who, type_name, ids)
    if role == "admin":
        assert shown, f"the admin sees some {type_name}"
    global_ids = [to_global_id(type_name, i) for i in ids]
    statements.reset()
    body = await graphql(
        client, NODES, {"ids": global_ids}, token=issue_token(who, JWT_SECRET, 600)[0]
    )
    assert "errors" not in body, body
    expected = [
        {"id": global_id, "__typename": type_name} if local in shown else None
        for local, global_id in zip(ids, global_ids, strict=True)
    ]
    assert body["data"]["nodes"] == expected
    reads = [s for s in statements.statements if f"FROM {TABLES[type_name]}" in s]
    assert len(reads) == 1, statements.statements
    # The identity round trip, the read, and for audited types (prontuários, vital signs)
    # the one read-audit INSERT.
    audited = DECLARATIONS[type_name].audited and bool(shown)
    assert statements.count == 2 + audited, statements.statements


async def test_a_mix_of_every_type_costs_one_statement_per_type(
    client: httpx.AsyncClient, statements: StatementCounter, seeded: Seeded
) -> None:
    ids: list[tuple[str, Any]] = []
    per_type = 100 // len(TABLES)  # nodes(ids:) takes at most a page
    for type_name in sorted(TABLES):
        ids += [(type_name, i) for i in (await sixty_ids(seeded, type_name))[:per_type]]
    random.Random(7).shuffle(ids)
    assert len(ids) == per_type * len(TABLES)
    global_ids = [to_global_id(t, i) for t, i in ids]
    statements.reset()
    body = await graphql(
        client, NODES, {"ids": global_ids}, token=issue_token(seeded.admin, JWT_SECRET, 600)[0]
    )
    found = body["data"]["nodes"]
    shown = {
        type_name: await visible(
            seeded, seeded.admin, type_name, [i for t, i in ids if t == type_name]
        )
        for type_name in TABLES
    }
    assert found == [
        {"id": global_id, "__typename": type_name} if local in shown[type_name] else None
        for (type_name, local), global_id in zip(ids, global_ids, strict=True)
    ]
    assert sum(map(len, shown.values())) > len(TABLES)
    for type_name, table in TABLES.items():
        reads = [s for s in statements.statements if f"FROM {table}" in s]
        assert len(reads) == 1, (type_name, statements.statements)
    shown_types = {node["__typename"] for node in found if node}
    audited = sum(DECLARATIONS[type_name].audited for type_name in shown_types)
    assert statements.count == 1 + len(TABLES) + audited, statements.statements


async def test_nodes_takes_at_most_a_page_of_ids(client: httpx.AsyncClient, seeded: Seeded) -> None:
    token = issue_token(seeded.admin, JWT_SECRET, 600)[0]
    clinic = to_global_id("Clinic", seeded.admin.clinic_id)
    page = await graphql(client, NODES, {"ids": [clinic] * 100}, token=token)
    assert page["data"]["nodes"] == [{"id": clinic, "__typename": "Clinic"}] * 100
    over = await graphql(client, NODES, {"ids": [clinic] * 101}, token=token)
    assert error_codes(over) == ["BAD_USER_INPUT"]
    assert over["errors"][0]["extensions"]["field"] == "ids"


async def test_malformed_and_foreign_ids_are_null(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    token = issue_token(seeded.admin, JWT_SECRET, 600)[0]
    ids = [
        "garbage",
        "",
        to_global_id("Patient", "not-a-uuid"),
        to_global_id("AuditEntry", "-1"),
        to_global_id("AuditEntry", str(2**70)),
        to_global_id("NoSuchType", uuid.uuid4()),
        to_global_id("Clinic", seeded.other_clinic),
        to_global_id("Clinic", seeded.admin.clinic_id),
    ]
    body = await graphql(client, NODES, {"ids": ids}, token=token)
    assert body["data"]["nodes"] == [None] * 7 + [{"id": ids[-1], "__typename": "Clinic"}]
