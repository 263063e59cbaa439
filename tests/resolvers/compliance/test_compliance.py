"""Compliance through the ASGI app: the live status, checks on real data, issues, isolation."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from graph.core.ids import to_global_id
from tests.support.database import plain_dsn
from tests.support.factories import ClinicWorld, add_appointment, add_prontuario, make_clinic
from tests.support.graphql_client import error_codes, graphql

STATUS = """{ complianceStatus { overallScore computedAt clinic { id name }
  frameworks { framework score state findings }
  recentChecks { id framework checkType state score }
  openIssues { id framework requirement severity resolved } } }"""
RUN = """mutation($input: RunComplianceCheckInput!) { runComplianceCheck(input: $input) {
  id framework checkType state severity score lastChecked nextCheck issuesFound description
  recommendations issues { id requirement description severity resolved } } }"""
RESOLVE = """mutation($input: ResolveComplianceIssueInput!) {
  resolveComplianceIssue(input: $input) { id resolved resolvedAt resolution check { id } } }"""
ISSUES = """query($framework: Framework, $resolved: Boolean) {
  complianceIssues(first: 100, framework: $framework, resolved: $resolved) {
    totalCount edges { node { id requirement description resolved resolution severity } } } }"""
CHECKS = """query($framework: Framework) { complianceChecks(last: 100, framework: $framework) {
  totalCount edges { node { id checkType state } } } }"""
REQUESTS = "{ dataSubjectRequests(first: 100) { totalCount } }"
CATALOGUE = """query($framework: Framework) { complianceCheckTypes(framework: $framework) {
  framework checkType title requirement computed nextCheckInDays
  criteria { code description severity } } }"""


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def by_framework(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["framework"]: f for f in status["frameworks"]}


async def consent(conn: asyncpg.Connection, world: ClinicWorld, patient: uuid.UUID) -> None:
    await conn.execute(
        "insert into consents (clinic_id, patient_id, purpose, legal_basis, policy_version)"
        " values ($1, $2, 'Tratamento', 'Tutela da saúde', 'v1')",
        world.clinic_id,
        patient,
    )


async def troubled_clinic(conn: asyncpg.Connection) -> ClinicWorld:
    """Six active patients, half with consent; one of each LGPD and CFM problem."""
    world = await make_clinic(conn)
    patients = world.patient_ids
    for patient in patients[:3]:
        await consent(conn, world, patient)
    await conn.execute(
        "insert into consents (clinic_id, patient_id, purpose, legal_basis, policy_version,"
        " granted, revoked_at) values ($1, $2, 'Marketing', 'Consentimento', 'v1', false, now())",
        world.clinic_id,
        patients[3],
    )
    await conn.execute(
        "insert into data_subject_requests (clinic_id, patient_id, kind, requested_at)"
        " values ($1, $2, 'access', now() - interval '20 days')",
        world.clinic_id,
        patients[4],
    )
    physio = world.physio.physiotherapist_id
    assert physio is not None
    past = datetime.now(UTC) - timedelta(days=3)
    await add_appointment(conn, world, patients[0], physio, past, status="completed")
    recorded = await add_appointment(
        conn, world, patients[1], physio, past + timedelta(hours=2), status="completed"
    )
    await add_prontuario(conn, world, patients[1], physio, appointment_id=recorded)
    await conn.execute(
        "insert into prontuarios (clinic_id, patient_id, author_id, kind, evolution, author_name,"
        " author_crefito) values ($1, $2, $3, 'evolution', 'Sem autor', 'Ana', 'sem registro')",
        world.clinic_id,
        patients[1],
        physio,
    )
    return world


async def test_status_is_computed_from_live_data(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await troubled_clinic(superuser)
    status = ok(await graphql(client, STATUS, token=world.token(world.admin)))["complianceStatus"]
    assert status["clinic"]["id"] == to_global_id("Clinic", world.clinic_id)
    frameworks = by_framework(status)
    lgpd, cfm = frameworks["LGPD"], frameworks["CFM"]
    # consent 50, overdue requests 75, revocations 80, audit trail 100
    assert (lgpd["score"], lgpd["state"]) == (76, "NON_COMPLIANT")
    findings = " | ".join(lgpd["findings"])
    assert "3 de 6 pacientes ativos (50%) têm consentimento válido registrado." in findings
    assert "1 solicitação de titular está com o prazo de 15 dias vencido" in findings
    assert "1 revogação de consentimento aguarda confirmação" in findings
    assert (cfm["score"], cfm["state"]) == (50, "NON_COMPLIANT")
    findings = " | ".join(cfm["findings"])
    assert "1 de 2 atendimentos concluídos há mais de 24 horas estão sem registro" in findings
    assert "1 de 2 prontuários não trazem um número de CREFITO válido" in findings
    for name in ("ANVISA", "WCAG"):  # nothing recorded yet
        assert (frameworks[name]["score"], frameworks[name]["state"]) == (0, "PENDING")
        assert any("Nenhuma verificação registrada" in f for f in frameworks[name]["findings"])
    assert status["overallScore"] == round((76 + 50 + 0 + 0) / 4)
    assert status["recentChecks"] == [] and status["openIssues"] == []

    # Every staff role sees the same numbers (aggregates, whatever its own RLS shows).
    for who in (world.physio, world.receptionist):
        theirs = ok(await graphql(client, STATUS, token=world.token(who)))["complianceStatus"]
        assert theirs["frameworks"] == status["frameworks"]
    body = await graphql(client, STATUS, token=world.token(world.patient))
    assert error_codes(body) == ["FORBIDDEN"]

    # Fix the data: the status follows at once, no check needs to run.
    await superuser.execute(
        "update data_subject_requests set fulfilled_at = now(), response = 'Enviado'"
        " where clinic_id = $1",
        world.clinic_id,
    )
    await superuser.execute(
        "update consents set revocation_acknowledged_at = now()"
        " where clinic_id = $1 and revoked_at is not null",
        world.clinic_id,
    )
    for patient in world.patient_ids[3:]:
        await consent(superuser, world, patient)
    fixed = ok(await graphql(client, STATUS, token=world.token(world.admin)))["complianceStatus"]
    lgpd = by_framework(fixed)["LGPD"]
    assert (lgpd["score"], lgpd["state"], lgpd["findings"]) == (100, "COMPLIANT", [])


async def test_run_computed_check_opens_refreshes_and_resolves_issues(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await troubled_clinic(superuser)
    admin = world.token(world.admin)
    run = {"input": {"framework": "LGPD", "checkType": "consent_coverage"}}
    first = ok(await graphql(client, RUN, run, token=admin))["runComplianceCheck"]
    assert (first["state"], first["score"], first["severity"], first["issuesFound"]) == (
        "NON_COMPLIANT", 50, "CRITICAL", 3,
    )  # fmt: skip
    assert first["description"] == (
        "3 de 6 pacientes ativos (50%) têm consentimento válido registrado."
    )
    assert "Colete o consentimento de 3 pacientes ativos" in first["recommendations"][0]
    checked = datetime.fromisoformat(first["lastChecked"])
    assert datetime.fromisoformat(first["nextCheck"]) - checked == timedelta(days=7)
    [issue] = first["issues"]
    assert issue["requirement"].startswith("LGPD arts. 7, 8 e 11")
    assert (issue["severity"], issue["resolved"]) == ("CRITICAL", False)

    # The result follows the data: one more consent, a different score, the same open issue.
    await consent(superuser, world, world.patient_ids[3])
    second = ok(await graphql(client, RUN, run, token=admin))["runComplianceCheck"]
    assert (second["score"], second["issuesFound"], second["severity"]) == (66, 2, "CRITICAL")
    assert [i["id"] for i in second["issues"]] == [issue["id"]]
    assert second["issues"][0]["description"].startswith("4 de 6")
    open_issues = ok(await graphql(client, ISSUES, {"resolved": False}, token=admin))
    assert open_issues["complianceIssues"]["totalCount"] == 1

    # Fixed: the check passes and resolves its issue by itself.
    for patient in world.patient_ids[4:]:
        await consent(superuser, world, patient)
    third = ok(await graphql(client, RUN, run, token=admin))["runComplianceCheck"]
    assert (third["state"], third["score"], third["issuesFound"]) == ("COMPLIANT", 100, 0)
    issues = ok(await graphql(client, ISSUES, {}, token=admin))["complianceIssues"]["edges"]
    [closed] = [e["node"] for e in issues]
    assert closed["resolved"] is True
    assert closed["resolution"].startswith("Resolvida automaticamente")

    # The other computed checks evaluate real data too.
    evolution = {"input": {"framework": "CFM", "checkType": "evolution_records"}}
    cfm = ok(await graphql(client, RUN, evolution, token=admin))["runComplianceCheck"]
    assert (cfm["state"], cfm["score"], cfm["issuesFound"]) == ("NON_COMPLIANT", 50, 1)
    crefito = {"input": {"framework": "CFM", "checkType": "author_crefito"}}
    cfm = ok(await graphql(client, RUN, crefito, token=admin))["runComplianceCheck"]
    assert (cfm["state"], cfm["score"], cfm["severity"]) == ("NON_COMPLIANT", 50, "HIGH")
    overdue = {"input": {"framework": "LGPD", "checkType": "overdue_requests"}}
    lgpd = ok(await graphql(client, RUN, overdue, token=admin))["runComplianceCheck"]
    assert (lgpd["state"], lgpd["score"]) == ("NON_COMPLIANT", 75)
    audit = {"input": {"framework": "LGPD", "checkType": "audit_trail"}}
    lgpd = ok(await graphql(client, RUN, audit, token=admin))["runComplianceCheck"]
    assert (lgpd["state"], lgpd["score"]) == ("COMPLIANT", 100)

    status = ok(await graphql(client, STATUS, token=admin))["complianceStatus"]
    assert [c["checkType"] for c in status["recentChecks"][:2]] == [
        "audit_trail",
        "overdue_requests",
    ]
    assert {i["framework"] for i in status["openIssues"]} == {"CFM", "LGPD"}
    assert status["openIssues"][0]["severity"] in ("CRITICAL", "HIGH")


async def test_recorded_checks_score_the_submitted_assessment(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    admin = world.token(world.admin)
    contrast = {
        "framework": "WCAG",
        "checkType": "color_contrast",
        "criteria": [
            {"code": "1.4.3", "met": False, "note": "Botão Confirmar com contraste de 2,1:1."},
            {"code": "1.4.11", "met": True},
        ],
        "notes": "Avaliação da tela de agendamento.",
    }
    check = ok(await graphql(client, RUN, {"input": contrast}, token=admin))["runComplianceCheck"]
    assert (check["state"], check["score"], check["severity"], check["issuesFound"]) == (
        "NON_COMPLIANT", 33, "HIGH", 1,
    )  # fmt: skip
    assert check["description"].startswith("Verificação registrada: 1 de 3 critérios atendidos")
    assert "Observações: Avaliação da tela de agendamento." in check["description"]
    assert check["recommendations"] == [
        "Corrija: Contraste mínimo de 4,5:1 para texto.",
        "Avalie também: Cor não é o único meio de transmitir informação.",
    ]
    [issue] = check["issues"]
    assert issue["requirement"] == "WCAG 2.1 AA 1.4.3 — Contraste mínimo de 4,5:1 para texto"
    assert issue["description"] == "Botão Confirmar com contraste de 2,1:1."

    wcag = by_framework(ok(await graphql(client, STATUS, token=admin))["complianceStatus"])["WCAG"]
    assert (wcag["score"], wcag["state"]) == (33 // 4, "NON_COMPLIANT")
    assert "Contraste e uso de cores: 1 critério não atendido" in wcag["findings"][0]

    # All criteria met: compliant, and the issue resolves itself.
    all_met = {
        **contrast,
        "criteria": [{"code": c, "met": True} for c in ("1.4.3", "1.4.11", "1.4.1")],
    }
    check = ok(await graphql(client, RUN, {"input": all_met}, token=admin))["runComplianceCheck"]
    assert (check["state"], check["score"], check["issuesFound"]) == ("COMPLIANT", 100, 0)
    assert (
        ok(await graphql(client, ISSUES, {"resolved": False}, token=admin))["complianceIssues"][
            "totalCount"
        ]
        == 0
    )

    # ANVISA fully recorded and met: compliant; a recorded check past its date: pending.
    catalogue = ok(await graphql(client, CATALOGUE, {"framework": "ANVISA"}, token=admin))
    for check_type in catalogue["complianceCheckTypes"]:
        assert check_type["computed"] is False and check_type["criteria"]
        run = {
            "framework": "ANVISA",
            "checkType": check_type["checkType"],
            "criteria": [{"code": c["code"], "met": True} for c in check_type["criteria"]],
        }
        ok(await graphql(client, RUN, {"input": run}, token=admin))
    anvisa = by_framework(ok(await graphql(client, STATUS, token=admin))["complianceStatus"])
    assert (anvisa["ANVISA"]["score"], anvisa["ANVISA"]["state"]) == (100, "COMPLIANT")
    await superuser.execute(
        "update compliance_checks set next_check = now() - interval '2 days'"
        " where clinic_id = $1 and check_type = 'waste_management'",
        world.clinic_id,
    )
    anvisa = by_framework(ok(await graphql(client, STATUS, token=admin))["complianceStatus"])
    assert anvisa["ANVISA"]["state"] == "PENDING"
    assert any("venceu em" in f for f in anvisa["ANVISA"]["findings"])


async def test_run_check_refusals(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    admin = world.token(world.admin)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"framework": "LGPD", "checkType": "nonexistent"}, "checkType"),
        ({"framework": "ANVISA", "checkType": "consent_coverage"}, "checkType"),
        (
            {
                "framework": "LGPD",
                "checkType": "consent_coverage",
                "criteria": [{"code": "x", "met": True}],
            },
            "criteria",
        ),
        ({"framework": "WCAG", "checkType": "keyboard_navigation"}, "criteria"),
        (
            {
                "framework": "WCAG",
                "checkType": "keyboard_navigation",
                "criteria": [{"code": "9.9.9", "met": True}],
            },
            "criteria",
        ),
        (
            {
                "framework": "WCAG",
                "checkType": "keyboard_navigation",
                "criteria": [{"code": "2.1.1", "met": True}, {"code": "2.1.1", "met": False}],
            },
            "criteria",
        ),
    ]
    for run, field in cases:
        body = await graphql(client, RUN, {"input": run}, token=admin)
        assert error_codes(body) == ["BAD_USER_INPUT"], run
        assert body["errors"][0]["extensions"]["field"] == field
    run = {"framework": "LGPD", "checkType": "consent_coverage"}
    for who in (world.receptionist, world.physio, world.patient):
        body = await graphql(client, RUN, {"input": run}, token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"]
    assert (
        await superuser.fetchval(
            "select count(*) from compliance_checks where clinic_id = $1", world.clinic_id
        )
        == 0
    )


async def test_resolve_issue(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await troubled_clinic(superuser)
    admin = world.token(world.admin)
    run = {"input": {"framework": "LGPD", "checkType": "revocations"}}
    check = ok(await graphql(client, RUN, run, token=admin))["runComplianceCheck"]
    [issue] = check["issues"]
    resolve = {"input": {"id": issue["id"], "resolution": "Tratamento interrompido."}}
    for who in (world.receptionist, world.physio):
        body = await graphql(client, RESOLVE, resolve, token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"]
    done = ok(await graphql(client, RESOLVE, resolve, token=admin))["resolveComplianceIssue"]
    assert done["resolved"] is True and done["resolvedAt"]
    assert done["resolution"] == "Tratamento interrompido."
    assert done["check"]["id"] == check["id"]
    assert error_codes(await graphql(client, RESOLVE, resolve, token=admin)) == ["INVALID_STATE"]
    missing = {"input": {"id": to_global_id("ComplianceIssue", uuid.uuid4())}}
    assert error_codes(await graphql(client, RESOLVE, missing, token=admin)) == ["NOT_FOUND"]
    # Staff read checks and issues, by list and by node id.
    node = ok(
        await graphql(
            client, "query($id: ID!) { node(id: $id) { ... on ComplianceIssue { resolved } } }",
            {"id": issue["id"]}, token=world.token(world.receptionist),
        )
    )  # fmt: skip
    assert node["node"] == {"resolved": True}
    listed = ok(
        await graphql(client, CHECKS, {"framework": "LGPD"}, token=world.token(world.physio))
    )
    assert [e["node"]["id"] for e in listed["complianceChecks"]["edges"]] == [check["id"]]


async def test_clinic_b_never_sees_clinic_a(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    a = await troubled_clinic(superuser)
    b = await make_clinic(superuser, "Clínica B")
    run = {"input": {"framework": "LGPD", "checkType": "consent_coverage"}}
    check = ok(await graphql(client, RUN, run, token=a.token(a.admin)))["runComplianceCheck"]
    [issue] = check["issues"]
    b_admin = b.token(b.admin)
    assert (
        ok(await graphql(client, CHECKS, {}, token=b_admin))["complianceChecks"]["totalCount"] == 0
    )
    assert (
        ok(await graphql(client, ISSUES, {}, token=b_admin))["complianceIssues"]["totalCount"] == 0
    )
    assert (
        ok(await graphql(client, REQUESTS, token=b_admin))["dataSubjectRequests"]["totalCount"] == 0
    )
    audit = ok(await graphql(client, "{ auditLog(last: 100) { edges { node { recordId } } } }",
                             token=b_admin))  # fmt: skip
    a_ids = {to_global_id("Patient", p) for p in a.patient_ids}
    assert not a_ids & {e["node"]["recordId"] for e in audit["auditLog"]["edges"]}
    nodes = ok(
        await graphql(
            client, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            {"ids": [check["id"], issue["id"]]}, token=b_admin,
        )
    )  # fmt: skip
    assert nodes["nodes"] == [None, None]
    body = await graphql(
        client, RESOLVE, {"input": {"id": issue["id"], "resolution": "x"}}, token=b_admin
    )
    assert error_codes(body) == ["NOT_FOUND"]
    # B's status is B's alone: no checks, no issues, none of A's problems.
    status = ok(await graphql(client, STATUS, token=b_admin))["complianceStatus"]
    assert status["recentChecks"] == [] and status["openIssues"] == []
    lgpd = by_framework(status)["LGPD"]
    assert "0 de 6 pacientes ativos (0%)" in " ".join(lgpd["findings"])
    assert not any("solicitação" in f for f in lgpd["findings"])


async def test_check_and_issue_changes_are_notified(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, database_url: str
) -> None:
    """What the complianceStatusChanged subscription listens for: ids only."""
    world = await make_clinic(superuser)
    listener = await asyncpg.connect(plain_dsn(database_url))
    events: list[dict[str, Any]] = []

    def on_event(_conn: Any, _pid: int, _channel: str, payload: object) -> None:
        event = json.loads(str(payload))
        if event.get("clinic_id") == str(world.clinic_id):
            events.append(event)

    await listener.add_listener("fisioflow_events", on_event)
    try:
        run = {"input": {"framework": "LGPD", "checkType": "consent_coverage"}}
        ok(await graphql(client, RUN, run, token=world.token(world.admin)))
        for _ in range(50):
            if {e["table"] for e in events} >= {"compliance_checks", "compliance_issues"}:
                break
            await asyncio.sleep(0.05)
    finally:
        await listener.close()
    tables = {(e["table"], e["op"]) for e in events}
    assert {("compliance_checks", "INSERT"), ("compliance_issues", "INSERT")} <= tables
    assert all(set(e) <= {"seq", "table", "op", "id", "clinic_id"} for e in events)


async def test_catalogue(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    body = ok(await graphql(client, CATALOGUE, {}, token=world.token(world.receptionist)))
    types = {(t["framework"], t["checkType"]): t for t in body["complianceCheckTypes"]}
    for computed in (
        ("LGPD", "consent_coverage"),
        ("LGPD", "overdue_requests"),
        ("LGPD", "revocations"),
        ("LGPD", "audit_trail"),
        ("CFM", "evolution_records"),
        ("CFM", "author_crefito"),
    ):
        assert types[computed]["computed"] is True and types[computed]["criteria"] == []
    assert {f for f, _ in types} == {"LGPD", "CFM", "ANVISA", "WCAG"}
    assert all(not t["computed"] for (f, _), t in types.items() if f in ("ANVISA", "WCAG"))
