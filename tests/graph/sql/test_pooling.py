"""Behind PgBouncer in transaction mode (graph/sql/pooling.py): a pool of 2 server connections
shared by many more concurrent requests of three identities, each answer holding its own
caller's data only; nothing (settings, role, prepared statements) left on the server sessions;
subscriptions delivered through the LISTEN connection on the direct URL."""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from graph.core.ids import parse_global_id
from tests.support.apps import client_of, custom_app
from tests.support.database import plain_dsn
from tests.support.factories import ClinicWorld, make_clinic, session_booking
from tests.support.graphql_client import graphql
from tests.support.pgbouncer import POOL_SIZE, PgBouncer
from tests.support.servers import serving
from tests.support.subscribers import subscribed

# Both paths: `me` runs through the resolvers; the named list query is compiled, so from its
# second run on it takes the fast path (gql_execute_statement, no prepared statement).
WHO = "{ me { email clinic { name } } patients(first: 100) { edges { node { id } } } }"
LIST = "query HammerList { patients(first: 100) { totalCount edges { node { id name } } } }"
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id physiotherapist { name } } }"""
CONCURRENT = 30  # clients at once, against POOL_SIZE server connections


@pytest.fixture(scope="module")
async def pooled_app(bouncer: PgBouncer, database_url: str) -> AsyncIterator[Starlette]:
    settings = {"pooler": "transaction", "direct_database_url": database_url}
    async with custom_app(bouncer.url_for(database_url), **settings) as app:
        yield app


@pytest.fixture
async def pooled(pooled_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(pooled_app) as client:
        yield client


async def test_three_identities_over_two_server_connections_never_leak(
    pooled_app: Starlette, pooled: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    assert POOL_SIZE < CONCURRENT
    one = await make_clinic(superuser, "Clínica Pool Um")
    two = await make_clinic(superuser, "Clínica Pool Dois")
    callers: list[tuple[ClinicWorld, str, str]] = [
        (one, "admin", "Clínica Pool Um"),
        (two, "receptionist", "Clínica Pool Dois"),
        (one, "patient", "Clínica Pool Um"),
    ]
    expected = [
        {str(p) for p in one.patient_ids},
        {str(p) for p in two.patient_ids},
        {str(one.patient_ids[0])},
    ]
    fast: list[str] = []
    pooled_app.state.fast_path.statement_listeners.append(fast.append)
    order = [random.Random(17).randrange(len(callers)) for _ in range(240)]
    gate = asyncio.Semaphore(CONCURRENT)

    async def call(step: int, index: int) -> None:
        world, role, clinic = callers[index]
        token = world.token(getattr(world, role))
        async with gate:
            if step % 2:
                body = await graphql(pooled, WHO, token=token)
                assert body["data"]["me"]["email"] == world.emails[role]
                assert body["data"]["me"]["clinic"]["name"] == clinic
            else:
                body = await graphql(pooled, LIST, token=token)
                assert body["data"]["patients"]["totalCount"] == len(expected[index])
        seen = {parse_global_id(e["node"]["id"])[1] for e in body["data"]["patients"]["edges"]}
        assert seen == expected[index], (role, clinic)

    try:
        await asyncio.gather(*(call(step, i) for step, i in enumerate(order)))
    finally:
        pooled_app.state.fast_path.statement_listeners.remove(fast.append)
    assert fast, "the compiled list query never took the fast path"


async def test_compiled_mutations_commit_through_the_pooler(
    pooled: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """The fast path's own transaction (BEGIN ... COMMIT) commits a compiled mutation; a
    second booking of the slot is refused, as on a direct connection."""
    world = await make_clinic(superuser, "Clínica Pool Agenda")
    starts = datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=3)
    token = world.token(world.receptionist)
    ids = []
    for hour in range(3):  # the first runs on the resolvers, the next ones on the fast path
        booking = session_booking(world, starts + timedelta(hours=hour))
        body = await graphql(pooled, SCHEDULE, {"input": booking}, token=token)
        assert "errors" not in body, body
        ids.append(parse_global_id(body["data"]["scheduleAppointment"]["id"])[1])
    stored = await superuser.fetchval(
        "select count(*) from appointments where id = any($1::uuid[])", [uuid.UUID(i) for i in ids]
    )
    assert stored == 3
    taken = await graphql(
        pooled, SCHEDULE, {"input": session_booking(world, starts + timedelta(hours=2))}, token
    )
    assert taken["data"] is None
    assert taken["errors"][0]["extensions"]["code"] == "SLOT_UNAVAILABLE"


async def test_no_session_state_survives_on_the_server_connections(
    pooled: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    bouncer: PgBouncer,
    database_url: str,
) -> None:
    """After requests of several identities, every server connection PgBouncer holds is as a
    new one: no identity setting, no role, no prepared statement."""
    world = await make_clinic(superuser, "Clínica Pool Limpa")
    for who in (world.admin, world.physio, world.patient) * 3:
        for query in (LIST, WHO):
            body = await graphql(pooled, query, token=world.token(who))
            assert "errors" not in body, body
    # As many clients in a transaction at once as the pool has servers: each holds one.
    clients = [
        await asyncpg.connect(plain_dsn(bouncer.url_for(database_url)), statement_cache_size=0)
        for _ in range(POOL_SIZE)
    ]
    try:
        transactions = [client.transaction() for client in clients]
        for transaction in transactions:
            await transaction.start()
        states = [
            await client.fetchrow(
                "select pg_backend_pid() as pid, current_user as role,"
                " current_setting('app.user_id', true) as user_id,"
                " current_setting('app.clinic_id', true) as clinic_id,"
                " (select count(*) from pg_prepared_statements) as prepared"
            )
            for client in clients
        ]
        for transaction in transactions:
            await transaction.rollback()
    finally:
        for client in clients:
            await client.close()
    assert len({state["pid"] for state in states}) == POOL_SIZE
    for state in states:
        assert state["role"] != "fisioflow_app"
        assert not state["user_id"] and not state["clinic_id"]
        assert state["prepared"] == 0


async def test_subscriptions_listen_on_the_direct_connection(
    pooled_app: Starlette, superuser: asyncpg.Connection
) -> None:
    """LISTEN through a transaction-mode pooler would hear nothing once its transaction
    ends; the broker listens on FISIOFLOW_DIRECT_DATABASE_URL and events arrive."""
    world = await make_clinic(superuser, "Clínica Pool Eventos")
    query = "subscription { appointmentChanged { op appointment { id } } }"
    async with serving(pooled_app) as ws:
        connection, subscription = await subscribed(ws, world.token(world.receptionist), query)
        try:
            http = ws.replace("ws://", "http://")
            async with httpx.AsyncClient() as client:
                starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)
                response = await client.post(
                    http,
                    json={
                        "query": SCHEDULE,
                        "variables": {"input": session_booking(world, starts)},
                    },
                    headers={"Authorization": f"Bearer {world.token(world.receptionist)}"},
                )
            created = response.json()["data"]["scheduleAppointment"]["id"]
            event = (await subscription.data())["appointmentChanged"]
            assert event == {"op": "CREATED", "appointment": {"id": created}}
        finally:
            await connection.close()
