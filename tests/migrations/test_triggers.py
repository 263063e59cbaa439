"""Triggers of 0002/0003: audit log, append-only records, updated_at, NOTIFY payloads and the
patient write guard. Runs in a private database (audit and prontuario rows can never be
removed, so they stay out of the session's shared one)."""

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from graph.sql import migrate
from tests.support.database import create_database, drop_database, plain_dsn

CLINIC = uuid.uuid4()
ADMIN, RECEPTIONIST = uuid.uuid4(), uuid.uuid4()
PHYSIO, PHYSIO2, PHYSIO_USER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
PATIENT, OTHER_PATIENT, PATIENT_USER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
FUTURE, PAST, OTHERS_FUTURE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
PRONTUARIO, CONSENT, OPEN_REQUEST, DONE_REQUEST = (uuid.uuid4() for _ in range(4))

IDENTITIES: dict[str, tuple[uuid.UUID | None, str | None, uuid.UUID | None, uuid.UUID | None]] = {
    # role: (user_id, role, physiotherapist_id, patient_id)
    "admin": (ADMIN, "admin", None, None),
    "receptionist": (RECEPTIONIST, "receptionist", None, None),
    "physiotherapist": (PHYSIO_USER, "physiotherapist", PHYSIO, None),
    "patient": (PATIENT_USER, "patient", None, PATIENT),
    "anonymous": (None, None, None, None),
}

SEED = """
INSERT INTO clinics (id, name) VALUES ($1, 'Clínica Triggers');
INSERT INTO physiotherapists (id, clinic_id, name, email, crefito)
    VALUES ($2, $1, 'Dra. Ana', 'ana@t.test', 'CREFITO-3/111-F'),
           ($3, $1, 'Dr. Bruno', 'bruno@t.test', 'CREFITO-3/222-F');
INSERT INTO patients (id, clinic_id, physiotherapist_id, name)
    VALUES ($4, $1, $2, 'Carla'), ($5, $1, NULL, 'Davi');
INSERT INTO users (id, clinic_id, email, password_hash, role, physiotherapist_id, patient_id)
    VALUES ($6, $1, 'admin@t.test', 'h', 'admin', NULL, NULL),
           ($7, $1, 'recepcao@t.test', 'h', 'receptionist', NULL, NULL),
           ($8, $1, 'ana.user@t.test', 'h', 'physiotherapist', $2, NULL),
           ($9, $1, 'carla@t.test', 'h', 'patient', NULL, $4);
INSERT INTO appointments (id, clinic_id, patient_id, physiotherapist_id, starts_at, ends_at, type)
    VALUES ($10, $1, $4, $2, now() + interval '2 days', now() + interval '2 days 50 min', 'session'),
           ($11, $1, $4, $2, now() - interval '2 days', now() - interval '2 days' + interval '50 min', 'session'),
           ($12, $1, $5, $3, now() + interval '2 days', now() + interval '2 days 50 min', 'session');
INSERT INTO prontuarios (id, clinic_id, patient_id, author_id, kind, anamnesis, author_name, author_crefito)
    VALUES ($13, $1, $4, $2, 'evaluation', 'Dor no ombro', 'Dra. Ana', 'CREFITO-3/111-F');
INSERT INTO prontuario_addenda (clinic_id, prontuario_id, author_id, text)
    VALUES ($1, $13, $2, 'Correção da data');
INSERT INTO consents (id, clinic_id, patient_id, purpose, legal_basis, policy_version)
    VALUES ($14, $1, $4, 'tratamento', 'tutela da saúde', 'v1');
INSERT INTO data_subject_requests (id, clinic_id, patient_id, kind, fulfilled_at, response)
    VALUES ($15, $1, $4, 'access', NULL, NULL), ($16, $1, $4, 'access', now(), 'Enviado');
"""  # noqa: E501


@pytest.fixture(scope="module")
async def db_url(server_url: str) -> AsyncIterator[str]:
    url = await create_database(server_url)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        conn = await asyncpg.connect(plain_dsn(url))
        try:
            args = (
                *(CLINIC, PHYSIO, PHYSIO2, PATIENT, OTHER_PATIENT, ADMIN, RECEPTIONIST),
                *(PHYSIO_USER, PATIENT_USER, FUTURE, PAST, OTHERS_FUTURE, PRONTUARIO),
                *(CONSENT, OPEN_REQUEST, DONE_REQUEST),
            )
            async with conn.transaction():
                for statement in SEED.strip().split(";\n"):
                    await conn.execute(*_bind(statement, args))
        finally:
            await conn.close()
        yield url
    finally:
        await drop_database(server_url, url)


def _bind(statement: str, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """The statement with its $n renumbered 1..k, and the k values it uses."""
    used = sorted({int(n) for n in re.findall(r"\$(\d+)", statement)})
    number = {n: k + 1 for k, n in enumerate(used)}
    sql = re.sub(r"\$(\d+)", lambda m: f"${number[int(m.group(1))]}", statement)
    return (sql, *[values[n - 1] for n in used])


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(plain_dsn(db_url))
    yield connection
    await connection.close()


@asynccontextmanager
async def request(
    conn: asyncpg.Connection, role: str, commit: bool = False
) -> AsyncIterator[asyncpg.Connection]:
    """A request transaction as `role` of the clinic; rolled back unless `commit`."""
    user, app_role, physio, patient = IDENTITIES[role]
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute("SET LOCAL ROLE fisioflow_app")
        await conn.execute(
            "select set_config('app.user_id', $1, true), set_config('app.clinic_id', $2, true),"
            " set_config('app.role', $3, true), set_config('app.physiotherapist_id', $4, true),"
            " set_config('app.patient_id', $5, true)",
            str(user or ""),
            str(CLINIC) if app_role else "",
            app_role or "",
            str(physio or ""),
            str(patient or ""),
        )
        yield conn
    except BaseException:
        await transaction.rollback()
        raise
    else:
        if commit:
            await transaction.commit()
        else:
            await transaction.rollback()


async def error_of(conn: asyncpg.Connection, sql: str, *args: Any) -> tuple[str, str]:
    """Run `sql` in a savepoint, expecting it to fail; return (SQLSTATE, message)."""
    try:
        async with conn.transaction():
            await conn.execute(sql, *args)
    except asyncpg.PostgresError as error:
        return str(error.sqlstate), error.message
    raise AssertionError(f"expected {sql!r} to fail")


async def audit_rows(conn: asyncpg.Connection, record_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT clinic_id, table_name, operation, actor_id, actor_role, old_data, new_data"
        " FROM audit_log WHERE record_id = $1 ORDER BY id",
        record_id,
    )
    result = []
    for row in rows:
        item = dict(row)
        for key in ("old_data", "new_data"):
            item[key] = None if item[key] is None else json.loads(item[key])
        result.append(item)
    return result


async def test_audit_log_records_actor_and_changes(conn: asyncpg.Connection) -> None:
    async with request(conn, "receptionist", commit=True) as c:
        patient = await c.fetchval(
            "INSERT INTO patients (clinic_id, name, cpf) VALUES ($1, 'Eva', '52998224725')"
            " RETURNING id",
            CLINIC,
        )
    async with request(conn, "admin", commit=True) as c:
        await c.execute("UPDATE patients SET name = 'Eva Lima' WHERE id = $1", patient)

    insert, update = await audit_rows(conn, patient)
    assert insert["operation"] == "INSERT" and insert["table_name"] == "patients"
    assert (insert["clinic_id"], insert["actor_id"], insert["actor_role"]) == (
        CLINIC, RECEPTIONIST, "receptionist",
    )  # fmt: skip
    assert insert["old_data"] is None
    assert insert["new_data"]["name"] == "Eva" and insert["new_data"]["id"] == str(patient)
    # An UPDATE keeps only what changed: the name, and updated_at (set by its trigger).
    assert (update["operation"], update["actor_id"], update["actor_role"]) == (
        "UPDATE", ADMIN, "admin",
    )  # fmt: skip
    assert set(update["old_data"]) == set(update["new_data"]) == {"name", "updated_at"}
    assert (update["old_data"]["name"], update["new_data"]["name"]) == ("Eva", "Eva Lima")

    # Physio's prontuario insert is audited under their identity.
    async with request(conn, "physiotherapist", commit=True) as c:
        prontuario = await c.fetchval(
            "INSERT INTO prontuarios (clinic_id, patient_id, author_id, kind, evolution,"
            " author_name, author_crefito) VALUES ($1, $2, $3, 'evolution', 'Melhora',"
            " 'Dra. Ana', 'CREFITO-3/111-F') RETURNING id",
            CLINIC, PATIENT, PHYSIO,
        )  # fmt: skip
    [row] = await audit_rows(conn, prontuario)
    assert (row["operation"], row["actor_id"], row["actor_role"]) == (
        "INSERT", PHYSIO_USER, "physiotherapist",
    )  # fmt: skip

    # A DELETE outside any request (superuser): the old row, no actor.
    consent = await conn.fetchval(
        "INSERT INTO consents (clinic_id, patient_id, purpose, legal_basis, policy_version)"
        " VALUES ($1, $2, 'pesquisa', 'consentimento', 'v1') RETURNING id",
        CLINIC, PATIENT,
    )  # fmt: skip
    await conn.execute("DELETE FROM consents WHERE id = $1", consent)
    inserted, deleted = await audit_rows(conn, consent)
    assert inserted["operation"] == "INSERT" and inserted["old_data"] is None
    assert deleted["operation"] == "DELETE" and deleted["new_data"] is None
    assert deleted["old_data"]["purpose"] == "pesquisa"
    assert (deleted["actor_id"], deleted["actor_role"]) == (None, None)


async def test_users_audit_never_contains_password_hash(conn: asyncpg.Connection) -> None:
    async with request(conn, "admin", commit=True) as c:
        user = await c.fetchval(
            "INSERT INTO users (clinic_id, email, password_hash, role)"
            " VALUES ($1, 'nova@t.test', 'secret-hash', 'receptionist') RETURNING id",
            CLINIC,
        )
    async with request(conn, "admin", commit=True) as c:
        await c.execute("UPDATE users SET password_hash = 'other-hash' WHERE id = $1", user)
    insert, update = await audit_rows(conn, user)
    assert insert["new_data"]["email"] == "nova@t.test"
    assert "password_hash" not in insert["new_data"]
    assert update["operation"] == "UPDATE" and update["actor_id"] == ADMIN
    # The hash change is logged, not its value: the token version it bumped (migration 0016).
    assert set(update["new_data"]) == {"updated_at", "token_version"}
    assert update["new_data"]["token_version"] == 1
    assert "secret-hash" not in json.dumps([insert, update], default=str)


async def test_audit_record_access(conn: asyncpg.Connection) -> None:
    async with request(conn, "physiotherapist") as c:
        await c.execute("SELECT audit_record_access('prontuarios', $1)", PRONTUARIO)
        await c.execute("RESET ROLE")
        rows = await c.fetch(
            "SELECT clinic_id, operation, actor_id, actor_role FROM audit_log"
            " WHERE record_id = $1 AND operation = 'SELECT'",
            PRONTUARIO,
        )
    assert [tuple(r) for r in rows] == [(CLINIC, "SELECT", PHYSIO_USER, "physiotherapist")]
    async with request(conn, "anonymous") as c:
        await c.execute("SELECT audit_record_access('prontuarios', $1)", PRONTUARIO)
        await c.execute("RESET ROLE")
        count = await c.fetchval(
            "SELECT count(*) FROM audit_log WHERE record_id = $1 AND operation = 'SELECT'",
            PRONTUARIO,
        )
    assert count == 0


APPEND_ONLY = {
    "prontuarios": ("UPDATE prontuarios SET evolution = 'x'", "TRUNCATE prontuarios CASCADE"),
    "prontuario_addenda": (
        "UPDATE prontuario_addenda SET text = 'x'",
        "TRUNCATE prontuario_addenda",
    ),
    "audit_log": ("UPDATE audit_log SET actor_role = 'x'", "TRUNCATE audit_log"),
}


@pytest.mark.parametrize("table", list(APPEND_ONLY))
@pytest.mark.parametrize("who", ["superuser", "owner", "superuser in replica mode"])
async def test_append_only_tables_refuse_everyone(
    conn: asyncpg.Connection, table: str, who: str
) -> None:
    update, truncate = APPEND_ONLY[table]
    before = await conn.fetchval(f"SELECT count(*) FROM {table}")
    assert before > 0
    async with conn.transaction():
        if who == "owner":
            await conn.execute("SET LOCAL ROLE fisioflow_owner")
        if who == "superuser in replica mode":  # ordinary triggers do not fire there
            await conn.execute("SET LOCAL session_replication_role = replica")
        for sql, op in (
            (update, "UPDATE"),
            (f"DELETE FROM {table}", "DELETE"),
            (truncate, "TRUNCATE"),
        ):
            assert await error_of(conn, sql) == (
                "42501", f"{table} is append-only: {op} is not allowed",
            ), sql  # fmt: skip
        # Refused as a statement, even when it would touch no row.
        assert (await error_of(conn, f"DELETE FROM {table} WHERE false"))[0] == "42501"
    assert await conn.fetchval(f"SELECT count(*) FROM {table}") == before


async def test_app_cannot_write_audit_log(conn: asyncpg.Connection) -> None:
    async with request(conn, "admin") as c:
        for sql in (
            "INSERT INTO audit_log (clinic_id, table_name, operation) VALUES ($1, 'x', 'INSERT')",
            "UPDATE audit_log SET actor_role = 'x' WHERE clinic_id = $1",
            "DELETE FROM audit_log WHERE clinic_id = $1",
        ):
            state, message = await error_of(c, sql, CLINIC)
            assert (state, message.split(" for ")[0]) == ("42501", "permission denied"), sql
        assert await c.fetchval("SELECT count(*) FROM audit_log") > 0  # admin reads it


async def test_updated_at_moves_on_update(conn: asyncpg.Connection) -> None:
    before = await conn.fetchrow(
        "SELECT created_at, updated_at FROM patients WHERE id = $1", OTHER_PATIENT
    )
    assert before is not None
    async with request(conn, "receptionist", commit=True) as c:
        # Even an explicit value is overridden: updated_at is the database's.
        row = await c.fetchrow(
            "UPDATE patients SET address = 'Rua A, 10', updated_at = '2000-01-01'"
            " WHERE id = $1 RETURNING created_at, updated_at, now() AS now",
            OTHER_PATIENT,
        )
    assert row is not None and row["created_at"] == before["created_at"]
    assert row["updated_at"] == row["now"] and row["updated_at"] > before["updated_at"]


async def test_every_updated_at_column_has_its_trigger(conn: asyncpg.Connection) -> None:
    tables = await conn.fetch(
        "SELECT c.table_name, t.tgname IS NOT NULL AS has_trigger"
        " FROM information_schema.columns c"
        " LEFT JOIN pg_trigger t ON t.tgrelid = ('public.' || c.table_name)::regclass"
        "  AND t.tgname = c.table_name || '_set_updated_at'"
        " WHERE c.table_schema = 'public' AND c.column_name = 'updated_at'"
    )
    assert len(tables) == 11  # clinical_profiles (0019) is the eleventh
    assert all(row["has_trigger"] for row in tables), tables


ID_KEYS = {"id", "clinic_id", "patient_id", "physiotherapist_id", "prontuario_id"}
ID_KEYS |= {"old_patient_id", "old_physiotherapist_id"}


async def test_notify_payloads_carry_ids_only(db_url: str, conn: asyncpg.Connection) -> None:
    listener = await asyncpg.connect(plain_dsn(db_url))
    events: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    def on_event(_conn: Any, _pid: int, channel: str, payload: object) -> None:
        assert channel == "fisioflow_events"
        events.append(json.loads(str(payload)))
        arrived.set()

    await listener.add_listener("fisioflow_events", on_event)
    try:
        async with request(conn, "receptionist") as c:  # rolled back: never delivered
            ghost = await c.fetchval(
                "INSERT INTO patients (clinic_id, name) VALUES ($1, 'Fantasma') RETURNING id",
                CLINIC,
            )
        async with request(conn, "receptionist", commit=True) as c:
            patient = await c.fetchval(
                "INSERT INTO patients (clinic_id, physiotherapist_id, name)"
                " VALUES ($1, $2, 'Fábio') RETURNING id",
                CLINIC, PHYSIO,
            )  # fmt: skip
            appointment = await c.fetchval(
                "INSERT INTO appointments (clinic_id, patient_id, physiotherapist_id, starts_at,"
                " ends_at, type, notes) VALUES ($1, $2, $3, now() + interval '9 days',"
                " now() + interval '9 days 1 hour', 'evaluation', 'segredo clínico') RETURNING id",
                CLINIC, patient, PHYSIO,
            )  # fmt: skip
        async with request(conn, "receptionist", commit=True) as c:
            await c.execute(
                "UPDATE appointments SET physiotherapist_id = $1 WHERE id = $2",
                PHYSIO2,
                appointment,
            )
        async with request(conn, "physiotherapist", commit=True) as c:
            addendum = await c.fetchval(
                "INSERT INTO prontuario_addenda (clinic_id, prontuario_id, author_id, text)"
                " VALUES ($1, $2, $3, 'Adendo sigiloso') RETURNING id",
                CLINIC, PRONTUARIO, PHYSIO,
            )  # fmt: skip

        wanted = {patient, appointment, addendum}

        async def all_arrived() -> None:
            while len([e for e in events if uuid.UUID(e["id"]) in wanted]) < 4:
                arrived.clear()
                await arrived.wait()

        await asyncio.wait_for(all_arrived(), timeout=5)
    finally:
        await listener.close()

    ours = [e for e in events if uuid.UUID(e["id"]) in wanted | {ghost}]
    positions = [e.pop("seq") for e in ours]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    logged = await conn.fetch(
        "SELECT seq, table_name, op, row_id, clinic_id, refs FROM events"
        " WHERE seq = any($1::bigint[]) OR row_id = $2 ORDER BY seq",
        positions,
        ghost,
    )  # the log holds exactly what was notified, the rolled-back insert not at all
    assert [
        {"table": r["table_name"], "op": r["op"], "id": str(r["row_id"]),
         "clinic_id": str(r["clinic_id"]), **json.loads(r["refs"])}
        for r in logged
    ] == ours  # fmt: skip
    assert [r["seq"] for r in logged] == positions
    assert ours == [
        {"table": "patients", "op": "INSERT", "id": str(patient), "clinic_id": str(CLINIC),
         "patient_id": str(patient), "physiotherapist_id": str(PHYSIO)},
        {"table": "appointments", "op": "INSERT", "id": str(appointment),
         "clinic_id": str(CLINIC), "patient_id": str(patient), "physiotherapist_id": str(PHYSIO)},
        {"table": "appointments", "op": "UPDATE", "id": str(appointment),
         "clinic_id": str(CLINIC), "patient_id": str(patient),
         "physiotherapist_id": str(PHYSIO2), "old_physiotherapist_id": str(PHYSIO)},
        {"table": "prontuario_addenda", "op": "INSERT", "id": str(addendum),
         "clinic_id": str(CLINIC), "prontuario_id": str(PRONTUARIO), "patient_id": str(PATIENT)},
    ]  # fmt: skip
    for event in events:  # whatever else arrived: ids only, never data
        assert isinstance(event.pop("seq", 0), int)
        assert set(event) - {"table", "op"} <= ID_KEYS, event
        for key in set(event) - {"table", "op"}:
            uuid.UUID(event[key])


async def test_patient_may_only_cancel_own_future_appointment(conn: asyncpg.Connection) -> None:
    async with request(conn, "patient") as c:
        row = await c.fetchrow(
            "UPDATE appointments SET status = 'cancelled', cancel_reason = 'Viagem',"
            " cancelled_at = '2000-01-01' WHERE id = $1"
            " RETURNING status, cancel_reason, cancelled_at = now() AS stamped",
            FUTURE,
        )
        assert row is not None and tuple(row) == ("cancelled", "Viagem", True)
    async with request(conn, "patient") as c:
        for sql, message in (
            (
                "UPDATE appointments SET starts_at = starts_at + interval '1 day',"
                " ends_at = ends_at + interval '1 day' WHERE id = $1",
                "a patient may not change appointments.ends_at, starts_at",
            ),
            (
                "UPDATE appointments SET status = 'cancelled', notes = 'x' WHERE id = $1",
                "a patient may not change appointments.notes",
            ),
            (
                "UPDATE appointments SET status = 'completed' WHERE id = $1",
                "a patient may only confirm or cancel their appointment",
            ),
        ):
            assert await error_of(c, sql, FUTURE) == ("42501", message), sql
        for status in ("cancelled", "confirmed"):
            assert await error_of(
                c, f"UPDATE appointments SET status = '{status}' WHERE id = $1", PAST
            ) == ("FF001", "a patient may only confirm or cancel a future appointment")
    async with request(conn, "patient") as c:
        confirmed = await c.execute(
            "UPDATE appointments SET status = 'confirmed' WHERE id = $1", FUTURE
        )
        assert confirmed == "UPDATE 1"
        # Someone else's appointment is out of reach: 0 rows, no error.
        result = await c.execute(
            "UPDATE appointments SET status = 'cancelled' WHERE id = $1", OTHERS_FUTURE
        )
        assert result == "UPDATE 0"
    # Staff are not limited by the guard.
    async with request(conn, "receptionist") as c:
        result = await c.execute(
            "UPDATE appointments SET starts_at = starts_at + interval '1 hour',"
            " ends_at = ends_at + interval '1 hour' WHERE id = $1",
            FUTURE,
        )
        assert result == "UPDATE 1"


async def test_patient_consent_and_request_guards(conn: asyncpg.Connection) -> None:
    async with request(conn, "patient") as c:
        result = await c.execute(
            "UPDATE consents SET granted = false, revoked_at = now() WHERE id = $1", CONSENT
        )
        assert result == "UPDATE 1"
        assert await error_of(
            c, "UPDATE consents SET purpose = 'outro' WHERE id = $1", CONSENT
        ) == ("42501", "a patient may not change consents.purpose")

        due = await c.fetchval(
            "INSERT INTO data_subject_requests (clinic_id, patient_id, kind, due_at)"
            " VALUES ($1, $2, 'portability', now() + interval '1 year')"
            " RETURNING due_at = now() + interval '15 days'",
            CLINIC, PATIENT,
        )  # fmt: skip
        assert due is True
        assert await error_of(
            c,
            "INSERT INTO data_subject_requests (clinic_id, patient_id, kind, response)"
            " VALUES ($1, $2, 'access', 'atendido')",
            CLINIC, PATIENT,
        ) == ("42501", "a patient may not answer a data-subject request")  # fmt: skip
        result = await c.execute(
            "UPDATE data_subject_requests SET details = 'Cópia completa' WHERE id = $1",
            OPEN_REQUEST,
        )
        assert result == "UPDATE 1"
        assert await error_of(
            c, "UPDATE data_subject_requests SET details = 'x' WHERE id = $1", DONE_REQUEST
        ) == ("42501", "a fulfilled data-subject request cannot be changed")
        assert await error_of(
            c, "UPDATE data_subject_requests SET fulfilled_at = now() WHERE id = $1", OPEN_REQUEST
        ) == ("42501", "a patient may not change data_subject_requests.fulfilled_at")


async def test_the_appointment_state_machine_binds_a_psql_caller(
    conn: asyncpg.Connection,
) -> None:
    """fisioflow_app with a receptionist's settings cannot skip or rewind the machine (0018)."""
    async with request(conn, "receptionist") as c:
        for sql, message in (
            (
                "UPDATE appointments SET status = 'completed' WHERE id = $1",
                "an appointment cannot become completed before it starts",
            ),
            (
                "UPDATE appointments SET status = 'no_show' WHERE id = $1",
                "an appointment cannot become no show before it starts",
            ),
            (
                "UPDATE appointments SET status = 'checked_in' WHERE id = $1",
                "check-in opens 2 hours before the start",
            ),
            (
                "UPDATE appointments SET cancel_reason = 'x', cancelled_at = now() WHERE id = $1",
                "an appointment's reasons and times change only with its status",
            ),
            (
                "UPDATE appointments SET status = 'confirmed', cancel_reason = 'x' WHERE id = $1",
                "an appointment's reasons and times change only with their status",
            ),
            (
                "UPDATE appointments SET status = 'cancelled',"
                " starts_at = starts_at + interval '1 hour' WHERE id = $1",
                "an appointment is moved or changes status, not both at once",
            ),
            (
                "UPDATE appointments SET starts_at = now() - interval '1 hour' WHERE id = $1",
                "an appointment is moved to a future time",
            ),
        ):
            assert await error_of(c, sql, FUTURE) == ("FF001", message), sql
        await c.execute("UPDATE appointments SET status = 'cancelled' WHERE id = $1", FUTURE)
        for status in ("scheduled", "confirmed", "completed", "no_show"):
            assert await error_of(
                c, f"UPDATE appointments SET status = '{status}' WHERE id = $1", FUTURE
            ) == ("FF001", f"a cancelled appointment cannot become {status.replace('_', ' ')}")
        assert await error_of(
            c, "UPDATE appointments SET starts_at = starts_at + interval '1 day' WHERE id = $1",
            FUTURE,
        ) == ("FF001", "a cancelled appointment cannot be moved")  # fmt: skip
        # A booking starts as scheduled, with no stamps.
        assert await error_of(
            c,
            "INSERT INTO appointments (clinic_id, patient_id, physiotherapist_id, starts_at,"
            " ends_at, type, status) VALUES ($1, $2, $3, now() - interval '3 days',"
            " now() - interval '3 days' + interval '50 min', 'session', 'completed')",
            CLINIC, OTHER_PATIENT, PHYSIO2,
        ) == ("FF001", "an appointment is booked as scheduled")  # fmt: skip


async def test_status_history_is_written_by_the_database_only(conn: asyncpg.Connection) -> None:
    async with request(conn, "receptionist") as c:
        await c.execute("UPDATE appointments SET status = 'confirmed' WHERE id = $1", FUTURE)
        # Moving a confirmed appointment makes it scheduled again (the patient confirmed the
        # old time).
        moved = await c.fetchval(
            "UPDATE appointments SET starts_at = starts_at + interval '1 hour',"
            " ends_at = ends_at + interval '1 hour' WHERE id = $1 RETURNING status",
            FUTURE,
        )
        assert moved == "scheduled"
        rows = await c.fetch(
            "SELECT from_status, to_status, actor_id, actor_role, changed_at >= now() AS now"
            " FROM appointment_status_changes WHERE appointment_id = $1 ORDER BY id",
            FUTURE,
        )
        assert [tuple(r) for r in rows] == [
            (None, "scheduled", None, None, False),  # the booking, by the superuser
            ("scheduled", "confirmed", RECEPTIONIST, "receptionist", True),
            ("confirmed", "scheduled", RECEPTIONIST, "receptionist", True),
        ]
        for sql in (
            "INSERT INTO appointment_status_changes (clinic_id, appointment_id, to_status)"
            " VALUES ($1, $2, 'completed')",
            "UPDATE appointment_status_changes SET reason = 'x' WHERE clinic_id = $1"
            " AND appointment_id = $2",
            "DELETE FROM appointment_status_changes WHERE clinic_id = $1 AND appointment_id = $2",
        ):
            state, message = await error_of(c, sql, CLINIC, FUTURE)
            assert (state, message.split(" for ")[0]) == ("42501", "permission denied"), sql
        # The definer's switch opens nothing to fisioflow_app: the owner policy is not for it.
        await c.execute("select set_config('fisioflow.definer', 'appointment_status', true)")
        state, _ = await error_of(
            c,
            "INSERT INTO appointment_status_changes (clinic_id, appointment_id, to_status)"
            " VALUES ($1, $2, 'completed')",
            CLINIC, FUTURE,
        )  # fmt: skip
        assert state == "42501"
    # Not even the owner or a superuser rewrites it.
    for sql, op in (
        ("UPDATE appointment_status_changes SET reason = 'x'", "UPDATE"),
        ("DELETE FROM appointment_status_changes", "DELETE"),
        ("TRUNCATE appointment_status_changes", "TRUNCATE"),
    ):
        assert await error_of(conn, sql) == (
            "42501",
            f"appointment_status_changes is append-only: {op} is not allowed",
        )


async def test_patient_cancels_only_before_the_clinics_notice(conn: asyncpg.Connection) -> None:
    clinic_rule = conn.transaction()
    await clinic_rule.start()
    try:
        await conn.execute(
            "UPDATE clinics SET patient_cancel_notice_hours = 72 WHERE id = $1", CLINIC
        )
        async with request(conn, "patient") as c:
            assert await error_of(
                c, "UPDATE appointments SET status = 'cancelled' WHERE id = $1", FUTURE
            ) == (
                "FF001",
                "too late to cancel: the clinic takes cancellations by patients up to 72 hours"
                " before the start",
            )
            # Confirming is still theirs to do.
            assert (
                await c.execute(
                    "UPDATE appointments SET status = 'confirmed' WHERE id = $1", FUTURE
                )
                == "UPDATE 1"
            )
    finally:
        await clinic_rule.rollback()


async def test_patient_self_booking_policy(conn: asyncpg.Connection) -> None:
    """appointments_insert_patient (0018): the clinic's switch, their own booking, no price or
    notes, the future, a physiotherapist who treats them."""
    book = (
        "INSERT INTO appointments (clinic_id, patient_id, physiotherapist_id, starts_at,"
        " ends_at, type, price, notes) VALUES ($1, $2, $3, now() + make_interval(days => $4),"
        " now() + make_interval(days => $4, mins => 50), 'session', $5, $6)"
    )
    rls = ("42501", 'new row violates row-level security policy for table "appointments"')
    async with request(conn, "patient") as c:
        assert await error_of(c, book, CLINIC, PATIENT, PHYSIO, 5, None, None) == rls
    switch = conn.transaction()
    await switch.start()
    try:
        await conn.execute("UPDATE clinics SET patient_self_booking = true WHERE id = $1", CLINIC)
        async with request(conn, "patient") as c:
            for args in (
                (OTHER_PATIENT, PHYSIO2, 5, None, None),  # someone else
                (PATIENT, PHYSIO, 5, 100, None),  # a price
                (PATIENT, PHYSIO, 5, None, "VIP"),  # notes
                (PATIENT, PHYSIO, -5, None, None),  # the past
                (PATIENT, PHYSIO2, 5, None, None),  # not their physiotherapist
            ):
                assert await error_of(c, book, CLINIC, *args) == rls, args
            assert await c.execute(book, CLINIC, PATIENT, PHYSIO, 5, None, None) == "INSERT 0 1"
    finally:
        await switch.rollback()
