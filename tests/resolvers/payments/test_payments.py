"""Payments through the ASGI app: idempotency, the state machine, money and who sees it."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from graph.core.ids import to_global_id
from tests.support.factories import ClinicWorld, add_appointment, add_payment, make_clinic
from tests.support.graphql_client import error_codes, graphql

CREATE = """mutation($input: CreatePaymentInput!) {
  createPayment(input: $input) { id amount method status overdue dueDate patient { name } }
}"""
PAID = """mutation($input: MarkPaymentPaidInput!) {
  markPaymentPaid(input: $input) { id status paidAt gatewayTransactionId } }"""
REFUND = """mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { id status } }"""
CANCEL = """mutation($input: CancelPaymentInput!) { cancelPayment(input: $input) { id status } }"""
PAYMENTS = """query($filter: PaymentFilter) { payments(first: 100, filter: $filter) {
  totalCount edges { node { id amount status overdue } } } }"""


def _input(world: ClinicWorld, key: str, amount: str = "150.00", **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "patientId": to_global_id("Patient", world.patient_ids[0]),
            "amount": amount,
            "method": "PIX",
            "idempotencyKey": key,
            **extra,
        }
    }


async def _count(conn: asyncpg.Connection, world: ClinicWorld) -> int:
    count: int = await conn.fetchval(
        "select count(*) from payments where clinic_id = $1", world.clinic_id
    )
    return count


async def test_create_is_idempotent(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    first = await graphql(client, CREATE, _input(world, "key-1"), token=token)
    assert "errors" not in first, first
    made = first["data"]["createPayment"]
    assert made["amount"] == "150.00"
    assert made["status"] == "PENDING"
    assert made["overdue"] is False

    audit_before = await superuser.fetchval("select count(*) from audit_log")
    again = await graphql(client, CREATE, _input(world, "key-1", "150"), token=token)
    assert again["data"]["createPayment"]["id"] == made["id"]
    assert await _count(superuser, world) == 1
    assert await superuser.fetchval("select count(*) from audit_log") == audit_before

    different = await graphql(client, CREATE, _input(world, "key-1", "99.90"), token=token)
    assert error_codes(different) == ["CONFLICT"]
    assert different["errors"][0]["extensions"]["field"] == "idempotencyKey"
    assert await _count(superuser, world) == 1

    racing = await asyncio.gather(
        *(graphql(client, CREATE, _input(world, "key-2", "80.00"), token=token) for _ in range(6))
    )
    assert len({body["data"]["createPayment"]["id"] for body in racing}) == 1
    assert await _count(superuser, world) == 2


async def test_amounts_are_validated(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    for amount in ("0", "-5.00", "10.001", "NaN", "12345678901.00"):
        body = await graphql(client, CREATE, _input(world, f"bad-{amount}", amount), token=token)
        assert error_codes(body) == ["BAD_USER_INPUT"], (amount, body)
        assert body["errors"][0]["extensions"]["field"] == "amount"
    not_a_number = await graphql(client, CREATE, _input(world, "nan", "dez reais"), token=token)
    assert error_codes(not_a_number) == ["BAD_USER_INPUT"]
    assert await _count(superuser, world) == 0


async def test_appointment_must_be_the_patients(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    start = datetime.now(UTC) + timedelta(days=1)
    others = await add_appointment(superuser, world, world.patient_ids[1], physio, start)
    body = await graphql(
        client,
        CREATE,
        _input(world, "k", appointmentId=to_global_id("Appointment", others)),
        token=world.token(world.admin),
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "appointmentId"


async def test_state_machine(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.receptionist)
    paid_id = to_global_id("Payment", await add_payment(superuser, world, world.patient_ids[0]))
    open_id = to_global_id("Payment", await add_payment(superuser, world, world.patient_ids[0]))

    refund_pending = await graphql(client, REFUND, {"input": {"id": paid_id}}, token=token)
    assert error_codes(refund_pending) == ["INVALID_STATE"]
    paid = await graphql(
        client,
        PAID,
        {"input": {"id": paid_id, "gatewayTransactionId": "E12345678202611211200"}},
        token=token,
    )
    assert paid["data"]["markPaymentPaid"]["status"] == "PAID"
    assert paid["data"]["markPaymentPaid"]["gatewayTransactionId"] == "E12345678202611211200"
    assert paid["data"]["markPaymentPaid"]["paidAt"] is not None
    paid_twice = await graphql(client, PAID, {"input": {"id": paid_id}}, token=token)
    assert error_codes(paid_twice) == ["INVALID_STATE"]
    cancel_paid = await graphql(client, CANCEL, {"input": {"id": paid_id}}, token=token)
    assert error_codes(cancel_paid) == ["INVALID_STATE"]
    refunded = await graphql(
        client, REFUND, {"input": {"id": paid_id, "reason": "Sessão não realizada"}}, token=token
    )
    assert refunded["data"]["refundPayment"]["status"] == "REFUNDED"

    cancelled = await graphql(client, CANCEL, {"input": {"id": open_id}}, token=token)
    assert cancelled["data"]["cancelPayment"]["status"] == "CANCELLED"
    pay_cancelled = await graphql(client, PAID, {"input": {"id": open_id}}, token=token)
    assert error_codes(pay_cancelled) == ["INVALID_STATE"]
    statuses = await superuser.fetch(
        "select status from payments where clinic_id = $1 order by status", world.clinic_id
    )
    assert [row["status"] for row in statuses] == ["cancelled", "refunded"]

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    third = to_global_id("Payment", await add_payment(superuser, world, world.patient_ids[0]))
    future_paid = await graphql(
        client, PAID, {"input": {"id": third, "paidAt": future}}, token=token
    )
    assert future_paid["errors"][0]["extensions"]["field"] == "paidAt"


async def test_overdue_and_filters(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    last_week = date.today() - timedelta(days=7)
    late = await add_payment(superuser, world, world.patient_ids[0], "50.00", due_date=last_week)
    await add_payment(
        superuser, world, world.patient_ids[1], "70.00", due_date=date.today() + timedelta(days=7)
    )

    overdue = await graphql(client, PAYMENTS, {"filter": {"overdue": True}}, token=token)
    nodes = [e["node"] for e in overdue["data"]["payments"]["edges"]]
    assert nodes == [
        {
            "id": to_global_id("Payment", late),
            "amount": "50.00",
            "status": "PENDING",
            "overdue": True,
        }
    ]
    not_overdue = await graphql(client, PAYMENTS, {"filter": {"overdue": False}}, token=token)
    assert not_overdue["data"]["payments"]["totalCount"] == 1
    by_patient = await graphql(
        client,
        PAYMENTS,
        {"filter": {"patientId": to_global_id("Patient", world.patient_ids[1])}},
        token=token,
    )
    assert [e["node"]["amount"] for e in by_patient["data"]["payments"]["edges"]] == ["70.00"]
    window = await graphql(
        client,
        PAYMENTS,
        {"filter": {"from": str(last_week - timedelta(days=1)), "to": str(date.today())}},
        token=token,
    )
    assert window["data"]["payments"]["totalCount"] == 1
    paid = await graphql(client, PAYMENTS, {"filter": {"status": ["PAID"]}}, token=token)
    assert paid["data"]["payments"]["totalCount"] == 0


async def test_the_overdue_filter_agrees_with_the_overdue_field(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """Field and filter are one declaration (models/payments.py OVERDUE): a pending payment
    without a due date is not overdue, so `overdue: false` lists it."""
    world = await make_clinic(superuser)
    token = world.token(world.admin)
    late = await add_payment(superuser, world, world.patient_ids[0], "50.00", due_date=date.min)
    undated = await add_payment(superuser, world, world.patient_ids[1], "70.00")
    for flag in (True, False):
        body = await graphql(client, PAYMENTS, {"filter": {"overdue": flag}}, token=token)
        nodes = [e["node"] for e in body["data"]["payments"]["edges"]]
        assert all(node["overdue"] is flag for node in nodes), nodes
        expected = late if flag else undated
        assert [n["id"] for n in nodes] == [to_global_id("Payment", expected)]


async def test_who_sees_payments(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    own = await add_payment(superuser, world, world.patient_ids[0])
    await add_payment(superuser, world, world.patient_ids[1])
    nested = """{ patients(first: 10) { edges { node { payments { totalCount } } } } }"""

    physio = await graphql(client, PAYMENTS, token=world.token(world.physio))
    assert physio["data"]["payments"]["totalCount"] == 0
    physio_nested = await graphql(client, nested, token=world.token(world.physio))
    assert {
        e["node"]["payments"]["totalCount"] for e in physio_nested["data"]["patients"]["edges"]
    } == {0}

    patient = await graphql(client, PAYMENTS, token=world.token(world.patient))
    assert [e["node"]["id"] for e in patient["data"]["payments"]["edges"]] == [
        to_global_id("Payment", own)
    ]
    refused = await graphql(client, CREATE, _input(world, "mine"), token=world.token(world.patient))
    assert error_codes(refused) == ["FORBIDDEN"]
    physio_pays = await graphql(
        client,
        PAID,
        {"input": {"id": to_global_id("Payment", own)}},
        token=world.token(world.physio),
    )
    assert error_codes(physio_pays) == ["FORBIDDEN"]

    other_clinic = await make_clinic(superuser)
    foreign = await graphql(
        client,
        PAID,
        {"input": {"id": to_global_id("Payment", own)}},
        token=other_clinic.token(other_clinic.admin),
    )
    assert error_codes(foreign) == ["NOT_FOUND"]
