"""Resumable subscriptions (`after` / `cursor`) against a running `fisioflow serve`, through the
third-party `gql` client: exactly the missed events, then live ones, under the subscriber's own
RLS and filters; CURSOR_EXPIRED past the retention; BAD_USER_INPUT for anything else.

The module has a database of its own: its retention purge moves the log's horizon for
everyone reading that log.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from graph.core.ids import to_global_id
from graph.realtime.retention import Retention
from graph.sql import migrate
from graph.sql.database import create_engine
from tests.support.database import create_database, drop_database, plain_dsn
from tests.support.factories import (
    ClinicWorld,
    add_execution,
    add_payment,
    add_prescription,
    make_clinic,
)
from tests.support.servers import Server, running_server
from tests.support.subscribers import Connection, Subscription

PAYMENTS = """subscription($patient: ID, $after: String) {
  paymentChanged(patientId: $patient, after: $after) { op cursor payment { id status } }
}"""
EXECUTIONS = """subscription($after: String) {
  exerciseExecutionLogged(after: $after) { id cursor painLevel }
}"""
COMPLIANCE = "subscription($after: String) { complianceStatusChanged(after: $after) { cursor } }"


@pytest.fixture(scope="module")
async def resume_url(server_url: str) -> AsyncIterator[str]:
    url = await create_database(server_url)
    await asyncio.to_thread(migrate.upgrade, url)
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
def server(resume_url: str) -> Iterator[Server]:
    with running_server(resume_url) as s:
        yield s


@pytest.fixture
async def db(resume_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(plain_dsn(resume_url))
    yield connection
    await connection.close()


async def _subscribe(
    server: Server, token: str, query: str, variables: dict[str, Any] | None = None
) -> tuple[Connection, Subscription]:
    connection = await Connection.open(server.ws, token)
    return connection, await connection.subscribe(query, variables or {})


async def _payments(subscription: Subscription, count: int) -> list[dict[str, Any]]:
    return [(await subscription.data())["paymentChanged"] for _ in range(count)]


def _gid(payment_id: uuid.UUID) -> str:
    return to_global_id("Payment", payment_id)


async def _live_cursor(server: Server, db: asyncpg.Connection, world: ClinicWorld) -> str:
    """A cursor the clinic's admin received for a payment of its first patient, live."""
    connection, subscription = await _subscribe(server, world.token(world.admin), PAYMENTS)
    paid = await add_payment(db, world, world.patient_ids[0])
    (event,) = await _payments(subscription, 1)
    await connection.close()
    assert event["payment"]["id"] == _gid(paid)
    cursor: str = event["cursor"]
    return cursor


async def test_a_resumed_subscription_gets_exactly_the_missed_events_then_live_ones(
    server: Server, db: asyncpg.Connection
) -> None:
    world = await make_clinic(db)
    token = world.token(world.admin)
    connection, subscription = await _subscribe(server, token, PAYMENTS)
    seen = [await add_payment(db, world, world.patient_ids[i]) for i in range(2)]
    received = await _payments(subscription, 2)
    assert [e["payment"]["id"] for e in received] == [_gid(p) for p in seen]
    assert len({e["cursor"] for e in received}) == 2
    await connection.close()

    missed = [await add_payment(db, world, world.patient_ids[i]) for i in range(2)]
    await db.execute(
        "update payments set status = 'paid', paid_at = now() where id = $1", missed[0]
    )

    connection, resumed = await _subscribe(
        server, token, PAYMENTS, {"after": received[-1]["cursor"]}
    )
    live = await add_payment(db, world, world.patient_ids[3])
    events = await _payments(resumed, 4)
    # In commit order; the log keeps ids, so the first one shows its row as it is now (paid).
    assert [(e["op"], e["payment"]["id"], e["payment"]["status"]) for e in events] == [
        ("CREATED", _gid(missed[0]), "PAID"),
        ("CREATED", _gid(missed[1]), "PENDING"),
        ("UPDATED", _gid(missed[0]), "PAID"),
        ("CREATED", _gid(live), "PENDING"),
    ]
    # Resuming from any delivered cursor continues right after it.
    second, again = await _subscribe(server, token, PAYMENTS, {"after": events[1]["cursor"]})
    tail = await _payments(again, 2)
    assert [e["cursor"] for e in tail] == [e["cursor"] for e in events[2:]]
    await second.close()
    await connection.close()


async def test_a_patient_resumes_only_with_what_their_rls_and_filter_allow(
    server: Server, db: asyncpg.Connection
) -> None:
    world = await make_clinic(db)
    own, other = world.patient_ids[0], world.patient_ids[1]
    cursor = await _live_cursor(server, db, world)
    theirs = [await add_payment(db, world, own), await add_payment(db, world, own)]
    await add_payment(db, world, other)

    patient_connection, patient = await _subscribe(
        server, world.token(world.patient), PAYMENTS, {"after": cursor}
    )
    filtered_connection, filtered = await _subscribe(
        server,
        world.token(world.receptionist),
        PAYMENTS,
        {"after": cursor, "patient": to_global_id("Patient", own)},
    )
    await add_payment(db, world, other)  # live, not theirs either
    sentinel = await add_payment(db, world, own)
    expected = [_gid(p) for p in [*theirs, sentinel]]
    for subscription in (patient, filtered):
        assert [e["payment"]["id"] for e in await _payments(subscription, 3)] == expected
    await patient_connection.close()
    await filtered_connection.close()


async def test_another_clinics_cursor_gives_nothing_of_that_clinic(
    server: Server, db: asyncpg.Connection
) -> None:
    first, second = await make_clinic(db), await make_clinic(db)
    cursor = await _live_cursor(server, db, first)
    await add_payment(db, first, first.patient_ids[0])
    own = await add_payment(db, second, second.patient_ids[0])
    connection, subscription = await _subscribe(
        server, second.token(second.admin), PAYMENTS, {"after": cursor}
    )
    await add_payment(db, first, first.patient_ids[0])
    live = await add_payment(db, second, second.patient_ids[1])
    events = await _payments(subscription, 2)
    assert [e["payment"]["id"] for e in events] == [_gid(own), _gid(live)]
    await connection.close()


async def test_the_other_topics_carry_cursors_and_resume(
    server: Server, db: asyncpg.Connection
) -> None:
    world = await make_clinic(db)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    patient = world.patient_ids[0]
    prescription = await add_prescription(db, world, patient, physio)
    token = world.token(world.physio)
    connection, subscription = await _subscribe(server, token, EXECUTIONS)
    await add_execution(db, world, prescription, patient, pain_level=1)
    first = (await subscription.data())["exerciseExecutionLogged"]
    await connection.close()
    missed = await add_execution(db, world, prescription, patient, pain_level=5)
    connection, resumed = await _subscribe(server, token, EXECUTIONS, {"after": first["cursor"]})
    replayed = (await resumed.data())["exerciseExecutionLogged"]
    assert replayed["id"] == to_global_id("ExerciseExecution", missed)
    assert replayed["painLevel"] == 5 and replayed["cursor"] not in (None, first["cursor"])
    await connection.close()

    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.post(
            "/graphql",
            json={"query": "{ exerciseExecutions(first: 5) { edges { node { id cursor } } } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    nodes = [edge["node"] for edge in response.json()["data"]["exerciseExecutions"]["edges"]]
    assert len(nodes) == 2 and all(node["cursor"] is None for node in nodes)

    admin = world.token(world.admin)
    connection, compliance = await _subscribe(server, admin, COMPLIANCE)
    await db.execute(
        "insert into compliance_issues (clinic_id, framework, requirement, description, severity)"
        " values ($1, 'lgpd', 'Art. 37', 'Registro das operações', 'low')",
        world.clinic_id,
    )
    status = (await compliance.data())["complianceStatusChanged"]
    assert isinstance(status["cursor"], str)
    await connection.close()


async def test_a_page_cursor_or_garbage_is_bad_input_on_after(
    server: Server, db: asyncpg.Connection
) -> None:
    world = await make_clinic(db)
    token = world.token(world.admin)
    await add_payment(db, world, world.patient_ids[0])
    await add_payment(db, world, world.patient_ids[1])
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.post(
            "/graphql",
            json={"query": "{ payments(first: 1) { pageInfo { endCursor } } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    page_cursor = response.json()["data"]["payments"]["pageInfo"]["endCursor"]
    for cursor in (page_cursor, "garbage", ""):
        connection, subscription = await _subscribe(server, token, PAYMENTS, {"after": cursor})
        (error,) = await subscription.errors()
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
        await connection.close()


async def test_a_cursor_older_than_the_retention_is_expired(
    server: Server, db: asyncpg.Connection, resume_url: str
) -> None:
    world = await make_clinic(db)
    token = world.token(world.admin)
    connection, watcher = await _subscribe(server, token, PAYMENTS)
    payments = [await add_payment(db, world, world.patient_ids[i]) for i in range(3)]
    oldest, aged, kept = await _payments(watcher, 3)
    await connection.close()
    aged_seq = await db.fetchval(
        "select seq from events where row_id = $1 and table_name = 'payments'", payments[1]
    )
    await db.execute(
        "update events set recorded_at = recorded_at - interval '8 days' where seq <= $1",
        aged_seq,
    )
    engine = create_engine(resume_url)
    try:  # two processes purging at once: the second only waits, and finds nothing more
        purges = [Retention(engine, days=7).purge() for _ in range(2)]
        assert max(await asyncio.gather(*purges)) == aged_seq
        assert await Retention(engine, days=7).purge() == 0
    finally:
        await engine.dispose()
    assert await db.fetchval("select purged_through from event_log_state") == aged_seq
    kept_seq = await db.fetchval(
        "select seq from events where row_id = $1 and table_name = 'payments'", payments[2]
    )
    assert await db.fetchval("select min(seq) from events") == kept_seq

    connection, expired = await _subscribe(server, token, PAYMENTS, {"after": oldest["cursor"]})
    (error,) = await expired.errors()
    assert error["extensions"] == {"code": "CURSOR_EXPIRED", "field": "after"}
    await connection.close()
    # The last purged position misses nothing: it resumes.
    connection, resumed = await _subscribe(server, token, PAYMENTS, {"after": aged["cursor"]})
    (event,) = await _payments(resumed, 1)
    assert event == kept
    await connection.close()
