"""LGPD through the ASGI app: consents, data-subject requests, export, anonymization, audit."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from graph.core.ids import parse_global_id, to_global_id
from tests.support.factories import (
    PASSWORD,
    VALID_CPFS,
    add_appointment,
    add_execution,
    add_payment,
    add_prescription,
    add_prontuario,
    make_clinic,
)
from tests.support.graphql_client import StatementCounter, error_codes, graphql

GRANT = """mutation($input: GrantConsentInput!) { grantConsent(input: $input) {
  id purpose legalBasis policyVersion granted grantedAt revokedAt revocationAcknowledgedAt
  patient { id } } }"""
REVOKE = """mutation($input: RevokeConsentInput!) { revokeConsent(input: $input) {
  id granted grantedAt revokedAt } }"""
ACK = """mutation($input: AcknowledgeConsentRevocationInput!) {
  acknowledgeConsentRevocation(input: $input) { id revokedAt revocationAcknowledgedAt } }"""
CONSENTS = """query($id: ID!) { node(id: $id) { ... on Patient {
  consents { id purpose granted revokedAt policyVersion } } } }"""
FILE = """mutation($input: FileDataSubjectRequestInput!) { fileDataSubjectRequest(input: $input) {
  id kind details requestedAt dueAt fulfilledAt response overdue patient { id } } }"""
FULFILL = """mutation($input: FulfillDataSubjectRequestInput!) {
  fulfillDataSubjectRequest(input: $input) { id fulfilledAt response overdue } }"""
REQUESTS = """query($filter: DataSubjectRequestFilter, $first: Int, $after: String) {
  dataSubjectRequests(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id kind overdue dueAt fulfilledAt patient { id } } } } }"""
EXPORT = """mutation($input: ExportPatientDataInput!) { exportPatientData(input: $input) {
  generatedAt data patient { id name } } }"""
ANONYMIZE = """mutation($input: AnonymizePatientInput!) { anonymizePatient(input: $input) {
  id name email phone birthDate cpf cns address status anonymizedAt } }"""
UPDATE_PATIENT = """mutation($input: UpdatePatientInput!) { updatePatient(input: $input) { id } }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) { token } }"""
AUDIT = """query($tableName: String, $recordId: ID, $actorId: ID, $operation: String,
  $from: DateTime, $last: Int) {
  auditLog(last: $last, tableName: $tableName, recordId: $recordId, actorId: $actorId,
           operation: $operation, from: $from) {
    totalCount edges { node { id tableName operation recordId actorId actorRole at
      oldData newData } } } }"""


def gid(type_name: str, value: uuid.UUID) -> str:
    return to_global_id(type_name, value)


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_consents_keep_their_history(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    me = world.patient_ids[0]
    patient = world.token(world.patient)
    grant = {
        "patientId": gid("Patient", me),
        "purpose": "Lembretes de consulta por WhatsApp",
        "legalBasis": "Consentimento (LGPD art. 7, I)",
        "policyVersion": "2026.1",
    }
    consent = ok(await graphql(client, GRANT, {"input": grant}, token=patient))["grantConsent"]
    assert consent["granted"] is True and consent["grantedAt"] and consent["revokedAt"] is None
    assert consent["patient"]["id"] == gid("Patient", me)
    # Granting the same terms again returns the same consent.
    again = ok(await graphql(client, GRANT, {"input": grant}, token=patient))["grantConsent"]
    assert again["id"] == consent["id"]

    revoked = ok(await graphql(client, REVOKE, {"input": {"id": consent["id"]}}, token=patient))
    assert revoked["revokeConsent"]["granted"] is False
    assert revoked["revokeConsent"]["revokedAt"] is not None
    # Revoking twice changes nothing.
    twice = ok(await graphql(client, REVOKE, {"input": {"id": consent["id"]}}, token=patient))
    assert twice["revokeConsent"]["revokedAt"] == revoked["revokeConsent"]["revokedAt"]

    # A new grant is a new row; the revoked one stays, as history.
    renewed = ok(await graphql(client, GRANT, {"input": grant}, token=patient))["grantConsent"]
    assert renewed["id"] != consent["id"] and renewed["granted"] is True
    listed = ok(await graphql(client, CONSENTS, {"id": gid("Patient", me)}, token=patient))
    assert [(c["id"], c["granted"]) for c in listed["node"]["consents"]] == [
        (consent["id"], False),
        (renewed["id"], True),
    ]

    # The front desk grants for any patient; a physiotherapist only reads.
    other = {**grant, "patientId": gid("Patient", world.patient_ids[1])}
    body = await graphql(client, GRANT, {"input": other}, token=world.token(world.receptionist))
    assert ok(body)["grantConsent"]["granted"] is True
    body = await graphql(client, GRANT, {"input": other}, token=world.token(world.physio))
    assert error_codes(body) == ["FORBIDDEN"]
    physio_view = await graphql(
        client, CONSENTS, {"id": gid("Patient", me)}, token=world.token(world.physio)
    )
    assert len(ok(physio_view)["node"]["consents"]) == 2
    # A patient cannot grant (or see) another patient's consents.
    assert error_codes(await graphql(client, GRANT, {"input": other}, token=patient)) == [
        "NOT_FOUND"
    ]
    bad = await graphql(client, GRANT, {"input": {**grant, "purpose": "  "}}, token=patient)
    assert error_codes(bad) == ["BAD_USER_INPUT"]
    assert bad["errors"][0]["extensions"]["field"] == "purpose"

    # Every change is audited with the patient as the actor.
    rows = await superuser.fetch(
        "select operation, actor_id, actor_role from audit_log where record_id = $1 order by id",
        uuid.UUID(_local(consent["id"])),
    )
    assert [(r["operation"], r["actor_id"], r["actor_role"]) for r in rows] == [
        ("INSERT", world.patient.user_id, "patient"),
        ("UPDATE", world.patient.user_id, "patient"),
    ]


def _local(global_id: str) -> str:
    return parse_global_id(global_id)[1]


async def test_revocations_are_acknowledged_and_never_undone(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    patient = world.token(world.patient)
    grant = {
        "patientId": gid("Patient", world.patient_ids[0]),
        "purpose": "Pesquisa científica com dados anonimizados",
        "legalBasis": "Consentimento (LGPD art. 11, I)",
        "policyVersion": "v3",
    }
    consent = ok(await graphql(client, GRANT, {"input": grant}, token=patient))["grantConsent"]
    ack_input = {"input": {"id": consent["id"]}}
    not_revoked = await graphql(client, ACK, ack_input, token=world.token(world.admin))
    assert error_codes(not_revoked) == ["INVALID_STATE"]
    ok(await graphql(client, REVOKE, {"input": {"id": consent["id"]}}, token=patient))
    assert error_codes(await graphql(client, ACK, ack_input, token=patient)) == ["FORBIDDEN"]
    acked = ok(await graphql(client, ACK, ack_input, token=world.token(world.receptionist)))
    done = acked["acknowledgeConsentRevocation"]
    assert done["revocationAcknowledgedAt"] >= done["revokedAt"]

    # The database keeps the history whoever asks, superuser included.
    consent_id = uuid.UUID(_local(consent["id"]))
    for sql in (
        "update consents set granted = true, revoked_at = null where id = $1",
        "update consents set purpose = 'outra' where id = $1",
        "update consents set revocation_acknowledged_at = now() + interval '1 day' where id = $1",
    ):
        try:
            await superuser.execute(sql, consent_id)
        except asyncpg.InsufficientPrivilegeError:
            continue
        raise AssertionError(f"{sql} should be refused")


async def test_data_subject_requests_deadline_and_order(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    patient, front = world.token(world.patient), world.token(world.receptionist)
    mine = ok(
        await graphql(
            client, FILE, {"input": {"kind": "PORTABILITY", "details": "Em JSON"}}, token=patient
        )
    )["fileDataSubjectRequest"]
    requested = datetime.fromisoformat(mine["requestedAt"])
    assert datetime.fromisoformat(mine["dueAt"]) - requested == timedelta(days=15)
    assert mine["patient"]["id"] == gid("Patient", world.patient_ids[0])
    assert mine["overdue"] is False and mine["kind"] == "PORTABILITY"

    received = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    late = ok(
        await graphql(
            client,
            FILE,
            {
                "input": {
                    "kind": "ACCESS",
                    "patientId": gid("Patient", world.patient_ids[1]),
                    "requestedAt": received,
                }
            },
            token=front,
        )
    )["fileDataSubjectRequest"]
    assert late["overdue"] is True
    soon = ok(
        await graphql(
            client,
            FILE,
            {"input": {"kind": "CORRECTION", "patientId": gid("Patient", world.patient_ids[2])}},
            token=front,
        )
    )["fileDataSubjectRequest"]

    # Refusals: patients do not date requests; nobody dates them in the future; physios read.
    body = await graphql(
        client, FILE, {"input": {"kind": "ACCESS", "requestedAt": received}}, token=patient
    )
    assert error_codes(body) == ["FORBIDDEN"]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = await graphql(
        client,
        FILE,
        {
            "input": {
                "kind": "ACCESS",
                "patientId": gid("Patient", world.patient_ids[1]),
                "requestedAt": future,
            }
        },
        token=front,
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    body = await graphql(
        client,
        FILE,
        {"input": {"kind": "ACCESS", "patientId": gid("Patient", world.patient_ids[1])}},
        token=world.token(world.physio),
    )
    assert error_codes(body) == ["FORBIDDEN"]
    assert error_codes(await graphql(client, FILE, {"input": {"kind": "ACCESS"}}, token=front)) == [
        "BAD_USER_INPUT"
    ]

    # Overdue first, then by deadline.
    listed = ok(await graphql(client, REQUESTS, {"first": 10}, token=world.token(world.admin)))
    order = [e["node"]["id"] for e in listed["dataSubjectRequests"]["edges"]]
    assert order == [late["id"], mine["id"], soon["id"]]
    overdue = ok(
        await graphql(
            client, REQUESTS, {"filter": {"overdue": True}}, token=world.token(world.admin)
        )
    )
    assert [e["node"]["id"] for e in overdue["dataSubjectRequests"]["edges"]] == [late["id"]]

    # Fulfilled: no longer overdue, listed after the open ones; fulfilling twice is refused.
    answer = {"input": {"id": late["id"], "response": "Cópia enviada por e-mail."}}
    assert error_codes(await graphql(client, FULFILL, answer, token=patient)) == ["FORBIDDEN"]
    done = ok(await graphql(client, FULFILL, answer, token=front))["fulfillDataSubjectRequest"]
    assert done["fulfilledAt"] and done["overdue"] is False
    assert error_codes(await graphql(client, FULFILL, answer, token=front)) == ["INVALID_STATE"]
    blank = {"input": {"id": soon["id"], "response": " "}}
    assert error_codes(await graphql(client, FULFILL, blank, token=front)) == ["BAD_USER_INPUT"]

    page1 = ok(await graphql(client, REQUESTS, {"first": 2}, token=world.token(world.admin)))
    connection = page1["dataSubjectRequests"]
    assert connection["totalCount"] == 3 and connection["pageInfo"]["hasNextPage"] is True
    cursor = connection["pageInfo"]["endCursor"]
    page2 = ok(
        await graphql(
            client, REQUESTS, {"first": 2, "after": cursor}, token=world.token(world.admin)
        )
    )
    order = [e["node"]["id"] for e in connection["edges"]]
    order += [e["node"]["id"] for e in page2["dataSubjectRequests"]["edges"]]
    assert order == [mine["id"], soon["id"], late["id"]]

    # A patient sees only their own requests; the deadline cannot be moved.
    own = ok(await graphql(client, REQUESTS, {}, token=patient))
    assert [e["node"]["id"] for e in own["dataSubjectRequests"]["edges"]] == [mine["id"]]
    try:
        await superuser.execute(
            "update data_subject_requests set due_at = due_at + interval '30 days' where id = $1",
            uuid.UUID(_local(soon["id"])),
        )
    except asyncpg.InsufficientPrivilegeError:
        pass
    else:
        raise AssertionError("moving a deadline must be refused")


async def test_export_contains_the_whole_record(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    me = world.patient_ids[0]
    physio = world.physio.physiotherapist_id
    assert physio is not None
    starts = datetime.now(UTC) - timedelta(days=3)
    appointment = await add_appointment(superuser, world, me, physio, starts, status="completed")
    record = await add_prontuario(
        superuser, world, me, physio, appointment_id=appointment, addendum="Correção: dor à direita"
    )
    prescription = await add_prescription(superuser, world, me, physio)
    await add_execution(superuser, world, prescription, me, pain_level=4)
    await add_payment(superuser, world, me, "150.00", appointment_id=appointment)
    await superuser.execute(
        "insert into consents (clinic_id, patient_id, purpose, legal_basis, policy_version)"
        " values ($1, $2, 'Tratamento', 'Tutela da saúde', 'v1')",
        world.clinic_id,
        me,
    )
    await superuser.execute(
        "insert into data_subject_requests (clinic_id, patient_id, kind) values ($1, $2, 'access')",
        world.clinic_id,
        me,
    )
    # Another patient's record must not leak into the export.
    await add_prontuario(superuser, world, world.patient_ids[1], physio)

    body = await graphql(
        client, EXPORT, {"input": {"patientId": gid("Patient", me)}}, token=world.token(world.admin)
    )
    export = ok(body)["exportPatientData"]
    data = export["data"]
    assert export["patient"]["id"] == gid("Patient", me)
    assert data["format"] == "fisioflow.patient-data-export" and data["formatVersion"] == 1
    assert data["patient"]["id"] == gid("Patient", me)
    assert data["patient"]["email"] == world.emails["patient"]
    assert [a["id"] for a in data["appointments"]] == [gid("Appointment", appointment)]
    assert data["appointments"][0]["physiotherapist"]["crefito"].startswith("CREFITO-")
    [prontuario] = data["prontuarios"]
    assert prontuario["id"] == gid("Prontuario", record)
    assert prontuario["anamnesis"] == "Dor lombar há 3 meses"
    assert prontuario["appointmentId"] == gid("Appointment", appointment)
    assert [a["text"] for a in prontuario["addenda"]] == ["Correção: dor à direita"]
    [rx] = data["prescriptions"]
    assert rx["id"] == gid("ExercisePrescription", prescription)
    assert rx["exercise"]["name"] == "Ponte glútea"
    assert [e["painLevel"] for e in rx["executions"]] == [4]
    assert [p["amount"] for p in data["payments"]] == ["150.00"]
    assert "idempotencyKey" not in data["payments"][0]
    assert [c["purpose"] for c in data["consents"]] == ["Tratamento"]
    assert [r["kind"] for r in data["dataSubjectRequests"]] == ["access"]

    # The patient exports themselves, identically; nobody else's; staff other than admin: no.
    mine = ok(
        await graphql(
            client,
            EXPORT,
            {"input": {"patientId": gid("Patient", me)}},
            token=world.token(world.patient),
        )
    )["exportPatientData"]["data"]
    assert mine["prontuarios"] == data["prontuarios"]
    other = {"input": {"patientId": gid("Patient", world.patient_ids[1])}}
    body = await graphql(client, EXPORT, other, token=world.token(world.patient))
    assert error_codes(body) == ["NOT_FOUND"]
    for who in (world.receptionist, world.physio):
        body = await graphql(client, EXPORT, other, token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"]

    # Reading the record through the export is in the audit trail, by whom.
    readers = await superuser.fetch(
        "select actor_id, actor_role from audit_log where record_id = $1 and operation = 'SELECT'"
        " order by id",
        record,
    )
    assert [(r["actor_id"], r["actor_role"]) for r in readers] == [
        (world.admin.user_id, "admin"),
        (world.patient.user_id, "patient"),
    ]


async def test_anonymization_erases_personal_data_and_keeps_records(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    me = world.patient_ids[0]
    physio = world.physio.physiotherapist_id
    assert physio is not None
    personal = {
        "name": "Joana Personalíssima da Silva",
        "cpf": VALID_CPFS[0],
        "cns": "123456789012345",
        "phone": "+55 11 98888-7777",
        "address": "Rua das Acácias, 123, São Paulo",
        "birthDate": "1980-05-17",
    }
    # Written through the API, so the audit log holds every value in clear before erasure.
    ok(
        await graphql(
            client,
            UPDATE_PATIENT,
            {"input": {"id": gid("Patient", me), **personal}},
            token=world.token(world.receptionist),
        )
    )
    await add_prontuario(superuser, world, me, physio, addendum="Adendo")
    await add_prontuario(superuser, world, me, physio, kind="evolution")
    await add_payment(superuser, world, me)
    request = ok(
        await graphql(
            client, FILE, {"input": {"kind": "ANONYMIZATION"}}, token=world.token(world.patient)
        )
    )["fileDataSubjectRequest"]
    records_before = await superuser.fetchval(
        "select count(*) from prontuarios where patient_id = $1", me
    )
    # The login linked to an identity provider's subject (`fisioflow link-login`), audited.
    subject = f"idp|{uuid.uuid4()}"
    await superuser.execute(
        "update users set external_subject = $1 where id = $2", subject, world.patient.user_id
    )
    secrets = [*personal.values(), world.emails["patient"], "1980-05-17"]
    before = await superuser.fetchval(
        "select string_agg(coalesce(old_data::text, '') || coalesce(new_data::text, ''), ' ')"
        " from audit_log where record_id = $1",
        me,
    )
    assert all(secret in before for secret in secrets)
    login_audit = await superuser.fetchval(
        "select string_agg(new_data::text, ' ') from audit_log where record_id = $1",
        world.patient.user_id,
    )
    assert subject in login_audit
    secrets.append(subject)

    for who in (world.receptionist, world.physio, world.patient):
        body = await graphql(
            client, ANONYMIZE, {"input": {"patientId": gid("Patient", me)}}, token=world.token(who)
        )
        assert error_codes(body) == ["FORBIDDEN"]

    body = await graphql(
        client,
        ANONYMIZE,
        {"input": {"patientId": gid("Patient", me)}},
        token=world.token(world.admin),
    )
    anonymized = ok(body)["anonymizePatient"]
    assert anonymized["name"] == "Paciente anonimizado"
    assert all(
        anonymized[key] is None for key in ("email", "phone", "birthDate", "cpf", "cns", "address")
    )
    assert anonymized["anonymizedAt"] is not None and anonymized["status"] == "INACTIVE"

    # No personal datum remains in the patient row, the login, or (in clear) the audit log.
    row = dict(await superuser.fetchrow("select * from patients where id = $1", me))
    assert all(secret not in json.dumps(row, default=str) for secret in secrets)
    login = await superuser.fetchrow(
        "select email, active, password_hash, external_subject from users where patient_id = $1",
        me,
    )
    assert login is not None and login["active"] is False
    assert world.emails["patient"] not in login["email"]
    assert login["external_subject"] is None  # no provider token finds the login any more
    found = "select count(*) from auth_user_by_external_subject($1)"
    assert await superuser.fetchval(found, subject) == 0
    audit_text = await superuser.fetchval(
        "select string_agg(coalesce(old_data::text, '') || coalesce(new_data::text, ''), ' ')"
        " from audit_log where record_id = any($1::uuid[])",
        [me, world.patient.user_id],
    )
    leaked = [secret for secret in secrets if secret in audit_text]
    assert leaked == []
    # The audit rows themselves (who, when, what) all remain, and the act is audited.
    act = await superuser.fetchrow(
        "select actor_id, actor_role, new_data from audit_log where record_id = $1"
        " and table_name = 'patients' and operation = 'UPDATE' and new_data ? 'anonymized_at'",
        me,
    )
    assert act is not None and (act["actor_id"], act["actor_role"]) == (
        world.admin.user_id,
        "admin",
    )
    assert json.loads(act["new_data"])["name"] == "[anonimizado]"

    # Clinical and financial records stay, for their legal retention.
    assert (
        await superuser.fetchval("select count(*) from prontuarios where patient_id = $1", me)
        == records_before
        == 2
    )
    assert await superuser.fetchval("select count(*) from payments where patient_id = $1", me) == 1
    # The anonymization request is answered; the patient's login no longer works.
    answered = await superuser.fetchrow(
        "select fulfilled_at, response from data_subject_requests where id = $1",
        uuid.UUID(_local(request["id"])),
    )
    assert answered is not None and answered["fulfilled_at"] is not None
    assert "anonimizados" in answered["response"]
    body = await graphql(
        client, LOGIN, {"input": {"email": world.emails["patient"], "password": PASSWORD}}
    )
    assert error_codes(body) == ["UNAUTHENTICATED"]

    again = await graphql(
        client,
        ANONYMIZE,
        {"input": {"patientId": gid("Patient", me)}},
        token=world.token(world.admin),
    )
    assert error_codes(again) == ["INVALID_STATE"]


async def test_audit_rows_only_allow_redaction(superuser: asyncpg.Connection) -> None:
    """Even as the owner inside the anonymization gate, nothing but redaction gets through."""
    world = await make_clinic(superuser)
    entry = await superuser.fetchval(
        "select id from audit_log where record_id = $1 order by id limit 1", world.patient_ids[0]
    )
    for change in (
        "actor_role = 'admin'",
        'new_data = new_data || \'{"name": "Outra"}\'',
        "new_data = new_data - 'name'",
    ):
        transaction = superuser.transaction()
        await transaction.start()
        try:
            await superuser.execute("set local role fisioflow_owner")
            await superuser.execute("select set_config('fisioflow.definer', 'anonymize', true)")
            try:
                await superuser.execute(f"update audit_log set {change} where id = $1", entry)
            except asyncpg.InsufficientPrivilegeError:
                pass
            else:
                raise AssertionError(f"{change} must be refused")
        finally:
            await transaction.rollback()
    try:
        await superuser.execute(
            "select anonymize_patient($1)", world.patient_ids[0]
        )  # no request identity
    except asyncpg.InsufficientPrivilegeError:
        pass
    else:
        raise AssertionError("anonymize_patient() needs an admin identity")


async def test_audit_log_is_admin_only_and_filterable(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    other = await make_clinic(superuser, "Clínica B")
    patient = world.patient_ids[1]
    started = datetime.now(UTC).isoformat()
    ok(
        await graphql(
            client,
            UPDATE_PATIENT,
            {"input": {"id": gid("Patient", patient), "address": "Rua Nova, 10"}},
            token=world.token(world.receptionist),
        )
    )
    admin = world.token(world.admin)
    body = ok(
        await graphql(client, AUDIT, {"recordId": gid("Patient", patient), "last": 10}, token=admin)
    )
    entries = [e["node"] for e in body["auditLog"]["edges"]]
    assert [e["operation"] for e in entries] == ["INSERT", "UPDATE"]
    update = entries[-1]
    assert update["tableName"] == "patients" and update["recordId"] == gid("Patient", patient)
    assert update["actorId"] == gid("User", world.receptionist.user_id)
    assert update["actorRole"] == "RECEPTIONIST"
    assert update["newData"]["address"] == "Rua Nova, 10" and update["oldData"]["address"] is None

    by_actor = ok(
        await graphql(
            client,
            AUDIT,
            {"actorId": gid("User", world.receptionist.user_id), "from": started, "last": 10},
            token=admin,
        )
    )
    assert [e["node"]["id"] for e in by_actor["auditLog"]["edges"]] == [update["id"]]
    by_table = ok(
        await graphql(client, AUDIT, {"tableName": "patients", "operation": "update"}, token=admin)
    )
    assert update["id"] in [e["node"]["id"] for e in by_table["auditLog"]["edges"]]
    node = ok(
        await graphql(
            client, "query($id: ID!) { node(id: $id) { id ... on AuditEntry { operation } } }",
            {"id": update["id"]}, token=admin,
        )
    )  # fmt: skip
    assert node["node"] == {"id": update["id"], "operation": "UPDATE"}

    for who in (world.receptionist, world.physio, world.patient):
        body = await graphql(client, AUDIT, {}, token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"]
    # Clinic B's admin never sees clinic A's audit rows, by filter or by node id.
    theirs = ok(
        await graphql(
            client, AUDIT, {"recordId": gid("Patient", patient)}, token=other.token(other.admin)
        )
    )
    assert theirs["auditLog"]["totalCount"] == 0
    ghost = ok(
        await graphql(
            client, "query($id: ID!) { node(id: $id) { id } }", {"id": update["id"]},
            token=other.token(other.admin),
        )
    )  # fmt: skip
    assert ghost["node"] is None
    bad = await graphql(client, AUDIT, {"operation": "TRUNCATE"}, token=admin)
    assert error_codes(bad) == ["BAD_USER_INPUT"]


async def test_record_reads_are_batched_per_request(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    """Opening prontuários of several patients logs every record read, in one statement."""
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    records = [
        await add_prontuario(superuser, world, patient, physio) for patient in world.patient_ids[:3]
    ]
    statements.reset()
    body = await graphql(
        client,
        "{ patients(first: 10) { edges { node { prontuarios { edges { node { id } } } } } } }",
        token=world.token(world.physio),
    )
    shown = [
        e["node"]["id"]
        for patient in body["data"]["patients"]["edges"]
        for e in patient["node"]["prontuarios"]["edges"]
    ]
    assert sorted(shown) == sorted(to_global_id("Prontuario", r) for r in records)
    writes = [s for s in statements.statements if "audit_record_reads" in s]
    assert len(writes) == 1
    rows = await superuser.fetch(
        "select record_id, actor_id, actor_role from audit_log"
        " where operation = 'SELECT' and record_id = any($1::uuid[])",
        records,
    )
    assert sorted(r["record_id"] for r in rows) == sorted(records)
    assert {(r["actor_id"], r["actor_role"]) for r in rows} == {
        (world.physio.user_id, "physiotherapist")
    }
