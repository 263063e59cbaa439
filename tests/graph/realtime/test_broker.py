"""The broker in-process: one re-read per cohort and batch, RLS on re-reads, bounded queues."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette

from graph.core.errors import ApiError
from graph.core.identity import Identity, Role
from graph.realtime.broker import SUBSCRIPTION_LAGGED, Broker, Event, Topic, table_topic
from graph.sql.session import RequestDb
from models.accounts import physiotherapists
from models.patients import patients
from models.scheduling import appointments
from tests.support.factories import add_appointment, add_user, make_clinic


@pytest.fixture
async def broker(app: Starlette) -> AsyncIterator[Broker]:
    yield Broker(app.state.engine, "postgresql://unused", queue_size=3)


def _event(row_id: uuid.UUID, clinic_id: uuid.UUID, op: str = "INSERT", seq: int = 1) -> Event:
    return Event(seq, "appointments", op, row_id, clinic_id)


def _everything(event: Event, row: Any) -> bool:
    return True


async def test_one_reread_per_cohort(broker: Broker, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    when = datetime.now(UTC) + timedelta(days=1)
    own = await add_appointment(superuser, world, world.patient_ids[0], physio, when)
    other = await add_appointment(
        superuser, world, world.patient_ids[1], physio, when + timedelta(hours=1)
    )
    rereads: list[Role] = []
    plain = table_topic("appointments", appointments)

    async def counting(db: RequestDb, events: list[Event]) -> list[tuple[Event, Any]]:
        rereads.append(db.identity.role if db.identity else Role.ADMIN)
        return await plain.reread(db, events)

    topic = Topic("counted", plain.tables, counting)
    admins = [broker.subscribe(world.admin, topic, _everything) for _ in range(10)]
    patients = [broker.subscribe(world.patient, topic, _everything) for _ in range(10)]
    outsiders = [
        broker.subscribe(Identity(uuid.uuid4(), uuid.uuid4(), Role.ADMIN), topic, _everything)
        for _ in range(5)
    ]
    await broker.deliver([_event(own, world.clinic_id), _event(other, world.clinic_id)])

    assert sorted(role.value for role in rereads) == ["admin", "patient"]
    for subscription in admins:
        assert subscription.queue.qsize() == 2
    for subscription in patients:
        _, row, _ = subscription.queue.get_nowait()
        assert row["id"] == own
        assert subscription.queue.empty()
    assert all(s.queue.empty() for s in outsiders)


async def test_a_slow_subscriber_is_ended_not_skipped(
    broker: Broker, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    clinic = world.clinic_id

    async def echo(db: RequestDb, events: list[Event]) -> list[tuple[Event, Any]]:
        return [(event, {"id": event.id}) for event in events]

    topic = Topic("echo", frozenset({"appointments"}), echo)
    slow = broker.subscribe(world.admin, topic, _everything)
    await broker.deliver([_event(uuid.uuid4(), clinic) for _ in range(5)])
    received = []
    with pytest.raises(ApiError) as ended:
        async for event, _, _ in slow:
            received.append(event)
    assert ended.value.extensions["code"] == SUBSCRIPTION_LAGGED
    assert len(received) == 2

    broker.unsubscribe(slow)
    assert broker.subscriber_count == 0


async def test_deleted_rows_are_not_delivered(
    broker: Broker, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    topic = table_topic("appointments", appointments)
    subscription = broker.subscribe(world.admin, topic, _everything)
    await broker.deliver([_event(uuid.uuid4(), world.clinic_id, op="DELETE")])
    await asyncio.sleep(0)
    assert subscription.queue.empty()


async def test_a_deactivated_login_is_ended_and_its_cohort_still_served(
    broker: Broker, superuser: asyncpg.Connection
) -> None:
    """Subscribers are checked once per batch: a login deactivated since it subscribed gets
    UNAUTHENTICATED (as its token does on HTTP), and its cohort, which it may have been the
    first of, is still served through the others."""
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    appointment = await add_appointment(
        superuser, world, world.patient_ids[0], physio, datetime.now(UTC) + timedelta(days=1)
    )
    colleague = await add_user(
        superuser, world.clinic_id, f"admin2.{uuid.uuid4().hex[:8]}@test", Role.ADMIN
    )
    stranger = Identity(uuid.uuid4(), world.clinic_id, Role.ADMIN)  # no such login
    topic = table_topic("appointments", appointments)
    leaving = broker.subscribe(world.admin, topic, _everything)
    staying = broker.subscribe(colleague, topic, _everything)
    forged = broker.subscribe(stranger, topic, _everything)
    await superuser.execute("update users set active = false where id = $1", world.admin.user_id)

    await broker.deliver([_event(appointment, world.clinic_id)])

    _, row, _ = staying.queue.get_nowait()
    assert row["id"] == appointment
    for ended in (leaving, forged):
        with pytest.raises(ApiError) as refusal:
            await ended.__anext__()
        assert refusal.value.extensions["code"] == "UNAUTHENTICATED"
        assert ended.queue.empty()


async def test_rows_the_events_point_at_are_read_once_per_cohort(
    broker: Broker, superuser: asyncpg.Connection
) -> None:
    """An appointment's patient and physiotherapist come primed with the event, read as the
    cohort: nested fields need no transaction per subscriber."""
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    when = datetime.now(UTC) + timedelta(days=1)
    own = await add_appointment(superuser, world, world.patient_ids[0], physio, when)
    topic = table_topic(
        "appointments",
        appointments,
        {"patient_id": patients, "physiotherapist_id": physiotherapists},
    )
    admins = [broker.subscribe(world.admin, topic, _everything) for _ in range(3)]
    patient = broker.subscribe(world.patient, topic, _everything)
    await broker.deliver([_event(own, world.clinic_id)])

    names = await superuser.fetchrow(
        "select p.name as patient, f.name as physio from patients p, physiotherapists f"
        " where p.id = $1 and f.id = $2",
        world.patient_ids[0],
        physio,
    )
    assert names is not None
    for subscription in [*admins, patient]:
        _, row, primed = subscription.queue.get_nowait()
        assert row["id"] == own
        assert primed[patients][world.patient_ids[0]]["name"] == names["patient"]
        assert primed[physiotherapists][physio]["name"] == names["physio"]


async def test_a_resuming_subscription_gets_its_replay_then_the_live_events_held_meanwhile(
    broker: Broker, superuser: asyncpg.Connection
) -> None:
    """Registered before its replay reads the log: live events up to the position it resumes
    from are the replay's (dropped here), later ones wait until the replay is queued."""
    world = await make_clinic(superuser)
    clinic = world.clinic_id

    async def echo(db: RequestDb, events: list[Event]) -> list[tuple[Event, Any]]:
        return [(event, {"id": event.id}) for event in events]

    topic = Topic("echo", frozenset({"appointments"}), echo)
    subscription = broker.subscribe(world.admin, topic, _everything, after=5)
    assert subscription.through == 5
    await broker.deliver([_event(uuid.uuid4(), clinic, seq=5), _event(uuid.uuid4(), clinic, seq=6)])
    assert subscription.queue.empty()
    await subscription.put_replayed(_event(uuid.uuid4(), clinic, seq=4), {}, {})
    await subscription.release_held()
    await broker.deliver([_event(uuid.uuid4(), clinic, seq=7)])
    delivered = [subscription.queue.get_nowait() for _ in range(3)]
    assert [item[0].seq for item in delivered if not isinstance(item, ApiError)] == [4, 6, 7]
    broker.unsubscribe(subscription)
