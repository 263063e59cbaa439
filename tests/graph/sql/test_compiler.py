"""The query compiler: which reads become one statement, and that they answer exactly what the
resolvers answer (every `graphql()` call of the suite also compares both paths)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from graph.core.ids import to_global_id
from graph.extensions.compiled_queries import validated
from graph.http import fast_path
from tests.support.factories import (
    ClinicWorld,
    add_appointment,
    add_execution,
    add_payment,
    add_prescription,
    make_clinic,
)
from tests.support.graphql_client import StatementCounter, error_codes, graphql, was_compiled

NESTED = """{ patients(first: 50) { edges { node { id name physiotherapist { id name }
  appointments(last: 10) { edges { node { id startsAt status payments { id amount status } } } }
} } } }"""

THREE_LEVELS = """{ physiotherapists(first: 10) { edges { node { id name patients(first: 10) {
  edges { node { id name appointments(first: 5) { edges { node { id startsAt status } } } } }
} } } } }"""

PAGES = """query($first: Int, $after: String, $last: Int, $before: String) {
  all: patients(first: $first, after: $after, last: $last, before: $before) {
    __typename totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { __typename cursor node { __typename ... on Patient { id name birthDate status
      createdAt anonymizedAt } } }
  }
}"""

NODE = """query($id: ID!) { node(id: $id) { __typename id ...P ... on Appointment {
  durationMinutes price type endsAt cancelReason patient { name }
  charges: payments { overdue dueDate } } }
  __typename }
fragment P on Patient { name cpf physiotherapist { crefito active } payments(first: 1) {
  totalCount edges { cursor node { amount method paidAt } } } }"""


async def _world_with_history(conn: asyncpg.Connection) -> ClinicWorld:
    world = await make_clinic(conn)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    start = datetime.now(UTC).replace(microsecond=120000) - timedelta(days=20)
    for n, patient in enumerate(world.patient_ids):
        for k in range(4):
            when = start + timedelta(days=k, hours=n)
            appointment = await add_appointment(conn, world, patient, physio, when, 45)
            if k % 2 == 0:
                await add_payment(conn, world, patient, f"{100 + k}.50", appointment_id=appointment)
    return world


def _roles(world: ClinicWorld) -> list[str]:
    return [
        world.token(who)
        for who in (
            world.admin,
            world.receptionist,
            world.physio,
            world.other_physio,
            world.patient,
        )
    ]


async def _compiled(
    client: httpx.AsyncClient,
    statements: StatementCounter,
    query: str,
    variables: dict[str, Any] | None,
    token: str,
) -> dict[str, Any]:
    fast, _ = validated.get((query, None))  # a compiled document: graph/http/fast_path answers
    statements.reset()
    body = await graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    # The normal path: the identity settings, then the one compiled statement. The fast path:
    # that statement alone, the identity settings included (and its PREPARE, once).
    assert executed(statements) == (1 if fast else 2), statements.statements
    return body


def executed(statements: StatementCounter) -> int:
    """How many statements were sent, not counting the fast path's PREPAREs."""
    return sum(1 for s in statements.statements if "PREPARE gql_" not in s)


async def test_benchmark_reads_are_one_statement_for_every_role(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    world = await _world_with_history(superuser)
    for token in _roles(world):
        nested = await _compiled(client, statements, NESTED, None, token)
        await _compiled(client, statements, THREE_LEVELS, None, token)
        edges = nested["data"]["patients"]["edges"]
        assert edges, "every role sees at least one patient"
        assert all(len(e["node"]["appointments"]["edges"]) <= 10 for e in edges)


async def test_executions_compile_without_the_cursor_only_subscriptions_give(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    """`ExerciseExecution.cursor` is the position of the event a subscription delivered it
    with (ResolverOnly): a query that selects it is left to the resolvers, which answer null;
    the type's other queries still compile."""
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    patient = world.patient_ids[0]
    await add_execution(
        superuser, world, await add_prescription(superuser, world, patient, physio), patient
    )
    token = world.token(world.admin)
    plain = "{ exerciseExecutions(first: 5) { edges { node { id painLevel executedAt } } } }"
    await _compiled(client, statements, plain, None, token)
    with_cursor = "{ exerciseExecutions(first: 5) { edges { node { id cursor } } } }"
    body = await graphql(client, with_cursor, None, token=token)
    assert [e["node"]["cursor"] for e in body["data"]["exerciseExecutions"]["edges"]] == [None]
    assert not was_compiled(with_cursor, {})


async def test_pages_and_cursors_match_the_resolvers(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    world = await _world_with_history(superuser)
    token = world.token(world.admin)
    first = await _compiled(client, statements, PAGES, {"first": 2}, token)
    page = first["data"]["all"]
    assert page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    second = await _compiled(client, statements, PAGES, {"first": 2, "after": after}, token)
    assert second["data"]["all"]["pageInfo"]["hasPreviousPage"] is True
    before = second["data"]["all"]["edges"][0]["cursor"]
    await _compiled(client, statements, PAGES, {"last": 1, "before": before}, token)
    await _compiled(client, statements, PAGES, {"last": 3}, token)
    await _compiled(client, statements, PAGES, {"first": 0}, token)
    await _compiled(client, statements, PAGES, {}, token)


async def test_nodes_fragments_and_aliases(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    world = await _world_with_history(superuser)
    appointment = await superuser.fetchval(
        "select id from appointments where patient_id = $1 limit 1", world.patient_ids[0]
    )
    for token in _roles(world):
        for node_id in (
            to_global_id("Patient", world.patient_ids[0]),
            to_global_id("Appointment", appointment),
            to_global_id("Patient", world.patient_ids[4]),
        ):
            await _compiled(client, statements, NODE, {"id": node_id}, token)


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ('{ patients(filter: {search: "a"}) { totalCount } }', None, None),
        ("{ me { email } }", None, None),
        ("query($n: Int) { patients(first: $n) { totalCount } }", {"n": 101}, "BAD_USER_INPUT"),
        ("query($c: String) { patients(after: $c) { totalCount } }", {"c": "x"}, "BAD_USER_INPUT"),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "bm9wZQ"}, None),
        ("{ patients { edges { node { name @include(if: true) } } } }", None, None),
    ],
)
async def test_what_it_declines_the_resolvers_answer(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    query: str,
    variables: dict[str, Any] | None,
    code: str | None,
) -> None:
    """Declined at compile time or at run time: `graphql()` has compared both paths."""
    world = await make_clinic(superuser)
    body = await graphql(client, query, variables, token=world.token(world.admin))
    assert error_codes(body) == ([code] if code else [])


SCHEDULE = """mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) {
  id startsAt status durationMinutes price patient { name } physiotherapist { crefito } } }"""


async def test_a_compiled_mutation_answers_as_the_resolver_does(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    token = world.token(world.receptionist)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=40)

    def schedule(hours: int, minutes: int = 30, patient: int = 0, **extra: Any) -> dict[str, Any]:
        return {
            "input": {
                "patientId": to_global_id("Patient", world.patient_ids[patient]),
                "physiotherapistId": to_global_id("Physiotherapist", physio),
                "startsAt": (start + timedelta(hours=hours)).isoformat(),
                "durationMinutes": minutes,
                "type": "SESSION",
                **extra,
            }
        }

    first = await graphql(client, SCHEDULE, schedule(0, price="80"), token=token)
    statements.reset()
    second = await graphql(client, SCHEDULE, schedule(2, price="80"), token=token)
    assert any(
        s.startswith("with") and "insert into appointments" in s for s in statements.statements
    )
    assert executed(statements) == 1, statements.statements  # on the fast path
    made = [first["data"]["scheduleAppointment"], second["data"]["scheduleAppointment"]]
    for answer in made:
        assert answer["status"] == "SCHEDULED"
        assert answer["durationMinutes"] == 30
        assert answer["price"] == "80.00"
        assert answer["physiotherapist"]["crefito"].startswith("CREFITO-")
    assert made[0]["patient"] == made[1]["patient"]
    assert datetime.fromisoformat(made[1]["startsAt"]) == start + timedelta(hours=2)

    taken = await graphql(client, SCHEDULE, schedule(2), token=token)
    assert error_codes(taken) == ["SLOT_UNAVAILABLE"]
    short = await graphql(client, SCHEDULE, schedule(5, minutes=4), token=token)
    assert short["errors"][0]["extensions"]["field"] == "durationMinutes"
    refused = await graphql(client, SCHEDULE, schedule(6), token=world.token(world.patient))
    assert error_codes(refused) == ["FORBIDDEN"]
    other = await make_clinic(superuser)
    foreign = schedule(7)
    foreign["input"]["patientId"] = to_global_id("Patient", other.patient_ids[0])
    missing = await graphql(client, SCHEDULE, foreign, token=token)
    assert error_codes(missing) == ["NOT_FOUND"]
    assert missing["errors"][0]["extensions"]["field"] == "patientId"
    count = await superuser.fetchval(
        "select count(*) from appointments where physiotherapist_id = $1", physio
    )
    assert count == 2


async def test_the_fast_path_refuses_a_deactivated_login(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    query = "{ patients(first: 3) { totalCount edges { node { id } } } }"
    for _ in range(2):  # the second one is answered by graph/http/fast_path
        assert "errors" not in await graphql(client, query, token=token)
    await superuser.execute(
        "update users set active = false where id = $1", world.receptionist.user_id
    )
    refused = await graphql(client, query, token=token)
    assert error_codes(refused) == ["UNAUTHENTICATED"]


async def test_fast_path_connections_keep_few_statements_and_no_identity(
    app: Starlette,
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each pooled connection keeps at most PREPARED_PER_CONNECTION compiled statements (the
    least recently used are deallocated), and none holds a caller's identity between
    requests: `gql_execute` sets it for its own transaction only."""
    monkeypatch.setattr(fast_path, "PREPARED_PER_CONNECTION", 2)
    await app.state.fast_path.close()  # fresh connections: what earlier tests prepared goes
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    for size in range(1, 6):
        query = f"{{ patients(first: {size}) {{ edges {{ node {{ id name }} }} }} }}"
        answers = [await graphql(client, query, token=token) for _ in range(2)]
        assert answers[0] == answers[1]
        assert len(answers[1]["data"]["patients"]["edges"]) == min(size, len(world.patient_ids))
    path = app.state.fast_path
    pool = await path._connections(path.settings.database_url)
    size = app.state.fast_path.settings.pool_size
    held = [await pool.acquire() for _ in range(size)]
    try:
        login = await superuser.fetchval("select current_user")
        for connection in held:
            names = await connection.fetch(
                "select name from pg_prepared_statements where name like 'gql\\_%'"
            )
            assert {row["name"] for row in names} == set(connection.prepared)
            assert len(names) <= 2
            state = await connection.fetchrow(
                "select current_user as who, current_setting('app.user_id', true) as login"
            )
            assert state is not None and state["who"] == login and not state["login"]
    finally:
        for connection in held:
            await pool.release(connection)


FILTERED = """query($appointments: AppointmentFilter, $payments: PaymentFilter,
  $patients: PatientFilter) {
  appointments(first: 20, filter: $appointments) {
    totalCount edges { cursor node { id startsAt status patient { name } } } }
  payments(first: 20, filter: $payments) { totalCount edges { node { id amount status } } }
  patients(first: 20, filter: $patients) { totalCount edges { node { id name
    appointments(first: 3, filter: $appointments) { totalCount edges { node { startsAt } } } } } }
}"""


async def test_filters_compile_and_match_the_resolvers(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    world = await _world_with_history(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    await superuser.execute(
        "update appointments set status = 'cancelled' where patient_id = $1",
        world.patient_ids[1],
    )
    await superuser.execute(
        "update patients set status = 'discharged' where id = $1", world.patient_ids[2]
    )
    start = datetime.now(UTC) - timedelta(days=20)
    patient = to_global_id("Patient", world.patient_ids[1])
    every_filter = {
        "appointments": {
            "from": (start + timedelta(days=1)).isoformat(),
            "to": (start + timedelta(days=3)).isoformat(),
            "status": ["SCHEDULED", "CANCELLED"],
            "physiotherapistId": to_global_id("Physiotherapist", physio),
            "patientId": patient,
        },
        "payments": {
            "status": ["PENDING", "PAID"],
            "patientId": patient,
            "from": (start - timedelta(days=1)).date().isoformat(),
            "to": datetime.now(UTC).date().isoformat(),
        },
        "patients": {
            "status": "ACTIVE",
            "physiotherapistId": to_global_id("Physiotherapist", physio),
        },
    }
    counts = []
    for variables in (
        {},
        every_filter,
        {"appointments": {"status": ["CANCELLED"]}, "patients": {"status": "DISCHARGED"}},
        {"appointments": {"status": []}, "payments": {"status": []}},
    ):
        for token in _roles(world):
            body = await _compiled(client, statements, FILTERED, variables, token)
            counts.append(body["data"]["appointments"]["totalCount"])
    assert len(set(counts)) > 2, "the filters select different rows"

    wrong_type = {"appointments": {"patientId": to_global_id("Physiotherapist", physio)}}
    refused = await graphql(client, FILTERED, wrong_type, token=world.token(world.admin))
    assert error_codes(refused) == ["BAD_USER_INPUT"]
    assert refused["errors"][0]["extensions"]["field"] == "filter.patientId"
    search = {"patients": {"search": "Ana"}}
    await graphql(client, FILTERED, search, token=world.token(world.admin))
    assert not was_compiled(FILTERED, search), "search is left to the resolvers"


async def test_fast_path_recovers_when_its_notes_and_the_session_disagree(
    app: Starlette,
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    statements: StatementCounter,
) -> None:
    """A statement prepared but not noted (a request cut short) is used as it is; one noted
    but gone from the session is prepared again after one request on the normal path."""
    await app.state.fast_path.close()
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    query = "{ patients(first: 4) { totalCount edges { node { id name } } } }"
    expected = await graphql(client, query, token=token)
    assert await graphql(client, query, token=token) == expected  # prepared on the fast path
    path = app.state.fast_path
    pool = await path._connections(path.settings.database_url)

    async def each_connection(action: str) -> None:
        held = [await pool.acquire() for _ in range(pool.get_size())]
        try:
            for connection in held:
                if action == "forget":
                    connection.prepared.clear()
                else:
                    for name in connection.prepared:
                        await connection.execute(f"DEALLOCATE {name}")
        finally:
            for connection in held:
                await pool.release(connection)

    await each_connection("forget")
    statements.reset()
    assert await graphql(client, query, token=token) == expected
    assert executed(statements) == 1, statements.statements
    await each_connection("deallocate")
    answers = [await graphql(client, query, token=token) for _ in range(3)]
    assert answers == [expected] * 3
    statements.reset()
    assert await graphql(client, query, token=token) == expected
    assert executed(statements) == 1, statements.statements


async def test_a_fault_in_the_fast_path_leaves_the_answer_to_the_normal_path(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    statements: StatementCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    query = "{ patients(first: 2) { edges { node { id } } } }"
    expected = await graphql(client, query, token=token)

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug in the fast path")

    monkeypatch.setattr(fast_path, "plan_for", broken)
    statements.reset()
    assert await graphql(client, query, token=token) == expected
    assert executed(statements) == 2, statements.statements  # the normal path's two


LISTED = """query($where: AppointmentWhere, $order: [AppointmentOrderBy!], $first: Int,
  $after: String, $payments: PaymentWhere) {
  appointments(first: $first, after: $after, where: $where, orderBy: $order) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id startsAt status price patient { name birthDate }
      payments { amount } } } }
  patients(first: 5, where: {status: {eq: ACTIVE}}, orderBy: [BIRTH_DATE_DESC, NAME_ASC]) {
    totalCount edges { cursor node { name birthDate
      payments(first: 2, where: $payments, orderBy: [AMOUNT_DESC]) {
        totalCount edges { cursor node { amount status } } } } } }
}"""


async def test_where_and_order_by_compile_and_match_the_resolvers(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    """Root lists and nested connections with `where` and `orderBy` (variables and literals)
    are one statement (on the fast path, without the identity round trip), for every role,
    and page on by their cursors; `graphql()` compares every answer with the resolvers'."""
    world = await _world_with_history(superuser)
    await superuser.execute(
        "update appointments set status = 'cancelled', price = null where patient_id = $1",
        world.patient_ids[1],
    )
    await superuser.execute(
        "update patients set birth_date = null where id = $1", world.patient_ids[2]
    )
    physio = world.physio.physiotherapist_id
    assert physio is not None
    cases: list[dict[str, Any]] = [
        {},
        {"where": {"status": {"in": ["SCHEDULED", "CANCELLED"]}}, "order": ["PRICE_DESC"]},
        {
            "where": {
                "or": [
                    {"patient": {"name": {"ilike": "%a%"}, "birthDate": {"isNull": False}}},
                    {"not": {"price": {"gte": "101"}}, "startsAt": {"lt": _iso(days=-18)}},
                ],
                "physiotherapist": {"id": {"eq": to_global_id("Physiotherapist", physio)}},
            },
            "order": ["STATUS_ASC", "STARTS_AT_DESC"],
            "payments": {"amount": {"gt": "100"}, "status": {"nin": []}},
        },
        {"where": {"cancelReason": {"startsWith": "x_%"}}, "payments": {"method": {"in": []}}},
    ]
    counts = set()
    for variables in cases:
        for token in _roles(world):
            for first in (2, 3):
                body = await _compiled(
                    client, statements, LISTED, {**variables, "first": first}, token
                )
            page = body["data"]["appointments"]
            counts.add(page["totalCount"])
            if page["pageInfo"]["hasNextPage"]:
                after = {**variables, "first": 3, "after": page["pageInfo"]["endCursor"]}
                await _compiled(client, statements, LISTED, after, token)
    assert len(counts) > 2, "the where arguments keep different rows"


def _iso(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


PATIENTS_ORDERED = """query($order: [PatientOrderBy!], $after: String, $where: PatientWhere) {
  patients(first: 2, after: $after, orderBy: $order, where: $where) {
    totalCount edges { cursor node { id name } } } }"""


async def test_refused_where_and_order_values_are_the_resolvers_to_answer(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    """Hostile values get the resolvers' BAD_USER_INPUT on the field (and leave no plan
    behind that would decline the next, valid, request); a relation filter never reaches
    another clinic's row."""
    world = await _world_with_history(superuser)
    other = await make_clinic(superuser)
    token = world.token(world.admin)

    async def refused(variables: dict[str, Any], field: str) -> None:
        body = await graphql(client, PATIENTS_ORDERED, variables, token=token)
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == field, body

    await refused({"where": {"name": {"like": "%" * 201}}}, "like")  # the input limits
    await refused({"where": {"cpf": {"in": ["1"] * 1001}}}, "where.cpf.in")
    wrong_type = to_global_id("Physiotherapist", world.patient_ids[0])
    await refused({"where": {"id": {"eq": wrong_type}}}, "where.id.eq")
    await refused({"where": {"and": [{"id": {"in": [wrong_type]}}]}}, "where.and.0.id.in")
    by_name = await _compiled(client, statements, PATIENTS_ORDERED, {"order": ["NAME_ASC"]}, token)
    cursor = by_name["data"]["patients"]["edges"][0]["cursor"]
    await refused({"order": ["BIRTH_DATE_DESC"], "after": cursor}, "after")
    await refused({"order": ["NAME_DESC", "NAME_ASC"]}, "orderBy.1")
    after = {"order": ["NAME_ASC"], "after": cursor}
    await _compiled(client, statements, PATIENTS_ORDERED, after, token)
    fine = {"where": {"name": {"like": "%a%"}, "cpf": {"in": ["1"]}}}
    for _ in range(2):
        await _compiled(client, statements, PATIENTS_ORDERED, fine, token)

    foreign = {"patient": {"id": {"eq": to_global_id("Patient", other.patient_ids[0])}}}
    query = "query($w: AppointmentWhere) { appointments(where: $w) { totalCount } }"
    for who in _roles(world):
        body = await _compiled(client, statements, query, {"w": foreign}, who)
        assert body["data"]["appointments"]["totalCount"] == 0


INLINE = """{ appointments(first: 4, where: {status: {eq: CANCELLED}, price: {isNull: true}},
  orderBy: [STARTS_AT_DESC]) { totalCount edges { cursor node { id status startsAt } } }
  physiotherapists(orderBy: [ACTIVE_DESC, NAME_DESC], where: {active: {eq: true}}) {
    edges { node { name appointments(last: 2, orderBy: STARTS_AT_ASC,
      where: {patient: {status: {neq: DISCHARGED}}}) {
        pageInfo { hasPreviousPage startCursor } edges { node { startsAt } } } } } } }"""


async def test_literal_where_and_order_by_compile(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    world = await _world_with_history(superuser)
    await superuser.execute(
        "update appointments set status = 'cancelled', price = null where patient_id = $1",
        world.patient_ids[1],
    )
    for token in _roles(world):
        for _ in range(2):
            body = await _compiled(client, statements, INLINE, None, token)
    assert body["data"]["appointments"]["totalCount"] in (0, 4)
