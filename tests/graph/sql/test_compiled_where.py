"""`where` and `orderBy` in the query compiler's SQL keep, order and page the rows exactly as
graph/sql/where.py and order.py render them for SQLAlchemy (the resolvers): same rows, same
order, same cursors, pages going forward and backward from them, for property-generated
trees and orders of every listed compiled type. (Over HTTP, with every role: test_compiler.py.)"""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest
from graphql import parse
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql

from graph.core.cursors import CursorCodec
from graph.core.ids import parse_global_id
from graph.schema import COMPILED, schema
from graph.sql.compiler import Plan, compile_operation, shape_of
from graph.sql.compiler.registry import comparisons, skeleton
from graph.sql.order import check_order, ordered_sort_key
from graph.sql.where import check_where, where_condition
from models.declarations import DECLARATIONS
from tests.support.database import plain_dsn
from tests.support.factories import ClinicWorld, add_appointment, add_payment, make_clinic
from tests.support.fuzzing import FUZZ
from tests.support.list_arguments import Pools, ids_of, orders, wheres

CURSORS = CursorCodec.from_secret("the cursors of these tests")
TYPES = ("Patient", "Appointment", "Payment", "Physiotherapist")
PAGE = 3


def document(type_name: str) -> str:
    root = DECLARATIONS[type_name].root_list
    return (
        f"query($w: {type_name}Where, $o: [{type_name}OrderBy!], $first: Int, $after: String,"
        f" $last: Int, $before: String) {{ r: {root}(where: $w, orderBy: $o, first: $first,"
        " after: $after, last: $last, before: $before) { totalCount"
        " pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
        " edges { cursor node { id } } } }"
    )


@pytest.fixture(scope="module")
def world(database_url: str) -> ClinicWorld:
    async def make() -> ClinicWorld:
        connection = await asyncpg.connect(plain_dsn(database_url))
        try:
            return await _with_history(connection)
        finally:
            await connection.close()

    return asyncio.run(make())


async def _with_history(conn: asyncpg.Connection) -> ClinicWorld:
    """Rows with ties, nulls and several values in the columns filters and orders read."""
    world = await make_clinic(conn)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=12)
    for n, patient in enumerate(world.patient_ids):
        for k in range(3):
            when = start + timedelta(days=4 * k, hours=n)
            appointment = await add_appointment(conn, world, patient, physio, when, 30 + 15 * k)
            due = date.today() + timedelta(days=k - 1) if n % 2 else None
            await add_payment(
                conn, world, patient, f"{100 + k}.50", appointment_id=appointment, due_date=due
            )
    await conn.execute(
        "update appointments set status = 'cancelled', price = null, notes = 'Ana silva'"
        " where patient_id = $1",
        world.patient_ids[1],
    )
    await conn.execute(
        "update patients set status = 'discharged', birth_date = null where id = $1",
        world.patient_ids[2],
    )
    await conn.execute(
        "update patients set birth_date = date '1990-06-15' where id = any($1)",
        world.patient_ids[3:5],
    )
    return world


def pools(world: ClinicWorld) -> Pools:
    return Pools(schema._schema, ids_of(world))


def plans(type_name: str, variables: dict[str, Any]) -> Plan:
    return compile_operation(COMPILED, parse(document(type_name)), None, variables)


def run(database_url: str, plan: Plan, variables: dict[str, Any]) -> Any:
    async def fetch() -> Any:
        connection = await asyncpg.connect(plain_dsn(database_url))
        try:
            arguments = plan.arguments(variables, CURSORS)
            return await connection.fetchval(plan.sql, *([arguments] if arguments else []))
        finally:
            await connection.close()

    return orjson.loads(asyncio.run(fetch()))["r"]


def fetch_expected(database_url: str, statement: Select[Any]) -> list[Any]:
    compiled = statement.compile(
        dialect=postgresql.asyncpg.dialect(), compile_kwargs={"render_postcompile": True}
    )
    names = compiled.positiontup or []

    async def fetch() -> list[Any]:
        connection = await asyncpg.connect(plain_dsn(database_url))
        try:
            return list(await connection.fetch(str(compiled), *(compiled.params[n] for n in names)))
        finally:
            await connection.close()

    return asyncio.run(fetch())


def expected_rows(
    database_url: str, type_name: str, where: dict[str, Any] | None, order: list[str] | None
) -> tuple[list[Any], list[str]]:
    """The rows SQLAlchemy keeps, in the list's order, and their cursors."""
    table = DECLARATIONS[type_name].table
    sort = ordered_sort_key(type_name, check_order(type_name, order))
    condition = where_condition(check_where(type_name, where), table)
    rows = fetch_expected(
        database_url, select(table).where(condition).order_by(*sort.order(backward=False))
    )
    return rows, [CURSORS.encode(sort.kind, sort.key_of(row)) for row in rows]


def page_of(answer: dict[str, Any]) -> tuple[list[str], list[str]]:
    edges = answer["edges"]
    return [parse_global_id(e["node"]["id"])[1] for e in edges], [e["cursor"] for e in edges]


@pytest.mark.parametrize("type_name", TYPES)
@FUZZ
@given(data=st.data())
def test_where_and_order_page_as_sqlalchemy_does(
    database_url: str, world: ClinicWorld, type_name: str, data: st.DataObject
) -> None:
    where = data.draw(st.none() | wheres(type_name, pools(world)), "where")
    order = data.draw(st.none() | orders(type_name), "orderBy")
    rows, cursors = expected_rows(database_url, type_name, where, order)
    ids = [str(row["id"]) for row in rows]
    variables: dict[str, Any] = {"w": where, "o": order, "first": PAGE, "after": None}
    variables |= {"last": None, "before": None}
    first = run(database_url, plans(type_name, variables), variables)
    assert first["totalCount"] == len(rows)
    assert page_of(first) == (ids[:PAGE], cursors[:PAGE])
    assert first["pageInfo"]["hasNextPage"] == (len(rows) > PAGE)
    if len(rows) <= PAGE:
        return
    after = {**variables, "after": cursors[PAGE - 1]}
    second = run(database_url, plans(type_name, after), after)
    assert page_of(second) == (ids[PAGE : 2 * PAGE], cursors[PAGE : 2 * PAGE])
    before = {**variables, "first": None, "last": 2, "before": cursors[PAGE]}
    back = run(database_url, plans(type_name, before), before)
    assert page_of(back) == (ids[PAGE - 2 : PAGE], cursors[PAGE - 2 : PAGE])


@FUZZ
@given(data=st.data())
def test_a_plan_serves_only_trees_of_its_shape(world: ClinicWorld, data: st.DataObject) -> None:
    """Variables of the same shape give trees of the same skeleton (so one plan serves them
    with their own values); the plan checks it again on each run."""
    first = data.draw(wheres("Appointment", pools(world)))
    second = data.draw(wheres("Appointment", pools(world)))
    a, b = check_where("Appointment", first), check_where("Appointment", second)
    if shape_of({"w": first}) == shape_of({"w": second}):
        assert skeleton(a) == skeleton(b)
        assert len(list(comparisons(a))) == len(list(comparisons(b)))
