"""The patients slice through the ASGI app: lists, filters, pages, writes and access."""

import asyncpg
import httpx

from graph.core.ids import to_global_id
from tests.support.factories import VALID_CPFS, make_clinic
from tests.support.graphql_client import error_codes, graphql

PATIENTS = """query($first: Int, $after: String, $last: Int, $before: String,
                   $filter: PatientFilter) {
  patients(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name physiotherapist { name } } }
  }
}"""

CREATE = """mutation($input: CreatePatientInput!) {
  createPatient(input: $input) { id name cpf email status physiotherapist { name } }
}"""

UPDATE = """mutation($input: UpdatePatientInput!) {
  updatePatient(input: $input) { id name phone status }
}"""


async def _names(client: httpx.AsyncClient, token: str, **variables: object) -> list[str]:
    body = await graphql(client, PATIENTS, dict(variables), token=token)
    assert "errors" not in body, body
    return [edge["node"]["name"] for edge in body["data"]["patients"]["edges"]]


async def test_admin_lists_only_own_clinic(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    mine = await make_clinic(superuser, "Clínica A")
    theirs = await make_clinic(superuser, "Clínica B")
    body = await graphql(client, PATIENTS, {"first": 100}, token=mine.token(mine.admin))
    data = body["data"]["patients"]
    ids = {edge["node"]["id"] for edge in data["edges"]}
    assert {to_global_id("Patient", p) for p in mine.patient_ids} <= ids
    assert not ids & {to_global_id("Patient", p) for p in theirs.patient_ids}
    own_count = await superuser.fetchval(
        "select count(*) from patients where clinic_id = $1", mine.clinic_id
    )
    assert data["totalCount"] == own_count


async def test_keyset_pages_forward_and_backward(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser, patients_per_physio=4)
    token = world.token(world.admin)
    everyone = await _names(client, token, first=100)
    assert everyone == sorted(everyone)

    first = await graphql(client, PATIENTS, {"first": 3}, token=token)
    page = first["data"]["patients"]
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["hasPreviousPage"] is False
    second = await _names(client, token, first=3, after=page["pageInfo"]["endCursor"])
    assert [e["node"]["name"] for e in page["edges"]] + second == everyone[:6]

    back = await graphql(
        client, PATIENTS, {"last": 2, "before": page["edges"][2]["cursor"]}, token=token
    )
    assert [e["node"]["name"] for e in back["data"]["patients"]["edges"]] == everyone[:2]
    assert back["data"]["patients"]["pageInfo"]["hasPreviousPage"] is False
    tail = await graphql(client, PATIENTS, {"last": 2}, token=token)
    assert [e["node"]["name"] for e in tail["data"]["patients"]["edges"]] == everyone[-2:]
    assert tail["data"]["patients"]["pageInfo"]["hasNextPage"] is False


async def test_page_size_is_capped_and_cursors_checked(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    too_many = await graphql(client, PATIENTS, {"first": 101}, token=token)
    assert error_codes(too_many) == ["BAD_USER_INPUT"]
    assert too_many["errors"][0]["extensions"]["field"] == "first"
    bad_cursor = await graphql(client, PATIENTS, {"after": "not-a-cursor"}, token=token)
    assert error_codes(bad_cursor) == ["BAD_USER_INPUT"]
    assert bad_cursor["errors"][0]["extensions"]["field"] == "after"


async def test_filters(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    await superuser.execute(
        "update patients set name = 'José da Conceição', status = 'discharged' where id = $1",
        world.patient_ids[1],
    )
    token = world.token(world.receptionist)
    assert await _names(client, token, filter={"search": "jose da conceicao"}) == [
        "José da Conceição"
    ]
    assert await _names(client, token, filter={"status": "DISCHARGED"}) == ["José da Conceição"]
    physio_gid = to_global_id("Physiotherapist", world.other_physio.physiotherapist_id)  # type: ignore[arg-type]
    others = await _names(client, token, first=100, filter={"physiotherapistId": physio_gid})
    assert len(others) == 3
    assert all(name.startswith("Paciente") for name in others)


async def test_create_patient_validates_cpf(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    count = "select count(*) from patients where clinic_id = $1"
    before = await superuser.fetchval(count, world.clinic_id)
    for bad in ("123.456.789-00", "11111111111", "1234567890", "abc45678909"):
        body = await graphql(client, CREATE, {"input": {"name": "X", "cpf": bad}}, token=token)
        assert error_codes(body) == ["BAD_USER_INPUT"], bad
        assert body["errors"][0]["extensions"]["field"] == "cpf"
    assert await superuser.fetchval(count, world.clinic_id) == before

    created = await graphql(
        client,
        CREATE,
        {"input": {"name": " Maria Silva ", "cpf": "529.982.247-25", "email": "maria@example.com"}},
        token=token,
    )
    assert created["data"]["createPatient"]["cpf"] == "52998224725"
    assert created["data"]["createPatient"]["name"] == "Maria Silva"
    assert created["data"]["createPatient"]["status"] == "ACTIVE"

    duplicate = await graphql(
        client, CREATE, {"input": {"name": "Outra", "cpf": "52998224725"}}, token=token
    )
    assert error_codes(duplicate) == ["CONFLICT"]
    assert duplicate["errors"][0]["extensions"]["field"] == "cpf"
    assert await superuser.fetchval(count, world.clinic_id) == before + 1


async def test_same_cpf_in_another_clinic_is_fine(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    first = await make_clinic(superuser)
    second = await make_clinic(superuser)
    for world in (first, second):
        body = await graphql(
            client,
            CREATE,
            {"input": {"name": "Pedro", "cpf": VALID_CPFS[1]}},
            token=world.token(world.admin),
        )
        assert "errors" not in body, body


async def test_physiotherapist_writes_only_own_patients(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.physio)
    own, other = world.patient_ids[0], world.patient_ids[3]
    ok = await graphql(
        client,
        UPDATE,
        {"input": {"id": to_global_id("Patient", own), "phone": "11 99999-0000"}},
        token=token,
    )
    assert ok["data"]["updatePatient"]["phone"] == "11 99999-0000"
    refused = await graphql(
        client,
        UPDATE,
        {"input": {"id": to_global_id("Patient", other), "phone": "0"}},
        token=token,
    )
    assert error_codes(refused) == ["FORBIDDEN"]
    assert await superuser.fetchval("select phone from patients where id = $1", other) is None

    created = await graphql(client, CREATE, {"input": {"name": "Novo Paciente"}}, token=token)
    assert created["data"]["createPatient"]["physiotherapist"] == {"name": "Ana Souza"}


async def test_patient_sees_only_self_and_cannot_write(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.patient)
    body = await graphql(client, PATIENTS, {"first": 100}, token=token)
    edges = body["data"]["patients"]["edges"]
    assert [e["node"]["id"] for e in edges] == [to_global_id("Patient", world.patient_ids[0])]
    assert body["data"]["patients"]["totalCount"] == 1
    refused = await graphql(client, CREATE, {"input": {"name": "Intruso"}}, token=token)
    assert error_codes(refused) == ["FORBIDDEN"]


async def test_update_validates_and_leaves_row_unchanged(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    gid = to_global_id("Patient", world.patient_ids[0])
    before = await superuser.fetchrow("select * from patients where id = $1", world.patient_ids[0])
    body = await graphql(
        client, UPDATE, {"input": {"id": gid, "phone": "1", "cpf": "00000000000"}}, token=token
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    nulled = await graphql(client, UPDATE, {"input": {"id": gid, "name": None}}, token=token)
    assert nulled["errors"][0]["extensions"]["field"] == "name"
    after = await superuser.fetchrow("select * from patients where id = $1", world.patient_ids[0])
    assert dict(after) == dict(before)

    missing = await graphql(
        client, UPDATE, {"input": {"id": to_global_id("Patient", world.admin.user_id)}}, token=token
    )
    assert error_codes(missing) == ["NOT_FOUND"]
    wrong_type = await graphql(
        client, UPDATE, {"input": {"id": to_global_id("Clinic", world.clinic_id)}}, token=token
    )
    assert error_codes(wrong_type) == ["BAD_USER_INPUT"]


async def test_node_hides_other_clinics(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    mine = await make_clinic(superuser)
    theirs = await make_clinic(superuser)
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { id __typename
                 ... on Patient { name } ... on Physiotherapist { crefito } } }"""
    ids = [
        to_global_id("Patient", mine.patient_ids[0]),
        to_global_id("Patient", theirs.patient_ids[0]),
        to_global_id("Physiotherapist", mine.physio.physiotherapist_id),  # type: ignore[arg-type]
        to_global_id("Clinic", theirs.clinic_id),
        "garbage",
    ]
    body = await graphql(client, query, {"ids": ids}, token=mine.token(mine.receptionist))
    found = body["data"]["nodes"]
    assert found[0]["__typename"] == "Patient"
    assert found[1] is None
    assert found[2]["__typename"] == "Physiotherapist"
    assert found[3] is None
    assert found[4] is None
    one = await graphql(
        client,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": ids[1]},
        token=mine.token(mine.admin),
    )
    assert one["data"]["node"] is None
