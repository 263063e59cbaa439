"""The declarations rendered three ways agree: a computed value (`overdue`, `durationMinutes`,
`shared`) is the same in Python (the resolvers' objects) as in the compiler's SQL, and a
declared filter keeps the same rows as SQLAlchemy (resolvers) and as the compiler's SQL."""

import enum
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from graph.core.errors import ApiError
from graph.core.ids import parse_global_id, to_global_id
from graph.sql.compiler.registry import INPUT_SQL_TYPES, computed_sql, condition_sql
from graph.sql.declared import criteria, evaluate, filter_conditions, filter_value, local_id
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


class AppointmentStatus(enum.Enum):  # as the coerced input holds it
    SCHEDULED = "scheduled"


def test_criteria_are_checked_once_converted_and_hashable() -> None:
    physio = to_global_id("Physiotherapist", uuid.uuid4())
    checked = criteria(
        "Appointment",
        {"status": [AppointmentStatus.SCHEDULED], "physiotherapistId": physio, "to": None},
    )
    assert dict(checked) == {"status": ("scheduled",), "physiotherapistId": local(physio)}
    assert hash(checked) == hash(tuple(checked))
    assert criteria("Patient", {"search": "Ana"}) == (), "search is the resolver's own"
    with pytest.raises(ApiError) as refused:
        criteria("Appointment", {"patientId": physio})
    assert refused.value.extensions == {"code": "BAD_USER_INPUT", "field": "filter.patientId"}
    with pytest.raises(ApiError):
        criteria("Appointment", {"from": datetime(2026, 1, 1)})  # no time zone


def test_local_ids_follow_the_declared_id_kind() -> None:
    row = uuid.uuid4()
    assert local_id("Patient", str(row)) == row
    assert local_id("Patient", "12") is None
    assert local_id("AuditEntry", "12") == 12
    assert local_id("AuditEntry", str(2**63)) is None
    assert local_id("AuditEntry", "0") is None
    assert local_id("Viewer", str(row)) is None


def local(global_id: str) -> uuid.UUID:
    return uuid.UUID(parse_global_id(global_id)[1])
