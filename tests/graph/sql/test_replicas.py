"""Read replicas (graph/sql/replicas.py) against a real streaming standby (tests/support/
replication.py) and real `fisioflow serve` processes: where a request read from is seen in
what it answers while the standby's replay is paused (the standby shows the past, the primary
the present)."""

import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from graph.core.ids import to_global_id
from graph.sql import migrate
from graph.sql.replicas import format_lsn, parse_lsn
from tests.support.database import create_database, plain_dsn
from tests.support.factories import ClinicWorld, add_prontuario, make_clinic
from tests.support.replication import StreamingPair, streaming_pair
from tests.support.servers import Server, running_server

PATIENT_NAME = "query($id: ID!) { node(id: $id) { ... on Patient { name } } }"
PRONTUARIOS = """query($id: ID!) { node(id: $id) { ... on Patient {
  name prontuarios(first: 10) { edges { node { id } } } } } }"""
CREATE_PATIENT = """mutation($name: String!) { createPatient(input: {name: $name}) { id } }"""


@pytest.fixture(scope="module")
def pair() -> Iterator[StreamingPair]:
    with streaming_pair(Path(tempfile.mkdtemp(prefix="fisioflow-replica-"))) as running:
        yield running


@pytest.fixture(scope="module")
async def primary_db(pair: StreamingPair) -> str:
    url = await create_database(pair.primary)
    await asyncio.to_thread(migrate.upgrade, url)
    return url


@pytest.fixture
async def db(primary_db: str) -> AsyncIterator[asyncpg.Connection]:
    """The primary, as its owner (the attacker's and the test's view of the truth)."""
    connection = await asyncpg.connect(plain_dsn(primary_db))
    yield connection
    await connection.close()


@pytest.fixture(scope="module")
async def world(primary_db: str, pair: StreamingPair) -> ClinicWorld:
    connection = await asyncpg.connect(plain_dsn(primary_db))
    try:
        made = await make_clinic(connection)
    finally:
        await connection.close()
    await pair.caught_up()
    return made


def _serve(primary_db: str, pair: StreamingPair, max_lag: str) -> Iterator[Server]:
    with running_server(
        primary_db,
        FISIOFLOW_REPLICA_URLS=pair.on_standby(primary_db),
        FISIOFLOW_REPLICA_MAX_LAG_SECONDS=max_lag,
        FISIOFLOW_REPLICA_CHECK_SECONDS="0.2",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def server(primary_db: str, pair: StreamingPair, world: ClinicWorld) -> Iterator[Server]:
    """A process that reads from the standby however far behind (within a minute)."""
    yield from _serve(primary_db, pair, "60")


@pytest.fixture(scope="module")
def strict(primary_db: str, pair: StreamingPair, world: ClinicWorld) -> Iterator[Server]:
    """A process that skips a standby more than a second behind."""
    yield from _serve(primary_db, pair, "1")


@pytest.fixture
async def paused(pair: StreamingPair) -> AsyncIterator[StreamingPair]:
    """The standby caught up, known to be by the servers, then its replay paused."""
    await pair.caught_up()
    await asyncio.sleep(0.5)  # a sampling round of the servers (every 0.2 s) sees it
    await pair.pause_replay()
    yield pair
    await pair.resume_replay()
    await pair.caught_up()


async def _post(
    server: Server, query: str, variables: dict[str, Any], token: str, **headers: str
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}", **headers},
        )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.json()
    return response


async def _name(server: Server, world: ClinicWorld, token: str, **headers: str) -> str:
    patient = to_global_id("Patient", world.patient_ids[0])
    body = (await _post(server, PATIENT_NAME, {"id": patient}, token, **headers)).json()
    name: str = body["data"]["node"]["name"]
    return name


async def _rename_on_primary(db: asyncpg.Connection, world: ClinicWorld) -> str:
    """A change only the primary has while the standby is paused."""
    name = f"Paciente {uuid.uuid4().hex[:8]}"
    await db.execute("update patients set name = $1 where id = $2", name, world.patient_ids[0])
    return name


async def test_queries_read_the_standby_and_a_request_may_ask_for_the_primary(
    server: Server, world: ClinicWorld, db: asyncpg.Connection, paused: StreamingPair
) -> None:
    token = world.token(world.receptionist)
    before = await _name(server, world, token)
    now = await _rename_on_primary(db, world)
    assert await _name(server, world, token) == before  # the standby's past
    assert await _name(server, world, token, **{"X-FisioFlow-Read-From": "primary"}) == now
    # A position that is not one reads from the primary; so does one no standby has reached.
    assert await _name(server, world, token, **{"X-FisioFlow-Min-LSN": "drop table x"}) == now
    assert await _name(server, world, token, **{"X-FisioFlow-Min-LSN": "FFFFFFFF/0"}) == now


async def test_a_login_reads_its_own_writes_and_others_catch_up_with_its_position(
    server: Server, world: ClinicWorld, db: asyncpg.Connection, pair: StreamingPair
) -> None:
    async def patients_seen(token: str, **headers: str) -> set[str]:
        body = (await _post(server, "{ patients(first: 100) { edges { node { name } } } }", {},
                            token, **headers)).json()  # fmt: skip
        return {edge["node"]["name"] for edge in body["data"]["patients"]["edges"]}

    admin, receptionist = world.token(world.admin), world.token(world.receptionist)
    await pair.caught_up()
    await asyncio.sleep(0.5)
    await pair.pause_replay()
    try:
        name = f"Novo {uuid.uuid4().hex[:8]}"
        created = await _post(server, CREATE_PATIENT, {"name": name}, admin)
        position = created.headers["X-FisioFlow-LSN"]
        assert await db.fetchval("select count(*) from patients where name = $1", name) == 1
        # The writer sees it at once (its reads go to the primary until the standby has it) ...
        assert name in await patients_seen(admin)
        # ... another login does not (the standby) unless it brings the writer's position.
        assert name not in await patients_seen(receptionist)
        assert name in await patients_seen(receptionist, **{"X-FisioFlow-Min-LSN": position})
    finally:
        await pair.resume_replay()
    await pair.caught_up()
    assert name in await patients_seen(receptionist)
    # Once the standby has the write, the writer reads from it again.
    await asyncio.sleep(0.5)
    await pair.pause_replay()
    try:
        before = await _name(server, world, admin)
        await _rename_on_primary(db, world)
        assert await _name(server, world, admin) == before
    finally:
        await pair.resume_replay()
        await pair.caught_up()


async def test_clinical_reads_on_the_standby_leave_their_trail_on_the_primary(
    server: Server, world: ClinicWorld, db: asyncpg.Connection, pair: StreamingPair
) -> None:
    assert world.physio.physiotherapist_id is not None
    record = await add_prontuario(db, world, world.patient_ids[0], world.physio.physiotherapist_id)
    await pair.caught_up()
    await asyncio.sleep(0.5)
    await pair.pause_replay()
    try:
        before = await _name(server, world, world.token(world.physio))
        await _rename_on_primary(db, world)
        trail = "select count(*) from audit_log where record_id = $1 and operation = 'SELECT'"
        logged = await db.fetchval(trail, record)
        body = (
            await _post(
                server,
                PRONTUARIOS,
                {"id": to_global_id("Patient", world.patient_ids[0])},
                world.token(world.physio),
            )
        ).json()["data"]["node"]
        assert body["name"] == before  # read on the standby
        assert [e["node"]["id"] for e in body["prontuarios"]["edges"]] == [
            to_global_id("Prontuario", record)
        ]
        assert await db.fetchval(trail, record) == logged + 1  # written on the primary
    finally:
        await pair.resume_replay()
        await pair.caught_up()


async def test_a_standby_that_is_down_or_too_far_behind_is_skipped(
    server: Server,
    strict: Server,
    world: ClinicWorld,
    db: asyncpg.Connection,
    paused: StreamingPair,
) -> None:
    token = world.token(world.receptionist)
    before = await _name(strict, world, token)
    now = await _rename_on_primary(db, world)
    # More than a second behind: the strict process reads from the primary; the other does
    # not mind yet.
    deadline = time.monotonic() + 20
    while await _name(strict, world, token) != now:
        assert time.monotonic() < deadline, "the lagging standby was not skipped"
        await asyncio.sleep(0.2)
    assert await _name(server, world, token) == before
    # Down: every query is answered, from the primary.
    paused.stop_standby()
    try:
        for _ in range(5):
            assert await _name(server, world, token) == now
    finally:
        paused.start_standby()


@pytest.mark.parametrize("text", ["0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF"])
def test_wal_positions_read_and_print_as_postgresql_does(text: str) -> None:
    assert format_lsn(parse_lsn(text)) == text
    assert parse_lsn("1/0") > parse_lsn("0/FFFFFFFF")


@pytest.mark.parametrize("text", ["", "16", "/1", "1/", "x/1", "1/2/3", "drop table x"])
def test_what_is_not_a_wal_position_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_lsn(text)
