"""Webhooks (graph/integrations/webhooks.py, resolvers/webhooks, migration 0023) against the
real database and a real HTTP receiver. The worker's "now" is a parameter: retries are placed
in time, no test waits for the clock."""

import asyncio
import hashlib
import hmac
import ipaddress
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from graph.core.ids import parse_global_id, to_global_id
from graph.integrations.reminders import fire_due_reminders
from graph.integrations.webhook_events import EVENTS, WebhookEvent
from graph.integrations.webhook_urls import UnsafeUrl, is_public, resolve
from graph.integrations.webhooks import SIGNATURE_HEADER, Sender, dispatch, send_due
from graph.sql.database import create_engine
from tests.support.apps import app_client
from tests.support.factories import (
    VALID_CPFS,
    ClinicWorld,
    add_appointment,
    add_payment,
    add_prontuario,
    make_clinic,
)
from tests.support.graphql_client import StatementCounter, error_codes, graphql
from tests.support.receiver import Receiver, http_receiver

CREATE = """mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { secret webhook { id url events description enabled } } }"""
LIST = "{ webhooks { id url events enabled disabledAt } }"
DISABLE = """mutation($id: ID!) {
  disableWebhook(input: {id: $id}) { id enabled disabledAt } }"""
DELIVERIES = """query($id: ID!, $first: Int, $after: String) {
  webhookDeliveries(webhookId: $id, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id event status attemptCount payload redeliveryOf
                   attempts { attempt responseStatus durationMs error } } } } }"""
REDELIVER = """mutation($id: ID!) {
  redeliverWebhook(input: {deliveryId: $id}) { id status redeliveryOf } }"""
ALL_EVENTS = [event.name for event in WebhookEvent]


@pytest.fixture
def engine(app: Starlette) -> AsyncEngine:
    found: AsyncEngine = app.state.engine
    return found


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> AsyncIterator[ClinicWorld]:
    world = await make_clinic(superuser, "Clínica Webhook")
    yield world
    # Its receivers are gone: nothing of this clinic is sent to a port reused later.
    await superuser.execute(
        "UPDATE webhooks SET enabled = false WHERE clinic_id = $1", world.clinic_id
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    sending = Sender(timeout_seconds=10, allow_private=True)
    yield sending
    await sending.close()


async def create(
    client: httpx.AsyncClient, world: ClinicWorld, url: str, events: list[str]
) -> tuple[str, str]:
    """A webhook of `world` (its global id, its secret)."""
    body = await graphql(
        client,
        CREATE,
        {"input": {"url": url, "events": events, "description": "Gateway de WhatsApp"}},
        token=world.token(world.admin),
    )
    created = body["data"]["createWebhook"]
    return created["webhook"]["id"], created["secret"]


async def round_at(engine: AsyncEngine, sender: Sender, at: datetime, attempts: int = 8) -> None:
    await dispatch(engine)
    await send_due(engine, sender, attempts, at)


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What docs/api.md tells a receiver to do."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(
        expected.hexdigest(), fields["sha256"]
    )


async def deliveries(
    client: httpx.AsyncClient, world: ClinicWorld, webhook: str, first: int = 50
) -> list[dict[str, Any]]:
    body = await graphql(
        client, DELIVERIES, {"id": webhook, "first": first}, token=world.token(world.admin)
    )
    return [edge["node"] for edge in body["data"]["webhookDeliveries"]["edges"]]


def book(world: ClinicWorld, hours: float = 30) -> tuple[uuid.UUID, uuid.UUID, datetime]:
    physio = world.physio.physiotherapist_id
    assert physio is not None
    starts = (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)
    return world.patient_ids[0], physio, starts


# -- delivery ---------------------------------------------------------------------------------


async def test_an_event_is_delivered_signed_with_ids_only(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    receiver: Receiver,
    sender: Sender,
) -> None:
    webhook, secret = await create(client, world, receiver.url, ["APPOINTMENT_CREATED"])
    assert secret.startswith("whsec_") and len(secret) > 40
    appointment = await add_appointment(superuser, world, *book(world))
    await add_payment(superuser, world, world.patient_ids[0])  # not subscribed
    at = datetime.now(UTC)
    await round_at(engine, sender, at)
    [request] = receiver.received
    assert request.path == "/hooks"
    assert verify(secret, request.headers[SIGNATURE_HEADER], request.body, int(at.timestamp()))
    assert not verify(
        "whsec_" + "x" * 43, request.headers[SIGNATURE_HEADER], request.body, int(at.timestamp())
    )
    assert not verify(
        secret, request.headers[SIGNATURE_HEADER], request.body + b" ", int(at.timestamp())
    )
    # Replayed an hour later: outside the tolerance.
    assert not verify(
        secret, request.headers[SIGNATURE_HEADER], request.body, int(at.timestamp()) + 3600
    )
    body = json.loads(request.body)
    assert body == {
        "event": "APPOINTMENT_CREATED",
        "eventId": body["eventId"],
        "clinicId": to_global_id("Clinic", world.clinic_id),
        "occurredAt": body["occurredAt"],
        "data": {
            "id": to_global_id("Appointment", appointment),
            "operation": "INSERT",
            "patientId": to_global_id("Patient", world.patient_ids[0]),
            "physiotherapistId": to_global_id("Physiotherapist", world.physio.physiotherapist_id),
        },
    }
    assert request.headers["X-FisioFlow-Event"] == "APPOINTMENT_CREATED"
    [delivery] = await deliveries(client, world, webhook)
    assert request.headers["X-FisioFlow-Delivery"] == delivery["id"]
    assert delivery["status"] == "DELIVERED" and delivery["attemptCount"] == 1
    assert delivery["payload"] == body
    [attempt] = delivery["attempts"]
    assert attempt["responseStatus"] == 200 and attempt["error"] is None
    await round_at(engine, sender, at + timedelta(hours=3))
    assert len(receiver.received) == 1  # delivered once, never again


async def test_a_failing_receiver_is_retried_with_backoff_then_dead(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    receiver: Receiver,
    sender: Sender,
) -> None:
    webhook, _ = await create(client, world, receiver.url, ["PAYMENT_CHANGED"])
    receiver.statuses = [500, 503]
    await add_payment(superuser, world, world.patient_ids[0])
    at = datetime.now(UTC)
    await round_at(engine, sender, at)
    [delivery] = await deliveries(client, world, webhook)
    assert (delivery["status"], delivery["attemptCount"]) == ("PENDING", 1)
    await round_at(engine, sender, at + timedelta(seconds=1))  # not due yet: backoff
    assert len(receiver.received) == 1
    await round_at(engine, sender, at + timedelta(minutes=5))
    await round_at(engine, sender, at + timedelta(minutes=10))
    [delivery] = await deliveries(client, world, webhook)
    assert delivery["status"] == "DELIVERED"
    assert [a["responseStatus"] for a in delivery["attempts"]] == [500, 503, 200]
    assert [a["error"] for a in delivery["attempts"]] == ["HTTP 500", "HTTP 503", None]
    assert len({r.body for r in receiver.received}) == 1  # the same body every time

    # Always failing: dead after the attempts allowed, and then left alone.
    receiver.statuses = [500] * 10
    await add_payment(superuser, world, world.patient_ids[1])
    for hour in range(5):
        await round_at(engine, sender, at + timedelta(hours=hour + 1), attempts=3)
    newest = (await deliveries(client, world, webhook))[0]
    assert (newest["status"], newest["attemptCount"]) == ("DEAD", 3)
    assert len(receiver.received) == 3 + 3


async def test_redeliver_sends_the_same_event_again(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    receiver: Receiver,
    sender: Sender,
) -> None:
    webhook, secret = await create(client, world, receiver.url, ["PAYMENT_CHANGED"])
    receiver.statuses = [500]
    await add_payment(superuser, world, world.patient_ids[0])
    at = datetime.now(UTC)
    await round_at(engine, sender, at, attempts=1)
    [dead] = await deliveries(client, world, webhook)
    assert dead["status"] == "DEAD"
    body = await graphql(client, REDELIVER, {"id": dead["id"]}, token=world.token(world.admin))
    again = body["data"]["redeliverWebhook"]
    assert again["status"] == "PENDING" and again["redeliveryOf"] == dead["id"]
    await round_at(engine, sender, at + timedelta(seconds=5), attempts=1)
    first, second = receiver.received
    assert first.body == second.body
    assert second.headers["X-FisioFlow-Delivery"] == again["id"] != dead["id"]
    assert verify(secret, second.headers[SIGNATURE_HEADER], second.body, int(at.timestamp()) + 5)
    newest, oldest = await deliveries(client, world, webhook)
    assert (newest["id"], newest["status"]) == (again["id"], "DELIVERED")
    assert (oldest["id"], oldest["status"]) == (dead["id"], "DEAD")


async def test_a_disabled_webhook_gets_nothing(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    receiver: Receiver,
    sender: Sender,
) -> None:
    webhook, _ = await create(client, world, receiver.url, ["PAYMENT_CHANGED"])
    await add_payment(superuser, world, world.patient_ids[0])
    await dispatch(engine)  # a delivery pending when it is disabled
    body = await graphql(client, DISABLE, {"id": webhook}, token=world.token(world.admin))
    assert body["data"]["disableWebhook"]["enabled"] is False
    await add_payment(superuser, world, world.patient_ids[1])
    await round_at(engine, sender, datetime.now(UTC) + timedelta(minutes=1))
    assert receiver.received == []
    listed = await graphql(client, LIST, token=world.token(world.admin))
    assert [w["enabled"] for w in listed["data"]["webhooks"]] == [False]
    [pending] = await deliveries(client, world, webhook)  # nothing new was made for it
    assert pending["status"] == "PENDING" and pending["attemptCount"] == 0
    redeliver = await graphql(
        client,
        REDELIVER,
        {"id": (await deliveries(client, world, webhook))[0]["id"]},
        token=world.token(world.admin),
    )
    assert error_codes(redeliver) == ["INVALID_STATE"]


async def test_deliveries_page_newest_first(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    receiver: Receiver,
    sender: Sender,
) -> None:
    webhook, _ = await create(client, world, receiver.url, ["PAYMENT_CHANGED"])
    payments = [await add_payment(superuser, world, world.patient_ids[0]) for _ in range(5)]
    await round_at(engine, sender, datetime.now(UTC))
    token = world.token(world.admin)
    seen: list[str] = []
    after = None
    while True:
        body = await graphql(
            client, DELIVERIES, {"id": webhook, "first": 2, "after": after}, token=token
        )
        connection = body["data"]["webhookDeliveries"]
        assert connection["totalCount"] == 5
        seen += [edge["node"]["payload"]["data"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == [to_global_id("Payment", p) for p in reversed(payments)]
    forged = await graphql(
        client, DELIVERIES, {"id": webhook, "after": "bm90LWEtY3Vyc29y"}, token=token
    )
    assert error_codes(forged) == ["BAD_USER_INPUT"]
    too_many = await graphql(client, DELIVERIES, {"id": webhook, "first": 1000}, token=token)
    assert error_codes(too_many) == ["BAD_USER_INPUT"]


async def test_two_workers_never_send_one_delivery_twice(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    database_url: str,
    world: ClinicWorld,
    receiver: Receiver,
) -> None:
    await create(client, world, receiver.url, ["PAYMENT_CHANGED"])
    await create(client, world, receiver.url, ["PAYMENT_CHANGED", "APPOINTMENT_CREATED"])
    for n in range(30):
        await add_payment(superuser, world, world.patient_ids[n % 6])
    other = create_engine(database_url, pool_size=4)
    senders = [Sender(10, True), Sender(10, True)]
    try:
        at = datetime.now(UTC)
        for _ in range(3):
            await asyncio.gather(round_at(engine, senders[0], at), round_at(other, senders[1], at))
    finally:
        await other.dispose()
        for one in senders:
            await one.close()
    ids = [request.headers["X-FisioFlow-Delivery"] for request in receiver.received]
    assert len(ids) == 60 and len(set(ids)) == 60
    made = await superuser.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE clinic_id = $1", world.clinic_id
    )
    assert made == 60  # each event made one delivery per webhook, not one per worker


async def test_a_reminder_reaches_the_subscribed_webhooks(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    sender: Sender,
) -> None:
    with http_receiver() as gateway, http_receiver() as accounting:
        _, secret = await create(client, world, gateway.url, ["APPOINTMENT_REMINDER"])
        await create(client, world, accounting.url, ["PAYMENT_CHANGED"])
        patient, physio, starts = book(world, hours=3)
        await superuser.execute(
            "INSERT INTO consents (clinic_id, patient_id, purpose, legal_basis, policy_version)"
            " VALUES ($1, $2, 'Lembretes de consulta por WhatsApp', 'Consentimento', 'v1')",
            world.clinic_id,
            patient,
        )
        appointment = await add_appointment(superuser, world, patient, physio, starts)
        at = datetime.now(UTC)
        [reminder] = [
            r
            for r in await fire_due_reminders(engine, at, email=False)
            if await superuser.fetchval(
                "SELECT clinic_id = $2 FROM appointment_reminders WHERE id = $1", r, world.clinic_id
            )
        ]
        sent_at = datetime.now(UTC)
        await round_at(engine, sender, sent_at)
        await round_at(engine, sender, sent_at + timedelta(hours=1))
        assert accounting.received == []
        [request] = gateway.received
        assert request.headers["X-FisioFlow-Event"] == "APPOINTMENT_REMINDER"
        assert verify(
            secret, request.headers[SIGNATURE_HEADER], request.body, int(sent_at.timestamp())
        )
        data = json.loads(request.body)["data"]
        assert data == {
            "id": to_global_id("AppointmentReminder", reminder),
            "operation": "INSERT",
            "appointmentId": to_global_id("Appointment", appointment),
            "patientId": to_global_id("Patient", patient),
            "physiotherapistId": to_global_id("Physiotherapist", physio),
        }


async def test_no_payload_ever_carries_personal_data(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    receiver: Receiver,
    sender: Sender,
) -> None:
    await create(client, world, receiver.url, ALL_EVENTS)
    name, email, phone, cpf = (
        "Joaquina Pereira",
        "joaquina.p@example.com",
        "+5511987654321",
        VALID_CPFS[3],
    )
    patient = await superuser.fetchval(
        "INSERT INTO patients (clinic_id, physiotherapist_id, name, email, phone, cpf)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        world.clinic_id,
        world.physio.physiotherapist_id,
        name,
        email,
        phone,
        cpf,
    )
    await superuser.execute("UPDATE patients SET phone = $2 WHERE id = $1", patient, phone + "9")
    _, physio, starts = book(world)
    appointment = await add_appointment(superuser, world, patient, physio, starts)
    await superuser.execute(
        "UPDATE appointments SET status = 'confirmed' WHERE id = $1", appointment
    )
    await add_payment(superuser, world, patient, appointment_id=appointment)
    await add_prontuario(superuser, world, patient, physio)
    await superuser.execute(
        "INSERT INTO consents (clinic_id, patient_id, purpose, legal_basis, policy_version)"
        " VALUES ($1, $2, 'Tratamento', 'Consentimento', 'v1')",
        world.clinic_id,
        patient,
    )
    await superuser.execute(
        "INSERT INTO data_subject_requests (clinic_id, patient_id, kind) VALUES ($1, $2, 'access')",
        world.clinic_id,
        patient,
    )
    await round_at(engine, sender, datetime.now(UTC))
    kinds = {json.loads(r.body)["event"] for r in receiver.received}
    assert kinds >= {
        "PATIENT_CHANGED",
        "APPOINTMENT_CREATED",
        "APPOINTMENT_UPDATED",
        "PAYMENT_CHANGED",
        "PRONTUARIO_CHANGED",
        "CONSENT_CHANGED",
        "DATA_SUBJECT_REQUEST_CHANGED",
    }
    for request in receiver.received:
        text = request.body.decode()
        for secret in (name, "Joaquina", email, phone, cpf, "529.982", "Dor lombar"):
            assert secret.lower() not in text.lower()
        for value in _strings(json.loads(text)["data"]):
            _, local = (
                parse_global_id(value) if value not in ("INSERT", "UPDATE", "DELETE") else ("", "")
            )
            assert local == "" or uuid.UUID(local)


def _strings(data: dict[str, Any]) -> list[str]:
    return [value for value in data.values() if isinstance(value, str)]


def test_every_event_is_of_a_table_that_records_events() -> None:
    tables = {table for table, _ in EVENTS.values()}
    assert tables <= {
        "appointments",
        "appointment_reminders",
        "payments",
        "exercise_executions",
        "prontuarios",
        "patients",
        "consents",
        "data_subject_requests",
    }
    assert set(EVENTS) == set(WebhookEvent)


# -- who may --------------------------------------------------------------------------------


async def test_only_the_clinics_admins(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    receiver: Receiver,
    sender: Sender,
) -> None:
    webhook, _ = await create(client, world, receiver.url, ["PAYMENT_CHANGED"])
    await add_payment(superuser, world, world.patient_ids[0])
    await round_at(engine, sender, datetime.now(UTC))
    [delivery] = await deliveries(client, world, webhook)
    intruder = await make_clinic(superuser, "Clínica Intrusa")
    create_input = {"input": {"url": receiver.url, "events": ["PAYMENT_CHANGED"]}}
    for who in (world.receptionist, world.physio, world.other_physio, world.patient):
        token = world.token(who)
        for query, variables in (
            (CREATE, create_input),
            (LIST, {}),
            (DISABLE, {"id": webhook}),
            (DELIVERIES, {"id": webhook}),
            (REDELIVER, {"id": delivery["id"]}),
        ):
            assert error_codes(await graphql(client, query, variables, token=token)) == [
                "FORBIDDEN"
            ]
    anonymous = await graphql(client, LIST)
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    other = intruder.token(intruder.admin)
    assert (await graphql(client, LIST, token=other))["data"]["webhooks"] == []
    for query, variables, field in (
        (DISABLE, {"id": webhook}, "id"),
        (DELIVERIES, {"id": webhook}, "webhookId"),
        (REDELIVER, {"id": delivery["id"]}, "deliveryId"),
    ):
        body = await graphql(client, query, variables, token=other)
        assert error_codes(body) == ["NOT_FOUND"]
        assert body["errors"][0]["extensions"]["field"] == field
    still = await graphql(client, LIST, token=world.token(world.admin))
    assert still["data"]["webhooks"][0]["enabled"] is True
    count = await superuser.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1",
        uuid.UUID(parse_global_id(webhook)[1]),
    )
    assert count == 1  # nobody else redelivered


async def test_the_secret_is_never_readable_again(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld, receiver: Receiver
) -> None:
    await create(client, world, receiver.url, ["PAYMENT_CHANGED"])
    introspection = await graphql(client, '{ __type(name: "Webhook") { fields { name } } }')
    assert "secret" not in {f["name"] for f in introspection["data"]["__type"]["fields"]}
    # The attacker: the app role with an admin's settings, straight to the database.
    async with superuser.transaction():
        await superuser.execute("SET LOCAL ROLE fisioflow_app")
        await superuser.execute(
            "SELECT set_config('app.clinic_id', $1, true), set_config('app.role', 'admin', true)",
            str(world.clinic_id),
        )
        for attack in (
            "SELECT secret FROM webhooks",
            "SELECT * FROM webhooks",
            "SELECT count(*) FROM webhooks WHERE secret LIKE 'whsec_a%'",
            "UPDATE webhooks SET secret = 'x' || secret",
            "UPDATE webhooks SET url = 'http://evil.example/'",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with superuser.transaction():
                    await superuser.fetch(attack)


# -- where to ---------------------------------------------------------------------------------

REFUSED = [
    ("ftp://example.com/hook", "http"),
    ("javascript:alert(1)", "http"),
    ("http://user:pw@example.com/hook", "credentials"),
    ("http://127.0.0.1:8080/hook", "private"),
    ("http://localhost/hook", "private"),
    ("http://10.1.2.3/hook", "private"),
    ("http://192.168.0.10/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "private"),
    ("http://[::1]/hook", "private"),
    ("http://[::ffff:127.0.0.1]/hook", "private"),
    ("http://[fe80::1]/hook", "private"),
    ("http://0.0.0.0/hook", "private"),
    ("http://224.0.0.1/hook", "private"),
    ("http://100.64.0.1/hook", "private"),
    ("http://nonexistent.invalid/hook", "resolve"),
    ("http://example.com:99999/hook", "valid"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_production_refuses_private_and_odd_urls(
    database_url: str, superuser: asyncpg.Connection, url: str, reason: str
) -> None:
    world = await make_clinic(superuser, "Clínica SSRF")
    async with app_client(database_url, webhook_allow_private_urls=False) as client:
        body = await graphql(
            client,
            CREATE,
            {"input": {"url": url, "events": ["PAYMENT_CHANGED"]}},
            token=world.token(world.admin),
        )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "url"
    assert reason in body["errors"][0]["message"]
    assert (
        await superuser.fetchval(
            "SELECT count(*) FROM webhooks WHERE clinic_id = $1", world.clinic_id
        )
        == 0
    )


async def test_the_address_is_checked_again_at_send_time(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    receiver: Receiver,
) -> None:
    """A URL registered when allowed (or a name that now resolves privately) is not followed."""
    webhook, _ = await create(client, world, receiver.url, ["PAYMENT_CHANGED"])
    await add_payment(superuser, world, world.patient_ids[0])
    strict = Sender(10, allow_private=False)
    try:
        await round_at(engine, strict, datetime.now(UTC))
    finally:
        await strict.close()
    assert receiver.received == []
    [delivery] = await deliveries(client, world, webhook)
    [attempt] = delivery["attempts"]
    assert attempt["responseStatus"] is None and attempt["error"].startswith("refused")


async def test_public_addresses() -> None:
    assert is_public(ipaddress.ip_address("8.8.8.8"))
    assert is_public(ipaddress.ip_address("2001:4860:4860::8888"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not is_public(ipaddress.ip_address("ff02::1"))
    target = await resolve("https://8.8.8.8/x?y=1", allow_private=False)
    assert target.pinned_url() == "https://8.8.8.8:443/x?y=1" and target.host_header() == "8.8.8.8"
    with pytest.raises(UnsafeUrl):
        await resolve("http://127.0.0.1/", allow_private=False)
    assert (
        await resolve("http://127.0.0.1:81/", allow_private=True)
    ).host_header() == "127.0.0.1:81"


async def test_a_page_of_deliveries_costs_the_same_statements_whatever_its_size(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    receiver: Receiver,
    sender: Sender,
    statements: StatementCounter,
) -> None:
    webhook, _ = await create(client, world, receiver.url, ["PAYMENT_CHANGED"])
    for _ in range(6):
        await add_payment(superuser, world, world.patient_ids[0])
    await round_at(engine, sender, datetime.now(UTC))
    counts = []
    for first in (1, 6):
        statements.reset()
        assert len(await deliveries(client, world, webhook, first=first)) == first
        counts.append(statements.count)
    assert counts[0] == counts[1]


@pytest.mark.parametrize("url", ["http://a\x00b/", "http://" + "a" * 70 + ".example/", "http:///x"])
async def test_hostile_hosts_are_refused_not_crashed_on(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await resolve(url, allow_private=True)
