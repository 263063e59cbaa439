"""Authentication: login, tokens, and what anonymous callers may do."""

import base64
import json
import time
import uuid

import asyncpg
import httpx
import jwt

from graph.core.identity import Role
from tests.support.apps import JWT_SECRET
from tests.support.factories import PASSWORD, make_clinic
from tests.support.graphql_client import error_codes, graphql

LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    token expiresAt viewer { email role clinic { name } physiotherapist { name } }
  }
}"""
ME = "{ me { email role clinic { name } patient { name } } }"


async def test_login_returns_a_token_that_works(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser, "Clínica Login")
    body = await graphql(client, LOGIN, {"email": world.emails["physio"], "password": PASSWORD})
    assert "errors" not in body, body
    payload = body["data"]["login"]
    assert payload["viewer"] == {
        "email": world.emails["physio"],
        "role": "PHYSIOTHERAPIST",
        "clinic": {"name": "Clínica Login"},
        "physiotherapist": {"name": "Ana Souza"},
    }
    claims = jwt.decode(payload["token"], JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(world.physio.user_id)
    assert claims["clinic_id"] == str(world.clinic_id)
    assert claims["role"] == "physiotherapist"
    assert claims["physiotherapist_id"] == str(world.physio.physiotherapist_id)

    me = await graphql(client, ME, token=payload["token"])
    assert me["data"]["me"]["email"] == world.emails["physio"]


async def test_login_email_is_case_insensitive(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    email = world.emails["admin"].upper()
    body = await graphql(client, LOGIN, {"email": email, "password": PASSWORD})
    assert body["data"]["login"]["viewer"]["role"] == "ADMIN"


async def test_wrong_password_and_unknown_email_fail_alike(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    wrong = await graphql(client, LOGIN, {"email": world.emails["admin"], "password": "nope-nope"})
    unknown = await graphql(client, LOGIN, {"email": "ghost@example.com", "password": PASSWORD})
    assert wrong["data"] is None and unknown["data"] is None
    assert error_codes(wrong) == error_codes(unknown) == ["UNAUTHENTICATED"]
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]


async def test_anonymous_may_only_log_in(client: httpx.AsyncClient) -> None:
    body = await graphql(client, "{ patients { totalCount } }")
    assert body["data"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]
    fragment = "query { ...F } fragment F on Query { me { email } }"
    assert error_codes(await graphql(client, fragment)) == ["UNAUTHENTICATED"]


async def test_introspection_needs_no_token(client: httpx.AsyncClient) -> None:
    body = await graphql(client, "{ __schema { queryType { name } } }")
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


def _token(claims: dict[str, object], secret: str = JWT_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def _unsigned(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def test_bad_tokens_are_unauthenticated(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    claims: dict[str, object] = {
        "sub": str(world.admin.user_id),
        "clinic_id": str(world.clinic_id),
        "role": Role.ADMIN.value,
    }
    expired = _token({**claims, "exp": int(time.time()) - 10})
    forged = _token({**claims, "exp": int(time.time()) + 600}, secret="not-the-secret" * 4)
    unsigned = _unsigned({**claims, "exp": int(time.time()) + 600})
    no_expiry = _token(claims)
    bad_role = _token({**claims, "role": "superuser", "exp": int(time.time()) + 600})
    for token in (expired, forged, unsigned, no_expiry, bad_role, "garbage"):
        body = await graphql(client, "{ me { email } }", token=token)
        assert error_codes(body) == ["UNAUTHENTICATED"], (token, body)
        assert body["data"] is None

    good = _token({**claims, "exp": int(time.time()) + 600})
    body = await graphql(client, "{ me { email } }", token=good)
    assert body["data"]["me"]["email"] == world.emails["admin"]

    await superuser.execute("update users set active = false where id = $1", world.admin.user_id)
    deactivated = await graphql(client, "{ me { email } }", token=good)
    assert error_codes(deactivated) == ["UNAUTHENTICATED"]


async def test_a_token_of_a_user_who_does_not_exist_is_refused(
    client: httpx.AsyncClient,
) -> None:
    claims = {
        "sub": str(uuid.uuid4()),
        "clinic_id": str(uuid.uuid4()),
        "role": "admin",
        "exp": int(time.time()) + 600,
    }
    body = await graphql(client, "{ patients { totalCount } }", token=_token(claims))
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_staff_and_patient_logins_are_created_by_the_admin(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    admin = world.token(world.admin)
    tag = uuid.uuid4().hex[:6]

    physio = await graphql(
        client,
        """mutation($input: CreatePhysiotherapistInput!) {
             createPhysiotherapist(input: $input) { id name crefito } }""",
        {
            "input": {
                "name": "Carla Dias",
                "email": f"carla.{tag}@example.com",
                "crefito": "crefito-3/654321-f",
                "password": "a-long-password",
            }
        },
        token=admin,
    )
    assert physio["data"]["createPhysiotherapist"]["crefito"] == "CREFITO-3/654321-F"
    carla = await graphql(
        client, LOGIN, {"email": f"carla.{tag}@example.com", "password": "a-long-password"}
    )
    assert carla["data"]["login"]["viewer"]["physiotherapist"] == {"name": "Carla Dias"}

    staff = await graphql(
        client,
        """mutation($input: CreateStaffUserInput!) { createStaffUser(input: $input) {
             email role active } }""",
        {
            "input": {
                "email": f"front.{tag}@example.com",
                "password": "front-desk-1",
                "role": "RECEPTIONIST",
            }
        },
        token=admin,
    )
    assert staff["data"]["createStaffUser"] == {
        "email": f"front.{tag}@example.com",
        "role": "RECEPTIONIST",
        "active": True,
    }

    patient_gid = base64.urlsafe_b64encode(f"Patient:{world.patient_ids[1]}".encode()).decode()
    granted = await graphql(
        client,
        """mutation($input: GrantPatientAccessInput!) { grantPatientAccess(input: $input) {
             name email } }""",
        {"input": {"patientId": patient_gid.rstrip("="), "password": "patient-pass-1"}},
        token=admin,
    )
    assert "errors" not in granted, granted
    email = granted["data"]["grantPatientAccess"]["email"]
    login = await graphql(client, LOGIN, {"email": email, "password": "patient-pass-1"})
    token = login["data"]["login"]["token"]
    me = await graphql(client, ME, token=token)
    assert me["data"]["me"]["role"] == "PATIENT"
    assert me["data"]["me"]["patient"]["name"] == granted["data"]["grantPatientAccess"]["name"]


async def test_only_admins_create_logins(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    before = await superuser.fetchval("select count(*) from users")
    for who in (world.receptionist, world.physio, world.patient):
        body = await graphql(
            client,
            """mutation { createStaffUser(input: {email: "x@example.com",
                 password: "long-enough", role: ADMIN}) { id } }""",
            token=world.token(who),
        )
        assert error_codes(body) == ["FORBIDDEN"]
    assert await superuser.fetchval("select count(*) from users") == before


async def test_bad_login_input_writes_nothing(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    admin = world.token(world.admin)
    before = await superuser.fetchval("select count(*) from physiotherapists")
    body = await graphql(
        client,
        """mutation { createPhysiotherapist(input: {name: "Dani", email: "dani@example.com",
             crefito: "CREFITO-3/111111-F", password: "short"}) { id } }""",
        token=admin,
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "password"
    dup = await graphql(
        client,
        """mutation($email: String!) { createStaffUser(input: {email: $email,
             password: "long-enough", role: ADMIN}) { id } }""",
        {"email": world.emails["physio"]},
        token=admin,
    )
    assert error_codes(dup) == ["CONFLICT"]
    assert dup["errors"][0]["extensions"]["field"] == "email"
    assert await superuser.fetchval("select count(*) from physiotherapists") == before
