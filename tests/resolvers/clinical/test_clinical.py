"""Prontuários through the ASGI app: what a record must hold, who writes it, who reads it by
every path (lists, nested fields, node/nodes), and that nobody can edit it afterwards."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from graph.core.ids import to_global_id
from tests.support.factories import ClinicWorld, add_appointment, add_prontuario, make_clinic
from tests.support.graphql_client import StatementCounter, error_codes, graphql

CREATE = """mutation($input: CreateProntuarioInput!) {
  createProntuario(input: $input) {
    id kind anamnesis physicalExam diagnosis prognosis treatmentPlan expectedSessions evolution
    vitalSigns authorName authorCrefito createdAt
    author { name crefito } patient { name } appointment { id } addenda { text }
  }
}"""
ADDENDUM = """mutation($input: AddProntuarioAddendumInput!) {
  addProntuarioAddendum(input: $input) {
    id addenda { id text createdAt author { name } }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { id __typename } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
PATIENT_RECORDS = """query {
  patients(first: 20) { edges { node { id
    prontuarios(first: 5) { totalCount edges { node { id kind addenda { text } } } }
  } } }
}"""
APPOINTMENT_RECORDS = """query {
  appointments(first: 100) { edges { node { id prontuario { id evolution } } } }
}"""
OWN_RECORDS = """query($id: ID!) {
  node(id: $id) { ... on Patient {
    prontuarios { totalCount edges { node { id anamnesis author { name } addenda { text } } } }
  } }
}"""


def _physio(world: ClinicWorld) -> uuid.UUID:
    assert world.physio.physiotherapist_id is not None
    return world.physio.physiotherapist_id


def _other_physio(world: ClinicWorld) -> uuid.UUID:
    assert world.other_physio.physiotherapist_id is not None
    return world.other_physio.physiotherapist_id


def _evaluation(world: ClinicWorld, **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "patientId": to_global_id("Patient", world.patient_ids[0]),
            "kind": "EVALUATION",
            "anamnesis": "Queixa principal: dor lombar há 3 meses, piora ao sentar.",
            "physicalExam": "Flexão lombar limitada; Lasègue negativo.",
            "diagnosis": "Disfunção do movimento lombar; prognóstico favorável.",
            "prognosis": "Bom, com adesão ao plano.",
            "treatmentPlan": "Objetivos: analgesia e estabilização. Técnicas: terapia manual.",
            "expectedSessions": 10,
            "vitalSigns": {"pa": "120/80", "fc": 72, "spo2": 98, "eva": 6},
            **extra,
        }
    }


async def _records(conn: asyncpg.Connection, world: ClinicWorld) -> int:
    count: int = await conn.fetchval(
        "select count(*) from prontuarios where clinic_id = $1", world.clinic_id
    )
    return count


async def test_physiotherapist_records_evaluation_and_evolution(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.physio)
    body = await graphql(client, CREATE, _evaluation(world), token=token)
    assert "errors" not in body, body
    record = body["data"]["createProntuario"]
    assert record["kind"] == "EVALUATION"
    assert record["authorName"] == "Ana Souza"
    assert record["authorCrefito"] == "CREFITO-3/100001-F"
    assert record["author"] == {"name": "Ana Souza", "crefito": "CREFITO-3/100001-F"}
    assert record["expectedSessions"] == 10
    assert record["vitalSigns"] == {"pa": "120/80", "fc": 72, "spo2": 98, "eva": 6}
    assert record["appointment"] is None and record["addenda"] == []
    assert datetime.fromisoformat(record["createdAt"]).tzinfo is not None

    session = await add_appointment(
        superuser,
        world,
        world.patient_ids[0],
        _physio(world),
        datetime.now(UTC) - timedelta(hours=2),
        status="completed",
    )
    evolution = {
        "input": {
            "patientId": to_global_id("Patient", world.patient_ids[0]),
            "appointmentId": to_global_id("Appointment", session),
            "kind": "EVOLUTION",
            "evolution": "Sessão 2. Redução da dor, EVA 4/10.",
        }
    }
    body = await graphql(client, CREATE, evolution, token=token)
    assert "errors" not in body, body
    assert body["data"]["createProntuario"]["appointment"] == {
        "id": to_global_id("Appointment", session)
    }
    # One record per session: a second one is a conflict (corrections are addenda).
    again = await graphql(client, CREATE, evolution, token=token)
    assert error_codes(again) == ["CONFLICT"]
    assert again["errors"][0]["extensions"]["field"] == "appointmentId"
    assert await _records(superuser, world) == 2

    # Appointment.prontuario finds it.
    body = await graphql(client, APPOINTMENT_RECORDS, token=token)
    by_appointment = {
        e["node"]["id"]: e["node"]["prontuario"] for e in body["data"]["appointments"]["edges"]
    }
    assert by_appointment[to_global_id("Appointment", session)]["evolution"].startswith("Sessão 2")


async def test_record_content_is_validated(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.physio)
    other_patients = await add_appointment(
        superuser,
        world,
        world.patient_ids[1],
        _physio(world),
        datetime.now(UTC) - timedelta(days=1),
    )
    upcoming = await add_appointment(
        superuser,
        world,
        world.patient_ids[0],
        _physio(world),
        datetime.now(UTC) + timedelta(days=1),
    )
    cases: list[tuple[dict[str, Any], str, str]] = [
        (_evaluation(world, physicalExam="  "), "BAD_USER_INPUT", "physicalExam"),
        (_evaluation(world, anamnesis=None), "BAD_USER_INPUT", "anamnesis"),
        (_evaluation(world, treatmentPlan="x" * 20_001), "BAD_USER_INPUT", "treatmentPlan"),
        (_evaluation(world, vitalSigns=[1, 2]), "BAD_USER_INPUT", "vitalSigns"),
        (_evaluation(world, vitalSigns="120/80"), "BAD_USER_INPUT", "vitalSigns"),
        (_evaluation(world, expectedSessions=0), "BAD_USER_INPUT", "expectedSessions"),
        (_evaluation(world, kind="EVOLUTION"), "BAD_USER_INPUT", "evolution"),
        (_evaluation(world, kind="DISCHARGE", evolution=""), "BAD_USER_INPUT", "evolution"),
        (_evaluation(world, patientId="garbage"), "BAD_USER_INPUT", "patientId"),
        (
            _evaluation(world, patientId=to_global_id("Patient", uuid.uuid4())),
            "NOT_FOUND",
            "patientId",
        ),
        (
            _evaluation(world, appointmentId=to_global_id("Appointment", other_patients)),
            "BAD_USER_INPUT",
            "appointmentId",
        ),
        (
            _evaluation(world, appointmentId=to_global_id("Appointment", upcoming)),
            "INVALID_STATE",
            "appointmentId",
        ),
    ]
    for variables, code, field in cases:
        body = await graphql(client, CREATE, variables, token=token)
        assert error_codes(body) == [code], (field, body)
        assert body["errors"][0]["extensions"].get("field") == field, body
    assert await _records(superuser, world) == 0


async def test_only_a_treating_physiotherapist_writes(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    for who in (world.admin, world.receptionist, world.patient):
        body = await graphql(client, CREATE, _evaluation(world), token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"], who.role
    # Bruno does not treat patient 0 (assigned to Ana, no appointment with him).
    bruno = world.token(world.other_physio)
    body = await graphql(client, CREATE, _evaluation(world), token=bruno)
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["errors"][0]["extensions"]["field"] == "patientId"
    assert await _records(superuser, world) == 0

    record = await add_prontuario(superuser, world, world.patient_ids[0], _physio(world))
    addendum = {"input": {"prontuarioId": to_global_id("Prontuario", record), "text": "Adendo"}}
    body = await graphql(client, ADDENDUM, addendum, token=bruno)
    assert error_codes(body) == ["NOT_FOUND"]  # he cannot even see it
    for who in (world.admin, world.receptionist, world.patient):
        body = await graphql(client, ADDENDUM, addendum, token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"], who.role

    # An appointment with Bruno makes him one of the patient's physiotherapists.
    await add_appointment(
        superuser,
        world,
        world.patient_ids[0],
        _other_physio(world),
        datetime.now(UTC) - timedelta(days=3),
        status="completed",
    )
    body = await graphql(client, ADDENDUM, addendum, token=bruno)
    assert "errors" not in body, body
    assert body["data"]["addProntuarioAddendum"]["addenda"][0]["author"] == {"name": "Bruno Lima"}
    body = await graphql(client, CREATE, _evaluation(world), token=bruno)
    assert "errors" not in body, body
    assert body["data"]["createProntuario"]["authorName"] == "Bruno Lima"


async def test_addenda_keep_author_and_time_and_leave_the_record_alone(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.physio)
    created = await graphql(client, CREATE, _evaluation(world), token=token)
    record_id = created["data"]["createProntuario"]["id"]
    before = await superuser.fetchrow(
        "select * from prontuarios where clinic_id = $1", world.clinic_id
    )
    texts = ["Correção: a dor começou há 4 meses.", "Complemento: exame de imagem trazido."]
    for text in texts:
        body = await graphql(
            client, ADDENDUM, {"input": {"prontuarioId": record_id, "text": text}}, token=token
        )
        assert "errors" not in body, body
    addenda = body["data"]["addProntuarioAddendum"]["addenda"]
    assert [a["text"] for a in addenda] == texts
    assert all(a["author"] == {"name": "Ana Souza"} for a in addenda)
    assert addenda[0]["createdAt"] <= addenda[1]["createdAt"]
    after = await superuser.fetchrow(
        "select * from prontuarios where clinic_id = $1", world.clinic_id
    )
    assert dict(after) == dict(before)

    for text, code in (("   ", "BAD_USER_INPUT"), ("x" * 10_001, "BAD_USER_INPUT")):
        body = await graphql(
            client, ADDENDUM, {"input": {"prontuarioId": record_id, "text": text}}, token=token
        )
        assert error_codes(body) == [code]
        assert body["errors"][0]["extensions"]["field"] == "text"
    wrong = {"input": {"prontuarioId": to_global_id("Patient", world.patient_ids[0]), "text": "x"}}
    assert error_codes(await graphql(client, ADDENDUM, wrong, token=token)) == ["BAD_USER_INPUT"]


async def test_the_api_has_no_way_to_edit_or_delete_a_record(
    client: httpx.AsyncClient,
) -> None:
    body = await graphql(client, '{ __type(name: "Mutation") { fields { name } } }')
    names = {field["name"] for field in body["data"]["__type"]["fields"]}
    assert {"createProntuario", "addProntuarioAddendum"} <= names
    assert not [n for n in names if "rontuario" in n and not n.startswith(("create", "add"))]


@pytest.mark.parametrize("who", ["owner", "superuser"])
async def test_database_refuses_edits_even_to_the_owner(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, who: str
) -> None:
    """A record written through the API cannot be changed or removed by any role."""
    world = await make_clinic(superuser)
    token = world.token(world.physio)
    created = await graphql(client, CREATE, _evaluation(world), token=token)
    record_id = created["data"]["createProntuario"]["id"]
    await graphql(
        client, ADDENDUM, {"input": {"prontuarioId": record_id, "text": "Adendo"}}, token=token
    )
    statements = (
        ("prontuarios", "UPDATE prontuarios SET evolution = 'editado' WHERE clinic_id = $1"),
        ("prontuarios", "DELETE FROM prontuarios WHERE clinic_id = $1"),
        ("prontuario_addenda", "UPDATE prontuario_addenda SET text = 'x' WHERE clinic_id = $1"),
        ("prontuario_addenda", "DELETE FROM prontuario_addenda WHERE clinic_id = $1"),
    )
    for table, sql in statements:
        transaction = superuser.transaction()
        await transaction.start()
        try:
            if who == "owner":
                await superuser.execute("SET LOCAL ROLE fisioflow_owner")
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await superuser.execute(sql, world.clinic_id)
        finally:
            await transaction.rollback()
        assert await superuser.fetchval(
            f"select count(*) from {table} where clinic_id = $1", world.clinic_id
        ) == 1, sql  # fmt: skip


async def _read_everything(client: httpx.AsyncClient, token: str, ids: list[str]) -> dict[str, Any]:
    """What one caller gets through each path to clinical records."""
    listed = await graphql(client, PATIENT_RECORDS, token=token)
    assert "errors" not in listed, listed
    nested = await graphql(client, APPOINTMENT_RECORDS, token=token)
    assert "errors" not in nested, nested
    nodes = await graphql(client, NODES, {"ids": ids}, token=token)
    assert "errors" not in nodes, nodes
    single = [
        (await graphql(client, NODE, {"id": gid}, token=token))["data"]["node"] for gid in ids
    ]
    return {
        "listed": {
            r["node"]["id"]
            for p in listed["data"]["patients"]["edges"]
            for r in p["node"]["prontuarios"]["edges"]
        },
        "counted": sum(
            p["node"]["prontuarios"]["totalCount"] for p in listed["data"]["patients"]["edges"]
        ),
        "addenda": [
            a["text"]
            for p in listed["data"]["patients"]["edges"]
            for r in p["node"]["prontuarios"]["edges"]
            for a in r["node"]["addenda"]
        ],
        "nested": {
            e["node"]["prontuario"]["id"]
            for e in nested["data"]["appointments"]["edges"]
            if e["node"]["prontuario"]
        },
        "nodes": {n["id"] for n in nodes["data"]["nodes"] if n},
        "node": {n["id"] for n in single if n},
    }


async def test_who_reads_records_through_every_path(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    past = datetime.now(UTC) - timedelta(days=2)
    ana_session = await add_appointment(
        superuser, world, world.patient_ids[0], _physio(world), past, status="completed"
    )
    bruno_session = await add_appointment(
        superuser, world, world.patient_ids[3], _other_physio(world), past, status="completed"
    )
    mine = await add_prontuario(
        superuser,
        world,
        world.patient_ids[0],
        _physio(world),
        appointment_id=ana_session,
        addendum="Adendo da Ana",
    )
    theirs = await add_prontuario(
        superuser,
        world,
        world.patient_ids[3],
        _other_physio(world),
        appointment_id=bruno_session,
        addendum="Adendo do Bruno",
    )
    a, b = to_global_id("Prontuario", mine), to_global_id("Prontuario", theirs)
    everything = {"listed", "nested", "nodes", "node"}

    admin = await _read_everything(client, world.token(world.admin), [a, b])
    assert all(admin[path] == {a, b} for path in everything), admin
    assert admin["counted"] == 2 and sorted(admin["addenda"]) == [
        "Adendo da Ana",
        "Adendo do Bruno",
    ]

    # A receptionist sees no clinical data at all, by any path.
    reception = await _read_everything(client, world.token(world.receptionist), [a, b])
    assert all(reception[path] == set() for path in everything), reception
    assert reception["counted"] == 0 and reception["addenda"] == []

    # A physiotherapist sees the records of the patients they treat only.
    ana = await _read_everything(client, world.token(world.physio), [a, b])
    assert all(ana[path] == {a} for path in everything), ana
    assert ana["counted"] == 1 and ana["addenda"] == ["Adendo da Ana"]
    bruno = await _read_everything(client, world.token(world.other_physio), [a, b])
    assert all(bruno[path] == {b} for path in everything), bruno

    # The patient reads their own record (LGPD access right), nobody else's.
    patient = await _read_everything(client, world.token(world.patient), [a, b])
    assert all(patient[path] == {a} for path in everything), patient
    own = await graphql(
        client,
        OWN_RECORDS,
        {"id": to_global_id("Patient", world.patient_ids[0])},
        token=world.token(world.patient),
    )
    records = own["data"]["node"]["prontuarios"]
    assert records["totalCount"] == 1
    assert records["edges"][0]["node"]["author"] == {"name": "Ana Souza"}
    assert records["edges"][0]["node"]["addenda"] == [{"text": "Adendo da Ana"}]

    # Another clinic's people see nothing of it.
    other = await make_clinic(superuser)
    stranger = await _read_everything(client, other.token(other.admin), [a, b])
    assert all(stranger[path] == set() for path in everything), stranger


async def test_nested_records_cost_one_statement_per_level(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    counts: dict[int, int] = {}
    for n in (2, 12):
        world = await make_clinic(superuser, patients_per_physio=n)
        for patient_id in world.patient_ids[:n]:
            await add_prontuario(superuser, world, patient_id, _physio(world), addendum="Adendo")
        statements.reset()
        body = await graphql(
            client,
            """{ patients(first: 15) { edges { node { prontuarios(first: 3) { edges { node {
                 author { name } appointment { id } addenda { text author { name } }
            } } } } } } }""",
            token=world.token(world.physio),
        )
        assert "errors" not in body, body
        counts[n] = statements.count
    assert counts[2] == counts[12], statements.statements
    assert counts[12] <= 6, statements.statements  # identity, patients, records, authors, addenda
