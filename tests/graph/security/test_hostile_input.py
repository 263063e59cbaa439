"""Hostile input, table-driven: every case must be answered `BAD_USER_INPUT` naming the field
(never INTERNAL, never a 500), and must leave nothing behind. The same table runs against
a real `fisioflow serve` to check that the burst leaves no traceback in its log."""

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette

from graph.core.cursors import CursorCodec
from graph.core.errors import from_database_error
from graph.core.ids import to_global_id
from graph.security import input_limits
from tests.support.apps import JWT_SECRET
from tests.support.factories import (
    ClinicWorld,
    add_appointment,
    add_payment,
    add_prescription,
    add_prontuario,
    make_clinic,
)
from tests.support.graphql_client import StatementCounter, error_codes, graphql
from tests.support.servers import running_server


@dataclass
class Ids:
    """The world's rows the cases point at, as global IDs."""

    world: ClinicWorld
    patient: str
    physio: str
    appointment: str
    payment: str
    prescription: str
    prontuario: str


async def make_ids(superuser: asyncpg.Connection) -> Ids:
    world = await make_clinic(superuser, "Clínica Hostil")
    patient = world.patient.patient_id
    physio = world.physio.physiotherapist_id
    assert patient is not None and physio is not None
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    appointment = await add_appointment(superuser, world, patient, physio, start)
    payment = await add_payment(superuser, world, patient)
    prescription = await add_prescription(
        superuser, world, patient, physio, starts_on=date.today() - timedelta(days=7)
    )
    prontuario = await add_prontuario(superuser, world, patient, physio)
    return Ids(
        world,
        patient=to_global_id("Patient", patient),
        physio=to_global_id("Physiotherapist", physio),
        appointment=to_global_id("Appointment", appointment),
        payment=to_global_id("Payment", payment),
        prescription=to_global_id("ExercisePrescription", prescription),
        prontuario=to_global_id("Prontuario", prontuario),
    )


def cursor(value: Any) -> str:
    """A cursor sealed with the test apps' key, around any JSON value: what a server bug or a
    stolen key could let through the authentication, checked again after it."""
    text = value if isinstance(value, str) else json.dumps(value)
    return CursorCodec.from_secret(JWT_SECRET).seal(text.encode())


FUTURE = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0).isoformat()
HUGE = "x" * 900_000
NUL = "Ana\x00Souza"

CREATE_PATIENT = "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }"
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id startsAt }
}"""
RESCHEDULE = """mutation($input: RescheduleAppointmentInput!) {
  rescheduleAppointment(input: $input) { id }
}"""
CREATE_PAYMENT = "mutation($input: CreatePaymentInput!) { createPayment(input: $input) { id } }"
LOG_EXECUTION = """mutation($input: LogExerciseExecutionInput!) {
  logExerciseExecution(input: $input) { id }
}"""
PRESCRIBE = """mutation($input: PrescribeExerciseInput!) {
  prescribeExercise(input: $input) { id }
}"""
CREATE_PRONTUARIO = """mutation($input: CreateProntuarioInput!) {
  createProntuario(input: $input) { id }
}"""
PATIENTS = """query($first: Int, $after: String, $last: Int, $before: String,
                   $filter: PatientFilter) {
  patients(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    edges { cursor node { id name } }
  }
}"""
APPOINTMENTS = """query($after: String, $filter: AppointmentFilter) {
  appointments(first: 5, after: $after, filter: $filter) { edges { cursor node { id } } }
}"""
NESTED = """query($after: String) {
  physiotherapists(first: 2) { edges { node { patients(first: 2, after: $after) {
    edges { node { id } } } } } }
}"""


def patient_input(ids: Ids, **fields: Any) -> dict[str, Any]:
    return {"input": {"name": "Maria Teste", **fields}}


def schedule_input(ids: Ids, **fields: Any) -> dict[str, Any]:
    values = {
        "patientId": ids.patient,
        "physiotherapistId": ids.physio,
        "startsAt": FUTURE,
        "durationMinutes": 50,
        "type": "SESSION",
    }
    return {"input": {**values, **fields}}


def payment_input(ids: Ids, **fields: Any) -> dict[str, Any]:
    values = {
        "patientId": ids.patient,
        "amount": "100.00",
        "method": "PIX",
        "idempotencyKey": uuid.uuid4().hex,
    }
    return {"input": {**values, **fields}}


def execution_input(ids: Ids, **fields: Any) -> dict[str, Any]:
    return {"input": {"prescriptionId": ids.prescription, "setsDone": 3, **fields}}


def prescribe_input(ids: Ids, **fields: Any) -> dict[str, Any]:
    values = {
        "patientId": ids.patient,
        "exerciseId": to_global_id("Exercise", uuid.uuid4()),
        "sets": 3,
        "repetitions": 10,
        "frequencyPerWeek": 3,
        "startsOn": date.today().isoformat(),
    }
    return {"input": {**values, **fields}}


def prontuario_input(ids: Ids, **fields: Any) -> dict[str, Any]:
    values = {"patientId": ids.patient, "kind": "EVOLUTION", "evolution": "Melhora"}
    return {"input": {**values, **fields}}


@dataclass
class Case:
    name: str
    role: str  # an attribute of ClinicWorld, or "anonymous"
    query: str
    variables: Callable[[Ids], dict[str, Any]]
    field: str


# NUL bytes, in variables and in inline literals, in writes, filters and arguments.
NUL_CASES = [
    Case(
        "nul in a variable", "admin", CREATE_PATIENT, lambda i: patient_input(i, name=NUL), "name"
    ),
    Case(
        "nul in an inline literal",
        "admin",
        'mutation { createPatient(input: {name: "Ana\\u0000"}) { id } }',
        lambda i: {},
        "name",
    ),
    Case(
        "nul in a filter",
        "admin",
        PATIENTS,
        lambda i: {"filter": {"search": "ana\x00"}},
        "search",
    ),
    Case(
        "nul in a search argument",
        "physio",
        'query { exercises(search: "ponte\\u0000") { edges { node { id } } } }',
        lambda i: {},
        "search",
    ),
    Case(
        "nul in login",
        "anonymous",
        'mutation($e: String!) { login(input: {email: $e, password: "x"}) { token } }',
        lambda i: {"e": "a\x00@example.com"},
        "email",
    ),
    Case(
        "nul in an ID",
        "admin",
        "query($id: ID!) { node(id: $id) { id } }",
        lambda i: {"id": "UGF0aWVudDo\x00"},
        "id",
    ),
    Case(
        "nul in an idempotency key",
        "admin",
        CREATE_PAYMENT,
        lambda i: payment_input(i, idempotencyKey="k\x00"),
        "idempotencyKey",
    ),
    Case(
        "nul inside JSON",
        "physio",
        CREATE_PRONTUARIO,
        lambda i: prontuario_input(i, vitalSigns={"fc": "72\x00"}),
        "vitalSigns",
    ),
    Case(
        "nul in a JSON key",
        "patient",
        LOG_EXECUTION,
        lambda i: execution_input(i, sensorData={"a\x00": 1}),
        "sensorData",
    ),
]
NUL_CASES += [
    Case(
        "nul in a variable inside a literal input",
        "admin",
        'mutation($n: String!) { createPatient(input: {name: $n, address: "Rua A"}) { id } }',
        lambda i: {"n": NUL},
        "name",
    ),
    Case(
        "nul in a JSON literal",
        "physio",
        """mutation($p: ID!) { createProntuario(input: {patientId: $p, kind: EVOLUTION,
             evolution: "Melhora", vitalSigns: {fc: "7\\u00002"}}) { id } }""",
        lambda i: {"p": i.patient},
        "vitalSigns",
    ),
    Case(
        "nul through a fragment",
        "admin",
        """query($s: String) { ...F }
           fragment F on Query { patients(filter: {search: $s}) { totalCount } }""",
        lambda i: {"s": "a\x00"},
        "search",
    ),
]
# Malformed and foreign cursors, on the compiled path (variables) and nested lists.
CURSOR_CASES = [
    Case("cursor not base64", "admin", PATIENTS, lambda i: {"after": "%%%"}, "after"),
    Case("cursor not JSON", "admin", PATIENTS, lambda i: {"after": cursor("not json")}, "after"),
    Case("cursor an object", "admin", PATIENTS, lambda i: {"after": cursor({"a": 1})}, "after"),
    Case("cursor wrong arity", "admin", PATIENTS, lambda i: {"after": cursor(["Ana"])}, "after"),
    Case(
        "cursor wrong types",
        "admin",
        PATIENTS,
        lambda i: {"after": cursor([1, [2]])},
        "after",
    ),
    Case(
        "cursor before, wrong types",
        "admin",
        PATIENTS,
        lambda i: {"last": 2, "before": cursor([{"x": 1}, 5])},
        "before",
    ),
    Case("cursor huge", "admin", PATIENTS, lambda i: {"after": "QUFB" * 50_000}, "after"),
    Case(
        "cursor with a timestamp past year 9999",
        "admin",
        APPOINTMENTS,
        lambda i: {"after": cursor([10**20, str(uuid.uuid4())])},
        "after",
    ),
    Case(
        "cursor with a bad uuid",
        "admin",
        APPOINTMENTS,
        lambda i: {"after": cursor([0, "not-a-uuid"])},
        "after",
    ),
    Case(
        "cursor with a number for a uuid",
        "admin",
        APPOINTMENTS,
        lambda i: {"after": cursor([0, 12])},
        "after",
    ),
    Case(
        "cursor of another list",
        "admin",
        PATIENTS,
        lambda i: {"after": cursor([1_700_000_000_000_000, str(uuid.uuid4())])},
        "after",
    ),
    Case("nested cursor malformed", "admin", NESTED, lambda i: {"after": "%%"}, "after"),
    Case(
        "nested cursor wrong types",
        "admin",
        NESTED,
        lambda i: {"after": cursor([[1], {"a": 2}])},
        "after",
    ),
]
# Out-of-range dates and numbers.
RANGE_CASES = [
    Case(
        "a slot ending past year 9999",
        "admin",
        SCHEDULE,
        lambda i: schedule_input(i, startsAt="9999-12-31T23:30:00+00:00"),
        "startsAt",
    ),
    Case(
        "a start at year 1 east of UTC",
        "admin",
        SCHEDULE,
        lambda i: schedule_input(i, startsAt="0001-01-01T01:00:00+03:00"),
        "startsAt",
    ),
    Case(
        "a huge duration",
        "admin",
        SCHEDULE,
        lambda i: schedule_input(i, durationMinutes=2**31 - 1),
        "durationMinutes",
    ),
    Case(
        "a negative duration",
        "admin",
        SCHEDULE,
        lambda i: schedule_input(i, durationMinutes=-50),
        "durationMinutes",
    ),
    Case(
        "reschedule past year 9999",
        "admin",
        RESCHEDULE,
        lambda i: {"input": {"id": i.appointment, "startsAt": "9999-12-31T23:59:59+00:00"}},
        "startsAt",
    ),
    Case(
        "a price of 1e400",
        "admin",
        SCHEDULE,
        lambda i: schedule_input(i, price="1e400"),
        "price",
    ),
    Case(
        "amount 1e400",
        "admin",
        CREATE_PAYMENT,
        lambda i: payment_input(i, amount="1e400"),
        "amount",
    ),
    Case("amount -1", "admin", CREATE_PAYMENT, lambda i: payment_input(i, amount="-1"), "amount"),
    Case(
        "amount too large",
        "admin",
        CREATE_PAYMENT,
        lambda i: payment_input(i, amount="12345678901234"),
        "amount",
    ),
    Case("amount NaN", "admin", CREATE_PAYMENT, lambda i: payment_input(i, amount="NaN"), "amount"),
    Case(
        "a due date at year 1",
        "admin",
        CREATE_PAYMENT,
        lambda i: payment_input(i, dueDate="0001-01-01"),
        "dueDate",
    ),
    Case(
        "paidAt at year 1",
        "admin",
        "mutation($id: ID!, $at: DateTime) {"
        " markPaymentPaid(input: {id: $id, paidAt: $at}) { id } }",
        lambda i: {"id": i.payment, "at": "0001-01-01T00:00:00+00:00"},
        "paidAt",
    ),
    Case(
        "pain level 11",
        "patient",
        LOG_EXECUTION,
        lambda i: execution_input(i, painLevel=11),
        "painLevel",
    ),
    Case("sets 0", "physio", PRESCRIBE, lambda i: prescribe_input(i, sets=0), "sets"),
    Case("sets 2^31-1", "physio", PRESCRIBE, lambda i: prescribe_input(i, sets=2**31 - 1), "sets"),
    Case(
        "prescription ending past year 9999",
        "physio",
        PRESCRIBE,
        lambda i: prescribe_input(i, endsOn="9999-12-31"),
        "endsOn",
    ),
    Case(
        "executedAt at year 1",
        "patient",
        LOG_EXECUTION,
        lambda i: execution_input(i, executedAt="0001-01-01T00:00:00+00:00"),
        "executedAt",
    ),
    Case("negative page size", "admin", PATIENTS, lambda i: {"first": -1}, "first"),
    Case("negative last", "admin", PATIENTS, lambda i: {"last": -3}, "last"),
    Case(
        "a filter from year 1 east of UTC",
        "admin",
        APPOINTMENTS,
        lambda i: {"filter": {"from": "0001-01-01T00:00:00+05:00"}},
        "from",
    ),
    Case(
        "a data-subject request received at year 1",
        "admin",
        """mutation($p: ID!) { fileDataSubjectRequest(input: {kind: ACCESS, patientId: $p,
             requestedAt: "0001-01-01T00:00:00+00:00"}) { id dueAt } }""",
        lambda i: {"p": i.patient},
        "requestedAt",
    ),
    Case(
        "a birth date at year 1",
        "admin",
        CREATE_PATIENT,
        lambda i: patient_input(i, birthDate="0001-01-01"),
        "birthDate",
    ),
]
# Free text over its limit.
LENGTH_CASES = [
    Case(
        "address of 900 KB",
        "admin",
        CREATE_PATIENT,
        lambda i: patient_input(i, address=HUGE),
        "address",
    ),
    Case("name of 900 KB", "admin", CREATE_PATIENT, lambda i: patient_input(i, name=HUGE), "name"),
    Case("notes of 900 KB", "admin", SCHEDULE, lambda i: schedule_input(i, notes=HUGE), "notes"),
    Case(
        "payment notes of 900 KB",
        "admin",
        CREATE_PAYMENT,
        lambda i: payment_input(i, notes=HUGE),
        "notes",
    ),
    Case(
        "a cancel reason of 900 KB",
        "admin",
        "mutation($id: ID!, $r: String) { cancelAppointment(input: {id: $id, reason: $r}) { id } }",
        lambda i: {"id": i.appointment, "r": HUGE},
        "reason",
    ),
    Case(
        "a password of 900 KB",
        "anonymous",
        'mutation($p: String!) { login(input: {email: "a@example.com", password: $p}) { token } }',
        lambda i: {"p": HUGE},
        "password",
    ),
    Case(
        "an evolution of 900 KB",
        "physio",
        CREATE_PRONTUARIO,
        lambda i: prontuario_input(i, evolution=HUGE),
        "evolution",
    ),
    Case(
        "vital signs of 900 KB",
        "physio",
        CREATE_PRONTUARIO,
        lambda i: prontuario_input(i, vitalSigns={"note": HUGE}),
        "vitalSigns",
    ),
    Case(
        "sensor data of 900 KB",
        "patient",
        LOG_EXECUTION,
        lambda i: execution_input(i, sensorData=[1] * 300_000),
        "sensorData",
    ),
    Case(
        "an addendum of 900 KB",
        "physio",
        "mutation($id: ID!, $t: String!) {"
        " addProntuarioAddendum(input: {prontuarioId: $id, text: $t}) { id } }",
        lambda i: {"id": i.prontuario, "t": HUGE},
        "text",
    ),
    Case(
        "a search of 900 KB",
        "admin",
        PATIENTS,
        lambda i: {"filter": {"search": HUGE}},
        "search",
    ),
    Case(
        "an ID of 900 KB",
        "admin",
        "query($id: ID!) { node(id: $id) { id } }",
        lambda i: {"id": HUGE},
        "id",
    ),
]


CASES = NUL_CASES + CURSOR_CASES + RANGE_CASES + LENGTH_CASES


def token_for(ids: Ids, role: str) -> str | None:
    return None if role == "anonymous" else ids.world.token(getattr(ids.world, role))


async def count_rows(superuser: asyncpg.Connection, world: ClinicWorld) -> int:
    """Rows of the clinic's writable tables: a refused request changes none of them."""
    total: int = await superuser.fetchval(
        "select (select count(*) from patients where clinic_id = $1)"
        " + (select count(*) from appointments where clinic_id = $1)"
        " + (select count(*) from payments where clinic_id = $1)"
        " + (select count(*) from prontuarios where clinic_id = $1)"
        " + (select count(*) from prontuario_addenda where clinic_id = $1)"
        " + (select count(*) from exercise_prescriptions where clinic_id = $1)"
        " + (select count(*) from exercise_executions where clinic_id = $1)"
        " + (select count(*) from data_subject_requests where clinic_id = $1)",
        world.clinic_id,
    )
    return total


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_hostile_input_is_bad_user_input_with_its_field(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, case: Case
) -> None:
    ids = await make_ids(superuser)
    before = await count_rows(superuser, ids.world)
    body = await graphql(client, case.query, case.variables(ids), token=token_for(ids, case.role))
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"].get("field") == case.field, body
    assert await count_rows(superuser, ids.world) == before


@pytest.mark.parametrize("case", NUL_CASES + LENGTH_CASES, ids=lambda case: case.name)
async def test_refused_before_any_sql_runs(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    statements: StatementCounter,
    case: Case,
) -> None:
    ids = await make_ids(superuser)
    variables = case.variables(ids)
    statements.reset()
    body = await graphql(client, case.query, variables, token=token_for(ids, case.role))
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert statements.count == 0, statements.statements


async def test_fast_path_declines_hostile_variables_and_the_normal_path_refuses_them(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    """A document the fast path already serves, then hostile variables for it."""
    ids = await make_ids(superuser)
    token = token_for(ids, "admin")
    clean = await graphql(client, PATIENTS, {"first": 2}, token)
    assert "errors" not in clean, clean
    statements.reset()
    again = await graphql(client, PATIENTS, {"first": 2}, token)
    assert again == clean
    executed = [s for s in statements.statements if "PREPARE gql_" not in s]
    assert len(executed) == 1, statements.statements  # the fast path's one statement
    end = clean["data"]["patients"]["edges"][-1]["cursor"]
    hostile = [
        ({"first": 2, "after": end + "\x00"}, "after"),
        ({"first": 2, "after": end * 100}, "after"),
        ({"first": 2, "after": end[:-2] + "%%"}, "after"),
        ({"first": 2, "after": cursor(["appointments", 0, str(uuid.uuid4())])}, "after"),
        ({"first": 2, "after": cursor(["patients", 0, str(uuid.uuid4())])}, "after"),
        ({"first": -2}, "first"),
    ]
    for variables, field in hostile:
        body = await graphql(client, PATIENTS, variables, token)
        assert error_codes(body) == ["BAD_USER_INPUT"], (variables, body)
        assert body["errors"][0]["extensions"]["field"] == field
    following = await graphql(client, PATIENTS, {"first": 2, "after": end}, token)
    assert "errors" not in following, following


async def test_limits_are_inclusive_and_clinic_sized_text_goes_through(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """Exactly at each limit is accepted: a long anamnesis, an address, a name, vital signs."""
    ids = await make_ids(superuser)
    name = "N" * input_limits.TEXT_LIMITS["name"]
    address = "Rua " + "A" * (input_limits.TEXT_LIMITS["address"] - 4)
    body = await graphql(
        client,
        CREATE_PATIENT,
        patient_input(ids, name=name, address=address, birthDate="1900-01-01"),
        token_for(ids, "admin"),
    )
    assert "errors" not in body, body
    anamnesis = "Dor lombar. " * (input_limits.TEXT_LIMITS["anamnesis"] // 12)
    vital_signs = {"nota": "x" * (input_limits.JSON_LIMITS["vitalSigns"] - 20)}
    body = await graphql(
        client,
        CREATE_PRONTUARIO,
        prontuario_input(ids, anamnesis=anamnesis, vitalSigns=vital_signs),
        token_for(ids, "physio"),
    )
    assert "errors" not in body, body
    stored = await superuser.fetchval(
        "select length(anamnesis) from prontuarios where id = $1",
        uuid.UUID(
            base64.urlsafe_b64decode(body["data"]["createProntuario"]["id"] + "==")
            .decode()
            .partition(":")[2]
        ),
    )
    assert stored == len(anamnesis.strip())


def signed(claims: str) -> str:
    """An HS256 token over claims written as raw JSON (numbers no encoder would produce)."""
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(claims.encode()).rstrip(b"=")
    mac = hmac.new(JWT_SECRET.encode(), header + b"." + payload, hashlib.sha256).digest()
    return (header + b"." + payload + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()


def hostile_tokens(world: ClinicWorld) -> list[str]:
    admin = world.admin
    who = f'"sub": "{admin.user_id}", "clinic_id": "{world.clinic_id}", "role": "admin"'
    soon = int(datetime.now(UTC).timestamp()) + 600
    return [
        signed(f'{{{who}, "exp": 1e20}}'),
        signed(f'{{{who}, "exp": 100000000000000000000000}}'),
        signed(f'{{{who}, "exp": 1e400}}'),
        signed(f'{{{who}, "exp": {soon}, "iat": 1e400}}'),
        signed(f'{{{who}, "exp": {soon}, "iat": "yesterday"}}'),
        signed(f'{{{who}, "exp": {soon}, "nbf": 99999999999999999999999}}'),
        signed(f'{{{who}, "exp": "never"}}'),
    ]


@pytest.mark.parametrize("index", range(7))
async def test_hostile_token_times_are_unauthenticated(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, index: int
) -> None:
    world = await make_clinic(superuser)
    token = hostile_tokens(world)[index]
    for query in ("{ me { email } }", PATIENTS):
        body = await graphql(client, query, {}, token=token)
        assert error_codes(body) == ["UNAUTHENTICATED"], body


@pytest.mark.parametrize(
    ("statement", "arguments"),
    [
        ("select $1::text", ["a\x00b"]),
        ("select 'abc'::int", []),
        ("select 1e400::numeric(12, 2)", []),
        ("select ('2000-01-01'::date + 2147483647)::text", []),
        ("select '{\"a\": \"\\u0000\"}'::jsonb ->> 'a'", []),
        ("select 2147483647::int + 1", []),
    ],
    ids=["nul", "not a number", "numeric overflow", "date overflow", "jsonb nul", "int overflow"],
)
async def test_residual_data_exceptions_are_bad_user_input(
    app: Starlette, statement: str, arguments: list[Any]
) -> None:
    """The backstop for what graph/security/input_limits.py does not foresee: PostgreSQL's
    class 22."""
    engine = app.state.engine
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError) as raised:
            await connection.exec_driver_sql(statement, tuple(arguments))
    assert str(getattr(raised.value.orig, "sqlstate", "")).startswith("22")
    refusal = from_database_error(raised.value)
    assert refusal is not None and refusal.extensions["code"] == "BAD_USER_INPUT"


async def test_a_burst_of_hostile_requests_leaves_no_traceback_in_the_log(
    database_url: str, superuser: asyncpg.Connection
) -> None:
    """Against a real `fisioflow serve` logging JSON lines to a file: every case of the table
    and every hostile token, then the log holds no exception, no traceback, no ERROR."""
    ids = await make_ids(superuser)
    with running_server(database_url) as server:
        async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
            for case in CASES:
                token = token_for(ids, case.role)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                payload = {"query": case.query, "variables": case.variables(ids)}
                response = await http.post("/graphql", json=payload, headers=headers)
                assert response.status_code == 200, (case.name, response.text[:500])
                assert error_codes(response.json()) == ["BAD_USER_INPUT"], case.name
            for token in hostile_tokens(ids.world):
                headers = {"Authorization": f"Bearer {token}"}
                response = await http.post(
                    "/graphql", json={"query": "{ me { email } }"}, headers=headers
                )
                assert error_codes(response.json()) == ["UNAUTHENTICATED"]
        log = server.stop()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert lines, log[:2000]
    assert not [line for line in lines if "exception" in line or line["level"] == "ERROR"]
    assert "Traceback" not in log
