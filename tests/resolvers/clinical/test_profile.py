"""The patient's front-desk data, clinical profile and vital signs (issue 15, item 6), through
the API for every role, with the attacks: a receptionist reaching clinical data by the patient,
`node(id:)`, the lists, the aggregate and `where`; a physiotherapist who does not treat the
patient; another clinic; hostile input; LGPD export and erasure."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from graph.core.identity import Identity
from graph.core.ids import parse_global_id, to_global_id
from tests.support.factories import (
    ClinicWorld,
    add_clinical_profile,
    add_vital_signs,
    make_clinic,
)
from tests.support.graphql_client import error_codes, graphql, was_compiled

FRONT_DESK = "contactChannel insurance { provider planName memberNumber validUntil }" \
    " emergencyContact { name phone relationship }"  # fmt: skip
CREATE = f"""mutation($input: CreatePatientInput!) {{ createPatient(input: $input) {{
  id {FRONT_DESK} }} }}"""
UPDATE = f"""mutation($input: UpdatePatientInput!) {{ updatePatient(input: $input) {{
  id {FRONT_DESK} }} }}"""
PROFILE = """mutation($input: UpdateClinicalProfileInput!) {
  updateClinicalProfile(input: $input) { id allergies conditions medications } }"""
RECORD = """mutation($input: RecordVitalSignsInput!) { recordVitalSigns(input: $input) {
  id recordedAt heartRate systolic diastolic temperature painLevel weightKg
  recordedBy { name } patient { id } } }"""
PATIENT = """query($id: ID!) { node(id: $id) { ... on Patient { name contactChannel
  insurance { provider } allergies conditions medications
  vitalSigns(first: 10) { totalCount edges { node { id painLevel } } } } } }"""
PATIENTS = """{ patients(first: 100) { edges { node { id allergies medications
  vitalSigns(first: 5) { edges { node { id } } } } } } }"""
VITALS = """query($where: VitalSignsWhere) { vitalSigns(first: 100, where: $where) {
  totalCount edges { node { id painLevel patient { id } } } } }"""
NODE = """query($id: ID!) { node(id: $id) { ... on VitalSigns { id painLevel } } }"""
PAIN_PER_WEEK = """query($where: VitalSignsWhere) {
  vitalSignsAggregate(where: $where, groupBy: [RECORDED_AT_WEEK]) {
    count avg { painLevel } groups { key { recordedAtWeek } count avg { painLevel } } } }"""
EXPORT = """mutation($input: ExportPatientDataInput!) { exportPatientData(input: $input) {
  data } }"""
ANONYMIZE = """mutation($input: AnonymizePatientInput!) { anonymizePatient(input: $input) {
  id contactChannel insurance { provider } emergencyContact { name } } }"""


def pid(world: ClinicWorld, index: int = 0) -> str:
    return to_global_id("Patient", world.patient_ids[index])


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def refused(body: dict[str, Any], code: str, field: str | None = None) -> None:
    assert error_codes(body) == [code], body
    if field is not None:
        assert body["errors"][0]["extensions"]["field"] == field, body


def physio_id(who: Identity) -> uuid.UUID:
    assert who.physiotherapist_id is not None
    return who.physiotherapist_id


async def reads_logged(conn: asyncpg.Connection, table: str, record_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "select count(*) from audit_log where table_name = $1 and record_id = $2"
        " and operation = 'SELECT'",
        table,
        record_id,
    )
    return count


# -- front-desk data -------------------------------------------------------------------------


async def test_the_front_desk_writes_and_reads_insurance_contact_and_channel(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    desk = world.token(world.receptionist)
    created = ok(
        await graphql(
            client,
            CREATE,
            {
                "input": {
                    "name": "Joana Prado",
                    "contactChannel": "SMS",
                    "insurance": {
                        "provider": " Unimed ",
                        "planName": "Nacional",
                        "memberNumber": "0 123 456789",
                        "validUntil": "2027-06-30",
                    },
                    "emergencyContact": {
                        "name": "Carlos Prado",
                        "phone": "+55 (11) 91234-5678",
                        "relationship": "irmão",
                    },
                }
            },
            desk,
        )
    )["createPatient"]
    assert created["contactChannel"] == "SMS"
    assert created["insurance"] == {
        "provider": "Unimed",
        "planName": "Nacional",
        "memberNumber": "0 123 456789",
        "validUntil": "2027-06-30",
    }
    assert created["emergencyContact"] == {
        "name": "Carlos Prado",
        "phone": "+5511912345678",
        "relationship": "irmão",
    }
    default = ok(await graphql(client, CREATE, {"input": {"name": "Sem Canal"}}, desk))
    assert default["createPatient"]["contactChannel"] == "WHATSAPP"
    assert default["createPatient"]["insurance"] is None
    assert default["createPatient"]["emergencyContact"] is None

    changed = ok(
        await graphql(
            client,
            UPDATE,
            {"input": {"id": created["id"], "insurance": None, "contactChannel": "NONE"}},
            desk,
        )
    )["updatePatient"]
    assert changed["insurance"] is None and changed["contactChannel"] == "NONE"
    assert changed["emergencyContact"]["name"] == "Carlos Prado"  # not given: kept
    row = await superuser.fetchrow(
        "select insurance_provider, insurance_member_number, contact_channel from patients"
        " where id = $1",
        uuid.UUID(parse_global_id(created["id"])[1]),
    )
    assert row is not None and dict(row) == {
        "insurance_provider": None,
        "insurance_member_number": None,
        "contact_channel": "none",
    }
    # The compiled path and the resolvers agree on a patient with front-desk data (the
    # differential client compares them when the compiler serves the query).
    listed = ok(
        await graphql(
            client,
            "{ patients(first: 5, where: {contactChannel: {eq: NONE}}) "
            "{ edges { node { name contactChannel } } } }",
            token=desk,
        )
    )
    assert listed["patients"]["edges"] == [
        {"node": {"name": "Joana Prado", "contactChannel": "NONE"}}
    ]


async def test_front_desk_input_is_validated_with_its_field(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    desk = world.token(world.receptionist)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"emergencyContact": {"name": "Ana", "phone": "abc"}}, "emergencyContact.phone"),
        ({"emergencyContact": {"name": "Ana", "phone": "1234"}}, "emergencyContact.phone"),
        (
            {"emergencyContact": {"name": "Ana", "phone": "+55 11 9" + "1" * 20}},
            "emergencyContact.phone",
        ),
        ({"emergencyContact": {"name": " ", "phone": "11912345678"}}, "emergencyContact.name"),
        ({"insurance": {"provider": "  "}}, "insurance.provider"),
        ({"insurance": {"provider": "x" * 201}}, "provider"),
        ({"insurance": {"provider": "Unimed", "validUntil": "2027-02-30"}}, None),
        ({"contactChannel": None}, "contactChannel"),
        ({"emergencyContact": {"name": "Ana", "phone": "١٢٣٤٥٦٧٨٩"}}, "emergencyContact.phone"),
    ]
    before = await superuser.fetchrow("select * from patients where id = $1", world.patient_ids[0])
    for given, field in cases:
        body = await graphql(client, UPDATE, {"input": {"id": pid(world), **given}}, desk)
        assert body.get("data") is None or body["data"].get("updatePatient") is None, given
        if field is None:
            assert body["errors"], given
        else:
            refused(body, "BAD_USER_INPUT", field)
    after = await superuser.fetchrow("select * from patients where id = $1", world.patient_ids[0])
    assert dict(after) == dict(before)  # type: ignore[arg-type]


async def test_the_database_refuses_what_the_api_refuses(superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    for assignment in (
        "insurance_plan_name = 'Plano'",  # a plan without a provider
        "emergency_contact_name = 'Ana'",  # a contact without a phone
        "emergency_contact_phone = '12ab5678', emergency_contact_name = 'Ana'",
        "contact_channel = 'telegram'",
    ):
        try:
            await superuser.execute(
                f"update patients set {assignment} where id = $1", world.patient_ids[0]
            )
        except asyncpg.CheckViolationError:
            continue
        raise AssertionError(f"accepted: {assignment}")


# -- clinical profile ------------------------------------------------------------------------


async def test_a_treating_physiotherapist_writes_the_profile_and_each_read_is_audited(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    physio = world.token(world.physio)
    written = ok(
        await graphql(
            client,
            PROFILE,
            {
                "input": {
                    "patientId": pid(world),
                    "allergies": [" Dipirona ", "Látex", "Dipirona"],
                    "medications": [],
                }
            },
            physio,
        )
    )["updateClinicalProfile"]
    assert written["allergies"] == ["Dipirona", "Látex"]
    assert written["medications"] == []  # recorded as none
    assert written["conditions"] is None  # never recorded
    profile_id = await superuser.fetchval(
        "select id from clinical_profiles where patient_id = $1", world.patient_ids[0]
    )
    again = ok(
        await graphql(
            client,
            PROFILE,
            {"input": {"patientId": pid(world), "conditions": ["Hipertensão"]}},
            physio,
        )
    )["updateClinicalProfile"]
    assert again["allergies"] == ["Dipirona", "Látex"]  # not given: kept
    assert again["conditions"] == ["Hipertensão"]

    logged = await reads_logged(superuser, "clinical_profiles", profile_id)
    assert logged == 2  # each payload read the profile once, whatever the three fields
    for who in (world.admin, world.physio, world.patient):
        seen = ok(await graphql(client, PATIENT, {"id": pid(world)}, world.token(who)))["node"]
        assert seen["allergies"] == ["Dipirona", "Látex"], who.role
        assert seen["conditions"] == ["Hipertensão"]
    assert await reads_logged(superuser, "clinical_profiles", profile_id) == logged + 3
    changes = await superuser.fetchval(
        "select count(*) from audit_log where table_name = 'clinical_profiles'"
        " and record_id = $1 and operation in ('INSERT', 'UPDATE')",
        profile_id,
    )
    assert changes == 2


async def test_a_receptionist_never_reads_the_clinical_profile(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    await add_clinical_profile(
        superuser, world, world.patient_ids[0], physio_id(world.physio), ["Penicilina"]
    )
    desk = world.token(world.receptionist)
    seen = ok(await graphql(client, PATIENT, {"id": pid(world)}, desk))["node"]
    assert seen["name"] and seen["allergies"] is None and seen["medications"] is None
    assert seen["contactChannel"] == "WHATSAPP"  # front-desk data stays readable
    listed = ok(await graphql(client, PATIENTS, token=desk))["patients"]["edges"]
    assert listed and all(e["node"]["allergies"] is None for e in listed)
    # Nor through a filter or an ordering: the profile is not in Patient's where/orderBy.
    body = await graphql(
        client, '{ patients(where: {allergies: {eq: "Penicilina"}}) { totalCount } }', token=desk
    )
    refused(body, "GRAPHQL_VALIDATION_FAILED")
    # Nor by writing it.
    body = await graphql(
        client, PROFILE, {"input": {"patientId": pid(world), "allergies": []}}, desk
    )
    refused(body, "FORBIDDEN")
    allergies = await superuser.fetchval(
        "select allergies from clinical_profiles where patient_id = $1", world.patient_ids[0]
    )
    assert allergies == ["Penicilina"]
    # A physiotherapist who does not treat the patient neither reads nor writes it.
    other = world.token(world.other_physio)
    assert (
        ok(await graphql(client, PATIENT, {"id": pid(world)}, other))["node"]["allergies"] is None
    )
    body = await graphql(
        client, PROFILE, {"input": {"patientId": pid(world), "allergies": ["Látex"]}}, other
    )
    refused(body, "FORBIDDEN", "patientId")
    # Another clinic's patient does not exist for this clinic's physiotherapist.
    elsewhere = await make_clinic(superuser, "Outra Clínica")
    body = await graphql(
        client, PROFILE, {"input": {"patientId": pid(elsewhere), "allergies": []}},
        world.token(world.physio),
    )  # fmt: skip
    refused(body, "NOT_FOUND", "patientId")


async def test_hostile_profile_input_is_refused_with_its_field(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    physio = world.token(world.physio)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"allergies": [f"Alergia {n}" for n in range(51)]}, "allergies"),
        ({"conditions": ["x" * 201]}, "conditions"),
        ({"medications": ["  "]}, "medications"),
        ({"allergies": ["nul\u0000"]}, "allergies"),
        ({"patientId": to_global_id("Appointment", uuid.uuid4())}, "patientId"),
    ]
    for given, field in cases:
        body = await graphql(client, PROFILE, {"input": {"patientId": pid(world), **given}}, physio)
        refused(body, "BAD_USER_INPUT", field)
    assert await superuser.fetchval("select count(*) from clinical_profiles c join patients p"
                                    " on p.id = c.patient_id where p.clinic_id = $1",
                                    world.clinic_id) == 0  # fmt: skip


# -- vital signs -----------------------------------------------------------------------------


def reading(world: ClinicWorld, **measures: Any) -> dict[str, Any]:
    return {"input": {"patientId": pid(world), **measures}}


async def test_vital_signs_are_recorded_within_physiological_ranges(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    physio = world.token(world.physio)
    recorded = ok(
        await graphql(
            client,
            RECORD,
            reading(
                world, heartRate=72, systolic=120, diastolic=80, temperature="36.5",
                painLevel=6, weightKg="70.25",
            ),
            physio,
        )
    )["recordVitalSigns"]  # fmt: skip
    assert recorded["heartRate"] == 72 and recorded["temperature"] == "36.5"
    assert recorded["weightKg"] == "70.25" and recorded["recordedBy"] == {"name": "Ana Souza"}
    assert recorded["patient"]["id"] == pid(world)
    later = datetime.now(UTC) + timedelta(hours=1)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"heartRate": 19}, "heartRate"),
        ({"heartRate": 251}, "heartRate"),
        ({"spo2": 101}, "spo2"),
        ({"painLevel": -1}, "painLevel"),
        ({"painLevel": 11}, "painLevel"),
        ({"respiratoryRate": 3}, "respiratoryRate"),
        ({"temperature": "45.1"}, "temperature"),
        ({"temperature": "36.55"}, "temperature"),
        ({"temperature": "NaN"}, "temperature"),
        ({"weightKg": "0.4"}, "weightKg"),
        ({"heightCm": "251"}, "heightCm"),
        ({"systolic": 120}, "diastolic"),
        ({"systolic": 80, "diastolic": 80}, "diastolic"),
        ({"systolic": 261, "diastolic": 80}, "systolic"),
        ({}, "patientId"),
        ({"painLevel": 3, "recordedAt": later.isoformat()}, "recordedAt"),
        ({"painLevel": 3, "recordedAt": "2026-01-01T10:00:00"}, "recordedAt"),
    ]
    for given, field in cases:
        body = await graphql(client, RECORD, reading(world, **given), physio)
        if field == "recordedAt" and "T10:00:00" in str(given.get("recordedAt")):
            assert error_codes(body) == ["BAD_USER_INPUT"], body
            continue
        refused(body, "BAD_USER_INPUT", field)
    count = await superuser.fetchval(
        "select count(*) from vital_signs where patient_id = $1", world.patient_ids[0]
    )
    assert count == 1


async def test_only_a_treating_physiotherapist_records_vital_signs(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    for who, code in (
        (world.receptionist, "FORBIDDEN"),
        (world.admin, "FORBIDDEN"),
        (world.patient, "FORBIDDEN"),  # a patient's own pain goes in logExerciseExecution
        (world.other_physio, "FORBIDDEN"),
    ):
        body = await graphql(client, RECORD, reading(world, painLevel=3), world.token(who))
        refused(body, code)
    assert (
        await superuser.fetchval(
            "select count(*) from vital_signs where patient_id = $1", world.patient_ids[0]
        )
        == 0
    )


async def test_vital_sign_reads_are_audited_and_never_reach_a_receptionist(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    ana = physio_id(world.physio)
    start = datetime(2026, 3, 2, 13, tzinfo=UTC)  # a Monday, 10:00 in São Paulo
    ids = [
        await add_vital_signs(
            superuser, world, world.patient_ids[0], ana, start + timedelta(days=7 * week + day),
            pain_level=pain,
        )
        for week, day, pain in ((0, 0, 8), (0, 2, 6), (1, 0, 5), (2, 1, 2))
    ]  # fmt: skip
    other = await add_vital_signs(
        superuser, world, world.patient_ids[3], physio_id(world.other_physio), start
    )
    where = {"patient": {"id": {"eq": pid(world)}}}

    # The admin: every reading, each read logged once per read of the list.
    admin = world.token(world.admin)
    seen = ok(await graphql(client, PATIENT, {"id": pid(world)}, admin))["node"]["vitalSigns"]
    assert [e["node"]["painLevel"] for e in seen["edges"]] == [8, 6, 5, 2]
    assert [await reads_logged(superuser, "vital_signs", i) for i in ids] == [1, 1, 1, 1]
    aggregate = ok(await graphql(client, PAIN_PER_WEEK, {"where": where}, admin))
    figures = aggregate["vitalSignsAggregate"]
    assert figures["count"] == 4 and figures["avg"]["painLevel"] == 5.25
    assert figures["groups"] == [
        {"key": {"recordedAtWeek": "2026-03-02"}, "count": 2, "avg": {"painLevel": 7.0}},
        {"key": {"recordedAtWeek": "2026-03-09"}, "count": 1, "avg": {"painLevel": 5.0}},
        {"key": {"recordedAtWeek": "2026-03-16"}, "count": 1, "avg": {"painLevel": 2.0}},
    ]
    # The aggregate read the four readings: each is logged as read again.
    assert [await reads_logged(superuser, "vital_signs", i) for i in ids] == [2, 2, 2, 2]
    assert await reads_logged(superuser, "vital_signs", other) == 0

    # Nested in a list the compiler would otherwise serve: the resolvers answer (and log).
    listed = ok(await graphql(client, PATIENTS, token=admin))["patients"]["edges"]
    assert sum(len(e["node"]["vitalSigns"]["edges"]) for e in listed) == 5
    assert not was_compiled(PATIENTS, {})
    assert [await reads_logged(superuser, "vital_signs", i) for i in ids] == [3, 3, 3, 3]
    assert await reads_logged(superuser, "vital_signs", other) == 1

    # The patient: their own; the treating physiotherapist: their patient's, not Bruno's.
    mine = ok(await graphql(client, VITALS, {}, world.token(world.patient)))["vitalSigns"]
    assert mine["totalCount"] == 4
    treating = ok(await graphql(client, VITALS, {}, world.token(world.physio)))["vitalSigns"]
    assert {e["node"]["patient"]["id"] for e in treating["edges"]} == {pid(world)}

    # The receptionist: nothing, by any path.
    desk = world.token(world.receptionist)
    logged_before = await superuser.fetchval(
        "select count(*) from audit_log where table_name = 'vital_signs'"
    )
    by_patient = ok(await graphql(client, PATIENT, {"id": pid(world)}, desk))["node"]
    assert by_patient["vitalSigns"] == {"totalCount": 0, "edges": []}
    assert ok(await graphql(client, VITALS, {"where": where}, desk))["vitalSigns"] == {
        "totalCount": 0,
        "edges": [],
    }
    high_pain = {"painLevel": {"gte": 5}}
    assert (
        ok(await graphql(client, VITALS, {"where": high_pain}, desk))["vitalSigns"]["totalCount"]
        == 0
    )
    for vital_id in (ids[0], other):
        node = await graphql(client, NODE, {"id": to_global_id("VitalSigns", vital_id)}, desk)
        assert ok(node)["node"] is None
    blind = ok(await graphql(client, PAIN_PER_WEEK, {"where": where}, desk))
    assert blind["vitalSignsAggregate"] == {"count": 0, "avg": {"painLevel": None}, "groups": []}
    assert (
        await superuser.fetchval("select count(*) from audit_log where table_name = 'vital_signs'")
        == logged_before
    )
    # Another clinic's admin sees none of them either.
    elsewhere = await make_clinic(superuser, "Outra Clínica")
    foreign = ok(await graphql(client, PAIN_PER_WEEK, {}, elsewhere.token(elsewhere.admin)))
    assert foreign["vitalSignsAggregate"]["count"] == 0
    node = await graphql(
        client, NODE, {"id": to_global_id("VitalSigns", ids[0])}, elsewhere.token(elsewhere.admin)
    )
    assert ok(node)["node"] is None


async def test_vital_signs_where_keeps_clinical_text_out(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    body = await graphql(
        client,
        '{ vitalSigns(where: {patient: {name: {ilike: "%a%"}}}) { totalCount } }',
        token=world.token(world.admin),
    )
    assert "errors" not in body, body  # a patient's name is front-desk data, not the reading's
    body = await graphql(
        client, "{ vitalSigns(first: 101) { totalCount } }", token=world.token(world.admin)
    )
    refused(body, "BAD_USER_INPUT", "first")


# -- LGPD ------------------------------------------------------------------------------------


async def test_export_holds_the_new_data_and_erasure_wipes_it(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    patient = world.patient_ids[1]
    ana = physio_id(world.physio)
    await superuser.execute(
        "update patients set contact_channel = 'email', insurance_provider = 'Bradesco Saúde',"
        " insurance_member_number = '998877', emergency_contact_name = 'Rita Lopes',"
        " emergency_contact_phone = '+5511988887777', emergency_contact_relationship = 'mãe'"
        " where id = $1",
        patient,
    )
    profile = await add_clinical_profile(superuser, world, patient, ana, ["Iodo"])
    vital = await add_vital_signs(superuser, world, patient, ana, pain_level=7)
    admin = world.token(world.admin)
    exported = ok(
        await graphql(
            client, EXPORT, {"input": {"patientId": to_global_id("Patient", patient)}}, admin
        )
    )["exportPatientData"]["data"]
    data = exported if isinstance(exported, dict) else json.loads(exported)
    assert data["patient"]["contactChannel"] == "email"
    assert data["patient"]["insurance"] == {
        "provider": "Bradesco Saúde",
        "planName": None,
        "memberNumber": "998877",
        "validUntil": None,
    }
    assert data["patient"]["emergencyContact"]["relationship"] == "mãe"
    assert data["clinicalProfile"]["allergies"] == ["Iodo"]
    assert data["clinicalProfile"]["medications"] == ["Losartana 50 mg"]
    assert [v["painLevel"] for v in data["vitalSigns"]] == [7]
    assert data["vitalSigns"][0]["recordedBy"]["name"] == "Ana Souza"
    assert await reads_logged(superuser, "clinical_profiles", profile) == 1
    assert await reads_logged(superuser, "vital_signs", vital) == 1

    erased = ok(
        await graphql(
            client, ANONYMIZE, {"input": {"patientId": to_global_id("Patient", patient)}}, admin
        )
    )["anonymizePatient"]
    assert erased["contactChannel"] == "NONE"
    assert erased["insurance"] is None and erased["emergencyContact"] is None
    assert (
        await superuser.fetchval(
            "select count(*) from clinical_profiles where patient_id = $1", patient
        )
        == 0
    )
    row = await superuser.fetchrow("select * from patients where id = $1", patient)
    assert row is not None
    wiped = {c: v for c, v in dict(row).items() if c.startswith(("insurance_", "emergency_"))}
    assert len(wiped) == 7 and set(wiped.values()) == {None}
    # Nothing of it is left in the audit log either (the profile's rows, the patient's).
    trail = await superuser.fetch(
        "select old_data::text, new_data::text from audit_log where record_id = any($1)",
        [patient, profile],
    )
    text = " ".join(str(value) for record in trail for value in record)
    for secret in ("Iodo", "Losartana", "Hipertensão", "Bradesco", "998877", "Rita", "88887777"):
        assert secret not in text, secret
    # Vital signs stay, like prontuários (clinical records of an anonymized patient).
    assert await superuser.fetchval("select pain_level from vital_signs where id = $1", vital) == 7


async def test_two_racing_profile_writes_leave_one_profile(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    tokens = (world.token(world.physio), world.token(world.physio))
    bodies = await asyncio.gather(
        *(
            graphql(client, PROFILE, {"input": {"patientId": pid(world), "allergies": [a]}}, t)
            for a, t in zip(("Iodo", "Látex"), tokens, strict=True)
        )
    )
    answers = {ok(body)["updateClinicalProfile"]["allergies"][0] for body in bodies}
    assert answers <= {"Iodo", "Látex"}
    rows = await superuser.fetch(
        "select allergies from clinical_profiles where patient_id = $1", world.patient_ids[0]
    )
    assert len(rows) == 1 and rows[0]["allergies"][0] in answers
