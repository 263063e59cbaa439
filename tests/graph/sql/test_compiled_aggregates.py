"""Aggregates through the query compiler (graph/sql/compiler/aggregates.py) answer byte for
byte what the resolvers answer, for every role: written documents, then property-generated
groupBy / selection / first combinations over the compiled types. What the compiler leaves to
the resolvers (avg, an Int sum) is still answered, by them."""

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.sql.aggregates import MAX_GROUPS
from models.declarations import DECLARATIONS
from models.list_arguments import RelationKey, aggregate_fields, group_keys
from tests.support.database import plain_dsn
from tests.support.factories import ClinicWorld, add_appointment, add_payment, make_clinic
from tests.support.fuzzing import FUZZ, Client, clients, tokens
from tests.support.graphql_client import graphql, was_compiled

ROLES = ("admin", "receptionist", "physio", "other_physio", "patient")

DOCUMENTS = [
    """{ paymentsAggregate(groupBy: [PAID_AT_MONTH, METHOD]) {
        count sum { amount } min { amount paidAt dueDate } max { createdAt }
        groups(first: 1000) { key { paidAtMonth method } count sum { amount } } } }""",
    """{ appointmentsAggregate(groupBy: [PHYSIOTHERAPIST, STARTS_AT_MONTH, STATUS]) {
        __typename count
        groups { __typename key { __typename physiotherapist { id name } startsAtMonth status
                                   patient { name } }
                 count max { startsAt } } } }""",
    """{ a: patientsAggregate { count min { birthDate } }
         b: patientsAggregate(groupBy: PHYSIOTHERAPIST) { groups(first: 1) { count key {
           physiotherapist { name } } } }
         physiotherapistsAggregate(groupBy: [ACTIVE]) { count groups { count } } }""",
    """{ paymentsAggregate(groupBy: [STATUS]) { groups(first: 0) { count } count } }""",
    """{ paymentsAggregate(where: {method: {eq: PIX}, patient: {name: {ilike: "%0%"}}},
                         groupBy: STATUS) {
        count sum { amount } groups { key { status } count } } }""",
]


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await _populate(superuser)


async def _populate(conn: asyncpg.Connection) -> ClinicWorld:
    world = await make_clinic(conn)
    ana, bruno = world.physio.physiotherapist_id, world.other_physio.physiotherapist_id
    assert ana is not None and bruno is not None
    start = datetime.fromisoformat("2026-03-30T22:00:00-03:00")
    statuses = ["completed", "no_show", "scheduled", "cancelled", "confirmed"]
    for n in range(12):
        patient = world.patient_ids[n % len(world.patient_ids)]
        physio = ana if n % 3 else bruno
        await add_appointment(
            conn, world, patient, physio, start + timedelta(hours=13 * n), status=statuses[n % 5]
        )
        payment = await add_payment(conn, world, patient, f"{50 + 7 * n}.{n:02d}")
        await conn.execute(
            "update payments set method = (array['pix','cash','credit_card'])[$2::int % 3 + 1],"
            " status = case when $2::int % 4 = 0 then 'pending' else 'paid' end,"
            " paid_at = case when $2::int % 4 = 0 then null else $3::timestamptz end,"
            " due_date = case when $2::int % 2 = 0 then $3::timestamptz::date end where id = $1",
            payment,
            n,
            start + timedelta(days=2 * n),
        )
    await conn.execute(
        "update patients set birth_date = date '1980-01-01' + $2::int where id = $1",
        world.patient_ids[1],
        400,
    )
    return world


def _token(world: ClinicWorld, role: str) -> str:
    return world.token(getattr(world, role))


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("role", ROLES)
async def test_compiled_aggregates_equal_the_resolvers(
    client: httpx.AsyncClient, world: ClinicWorld, document: str, role: str
) -> None:
    body = await graphql(client, document, token=_token(world, role))  # asserts equal answers
    assert "errors" not in body, body
    assert was_compiled(document, {})


async def test_variables_plan_once_per_group_by(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    document = """query($g: [AppointmentGroupBy!], $first: Int!) {
      appointmentsAggregate(groupBy: $g) { count groups(first: $first) { key { status type }
        count } } }"""
    token = _token(world, "admin")
    for variables in (
        {"g": ["STATUS"], "first": 2},
        {"g": ["STATUS"], "first": 5},
        {"g": ["TYPE", "STATUS"], "first": 5},  # same shape, other keys: the resolvers answer
    ):
        body = await graphql(client, document, variables, token=token)
        assert "errors" not in body, body
    assert was_compiled(document, {"g": ["STATUS"], "first": 2})
    refused = await graphql(
        client, document, {"g": ["STATUS"], "first": MAX_GROUPS + 1}, token=token
    )
    assert refused["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "groups.first"}


@pytest.mark.parametrize(
    "document",
    [
        "{ paymentsAggregate { avg { amount } } }",
        "{ prescriptionsAggregate { sum { sets } } }",  # not a compiled type
    ],
)
async def test_what_the_compiler_leaves_to_the_resolvers(
    client: httpx.AsyncClient, world: ClinicWorld, document: str
) -> None:
    body = await graphql(client, document, token=_token(world, "admin"))
    assert "errors" not in body, body
    assert not was_compiled(document, {})


# -- property-generated combinations ---------------------------------------------------------

COMPILED_AGGREGATES = {"Appointment": "appointments", "Payment": "payments", "Patient": "patients"}
COMPILED_AGGREGATES["Physiotherapist"] = "physiotherapists"


WHERES = {
    "Appointment": [
        "",
        "{status: {in: [COMPLETED, NO_SHOW]}}",
        '{startsAt: {gte: "2026-04-01T03:00:00Z"}, physiotherapist: {name: {startsWith: "Ana"}}}',
        "{or: [{status: {eq: CANCELLED}}, {not: {price: {isNull: true}}}]}",
    ],
    "Payment": [
        "",
        "{status: {eq: PAID}}",
        '{amount: {gt: "70"}, dueDate: {isNull: false}}',
        '{patient: {status: {eq: ACTIVE}}, paidAt: {lt: "2026-04-10T00:00:00Z"}}',
    ],
    "Patient": ["", "{status: {eq: ACTIVE}}", '{name: {ilike: "%0%"}}'],
    "Physiotherapist": ["", "{active: {eq: true}}", '{name: {startsWith: "B"}}'],
}


@st.composite
def aggregate_documents(draw: st.DrawFn) -> str:
    type_name = draw(st.sampled_from(sorted(COMPILED_AGGREGATES)))
    declared = DECLARATIONS[type_name]
    keys = draw(st.lists(st.sampled_from(sorted(group_keys(declared))), unique=True, max_size=3))
    fields = aggregate_fields(declared)
    figures = []
    for function in ("sum", "min", "max"):
        usable = [n for n, f in fields.items() if function != "sum" or f.kind == "decimal"]
        chosen = draw(st.lists(st.sampled_from(usable), unique=True, max_size=2)) if usable else []
        if chosen:
            figures.append(f"{function} {{ {' '.join(chosen)} }}")
    named = group_keys(declared)
    key_fields = " ".join(
        named[k].field + (" { id }" if isinstance(named[k], RelationKey) else "") for k in keys
    )
    first = draw(st.integers(0, 4))
    where = draw(st.sampled_from(WHERES[type_name]))
    groups = f"groups(first: {first}) {{ count {' '.join(figures)} key {{ {key_fields} }} }}"
    given = [f"groupBy: [{', '.join(keys)}]"] if keys else []
    given += [f"where: {where}"] if where else []
    group_by = f"({', '.join(given)})" if given else ""
    body = f"count {' '.join(figures)} {groups if keys else ''}"
    return f"{{ {COMPILED_AGGREGATES[type_name]}Aggregate{group_by} {{ {body} }} }}"


@pytest.fixture(scope="module")
def fuzz_world(database_url: str) -> ClinicWorld:
    async def make() -> ClinicWorld:
        connection = await asyncpg.connect(plain_dsn(database_url))
        try:
            return await _populate(connection)
        finally:
            await connection.close()

    return asyncio.run(make())


@pytest.fixture(scope="module")
def fuzz_client(database_url: str) -> Iterator[Client]:
    yield from clients(database_url)


@FUZZ
@given(document=aggregate_documents())
def test_generated_aggregates_compile_and_equal_the_resolvers(
    fuzz_client: Client, fuzz_world: ClinicWorld, document: str
) -> None:
    for role, token in tokens(fuzz_world).items():
        if token is None:
            continue
        body: dict[str, Any] = fuzz_client.send(document, {}, token)  # compares when compiled
        assert "errors" not in body, (role, document, body)
        assert was_compiled(document, {}), document
