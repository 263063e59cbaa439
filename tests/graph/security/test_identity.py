"""The login row is the identity: a token whose claims disagree with the login's `users` row is
refused, on the normal path and on the fast path alike, even when it is signed with the real
secret (an insider holding it, or a token of user X with Y's clinic)."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jwt

from graph.core.identity import Identity
from tests.support.apps import JWT_SECRET
from tests.support.factories import ClinicWorld, make_clinic, session_booking
from tests.support.graphql_client import StatementCounter, error_codes, graphql

READ = "{ patients(first: 3) { totalCount edges { node { id } } } }"
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id status } }"""


def signed(who: Identity, **changes: Any) -> str:
    """A token for `who` with some claims changed (None: left out), signed with the secret."""
    claims: dict[str, Any] = {**who.claims(), "exp": int(time.time()) + 600}
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = str(value)
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def tampered_tokens(world: ClinicWorld, other: ClinicWorld) -> dict[str, str]:
    physio, receptionist = world.physio, world.receptionist
    return {
        "receptionist claiming admin": signed(receptionist, role="admin"),
        "physio claiming admin": signed(physio, role="admin", physiotherapist_id=None),
        "receptionist with another clinic's id": signed(receptionist, clinic_id=other.clinic_id),
        "another clinic's admin with this clinic's id": signed(
            other.admin, clinic_id=world.clinic_id
        ),
        "physio with a colleague's physiotherapist id": signed(
            physio, physiotherapist_id=world.other_physio.physiotherapist_id
        ),
        "receptionist with a physiotherapist id": signed(
            receptionist, physiotherapist_id=physio.physiotherapist_id
        ),
        "patient with another patient's id": signed(world.patient, patient_id=world.patient_ids[1]),
        "physio claiming the patient role": signed(
            physio, role="patient", physiotherapist_id=None, patient_id=world.patient_ids[0]
        ),
        "a login that does not exist": signed(receptionist, sub=uuid.uuid4()),
    }


async def test_tampered_claims_are_refused_on_the_normal_path(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world, other = await make_clinic(superuser), await make_clinic(superuser)
    for name, token in tampered_tokens(world, other).items():
        body = await graphql(client, "{ me { role clinic { name } } }", token=token)
        assert error_codes(body) == ["UNAUTHENTICATED"], name
        assert body["data"] is None, name
    assert (await graphql(client, "{ me { role } }", token=world.token(world.physio)))["data"]


async def test_tampered_claims_are_refused_on_the_fast_path(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    """The read is compiled and served by graph/http/fast_path.py once a valid token has asked
    for it; every tampered token then gets UNAUTHENTICATED and nothing else."""
    world, other = await make_clinic(superuser), await make_clinic(superuser)
    honest = world.token(world.receptionist)
    for _ in range(2):
        assert "errors" not in await graphql(client, READ, token=honest)
    statements.reset()
    assert "errors" not in await graphql(client, READ, token=honest)
    answered = [s for s in statements.statements if "PREPARE gql_" not in s]
    assert len(answered) == 1, answered  # one round trip: the fast path answered
    for name, token in tampered_tokens(world, other).items():
        body = await graphql(client, READ, token=token)
        assert error_codes(body) == ["UNAUTHENTICATED"], name
        assert body["data"] is None, name


async def test_a_tampered_token_writes_nothing_through_the_compiled_mutation(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    """scheduleAppointment compiled (fast path): a physio's token re-signed as admin would
    book any patient on any agenda; it books nothing."""
    world = await make_clinic(superuser)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=50)

    def booking(hours: int, physio: Identity) -> dict[str, Any]:
        return {"input": session_booking(world, start + timedelta(hours=hours), 4, physio)}

    admin = world.token(world.admin)
    for hours in (0, 1):  # compiled, then on the fast path
        done = await graphql(client, SCHEDULE, booking(hours, world.other_physio), token=admin)
        assert "errors" not in done, done
    forged = signed(world.physio, role="admin", physiotherapist_id=None)
    refused = await graphql(client, SCHEDULE, booking(2, world.other_physio), token=forged)
    assert error_codes(refused) == ["UNAUTHENTICATED"]
    assert refused["data"] is None
    booked = await superuser.fetchval(
        "select count(*) from appointments where patient_id = $1", world.patient_ids[4]
    )
    assert booked == 2
