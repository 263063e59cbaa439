"""The COPY loader: connections, trigger silencing, one transaction per clinic."""

import uuid
from collections.abc import Callable

import asyncpg
from sqlalchemy.engine import make_url

from seed.generator import ClinicGenerator
from seed.reference import LibraryExercise
from seed.tables import COLUMNS, TABLE_ORDER, Batch

Progress = Callable[[str, int], None]
CHUNK_PATIENTS = 1000


# Written by triggers when they fire (migration 0018: each appointment's booking); the seed's
# own rows for them are loaded only when the triggers are silent.
TRIGGER_WRITTEN = frozenset({"appointment_status_changes"})


class Loader:
    """COPYs batches in foreign-key order and reports cumulative row counts."""

    def __init__(
        self, connection: asyncpg.Connection, progress: Progress | None, *, silent: bool
    ) -> None:
        self.connection = connection
        self.progress = progress
        self.silent = silent
        self.rows: dict[str, int] = dict.fromkeys(TABLE_ORDER, 0)

    async def copy(self, batch: Batch) -> None:
        for table in TABLE_ORDER:
            records = batch[table]
            if not records or (table in TRIGGER_WRITTEN and not self.silent):
                continue
            await self.connection.copy_records_to_table(
                table, records=records, columns=COLUMNS[table]
            )
            self.rows[table] += len(records)
            if self.progress is not None:
                self.progress(table, self.rows[table])


async def connect(dsn: str) -> asyncpg.Connection:
    """asyncpg connection for a `postgresql://` or SQLAlchemy `postgresql+asyncpg://` URL."""
    plain = make_url(dsn).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.connect(plain)


async def can_silence_triggers(connection: asyncpg.Connection) -> bool:
    """Whether this login may load with `session_replication_role = replica` (a superuser, or
    PostgreSQL 15+ `GRANT SET ON PARAMETER session_replication_role`). Raises PermissionError
    when row-level security is on and the login cannot bypass it: the seed writes every
    clinic's rows, which no request identity may."""
    row = await connection.fetchrow(
        "select rolsuper, rolbypassrls, exists(select from pg_class where oid = "
        "'public.patients'::regclass and relrowsecurity) as rls "
        "from pg_roles where rolname = current_user"
    )
    assert row is not None
    if row["rls"] and not (row["rolsuper"] or row["rolbypassrls"]):
        raise PermissionError(
            "seeding needs a login that bypasses row-level security (superuser or BYPASSRLS)"
        )
    if row["rolsuper"]:
        return True
    try:
        sql = "select has_parameter_privilege('session_replication_role', 'SET')"
        return bool(await connection.fetchval(sql))
    except asyncpg.UndefinedFunctionError:  # PostgreSQL < 15
        return False


async def begin_bulk(connection: asyncpg.Connection, clinic_id: uuid.UUID, silent: bool) -> None:
    """Inside a transaction: silence the triggers when allowed; name the clinic for any that
    still fire (the audit trigger reads the request settings)."""
    if silent:
        await connection.execute("SET LOCAL session_replication_role = replica")
    await connection.execute(
        "select set_config('app.clinic_id', $1, true), set_config('app.role', 'admin', true)",
        str(clinic_id),
    )


async def shared_library(connection: asyncpg.Connection) -> list[tuple[uuid.UUID, LibraryExercise]]:
    """The shared library (clinic_id NULL) as migration 0004 installs it: the one source of
    those exercises; conditions prescribe them by name."""
    rows = await connection.fetch(
        "select id, name, duration_seconds from exercises where clinic_id is null"
    )
    return [(r["id"], LibraryExercise(r["name"], r["duration_seconds"])) for r in rows]


async def load_clinic(
    connection: asyncpg.Connection,
    generator: ClinicGenerator,
    loader: Loader,
    silent: bool,
    patients_done: Callable[[int], None],
) -> None:
    """One transaction: staff, patients in chunks (bounded memory), compliance rows.

    Generation is not overlapped with the COPY in a thread: the GIL made that no faster."""
    total = generator.spec.patients
    async with connection.transaction():
        await begin_bulk(connection, generator.cid, silent)
        await loader.copy(generator.staff_rows())
        for start in range(0, total, CHUNK_PATIENTS):
            batch = generator.patient_rows(start, min(start + CHUNK_PATIENTS, total))
            await loader.copy(batch)
            patients_done(len(batch["patients"]))
        await loader.copy(generator.compliance_rows())


async def existing_clinics(connection: asyncpg.Connection, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = await connection.fetch("select id from clinics where id = any($1::uuid[])", ids)
    return {row["id"] for row in rows}


async def analyze(connection: asyncpg.Connection, progress: Progress | None) -> None:
    """Fresh planner statistics after a bulk load."""
    for n, table in enumerate(TABLE_ORDER, start=1):
        await connection.execute(f"ANALYZE {table}")
        if progress is not None:
            progress("analyze", n)
