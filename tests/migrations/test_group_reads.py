"""`audit_record_reads_for` (migration 0022), called as an attacker would: a read is recorded
only for readers who see exactly what the caller sees, in the caller's own clinic."""

import uuid

import asyncpg

from graph.core.identity import Identity, Role
from tests.support.factories import add_user, make_clinic


async def _record_as(
    conn: asyncpg.Connection, caller: Identity | None, record: uuid.UUID, readers: list[uuid.UUID]
) -> None:
    """Call the function as a request of `caller` (None: no identity), committed."""
    async with conn.transaction():
        await conn.execute("SET LOCAL ROLE fisioflow_app")
        if caller is not None:
            await conn.execute(
                "select set_config('app.user_id', $1, true), set_config('app.clinic_id', $2,"
                " true), set_config('app.role', $3, true), set_config('app.physiotherapist_id',"
                " $4, true), set_config('app.patient_id', $5, true)",
                str(caller.user_id),
                str(caller.clinic_id),
                caller.role.value,
                str(caller.physiotherapist_id or ""),
                str(caller.patient_id or ""),
            )
        await conn.execute(
            "select audit_record_reads_for('prontuarios', $1, $2)", [record], readers
        )


async def _recorded(conn: asyncpg.Connection, record: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    rows = await conn.fetch(
        "select actor_id, actor_role, clinic_id from audit_log"
        " where operation = 'SELECT' and record_id = $1",
        record,
    )
    return sorted((row["actor_id"], row["actor_role"]) for row in rows)


async def test_only_readers_of_the_callers_cohort_are_recorded(
    superuser: asyncpg.Connection,
) -> None:
    world = await make_clinic(superuser)
    elsewhere = await make_clinic(superuser, "Outra Clínica")
    colleague = await add_user(
        superuser, world.clinic_id, f"a.{uuid.uuid4().hex}@t.dev", Role.ADMIN
    )
    gone = await add_user(superuser, world.clinic_id, f"g.{uuid.uuid4().hex}@t.dev", Role.ADMIN)
    await superuser.execute("update users set active = false where id = $1", gone.user_id)
    record = uuid.uuid4()
    readers = [
        colleague.user_id,
        world.receptionist.user_id,  # another role of the clinic
        world.physio.user_id,
        world.patient.user_id,
        elsewhere.admin.user_id,  # an admin of another clinic
        gone.user_id,  # no longer active
        uuid.uuid4(),  # nobody
    ]
    await _record_as(superuser, world.admin, record, readers)
    assert await _recorded(superuser, record) == [(colleague.user_id, "admin")]
    clinics = await superuser.fetch(
        "select distinct clinic_id from audit_log where record_id = $1", record
    )
    assert [row["clinic_id"] for row in clinics] == [world.clinic_id]


async def test_a_physiotherapist_cannot_attribute_reads_to_a_colleague(
    superuser: asyncpg.Connection,
) -> None:
    world = await make_clinic(superuser)
    record = uuid.uuid4()
    await _record_as(
        superuser, world.physio, record, [world.other_physio.user_id, world.physio.user_id]
    )
    assert await _recorded(superuser, record) == [(world.physio.user_id, "physiotherapist")]


async def test_nothing_is_recorded_without_an_identity(superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    record = uuid.uuid4()
    await _record_as(superuser, None, record, [world.admin.user_id])
    assert await _recorded(superuser, record) == []
