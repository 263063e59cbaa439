"""Property-generated `where` and `orderBy` arguments (tests/support/list_arguments.py) on the
root lists of Patient, Appointment, Payment and Physiotherapist, sent over HTTP as every role
of two clinics: the compiled answer is the resolvers' JSON, key order included, or both are
the same errors; and whatever the resolvers answer without an error is compiled."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.schema import schema
from models.declarations import DECLARATIONS
from tests.support.database import plain_dsn
from tests.support.factories import ClinicWorld, add_appointment, add_payment, make_clinic
from tests.support.fuzzing import EXAMPLES, FUZZ, Client, clients
from tests.support.graphql_client import was_compiled
from tests.support.list_arguments import Pools, as_json, ids_of, orders, wheres

NOW = datetime.now(UTC).replace(microsecond=0)
NODES = {
    "Patient": "id name birthDate status physiotherapist { name }",
    "Appointment": "id startsAt status price patient { name }",
    "Payment": "id amount method dueDate patient { name }",
    "Physiotherapist": "id name active",
}


def document(type_name: str) -> str:
    root = DECLARATIONS[type_name].root_list
    return (
        f"query($w: {type_name}Where, $o: [{type_name}OrderBy!], $after: String) {{"
        f" {root}(first: 3, after: $after, where: $w, orderBy: $o) {{ totalCount"
        " pageInfo { hasNextPage endCursor }"
        f" edges {{ cursor node {{ {NODES[type_name]} }} }} }} }}"
    )


async def _history(conn: asyncpg.Connection) -> ClinicWorld:
    world = await make_clinic(conn)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    for n, patient in enumerate(world.patient_ids):
        for k in range(2):
            when = NOW + timedelta(days=5 * k - 3, hours=n)
            appointment = await add_appointment(conn, world, patient, physio, when, 45)
            await add_payment(conn, world, patient, f"{100 + k}.50", appointment_id=appointment)
    await conn.execute(
        "update appointments set status = 'cancelled', price = null where patient_id = $1",
        world.patient_ids[1],
    )
    await conn.execute("update patients set birth_date = null where id = $1", world.patient_ids[2])
    return world


@pytest.fixture(scope="module")
def worlds(database_url: str) -> list[ClinicWorld]:
    async def make() -> list[ClinicWorld]:
        connection = await asyncpg.connect(plain_dsn(database_url))
        try:
            return [await _history(connection), await _history(connection)]
        finally:
            await connection.close()

    return asyncio.run(make())


@pytest.fixture(scope="module")
def client(database_url: str) -> Any:
    yield from clients(database_url)


def _tokens(world: ClinicWorld) -> list[str]:
    people = (world.admin, world.physio, world.receptionist, world.patient)
    return [world.token(who) for who in people]


@pytest.mark.parametrize("type_name", list(NODES))
@settings(FUZZ, max_examples=max(EXAMPLES // 2, 10))
@given(data=st.data())
def test_generated_where_and_order_by_as_every_role(
    client: Client, worlds: list[ClinicWorld], type_name: str, data: st.DataObject
) -> None:
    world = data.draw(st.sampled_from(worlds), "clinic")
    pools = Pools(schema._schema, ids_of(worlds[0]))
    variables = {
        "w": as_json(data.draw(st.none() | wheres(type_name, pools), "where")),
        "o": data.draw(st.none() | orders(type_name), "orderBy"),
    }
    query = document(type_name)
    for token in _tokens(world):
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        after = None
        for _ in range(2):  # a page, and the next one from its cursor
            sent = {**variables, "after": after}
            compiled = _post(client, query, sent, headers)
            expected = _post(client, query, sent, headers, oracle=True)
            assert _normal(compiled) == _normal(expected), (sent, compiled, expected)
            answer = orjson.loads(compiled)
            if "errors" in answer:
                break
            assert was_compiled(query, sent), sent
            fast = _post(client, query, sent, headers)  # graph/http/fast_path's turn
            assert _normal(fast) == _normal(expected), (sent, fast, expected)
            page = answer["data"][DECLARATIONS[type_name].root_list]["pageInfo"]
            if not page["hasNextPage"]:
                break
            after = page["endCursor"]


def _post(
    client: Client, query: str, variables: dict[str, Any], headers: dict[str, str], **how: bool
) -> bytes:
    payload = {"query": query, "variables": variables}
    target = client.oracle if how.get("oracle") else client.client
    response = client.portal.call(
        lambda: target.post("/graphql", content=orjson.dumps(payload), headers=headers)
    )
    assert response.status_code == 200, response.text
    return response.content


def _normal(body: bytes) -> bytes:
    """The JSON as orjson writes it (PostgreSQL's `json` spaces its separators), keys in the
    order they came."""
    return orjson.dumps(orjson.loads(body))
