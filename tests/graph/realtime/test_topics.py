"""The topics beyond the first four — `prontuarioAdded`, `vitalSignsRecorded`, `patientChanged`,
`consentChanged`, `dataSubjectRequestChanged` — against a running `fisioflow serve`, through the
third-party `gql` client: each under the access matrix (RLS re-reads every event as the
subscriber), clinical deliveries in the audit log as each subscriber's read, live and replayed."""

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from graph.core.ids import to_global_id
from tests.support.factories import (
    ClinicWorld,
    add_appointment,
    add_prontuario,
    add_vital_signs,
    make_clinic,
)
from tests.support.servers import Server, running_server
from tests.support.subscribers import (
    subscribed,
    subscribed_for_test,
)

pytestmark = pytest.mark.usefixtures("close_connections")

PRONTUARIO_ADDED = """subscription($patient: ID, $after: String) {
  prontuarioAdded(patientId: $patient, after: $after) {
    cursor prontuario { id kind patient { id } author { name } } } }"""
VITAL_SIGNS_RECORDED = """subscription($patient: ID) {
  vitalSignsRecorded(patientId: $patient) { cursor vitalSigns { id painLevel heartRate } } }"""
PATIENT_CHANGED = """subscription($patient: ID) {
  patientChanged(patientId: $patient) { op cursor patient { id name } } }"""
CONSENT_CHANGED = """subscription($patient: ID) {
  consentChanged(patientId: $patient) { op cursor consent { id purpose granted } } }"""
REQUEST_CHANGED = """subscription {
  dataSubjectRequestChanged { op cursor dataSubjectRequest { id kind fulfilledAt } } }"""
GRANT = """mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }"""
FILE = """mutation($input: FileDataSubjectRequestInput!) {
  fileDataSubjectRequest(input: $input) { id } }"""
FULFILL = """mutation($input: FulfillDataSubjectRequestInput!) {
  fulfillDataSubjectRequest(input: $input) { id } }"""
UPDATE_PATIENT = """mutation($input: UpdatePatientInput!) { updatePatient(input: $input) { id } }"""


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    with running_server(database_url, FISIOFLOW_COMPLIANCE_CLOCK_SECONDS="0.3") as s:
        yield s


async def _mutate(server: Server, query: str, variables: dict[str, Any], token: str) -> Any:
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def _reads(db: asyncpg.Connection, table: str, record: uuid.UUID, user: uuid.UUID) -> int:
    count: int = await db.fetchval(
        "select count(*) from audit_log where table_name = $1 and record_id = $2"
        " and operation = 'SELECT' and actor_id = $3",
        table,
        record,
        user,
    )
    return count


def _physio(world: ClinicWorld) -> uuid.UUID:
    assert world.physio.physiotherapist_id is not None
    return world.physio.physiotherapist_id


async def test_prontuarios_reach_who_may_read_them_and_each_delivery_is_a_logged_read(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world, elsewhere = await make_clinic(superuser), await make_clinic(superuser)
    treating = await subscribed_for_test(server.ws, world.token(world.physio), PRONTUARIO_ADDED)
    not_treating = await subscribed_for_test(
        server.ws, world.token(world.other_physio), PRONTUARIO_ADDED
    )
    own = await subscribed_for_test(server.ws, world.token(world.patient), PRONTUARIO_ADDED)
    admin = await subscribed_for_test(
        server.ws,
        world.token(world.admin),
        PRONTUARIO_ADDED,
        {"patient": to_global_id("Patient", world.patient_ids[1])},
    )
    other_clinic = await subscribed_for_test(
        server.ws, elsewhere.token(elsewhere.admin), PRONTUARIO_ADDED
    )
    front_desk = await subscribed_for_test(
        server.ws, world.token(world.receptionist), PRONTUARIO_ADDED
    )
    assert (await front_desk.errors())[0]["extensions"]["code"] == "FORBIDDEN"

    record = await add_prontuario(superuser, world, world.patient_ids[0], _physio(world))
    for subscription in (treating, own):
        event = (await subscription.data())["prontuarioAdded"]
        assert event["prontuario"]["id"] == to_global_id("Prontuario", record)
        assert event["prontuario"]["patient"]["id"] == to_global_id("Patient", world.patient_ids[0])
        assert event["cursor"]
    for silent in (not_treating, admin, other_clinic):  # not theirs, filtered, another clinic
        assert await silent.silent_for(0.7)
    for reader in (world.physio, world.patient):
        assert await _reads(superuser, "prontuarios", record, reader.user_id) == 1
    for absent in (world.other_physio, world.admin, world.receptionist):
        assert await _reads(superuser, "prontuarios", record, absent.user_id) == 0


async def test_a_resumed_prontuario_subscription_replays_and_logs_the_read(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.physio)
    connection, live = await subscribed(server.ws, token, PRONTUARIO_ADDED)
    first = await add_prontuario(superuser, world, world.patient_ids[0], _physio(world))
    cursor = (await live.data())["prontuarioAdded"]["cursor"]
    await connection.close()
    missed = await add_prontuario(superuser, world, world.patient_ids[1], _physio(world))
    resumed = await subscribed_for_test(server.ws, token, PRONTUARIO_ADDED, {"after": cursor})
    event = (await resumed.data())["prontuarioAdded"]
    assert event["prontuario"]["id"] == to_global_id("Prontuario", missed)
    assert await _reads(superuser, "prontuarios", missed, world.physio.user_id) == 1
    assert await _reads(superuser, "prontuarios", first, world.physio.user_id) == 1
    assert await resumed.silent_for(0.5)  # nothing twice


async def test_vital_signs_reach_clinical_readers_only_and_are_logged(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    mine = to_global_id("Patient", world.patient_ids[0])
    treating = await subscribed_for_test(
        server.ws, world.token(world.physio), VITAL_SIGNS_RECORDED, {"patient": mine}
    )
    not_treating = await subscribed_for_test(
        server.ws, world.token(world.other_physio), VITAL_SIGNS_RECORDED
    )
    front_desk = await subscribed_for_test(
        server.ws, world.token(world.receptionist), VITAL_SIGNS_RECORDED
    )
    assert (await front_desk.errors())[0]["extensions"]["code"] == "FORBIDDEN"
    reading = await add_vital_signs(
        superuser, world, world.patient_ids[0], _physio(world), pain_level=6
    )
    event = (await treating.data())["vitalSignsRecorded"]
    assert event["vitalSigns"] == {
        "id": to_global_id("VitalSigns", reading),
        "painLevel": 6,
        "heartRate": 72,
    }
    assert await not_treating.silent_for(0.7)
    assert await _reads(superuser, "vital_signs", reading, world.physio.user_id) == 1
    assert await _reads(superuser, "vital_signs", reading, world.other_physio.user_id) == 0


async def test_patient_changes_reach_staff_and_the_patient_themself_only(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    mine, theirs = world.patient_ids[0], world.patient_ids[1]
    front_desk = await subscribed_for_test(
        server.ws,
        world.token(world.receptionist),
        PATIENT_CHANGED,
        {"patient": to_global_id("Patient", mine)},
    )
    own = await subscribed_for_test(server.ws, world.token(world.patient), PATIENT_CHANGED)
    # A patient naming another patient's id sees nothing of them (RLS), not an error.
    other = {"patient": to_global_id("Patient", theirs)}
    prying = await subscribed_for_test(
        server.ws, world.token(world.patient), PATIENT_CHANGED, other
    )
    for patient_id, name in ((theirs, "Outra Pessoa"), (mine, "Maria Nova")):
        await _mutate(
            server,
            UPDATE_PATIENT,
            {"input": {"id": to_global_id("Patient", patient_id), "name": name}},
            world.token(world.receptionist),
        )
    for subscription in (front_desk, own):
        event = (await subscription.data())["patientChanged"]
        assert (event["op"], event["patient"]) == (
            "UPDATED",
            {"id": to_global_id("Patient", mine), "name": "Maria Nova"},
        )
        assert await subscription.silent_for(0.5)
    assert await prying.silent_for(0.5)


async def test_consents_and_requests_reach_their_clinic_and_patient(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world, elsewhere = await make_clinic(superuser), await make_clinic(superuser)
    consents = await subscribed_for_test(
        server.ws, world.token(world.receptionist), CONSENT_CHANGED
    )
    own_consents = await subscribed_for_test(server.ws, world.token(world.patient), CONSENT_CHANGED)
    requests = await subscribed_for_test(server.ws, world.token(world.admin), REQUEST_CHANGED)
    own_requests = await subscribed_for_test(server.ws, world.token(world.patient), REQUEST_CHANGED)
    foreign = [
        await subscribed_for_test(server.ws, elsewhere.token(elsewhere.admin), query)
        for query in (CONSENT_CHANGED, REQUEST_CHANGED)
    ]
    granted = await _mutate(
        server,
        GRANT,
        {
            "input": {
                "patientId": to_global_id("Patient", world.patient_ids[1]),
                "purpose": "Lembretes de consulta por WhatsApp",
                "legalBasis": "Consentimento (LGPD art. 7, I)",
                "policyVersion": "2026.1",
            }
        },
        world.token(world.receptionist),
    )
    event = (await consents.data())["consentChanged"]
    assert (event["op"], event["consent"]["id"]) == ("CREATED", granted["grantConsent"]["id"])
    assert await own_consents.silent_for(0.5)  # another patient's consent

    filed = await _mutate(server, FILE, {"input": {"kind": "ACCESS"}}, world.token(world.patient))
    request_id = filed["fileDataSubjectRequest"]["id"]
    for subscription in (requests, own_requests):
        event = (await subscription.data())["dataSubjectRequestChanged"]
        assert (event["op"], event["dataSubjectRequest"]["id"]) == ("CREATED", request_id)
    await _mutate(
        server,
        FULFILL,
        {"input": {"id": request_id, "response": "Dados enviados por e-mail."}},
        world.token(world.admin),
    )
    event = (await requests.data())["dataSubjectRequestChanged"]
    assert event["op"] == "UPDATED" and event["dataSubjectRequest"]["fulfilledAt"]
    for subscription in foreign:
        assert await subscription.silent_for(0.5)


COMPLIANCE = "subscription { complianceStatusChanged { overallScore cursor } }"
STATUS = "{ complianceStatus { overallScore } }"


async def test_compliance_status_follows_every_input_of_its_score(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    officer = await subscribed_for_test(server.ws, world.token(world.admin), COMPLIANCE)
    patient = world.patient_ids[0]
    changes = {
        "patient": lambda: superuser.execute(
            "update patients set phone = '11 99999-0000' where id = $1", patient
        ),
        "consent": lambda: _mutate(
            server,
            GRANT,
            {
                "input": {
                    "patientId": to_global_id("Patient", patient),
                    "purpose": "Tratamento fisioterapêutico",
                    "legalBasis": "Tutela da saúde (LGPD art. 11, II, f)",
                    "policyVersion": "2026.1",
                }
            },
            world.token(world.receptionist),
        ),
        "request": lambda: _mutate(
            server, FILE, {"input": {"kind": "ACCESS"}}, world.token(world.patient)
        ),
        "appointment": lambda: add_appointment(
            superuser, world, patient, _physio(world), datetime.now(UTC) - timedelta(days=2)
        ),
        "prontuario": lambda: add_prontuario(superuser, world, patient, _physio(world)),
    }
    cursors = set()
    for name, change in changes.items():
        await change()
        status = (await officer.data(within=10))["complianceStatusChanged"]
        assert status["cursor"] not in cursors, name
        cursors.add(status["cursor"])
    assert len(cursors) == len(changes)


async def test_a_burst_of_changes_gives_one_status_a_second_per_clinic(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world, elsewhere = await make_clinic(superuser), await make_clinic(superuser)
    officer = await subscribed_for_test(server.ws, world.token(world.admin), COMPLIANCE)
    front_desk = await subscribed_for_test(server.ws, world.token(world.receptionist), COMPLIANCE)
    other_clinic = await subscribed_for_test(
        server.ws, elsewhere.token(elsewhere.admin), COMPLIANCE
    )
    commits = 6
    started = time.monotonic()
    for n in range(commits):  # one change every 0.15 s: each its own batch at the broker
        await superuser.execute(
            "update patients set phone = $1 where id = $2", f"11 9000-000{n}", world.patient_ids[0]
        )
        await asyncio.sleep(0.15)
    seconds = time.monotonic() - started
    now = (await _mutate(server, STATUS, {}, world.token(world.admin)))["complianceStatus"]
    for subscriber in (officer, front_desk):
        received = [(await subscriber.data())["complianceStatusChanged"]]
        with contextlib.suppress(TimeoutError):
            while True:
                received.append((await subscriber.data(within=1.5))["complianceStatusChanged"])
        # The first change at once, the others together at the end of each second after it.
        assert len(received) <= 1 + math.ceil(seconds) < commits, (len(received), seconds)
        assert received[-1]["overallScore"] == now["overallScore"]
    assert await other_clinic.silent_for(0.5)


LGPD_FINDINGS = """subscription { complianceStatusChanged {
  cursor frameworks { framework findings } } }"""


def _overdue(status: dict[str, Any]) -> bool:
    (lgpd,) = [f for f in status["frameworks"] if f["framework"] == "LGPD"]
    return any("prazo de 15 dias vencido" in finding for finding in lgpd["findings"])


async def test_a_deadline_passing_sends_the_status_again_with_no_write(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    officer = await subscribed_for_test(server.ws, world.token(world.admin), LGPD_FINDINGS)
    await superuser.execute(
        "insert into data_subject_requests (clinic_id, patient_id, kind, requested_at)"
        " values ($1, $2, 'access', now() - interval '15 days' + interval '2 seconds')",
        world.clinic_id,
        world.patient_ids[0],
    )
    filed = (await officer.data())["complianceStatusChanged"]  # the request itself
    assert not _overdue(filed)
    # Two seconds later the request is overdue: the compliance clock tells, nobody writes.
    due = (await officer.data(within=15))["complianceStatusChanged"]
    assert _overdue(due) and due["cursor"] != filed["cursor"]
    assert await officer.silent_for(1.5)


async def test_forged_cursors_on_prontuario_added_replay_nothing_foreign(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world, elsewhere = await make_clinic(superuser), await make_clinic(superuser)
    token = world.token(world.physio)
    for forged in ("garbage", "", to_global_id("Prontuario", uuid.uuid4())):
        refused = await subscribed_for_test(server.ws, token, PRONTUARIO_ADDED, {"after": forged})
        (error,) = await refused.errors()
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}

    # Another clinic's cursor: a valid position, but it replays only what this subscriber sees.
    foreign_watch = await subscribed_for_test(
        server.ws, elsewhere.token(elsewhere.physio), PRONTUARIO_ADDED
    )
    foreign = await add_prontuario(
        superuser, elsewhere, elsewhere.patient_ids[0], _physio(elsewhere)
    )
    cursor = (await foreign_watch.data())["prontuarioAdded"]["cursor"]
    foreign_later = await add_prontuario(
        superuser, elsewhere, elsewhere.patient_ids[0], _physio(elsewhere)
    )
    own = await add_prontuario(superuser, world, world.patient_ids[0], _physio(world))
    resumed = await subscribed_for_test(server.ws, token, PRONTUARIO_ADDED, {"after": cursor})
    event = (await resumed.data())["prontuarioAdded"]
    assert event["prontuario"]["id"] == to_global_id("Prontuario", own)
    assert await resumed.silent_for(0.5)
    for record in (foreign, foreign_later):
        assert await _reads(superuser, "prontuarios", record, world.physio.user_id) == 0


async def test_a_login_deactivated_mid_stream_gets_no_further_prontuario(
    server: Server, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    watcher = await subscribed_for_test(server.ws, world.token(world.physio), PRONTUARIO_ADDED)
    first = await add_prontuario(superuser, world, world.patient_ids[0], _physio(world))
    assert (await watcher.data())["prontuarioAdded"]["prontuario"]["id"] == to_global_id(
        "Prontuario", first
    )
    deactivate = "mutation($id: ID!) { deactivateLogin(input: {userId: $id}) { active } }"
    staff = {"id": to_global_id("StaffUser", world.physio.user_id)}
    await _mutate(server, deactivate, staff, world.token(world.admin))
    errors = await watcher.errors(within=5)
    assert [error["extensions"]["code"] for error in errors] == ["UNAUTHENTICATED"], errors
    later = await add_prontuario(superuser, world, world.patient_ids[0], _physio(world))
    assert await watcher.silent_for(0.5)
    assert await _reads(superuser, "prontuarios", later, world.physio.user_id) == 0
