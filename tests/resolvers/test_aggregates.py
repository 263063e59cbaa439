"""`<list>Aggregate` as a client uses it: the manager's two questions on a small known data set
(expected numbers computed by hand), buckets on the clinic calendar, RLS (another clinic, a
patient, a receptionist), the refusals of bad arguments, and an Int sum beyond range."""

import itertools
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest

from graph.core.ids import to_global_id
from tests.support.factories import (
    ClinicWorld,
    add_appointment,
    add_execution,
    add_payment,
    add_prescription,
    make_clinic,
)
from tests.support.graphql_client import StatementCounter, error_codes, graphql

REVENUE = """query {
  paymentsAggregate(where: {status: {eq: PAID}}, groupBy: [PAID_AT_MONTH, METHOD]) {
    count
    sum { amount }
    groups { key { paidAtMonth method } count sum { amount } avg { amount } }
  }
}"""

ATTENDANCE = """query($groupBy: [AppointmentGroupBy!]) {
  appointmentsAggregate(groupBy: $groupBy) {
    count
    groups(first: 50) { key { physiotherapist { name } startsAtMonth status } count }
  }
}"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    """Payments and appointments of a clinic, and rows of another clinic that never count."""
    world = await make_clinic(superuser)
    payments = [  # amount, method, status, paid (or created) at
        ("100.00", "pix", "paid", "2026-03-05T12:00:00+00:00"),
        ("50.50", "pix", "paid", "2026-03-20T12:00:00+00:00"),
        ("200.00", "credit_card", "paid", "2026-03-31T23:30:00-03:00"),  # March in São Paulo
        ("80.00", "pix", "paid", "2026-04-02T12:00:00+00:00"),
        ("40.00", "cash", "pending", "2026-04-10T12:00:00+00:00"),
        ("60.00", "credit_card", "paid", "2026-04-15T12:00:00+00:00"),
    ]
    for n, (amount, method, status, moment) in enumerate(payments):
        payment = await add_payment(superuser, world, world.patient_ids[n % 2 * 3], amount)
        await superuser.execute(
            "update payments set method = $2, status = $3::text, created_at = $4::timestamptz,"
            " paid_at = case when $3::text = 'paid' then $4::timestamptz end where id = $1",
            payment,
            method,
            status,
            at(moment),
        )
    ana, bruno = world.physio.physiotherapist_id, world.other_physio.physiotherapist_id
    assert ana is not None and bruno is not None
    appointments = [  # patient index, physio, starts at, status
        (0, ana, "2026-03-02T13:00:00+00:00", "completed"),
        (1, ana, "2026-03-09T13:00:00+00:00", "completed"),
        (2, ana, "2026-03-31T23:30:00-03:00", "no_show"),  # 2026-04-01T02:30Z: March
        (0, ana, "2026-04-06T13:00:00+00:00", "completed"),
        (3, bruno, "2026-03-03T13:00:00+00:00", "no_show"),
        (4, bruno, "2026-04-07T13:00:00+00:00", "completed"),
    ]
    for patient, physio, starts, status in appointments:
        await add_appointment(
            superuser, world, world.patient_ids[patient], physio, at(starts), status=status
        )
    other = await make_clinic(superuser, "Outra Clínica")
    await add_payment(superuser, other, other.patient_ids[0], "9999.00")
    other_physio = other.physio.physiotherapist_id
    assert other_physio is not None
    await add_appointment(
        superuser, other, other.patient_ids[0], other_physio, at("2026-03-02T13:00:00+00:00")
    )
    return world


async def test_revenue_per_month_by_method(client: httpx.AsyncClient, world: ClinicWorld) -> None:
    body = await graphql(client, REVENUE, token=world.token(world.admin))
    assert "errors" not in body, body
    answer = body["data"]["paymentsAggregate"]
    assert answer["count"] == 5
    assert answer["sum"] == {"amount": "490.50"}
    assert answer["groups"] == [
        {
            "key": {"paidAtMonth": "2026-03-01", "method": "CREDIT_CARD"},
            "count": 1,
            "sum": {"amount": "200.00"},
            "avg": {"amount": 200.0},
        },
        {
            "key": {"paidAtMonth": "2026-03-01", "method": "PIX"},
            "count": 2,
            "sum": {"amount": "150.50"},
            "avg": {"amount": 75.25},
        },
        {
            "key": {"paidAtMonth": "2026-04-01", "method": "CREDIT_CARD"},
            "count": 1,
            "sum": {"amount": "60.00"},
            "avg": {"amount": 60.0},
        },
        {
            "key": {"paidAtMonth": "2026-04-01", "method": "PIX"},
            "count": 1,
            "sum": {"amount": "80.00"},
            "avg": {"amount": 80.0},
        },
    ]


def _by_key(groups: list[dict[str, Any]]) -> dict[tuple[str, str, str], int]:
    return {
        (g["key"]["physiotherapist"]["name"], g["key"]["startsAtMonth"], g["key"]["status"]): g[
            "count"
        ]
        for g in groups
    }


async def test_attendance_and_no_shows_per_physiotherapist_per_month(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    variables = {"groupBy": ["PHYSIOTHERAPIST", "STARTS_AT_MONTH", "STATUS"]}
    body = await graphql(client, ATTENDANCE, variables, token=world.token(world.admin))
    assert "errors" not in body, body
    answer = body["data"]["appointmentsAggregate"]
    assert answer["count"] == 6
    assert _by_key(answer["groups"]) == {
        ("Ana Souza", "2026-03-01", "COMPLETED"): 2,
        ("Ana Souza", "2026-03-01", "NO_SHOW"): 1,  # 23:30 on March 31st, São Paulo time
        ("Ana Souza", "2026-04-01", "COMPLETED"): 1,
        ("Bruno Lima", "2026-03-01", "NO_SHOW"): 1,
        ("Bruno Lima", "2026-04-01", "COMPLETED"): 1,
    }
    # Groups in key order: each physiotherapist's together, their months and statuses ascending.
    names = [g["key"]["physiotherapist"]["name"] for g in answer["groups"]]
    changes = sum(1 for before, after in itertools.pairwise(names) if before != after)
    assert changes == len(set(names)) - 1
    for name in set(names):
        within = [
            (g["key"]["startsAtMonth"], g["key"]["status"])
            for g in answer["groups"]
            if g["key"]["physiotherapist"]["name"] == name
        ]
        assert within == sorted(within)


async def test_a_patient_aggregates_only_their_own_rows(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    token = world.token(world.patient)
    body = await graphql(client, ATTENDANCE, {"groupBy": ["STATUS"]}, token=token)
    assert body["data"]["appointmentsAggregate"]["count"] == 2  # patient 0's two sessions
    payments = await graphql(client, "{ paymentsAggregate { count } }", token=token)
    assert payments["data"]["paymentsAggregate"]["count"] == 3  # of 6, every other one


async def test_a_receptionist_counts_no_prescriptions(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    physio = world.physio.physiotherapist_id
    assert physio is not None
    await add_prescription(superuser, world, world.patient_ids[0], physio)
    query = "{ prescriptionsAggregate(groupBy: [STATUS]) { count groups { count } } }"
    seen = await graphql(client, query, token=world.token(world.receptionist))
    assert seen["data"]["prescriptionsAggregate"] == {"count": 0, "groups": []}
    admin = await graphql(client, query, token=world.token(world.admin))
    assert admin["data"]["prescriptionsAggregate"] == {"count": 1, "groups": [{"count": 1}]}


async def test_where_narrows_and_a_relation_key_shows_the_object(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    physio = to_global_id("Physiotherapist", world.other_physio.physiotherapist_id)
    query = """query($where: AppointmentWhere) {
      appointmentsAggregate(where: $where, groupBy: [PHYSIOTHERAPIST]) {
        count min { startsAt } max { startsAt }
        groups { key { physiotherapist { id } status } count }
      }
    }"""
    where = {"physiotherapist": {"name": {"startsWith": "Bruno"}}}
    body = await graphql(client, query, {"where": where}, token=world.token(world.physio))
    assert body["data"]["appointmentsAggregate"] == {
        "count": 2,
        "min": {"startsAt": "2026-03-03T13:00:00+00:00"},
        "max": {"startsAt": "2026-04-07T13:00:00+00:00"},
        "groups": [{"key": {"physiotherapist": {"id": physio}, "status": None}, "count": 2}],
    }


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        ("{ paymentsAggregate(groupBy: [METHOD, METHOD]) { count } }", {}, "groupBy.1"),
        (
            "{ paymentsAggregate(groupBy: [METHOD]) { groups(first: 1001) { count } } }",
            {},
            "groups.first",
        ),
        (
            "{ paymentsAggregate(groupBy: [METHOD]) { groups(first: -1) { count } } }",
            {},
            "groups.first",
        ),
        (
            "query($w: PaymentWhere) { paymentsAggregate(where: $w) { count } }",
            {"w": {"amount": {"like": "1%"}}},
            None,
        ),
        (
            "query($g: [PaymentGroupBy!]) { paymentsAggregate(groupBy: $g) { count } }",
            {"g": ["PASSWORD_HASH"]},
            None,
        ),
    ],
)
async def test_bad_arguments_are_bad_user_input(
    client: httpx.AsyncClient,
    world: ClinicWorld,
    query: str,
    variables: dict[str, Any],
    field: str | None,
) -> None:
    body = await graphql(client, query, variables, token=world.token(world.admin))
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    if field is not None:
        assert body["errors"][0]["extensions"]["field"] == field


async def test_an_int_sum_beyond_range_is_an_error_not_a_wrong_number(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    physio = world.physio.physiotherapist_id
    assert physio is not None
    prescription = await add_prescription(superuser, world, world.patient_ids[0], physio)
    for _ in range(2):
        execution = await add_execution(superuser, world, prescription, world.patient_ids[0])
        await superuser.execute(
            "update exercise_executions set duration_seconds = 2000000000 where id = $1", execution
        )
    query = "{ exerciseExecutionsAggregate { count sum { durationSeconds painLevel } } }"
    body = await graphql(client, query, token=world.token(world.admin))
    assert error_codes(body) == ["OUT_OF_RANGE"]
    assert body["errors"][0]["path"] == ["exerciseExecutionsAggregate", "sum", "durationSeconds"]
    assert body["data"]["exerciseExecutionsAggregate"] == {
        "count": 2,
        "sum": {"durationSeconds": None, "painLevel": 4},
    }


async def test_one_statement_per_aggregate_and_one_per_related_type(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    world: ClinicWorld,
    statements: StatementCounter,
) -> None:
    ana, bruno = world.physio.physiotherapist_id, world.other_physio.physiotherapist_id
    assert ana is not None and bruno is not None
    for n, patient in enumerate(world.patient_ids):
        await add_prescription(superuser, world, patient, ana if n % 2 else bruno)
    query = """{ prescriptionsAggregate(groupBy: [PATIENT, PHYSIOTHERAPIST]) {
      count groups { key { patient { name } physiotherapist { name } } count } } }"""
    statements.reset()
    body = await graphql(client, query, token=world.token(world.admin))
    groups = body["data"]["prescriptionsAggregate"]["groups"]
    assert len(groups) == len(world.patient_ids)
    assert all(g["key"]["patient"] and g["key"]["physiotherapist"] for g in groups)
    for table in ("exercise_prescriptions", "patients", "physiotherapists"):
        reads = [s for s in statements.statements if f"FROM {table}" in s]
        assert len(reads) == 1, (table, statements.statements)
