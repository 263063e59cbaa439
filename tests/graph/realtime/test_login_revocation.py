"""An open websocket of a login that stops being allowed stops at once: deactivation, a
password change or an admin's reset end its subscriptions with UNAUTHENTICATED before any
further event, and its old tokens get no connection again (running `fisioflow serve`, the
third-party `gql` client)."""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import asyncpg
import httpx
import pytest
from gql.transport.exceptions import TransportError

from graph.core.identity import Identity
from graph.core.ids import to_global_id
from tests.support.factories import PASSWORD, ClinicWorld, make_clinic, session_booking
from tests.support.servers import Server, running_server
from tests.support.subscribers import Connection, Subscription, close_code

APPOINTMENT_CHANGED = "subscription { appointmentChanged { op appointment { id } } }"
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id } }"""
NEW_PASSWORD = "outra-senha-boa-42"
_slots = count(1)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    with running_server(database_url) as s:
        yield s


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


@pytest.fixture
async def connections() -> AsyncIterator[list[Connection]]:
    opened: list[Connection] = []
    yield opened
    for connection in opened:
        await connection.close()


async def _call(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


async def _schedule(http: httpx.AsyncClient, world: ClinicWorld) -> None:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3, hours=next(_slots))
    booking = {"input": session_booking(world, starts)}
    await _call(http, SCHEDULE, booking, world.token(world.admin))


async def _watching(
    server: Server, connections: list[Connection], token: str
) -> tuple[Connection, Subscription]:
    connection = await Connection.open(server.ws, token)
    connections.append(connection)
    return connection, await connection.subscribe(APPOINTMENT_CHANGED)


async def _told_unauthenticated(subscription: Subscription) -> None:
    """The subscription ends with UNAUTHENTICATED within a short wait, no event before it."""
    errors = await subscription.errors(within=5)
    assert [error["extensions"]["code"] for error in errors] == ["UNAUTHENTICATED"], errors


async def _refused(server: Server, token: str) -> None:
    with pytest.raises(TransportError) as refused:
        await Connection.open(server.ws, token)
    assert close_code(refused.value) == 4403


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await make_clinic(superuser, "Clínica Revogação")


def _staff(who: Identity) -> dict[str, str]:
    return {"id": to_global_id("StaffUser", who.user_id)}


async def test_deactivation_ends_a_live_subscription_at_once(
    server: Server,
    http: httpx.AsyncClient,
    world: ClinicWorld,
    connections: list[Connection],
) -> None:
    token = world.token(world.receptionist)
    _, watcher = await _watching(server, connections, token)
    _, bystander = await _watching(server, connections, world.token(world.physio))
    await _schedule(http, world)
    assert (await watcher.data())["appointmentChanged"]["op"] == "CREATED"
    assert (await bystander.data())["appointmentChanged"]["op"] == "CREATED"

    deactivate = "mutation($id: ID!) { deactivateLogin(input: {userId: $id}) { active } }"
    await _call(http, deactivate, _staff(world.receptionist), world.token(world.admin))
    await _told_unauthenticated(watcher)  # told before any further event happened
    await _schedule(http, world)
    assert (await bystander.data())["appointmentChanged"]["op"] == "CREATED"
    assert await watcher.silent_for(0.5)  # nothing of the later event
    await _refused(server, token)


async def test_a_password_change_ends_the_other_tokens_websockets(
    server: Server,
    http: httpx.AsyncClient,
    world: ClinicWorld,
    connections: list[Connection],
) -> None:
    login = """mutation($email: String!, $password: String!) {
      login(input: {email: $email, password: $password}) { token } }"""
    credentials = {"email": world.emails["physio"], "password": PASSWORD}
    phone = (await _call(http, login, credentials, world.token(world.admin)))["login"]["token"]
    laptop = (await _call(http, login, credentials, world.token(world.admin)))["login"]["token"]
    _, on_phone = await _watching(server, connections, phone)

    change = """mutation($current: String!, $new: String!) {
      changePassword(input: {currentPassword: $current, newPassword: $new}) { token } }"""
    answer = await _call(http, change, {"current": PASSWORD, "new": NEW_PASSWORD}, laptop)
    await _told_unauthenticated(on_phone)
    await _schedule(http, world)
    assert await on_phone.silent_for(0.5)
    await _refused(server, phone)
    await _refused(server, laptop)  # the changing token too: it was answered a fresh one
    _, fresh = await _watching(server, connections, answer["changePassword"]["token"])
    await _schedule(http, world)
    assert (await fresh.data())["appointmentChanged"]["op"] == "CREATED"


async def test_a_reset_ends_the_subscriptions_and_its_token_gets_no_websocket(
    server: Server,
    http: httpx.AsyncClient,
    world: ClinicWorld,
    connections: list[Connection],
) -> None:
    _, watcher = await _watching(server, connections, world.token(world.receptionist))
    reset = """mutation($id: ID!) { resetPassword(input: {userId: $id}) { temporaryPassword } }"""
    answer = await _call(http, reset, _staff(world.receptionist), world.token(world.admin))
    await _told_unauthenticated(watcher)

    login = """mutation($email: String!, $password: String!) {
      login(input: {email: $email, password: $password}) { token mustChangePassword } }"""
    temporary = answer["resetPassword"]["temporaryPassword"]
    credentials = {"email": world.emails["receptionist"], "password": temporary}
    limited = (await _call(http, login, credentials, world.token(world.admin)))["login"]
    assert limited["mustChangePassword"] is True
    await _refused(server, limited["token"])
