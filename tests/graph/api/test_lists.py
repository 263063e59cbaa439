"""`where` and `orderBy` on every list, as a client uses them: operators, nesting, relations,
keyset pages under any order, and the refusals an attacker meets."""

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from graph.core.ids import to_global_id
from graph.sql.where import MAX_CONDITIONS, MAX_DEPTH, MAX_LIST, MAX_PATTERN
from tests.support.factories import ClinicWorld, add_appointment, make_clinic
from tests.support.graphql_client import error_codes, graphql

PATIENTS = """query($where: PatientWhere, $orderBy: [PatientOrderBy!], $first: Int,
                   $after: String, $last: Int, $before: String) {
  patients(where: $where, orderBy: $orderBy, first: $first, after: $after, last: $last,
           before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
    edges { cursor node { name birthDate status } }
  }
}"""

APPOINTMENTS = """query($where: AppointmentWhere, $orderBy: [AppointmentOrderBy!]) {
  appointments(first: 100, where: $where, orderBy: $orderBy) {
    totalCount
    edges { node { startsAt status patient { name } } }
  }
}"""


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    """A clinic of 8 patients with known names, birth dates (two unknown) and statuses."""
    world = await make_clinic(superuser, patients_per_physio=4)
    births = [date(1980, 1, 1), None, date(1990, 5, 5), date(1980, 1, 1), None]
    births += [date(2001, 2, 3), date(1975, 7, 7), date(1990, 5, 5)]
    names = ["Ana Silva", "Bia Souza", "Caio Silva", "Davi Lima"]
    names += ["Eva Silveira", "Fábio Costa", "Gil Souza", "Hugo Lima"]
    for index, (patient_id, name, birth) in enumerate(
        zip(world.patient_ids, names, births, strict=True)
    ):
        status = "inactive" if index % 3 == 2 else "active"
        await superuser.execute(
            "update patients set name = $2, birth_date = $3, status = $4 where id = $1",
            patient_id,
            f"{name} {world.clinic_id.hex[:6]}",
            birth,
            status,
        )
    return world


async def _names(
    client: httpx.AsyncClient, token: str, **variables: Any
) -> tuple[list[str], dict[str, Any]]:
    body = await graphql(client, PATIENTS, variables, token=token)
    assert "errors" not in body, body
    data = body["data"]["patients"]
    return [edge["node"]["name"].rsplit(" ", 1)[0] for edge in data["edges"]], data


async def test_where_operators_keep_the_rows_they_say(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    token = world.token(world.admin)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"name": {"ilike": "%silva%"}}, {"Ana Silva", "Caio Silva"}),
        ({"name": {"startsWith": "Bia"}}, {"Bia Souza"}),
        ({"name": {"like": "%Sil%"}}, {"Ana Silva", "Caio Silva", "Eva Silveira"}),
        ({"birthDate": {"isNull": True}}, {"Bia Souza", "Eva Silveira"}),
        ({"birthDate": {"gte": "1990-01-01", "lt": "2000-01-01"}}, {"Caio Silva", "Hugo Lima"}),
        (
            {"birthDate": {"neq": "1980-01-01"}},
            {"Caio Silva", "Fábio Costa", "Gil Souza"} | {"Hugo Lima"},
        ),
        ({"status": {"eq": "INACTIVE"}}, {"Caio Silva", "Fábio Costa"}),
        ({"status": {"in": []}}, set()),
        (
            {"or": [{"name": {"startsWith": "Ana"}}, {"name": {"startsWith": "Gil"}}]},
            {"Ana Silva", "Gil Souza"},
        ),
        (
            {"and": [{"name": {"ilike": "%souza%"}}], "not": {"birthDate": {"isNull": True}}},
            {"Gil Souza"},
        ),
        ({"and": [], "or": []}, {n for n in _ALL}),
        ({"name": {"nin": []}, "birthDate": {"eq": None}}, {n for n in _ALL}),
    ]
    for where, expected in cases:
        names, data = await _names(client, token, where=where, first=100)
        assert set(names) == expected, where
        assert data["totalCount"] == len(expected), where


_ALL = {"Ana Silva", "Bia Souza", "Caio Silva", "Davi Lima"} | {
    "Eva Silveira",
    "Fábio Costa",
    "Gil Souza",
    "Hugo Lima",
}


async def test_every_order_pages_forward_and_backward_through_the_same_rows(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    """Under each order (nullable columns, both directions, several keys), pages of 3 read
    forward and backward give exactly the whole list, in order."""
    token = world.token(world.admin)
    orders = [
        ["BIRTH_DATE_DESC"],
        ["BIRTH_DATE_ASC", "NAME_DESC"],
        ["STATUS_DESC", "BIRTH_DATE_ASC"],
        ["NAME_DESC"],
    ]
    for order in orders:
        everything, _ = await _names(client, token, orderBy=order, first=100)
        assert len(everything) == 8
        forward: list[str] = []
        after = None
        for _ in range(4):
            names, data = await _names(client, token, orderBy=order, first=3, after=after)
            forward += names
            after = data["pageInfo"]["endCursor"]
            if not data["pageInfo"]["hasNextPage"]:
                break
        assert forward == everything, order
        backward: list[str] = []
        before = None
        for _ in range(4):
            names, data = await _names(client, token, orderBy=order, last=3, before=before)
            backward = names + backward
            before = data["pageInfo"]["startCursor"]
            if not data["pageInfo"]["hasPreviousPage"]:
                break
        assert backward == everything, order


async def test_orders_put_nulls_last_ascending_and_first_descending(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    token = world.token(world.admin)
    ascending, _ = await _names(client, token, orderBy=["BIRTH_DATE_ASC"], first=100)
    assert ascending[0] == "Gil Souza"  # 1975, then the two of 1980 (their ids break the tie)
    assert set(ascending[1:3]) == {"Ana Silva", "Davi Lima"}
    assert set(ascending[-2:]) == {"Bia Souza", "Eva Silveira"}
    descending, _ = await _names(client, token, orderBy=["BIRTH_DATE_DESC", "NAME_ASC"], first=100)
    assert descending[:3] == ["Bia Souza", "Eva Silveira", "Fábio Costa"]
    by_name, _ = await _names(client, token, orderBy=["NAME_DESC"], first=100)
    assert by_name == sorted(_ALL, reverse=True)


async def test_a_cursor_of_another_order_is_refused(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    token = world.token(world.admin)
    _, data = await _names(client, token, orderBy=["NAME_ASC", "STATUS_DESC"], first=2)
    cursor = data["pageInfo"]["endCursor"]
    for order in (["BIRTH_DATE_DESC"], None, ["NAME_ASC"]):
        body = await graphql(
            client, PATIENTS, {"orderBy": order, "first": 2, "after": cursor}, token=token
        )
        assert error_codes(body) == ["BAD_USER_INPUT"], order
        assert body["errors"][0]["extensions"]["field"] == "after"
        assert body["data"] is None


async def test_hostile_where_values_are_bad_input_on_their_field(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    token = world.token(world.admin)
    appointment = to_global_id("Appointment", uuid.uuid4())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": {"like": "%" * (MAX_PATTERN + 1)}}, "where.name.like"),
        ({"name": {"in": ["x"] * (MAX_LIST + 1)}}, "where.name.in"),
        ({"id": {"eq": appointment}}, "where.id.eq"),
        ({"or": [{"id": {"in": ["not-an-id"]}}]}, "where.or.0.id.in"),
        ({"physiotherapist": {"id": {"eq": appointment}}}, "where.physiotherapist.id.eq"),
    ]
    for where, field in cases:
        body = await graphql(client, PATIENTS, {"where": where}, token=token)
        assert error_codes(body) == ["BAD_USER_INPUT"], where
        assert body["errors"][0]["extensions"]["field"] == field
    undeclared = await graphql(
        client, '{ patients(where: {passwordHash: {eq: "x"}}) { totalCount } }', token=token
    )
    assert error_codes(undeclared) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_relation_filters_see_only_what_the_caller_may_see(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    other = await make_clinic(superuser, "Outra")
    start = datetime(2031, 3, 3, 12, tzinfo=UTC)
    for index, patient_id in enumerate(world.patient_ids[:3]):
        physio = world.physio.physiotherapist_id
        assert physio is not None
        status = "cancelled" if index == 2 else "scheduled"
        await add_appointment(
            superuser, world, patient_id, physio, start + timedelta(hours=index), status=status
        )
    token = world.token(world.admin)
    silva = {"patient": {"name": {"ilike": "%silva%"}}, "startsAt": {"gte": start.isoformat()}}
    body = await graphql(
        client, APPOINTMENTS, {"where": silva, "orderBy": ["STARTS_AT_DESC"]}, token=token
    )
    edges = body["data"]["appointments"]["edges"]
    assert [e["node"]["patient"]["name"].rsplit(" ", 1)[0] for e in edges] == [
        "Caio Silva",
        "Ana Silva",
    ]
    assert body["data"]["appointments"]["totalCount"] == 2
    not_cancelled = {**silva, "status": {"nin": ["CANCELLED"]}}
    body = await graphql(client, APPOINTMENTS, {"where": not_cancelled}, token=token)
    assert body["data"]["appointments"]["totalCount"] == 1
    # Another clinic's admin names this clinic's patient: nothing, not even a count.
    theirs = {"patient": {"id": {"eq": to_global_id("Patient", world.patient_ids[0])}}}
    body = await graphql(client, APPOINTMENTS, {"where": theirs}, token=other.token(other.admin))
    assert body["data"]["appointments"] == {"totalCount": 0, "edges": []}
    # A receptionist filters through a patient's physiotherapist the same way.
    physio_id = world.physio.physiotherapist_id
    assert physio_id is not None
    through = {
        "patient": {"physiotherapist": {"id": {"eq": to_global_id("Physiotherapist", physio_id)}}}
    }
    body = await graphql(
        client, APPOINTMENTS, {"where": through}, token=world.token(world.receptionist)
    )
    assert body["data"]["appointments"]["totalCount"] == 3


async def test_nested_lists_take_where_and_order_batched(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    start = datetime(2032, 1, 5, 9, tzinfo=UTC)
    pairs = [(world.patient_ids[0], world.physio), (world.patient_ids[4], world.other_physio)]
    for (patient_id, physio), hour in itertools.product(pairs, range(3)):
        assert physio.physiotherapist_id is not None
        when = start + timedelta(hours=hour)
        await add_appointment(superuser, world, patient_id, physio.physiotherapist_id, when)
    query = """query($patients: PatientWhere, $where: AppointmentWhere) {
      patients(where: $patients, orderBy: [NAME_DESC]) { edges { node { name
        appointments(first: 2, where: $where, orderBy: [STARTS_AT_DESC]) {
          totalCount edges { node { startsAt } } } } } } }"""
    chosen = {"id": {"in": [to_global_id("Patient", p) for p, _ in pairs]}}
    where = {"startsAt": {"gte": start.isoformat(), "lt": (start + timedelta(hours=2)).isoformat()}}
    variables = {"patients": chosen, "where": where}
    body = await graphql(client, query, variables, token=world.token(world.admin))
    edges = body["data"]["patients"]["edges"]
    assert [e["node"]["name"].rsplit(" ", 1)[0] for e in edges] == ["Eva Silveira", "Ana Silva"]
    for edge in edges:
        nested = edge["node"]["appointments"]
        assert nested["totalCount"] == 2
        assert [e["node"]["startsAt"] for e in nested["edges"]] == [
            (start + timedelta(hours=1)).isoformat(),
            start.isoformat(),
        ]


async def test_clinical_records_are_not_searchable_by_their_text(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    """Filtering a prontuário by its text would read clinical content without an audit row."""
    token = world.token(world.admin)
    for field in ("anamnesis", "diagnosis", "evolution"):
        where = f'{{{field}: {{like: "%a%"}}}}'
        nested = f"prontuarios(where: {where}) {{ totalCount }}"
        query = f"{{ patients {{ edges {{ node {{ {nested} }} }} }} }}"
        assert error_codes(await graphql(client, query, token=token)) == [
            "GRAPHQL_VALIDATION_FAILED"
        ]
    orders = await graphql(
        client,
        '{ __type(name: "ProntuarioOrderBy") { enumValues { name } } }',
        token=token,
    )
    names = {v["name"] for v in orders["data"]["__type"]["enumValues"]}
    assert names == {
        f"{c}_{d}" for c in ("KIND", "EXPECTED_SESSIONS", "CREATED_AT") for d in ("ASC", "DESC")
    }


async def test_deep_or_wide_where_trees_are_refused_before_any_sql(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    """A tree nested too deep, or with too many comparisons, is refused with its field, never
    a 500 (recursion) or a statement the size of the request."""
    token = world.token(world.admin)
    deep: dict[str, Any] = {"name": {"eq": "x"}}
    for level in range(20):
        deep = {"not": deep} if level % 2 else {"and": [deep]}
    wide = {"or": [{"name": {"eq": f"x{i}"}} for i in range(MAX_CONDITIONS + 1)]}
    through = {"physiotherapist": {"name": {"eq": "x"}}}
    for _ in range(MAX_DEPTH):
        through = {"not": through}
    for where in (deep, wide, through):
        body = await graphql(client, PATIENTS, {"where": where}, token=token)
        assert error_codes(body) == ["BAD_USER_INPUT"], str(where)[:80]
        assert body["errors"][0]["extensions"]["field"].startswith("where")
    # Hundreds deep: GraphQL itself refuses the variables before anything runs.
    for _ in range(300):
        deep = {"and": [deep]}
    body = await graphql(client, PATIENTS, {"where": deep}, token=token)
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
