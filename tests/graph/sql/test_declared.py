"""The declarations rendered three ways agree: a computed value (`overdue`, `durationMinutes`,
`shared`) is the same in Python (the resolvers' objects) as in the compiler's SQL, and a
declared filter keeps the same rows as SQLAlchemy (resolvers) and as the compiler's SQL."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from graph.sql.compiler.registry import INPUT_SQL_TYPES, computed_sql, condition_sql
from graph.sql.declared import evaluate, filter_conditions, filter_value
from models.declarations import DECLARATIONS
from models.type_map import Computed, Filter
from tests.support.factories import add_appointment, add_payment, make_clinic


async def _rows(conn: asyncpg.Connection) -> None:
    world = await make_clinic(conn)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    now = datetime.now(UTC)
    for n, patient in enumerate(world.patient_ids[:3]):
        await add_appointment(conn, world, patient, physio, now + timedelta(days=n - 1), 30 + n)
    for due in (date.today() - timedelta(days=3), date.today() + timedelta(days=3), None):
        payment = await add_payment(conn, world, world.patient_ids[0], "10.00", due_date=due)
        await conn.execute(
            "update payments set status = 'paid', paid_at = now() where id = $1 and $2",
            payment,
            due is None,
        )
    await conn.execute(
        "insert into data_subject_requests (clinic_id, patient_id, kind, requested_at)"
        " values ($1, $2, 'access', now() - interval '20 days'), ($1, $2, 'correction', now())",
        world.clinic_id,
        world.patient_ids[0],
    )
    await conn.execute(
        "insert into exercises (clinic_id, name, category, difficulty)"
        " values ($1, 'Prancha', 'core', 'easy')",
        world.clinic_id,
    )


async def test_computed_values_are_the_same_in_python_and_in_sql(
    superuser: asyncpg.Connection,
) -> None:
    await _rows(superuser)
    checked = 0
    for declared in DECLARATIONS.values():
        for name, field in declared.fields.items():
            if not isinstance(field, Computed):
                continue
            sql = (
                f"select t.*, ({computed_sql(field.value, 't')}) as _v from {declared.table.name} t"
            )
            rows = await superuser.fetch(sql)
            assert rows, (declared.name, name)
            values = set()
            for row in rows:
                assert evaluate(field.value, dict(row)) == row["_v"], (declared.name, name, row)
                values.add(row["_v"])
            assert len(values) > 1, f"{declared.name}.{name}: one value only tests little"
            checked += 1
    assert checked == 4  # overdue (Payment, DataSubjectRequest), durationMinutes, shared


FILTER_VALUES: dict[tuple[str, str], Any] = {
    ("Appointment", "from"): datetime.now(UTC),
    ("Appointment", "to"): datetime.now(UTC),
    ("Payment", "from"): date.today(),
    ("Payment", "to"): date.today(),
}


async def test_declared_filters_keep_the_same_rows_on_both_paths(
    superuser: asyncpg.Connection,
) -> None:
    await _rows(superuser)
    compared = 0
    for declared in DECLARATIONS.values():
        for name, field in declared.filters.items():
            value = FILTER_VALUES.get((declared.name, name))
            if not isinstance(field, Filter) or value is None:
                continue
            table = declared.table
            (resolver,) = filter_conditions(declared.name, {name: value})
            statement = select(table.c.id).where(resolver)
            compiled = statement.compile(
                dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
            )
            by_resolvers = {row["id"] for row in await superuser.fetch(str(compiled))}
            converted = filter_value(field, value, "filter." + name)
            cast = INPUT_SQL_TYPES[field.kind]
            where = condition_sql(field.condition, "t", f"$1::{cast}")
            by_compiler = {
                row["id"]
                for row in await superuser.fetch(
                    f"select t.id from {table.name} t where {where}", converted
                )
            }
            assert by_resolvers == by_compiler, (declared.name, name)
            assert by_resolvers, (declared.name, name)
            compared += 1
    assert compared == len(FILTER_VALUES)
