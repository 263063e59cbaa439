"""Staff and account administration through the API: `staffUsers`, `deactivateLogin` /
`reactivateLogin`, `updatePhysiotherapist`, `updateClinic`, `changePassword`,
`resetPassword` and the password policy, with the attacks each invites."""

import asyncio
import time
import uuid
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from graph.core.identity import Identity, Role
from graph.core.ids import to_global_id
from graph.security.passwords import verify_password
from tests.support.apps import JWT_SECRET, app_client
from tests.support.factories import PASSWORD, ClinicWorld, add_user, make_clinic
from tests.support.graphql_client import error_codes, graphql

STAFF = """query($where: StaffUserWhere, $first: Int) {
  staffUsers(where: $where, first: $first, orderBy: [EMAIL_ASC]) {
    totalCount
    edges { node { id email role active lastLoginAt mustChangePassword
                   physiotherapist { name } } }
  }
}"""
DEACTIVATE = """mutation($id: ID!) {
  deactivateLogin(input: {userId: $id}) { email active } }"""
REACTIVATE = """mutation($id: ID!) {
  reactivateLogin(input: {userId: $id}) { email active } }"""
RESET = """mutation($id: ID!) {
  resetPassword(input: {userId: $id}) { temporaryPassword staffUser { email mustChangePassword } }
}"""
CHANGE = """mutation($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) {
    token mustChangePassword viewer { email }
  }
}"""
LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token mustChangePassword viewer { role } }
}"""
UPDATE_PHYSIO = """mutation($input: UpdatePhysiotherapistInput!) {
  updatePhysiotherapist(input: $input) { name email phone specialty crefito active }
}"""
UPDATE_CLINIC = """mutation($input: UpdateClinicInput!) {
  updateClinic(input: $input) {
    name cnpj timeZone patientSelfBooking patientCancelNoticeHours reminderHoursBefore
  }
}"""
ME = "{ me { email role } }"
PATIENTS = "{ patients(first: 5) { totalCount } }"
NEW_PASSWORD = "outra-senha-boa-42"


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await make_clinic(superuser, "Clínica Contas")


def staff_id(who: Identity) -> str:
    return to_global_id("StaffUser", who.user_id)


def field_of(body: dict[str, Any]) -> str | None:
    field: str | None = body["errors"][0]["extensions"].get("field")
    return field


async def login(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    return await graphql(client, LOGIN, {"email": email, "password": password})


async def row(superuser: asyncpg.Connection, who: Identity) -> asyncpg.Record:
    found = await superuser.fetchrow("select * from users where id = $1", who.user_id)
    assert found is not None
    return found


# -- staffUsers ------------------------------------------------------------------------------


async def test_admins_list_the_staff_logins(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    await make_clinic(superuser, "Outra Clínica")  # its logins never show
    body = await graphql(client, STAFF, token=world.token(world.admin))
    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"]["staffUsers"]["edges"]]
    # Every login but the patient's, by e-mail; a physiotherapist's login shows who they are.
    expected = sorted(world.emails[k] for k in ("admin", "receptionist", "physio", "other_physio"))
    assert [node["email"] for node in nodes] == expected
    assert body["data"]["staffUsers"]["totalCount"] == 4
    by_email = {node["email"]: node for node in nodes}
    assert by_email[world.emails["physio"]]["physiotherapist"] == {"name": "Ana Souza"}
    assert by_email[world.emails["admin"]]["physiotherapist"] is None
    assert by_email[world.emails["admin"]]["id"] == staff_id(world.admin)
    assert all(node["active"] and not node["mustChangePassword"] for node in nodes)

    await superuser.execute(
        "update users set active = false where id = $1", world.receptionist.user_id
    )
    inactive = await graphql(
        client, STAFF, {"where": {"active": {"eq": False}}}, token=world.token(world.admin)
    )
    assert [e["node"]["email"] for e in inactive["data"]["staffUsers"]["edges"]] == [
        world.emails["receptionist"]
    ]


@pytest.mark.parametrize("role", ["receptionist", "physio", "patient"])
async def test_only_admins_list_the_staff_logins(
    client: httpx.AsyncClient, world: ClinicWorld, role: str
) -> None:
    body = await graphql(client, STAFF, token=world.token(getattr(world, role)))
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"] is None


# -- deactivateLogin / reactivateLogin -------------------------------------------------------


async def test_deactivation_stops_the_logins_tokens_at_once(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    token = world.token(world.receptionist)
    assert "errors" not in await graphql(client, PATIENTS, token=token)
    assert "errors" not in await graphql(client, PATIENTS, token=token)  # compiled by now

    body = await graphql(
        client, DEACTIVATE, {"id": staff_id(world.receptionist)}, token=world.token(world.admin)
    )
    assert body["data"]["deactivateLogin"] == {
        "email": world.emails["receptionist"],
        "active": False,
    }
    assert not (await row(superuser, world.receptionist))["active"]
    # The same, still unexpired token: refused on both paths (fast and resolvers), and no login.
    assert error_codes(await graphql(client, PATIENTS, token=token)) == ["UNAUTHENTICATED"]
    assert error_codes(await graphql(client, ME, token=token)) == ["UNAUTHENTICATED"]
    refused = await login(client, world.emails["receptionist"], PASSWORD)
    assert error_codes(refused) == ["UNAUTHENTICATED"]

    body = await graphql(
        client, REACTIVATE, {"id": staff_id(world.receptionist)}, token=world.token(world.admin)
    )
    assert body["data"]["reactivateLogin"]["active"] is True
    # Reactivation does not revive the tokens issued before the deactivation.
    assert error_codes(await graphql(client, ME, token=token)) == ["UNAUTHENTICATED"]
    fresh = await login(client, world.emails["receptionist"], PASSWORD)
    assert "errors" not in await graphql(client, ME, token=fresh["data"]["login"]["token"])


async def test_who_may_deactivate_whom(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    other = await make_clinic(superuser, "Clínica B")
    target = {"id": staff_id(world.physio)}
    for who in (world.receptionist, world.physio, world.patient):
        body = await graphql(client, DEACTIVATE, target, token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"]
        body = await graphql(client, RESET, target, token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"]
    # Clinic B's admin does not find clinic A's login.
    for mutation in (DEACTIVATE, REACTIVATE, RESET):
        body = await graphql(client, mutation, target, token=other.token(other.admin))
        assert error_codes(body) == ["NOT_FOUND"] and field_of(body) == "userId"
    # A patient's login is not a staff login; an ID of another type is bad input.
    patient_login = {"id": to_global_id("StaffUser", world.patient.user_id)}
    body = await graphql(client, DEACTIVATE, patient_login, token=world.token(world.admin))
    assert error_codes(body) == ["NOT_FOUND"]
    body = await graphql(
        client,
        DEACTIVATE,
        {"id": to_global_id("Patient", world.patient_ids[0])},
        token=world.token(world.admin),
    )
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "userId"
    untouched = await superuser.fetchval(
        "select bool_and(active) and max(token_version) = 0 from users where clinic_id = $1",
        world.clinic_id,
    )
    assert untouched is True


async def test_an_admin_keeps_their_own_login_and_the_clinic_an_admin(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    own = await graphql(
        client, DEACTIVATE, {"id": staff_id(world.admin)}, token=world.token(world.admin)
    )
    assert error_codes(own) == ["BAD_USER_INPUT"] and field_of(own) == "userId"
    assert "own login" in own["errors"][0]["message"]
    # The viewer's ID (User) names the same login.
    viewer_id = {"id": to_global_id("User", world.admin.user_id)}
    own = await graphql(client, DEACTIVATE, viewer_id, token=world.token(world.admin))
    assert error_codes(own) == ["BAD_USER_INPUT"]
    assert (await row(superuser, world.admin))["active"]

    # Two admins deactivating each other at the same moment: one wins, one admin remains.
    second = await add_user(
        superuser, world.clinic_id, f"admin2.{uuid.uuid4().hex[:6]}@x.com", Role.ADMIN
    )
    for _ in range(3):
        first_body, second_body = await asyncio.gather(
            graphql(client, DEACTIVATE, {"id": staff_id(second)}, token=world.token(world.admin)),
            graphql(client, DEACTIVATE, {"id": staff_id(world.admin)}, token=world.token(second)),
        )
        codes = sorted((error_codes(first_body) or ["OK"]) + (error_codes(second_body) or ["OK"]))
        active_admins = await superuser.fetchval(
            "select count(*) from users where clinic_id = $1 and role = 'admin' and active",
            world.clinic_id,
        )
        assert active_admins == 1, codes
        assert codes in (["BAD_USER_INPUT", "OK"], ["OK", "UNAUTHENTICATED"]), codes
        await superuser.execute(
            "update users set active = true where clinic_id = $1", world.clinic_id
        )
        # The loser's token was bumped by the deactivation: fresh identities for the next round.
        world.admin = replace(
            world.admin, token_version=(await row(superuser, world.admin))["token_version"]
        )
        second = replace(second, token_version=(await row(superuser, second))["token_version"])


# -- updatePhysiotherapist / updateClinic ----------------------------------------------------


async def test_update_physiotherapist_changes_only_what_is_given(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    physio_id = to_global_id("Physiotherapist", world.physio.physiotherapist_id)
    before = await superuser.fetchrow(
        "select * from physiotherapists where id = $1", world.physio.physiotherapist_id
    )
    admin = world.token(world.admin)
    body = await graphql(
        client, UPDATE_PHYSIO, {"input": {"id": physio_id, "phone": " 11 99999-0000 "}}, token=admin
    )
    assert "errors" not in body, body
    changed = body["data"]["updatePhysiotherapist"]
    assert changed["phone"] == "11 99999-0000"
    assert (changed["name"], changed["email"], changed["crefito"]) == (
        before["name"],
        before["email"],
        before["crefito"],
    )
    body = await graphql(
        client,
        UPDATE_PHYSIO,
        {"input": {"id": physio_id, "specialty": None, "active": False, "name": "Ana S. Lima"}},
        token=admin,
    )
    assert body["data"]["updatePhysiotherapist"]["specialty"] is None
    assert body["data"]["updatePhysiotherapist"]["active"] is False
    assert body["data"]["updatePhysiotherapist"]["name"] == "Ana S. Lima"

    for bad, field in (
        ({"name": None}, "name"),
        ({"name": "  "}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"crefito": "12345"}, "crefito"),
        ({"active": None}, "active"),
    ):
        body = await graphql(
            client, UPDATE_PHYSIO, {"input": {"id": physio_id, **bad}}, token=admin
        )
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, bad
    after = await superuser.fetchrow(
        "select name, email, crefito, active from physiotherapists where id = $1",
        world.physio.physiotherapist_id,
    )
    assert dict(after) == {
        "name": "Ana S. Lima",
        "email": before["email"],
        "crefito": before["crefito"],
        "active": False,
    }


async def test_update_physiotherapist_refusals(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    other = await make_clinic(superuser, "Clínica B")
    physio_id = to_global_id("Physiotherapist", world.physio.physiotherapist_id)
    change = {"input": {"id": physio_id, "name": "Invasor"}}
    for who in (world.receptionist, world.physio, world.patient):
        body = await graphql(client, UPDATE_PHYSIO, change, token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"]
    body = await graphql(client, UPDATE_PHYSIO, change, token=other.token(other.admin))
    assert error_codes(body) == ["NOT_FOUND"] and field_of(body) == "id"
    wrong_type = {"input": {"id": to_global_id("Patient", world.patient_ids[0]), "name": "X"}}
    body = await graphql(client, UPDATE_PHYSIO, wrong_type, token=world.token(world.admin))
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "id"
    name = await superuser.fetchval(
        "select name from physiotherapists where id = $1", world.physio.physiotherapist_id
    )
    assert name == "Ana Souza"


async def test_update_clinic(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    admin = world.token(world.admin)
    body = await graphql(
        client,
        UPDATE_CLINIC,
        {"input": {"timeZone": "America/Manaus", "patientSelfBooking": True}},
        token=admin,
    )
    assert body["data"]["updateClinic"] == {
        "name": "Clínica Contas",
        "cnpj": None,
        "timeZone": "America/Manaus",
        "patientSelfBooking": True,
        "patientCancelNoticeHours": 24,
        "reminderHoursBefore": 24,
    }
    body = await graphql(
        client,
        UPDATE_CLINIC,
        {
            "input": {
                "cnpj": "11.222.333/0001-81",
                "patientCancelNoticeHours": 0,
                "reminderHoursBefore": 48,
            }
        },
        token=admin,
    )
    assert body["data"]["updateClinic"]["reminderHoursBefore"] == 48
    assert body["data"]["updateClinic"]["timeZone"] == "America/Manaus"
    assert body["data"]["updateClinic"]["patientCancelNoticeHours"] == 0
    assert body["data"]["updateClinic"]["cnpj"] == "11222333000181"

    for bad, field in (
        ({"timeZone": "America/Atlantida"}, "timeZone"),
        ({"timeZone": "'; drop table clinics; --"}, "timeZone"),
        ({"timeZone": None}, "timeZone"),
        ({"patientCancelNoticeHours": 721}, "patientCancelNoticeHours"),
        ({"patientCancelNoticeHours": -1}, "patientCancelNoticeHours"),
        ({"reminderHoursBefore": 0}, "reminderHoursBefore"),
        ({"reminderHoursBefore": 169}, "reminderHoursBefore"),
        ({"reminderHoursBefore": None}, "reminderHoursBefore"),
        ({"patientSelfBooking": None}, "patientSelfBooking"),
        ({"name": " "}, "name"),
        ({"cnpj": "11.222.333/0001-82"}, "cnpj"),
        ({"cnpj": "1122233300018"}, "cnpj"),
    ):
        body = await graphql(client, UPDATE_CLINIC, {"input": {"name": "Nova", **bad}}, token=admin)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, (bad, body)
    stored = await superuser.fetchrow("select * from clinics where id = $1", world.clinic_id)
    assert (stored["name"], stored["time_zone"], stored["patient_cancel_notice_hours"]) == (
        "Clínica Contas",
        "America/Manaus",
        0,
    )
    other = await make_clinic(superuser, "Clínica B")
    for who in (world.receptionist, world.physio, world.patient):
        body = await graphql(
            client, UPDATE_CLINIC, {"input": {"name": "X"}}, token=world.token(who)
        )
        assert error_codes(body) == ["FORBIDDEN"]
    body = await graphql(
        client, UPDATE_CLINIC, {"input": {"name": "B renomeada"}}, token=other.token(other.admin)
    )
    assert body["data"]["updateClinic"]["name"] == "B renomeada"
    assert (
        await superuser.fetchval("select name from clinics where id = $1", world.clinic_id)
        == "Clínica Contas"
    )


# -- changePassword --------------------------------------------------------------------------


async def test_change_password_revokes_every_other_token(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    email = world.emails["physio"]
    session = (await login(client, email, PASSWORD))["data"]["login"]["token"]
    other_device = (await login(client, email, PASSWORD))["data"]["login"]["token"]
    assert "errors" not in await graphql(client, PATIENTS, token=other_device)
    assert "errors" not in await graphql(client, PATIENTS, token=other_device)  # compiled

    body = await graphql(client, CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, token=session)
    assert "errors" not in body, body
    answer = body["data"]["changePassword"]
    assert answer["mustChangePassword"] is False and answer["viewer"]["email"] == email
    assert jwt.decode(answer["token"], JWT_SECRET, algorithms=["HS256"])["tv"] == 1
    stored = await row(superuser, world.physio)
    assert stored["token_version"] == 1 and verify_password(stored["password_hash"], NEW_PASSWORD)

    for old in (session, other_device):
        assert error_codes(await graphql(client, PATIENTS, token=old)) == ["UNAUTHENTICATED"]
        assert error_codes(await graphql(client, ME, token=old)) == ["UNAUTHENTICATED"]
    assert "errors" not in await graphql(client, PATIENTS, token=answer["token"])
    assert error_codes(await login(client, email, PASSWORD)) == ["UNAUTHENTICATED"]
    assert "errors" not in await login(client, email, NEW_PASSWORD)


async def test_change_password_checks_the_current_one_and_the_policy(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    token = world.token(world.receptionist)
    email = world.emails["receptionist"]
    wrong = await graphql(
        client, CHANGE, {"current": "not-it-at-all", "new": NEW_PASSWORD}, token=token
    )
    assert error_codes(wrong) == ["BAD_USER_INPUT"] and field_of(wrong) == "currentPassword"
    for new, reason in (
        ("curta-1", "at least 10 characters"),
        (email, "e-mail"),
        (email.upper(), "e-mail"),
        (email.split("@")[0].upper(), "e-mail"),
        ("Senha12345", "too common"),
        ("FLAMENGO2024", "too common"),
        ("qwertyuiop", "too common"),
        (PASSWORD, "differ"),
    ):
        body = await graphql(client, CHANGE, {"current": PASSWORD, "new": new}, token=token)
        assert error_codes(body) == ["BAD_USER_INPUT"], new
        assert field_of(body) == "newPassword" and reason in body["errors"][0]["message"], new
    stored = await row(superuser, world.receptionist)
    assert stored["token_version"] == 0 and verify_password(stored["password_hash"], PASSWORD)
    assert "errors" not in await graphql(client, ME, token=token)


async def test_wrong_current_passwords_are_rate_limited_like_logins(
    database_url: str, world: ClinicWorld
) -> None:
    token = world.token(world.receptionist)
    async with app_client(database_url, login_max_failures_per_email_and_address=3) as client:
        bodies = [
            await graphql(
                client, CHANGE, {"current": f"wrong-{n}", "new": NEW_PASSWORD}, token=token
            )
            for n in range(4)
        ]
        codes = [error_codes(body)[0] for body in bodies]
        assert codes == ["BAD_USER_INPUT"] * 3 + ["RATE_LIMITED"]
        # The limit is the login's too: the same e-mail cannot log in from here either.
        limited = await login(client, world.emails["receptionist"], PASSWORD)
        assert error_codes(limited) == ["RATE_LIMITED"]


async def test_racing_password_changes_with_one_token_one_wins(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    token = world.token(world.admin)
    bodies = await asyncio.gather(
        *(
            graphql(
                client, CHANGE, {"current": PASSWORD, "new": f"{NEW_PASSWORD}-{n}"}, token=token
            )
            for n in range(4)
        )
    )
    winners = [n for n, body in enumerate(bodies) if "errors" not in body]
    assert len(winners) == 1, bodies
    assert all(
        error_codes(b) == ["UNAUTHENTICATED"] for n, b in enumerate(bodies) if n != winners[0]
    )
    stored = await row(superuser, world.admin)
    assert stored["token_version"] == 1
    assert verify_password(stored["password_hash"], f"{NEW_PASSWORD}-{winners[0]}")
    fresh = bodies[winners[0]]["data"]["changePassword"]["token"]
    assert "errors" not in await graphql(client, ME, token=fresh)


async def test_a_stale_token_racing_the_change_is_refused_after_it(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    """Requests with the old token sent while the change runs: each is answered as the
    login's row said when it started, and none is accepted once the change committed."""
    token = world.token(world.physio)
    change = graphql(client, CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, token=token)
    racing = [graphql(client, PATIENTS, token=token) for _ in range(6)]
    changed, *reads = await asyncio.gather(change, *racing)
    assert "errors" not in changed
    assert all(error_codes(r) in ([], ["UNAUTHENTICATED"]) for r in reads)
    assert error_codes(await graphql(client, PATIENTS, token=token)) == ["UNAUTHENTICATED"]


async def test_forged_and_future_token_versions_are_refused(
    client: httpx.AsyncClient, world: ClinicWorld
) -> None:
    claims = {**world.receptionist.claims(), "exp": int(time.time()) + 600}
    # Signed by the server itself, but ahead of the row (0): refused, not "newer".
    for version in (1, 99, -1, "0", None, True):
        token = jwt.encode({**claims, "tv": version}, JWT_SECRET, algorithm="HS256")
        assert error_codes(await graphql(client, ME, token=token)) == ["UNAUTHENTICATED"], version
    forged = jwt.encode({**claims, "tv": 0}, "a-key-of-32-bytes-that-is-not-the-servers")
    assert error_codes(await graphql(client, ME, token=forged)) == ["UNAUTHENTICATED"]
    forged_pcr = jwt.encode({**claims, "tv": 0, "pcr": False}, "not-the-key-either-32-bytes-long")
    assert error_codes(await graphql(client, ME, token=forged_pcr)) == ["UNAUTHENTICATED"]
    same = jwt.encode({**claims, "tv": 0}, JWT_SECRET, algorithm="HS256")
    assert "errors" not in await graphql(client, ME, token=same)


# -- resetPassword ---------------------------------------------------------------------------


async def test_reset_password_forces_a_change_at_next_login(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    email = world.emails["receptionist"]
    before = world.token(world.receptionist)
    body = await graphql(
        client, RESET, {"id": staff_id(world.receptionist)}, token=world.token(world.admin)
    )
    assert "errors" not in body, body
    temporary = body["data"]["resetPassword"]["temporaryPassword"]
    assert len(temporary) >= 16
    assert body["data"]["resetPassword"]["staffUser"] == {
        "email": email,
        "mustChangePassword": True,
    }
    stored = await row(superuser, world.receptionist)
    assert stored["must_change_password"] and stored["token_version"] == 1
    assert verify_password(stored["password_hash"], temporary)
    assert error_codes(await graphql(client, ME, token=before)) == ["UNAUTHENTICATED"]
    assert error_codes(await login(client, email, PASSWORD)) == ["UNAUTHENTICATED"]

    logged_in = (await login(client, email, temporary))["data"]["login"]
    assert logged_in["mustChangePassword"] is True
    limited = logged_in["token"]
    assert jwt.decode(limited, JWT_SECRET, algorithms=["HS256"])["pcr"] is True
    assert (await graphql(client, ME, token=limited))["data"]["me"]["email"] == email
    for attempt in (
        PATIENTS,
        "{ me { email } patients { totalCount } }",
        "{ physiotherapists { totalCount } }",
        'mutation { createPatient(input: {name: "Fulano"}) { id } }',
        "query { ...F } fragment F on Query { patients { totalCount } }",
    ):
        refused = await graphql(client, attempt, token=limited)
        assert error_codes(refused) == ["PASSWORD_CHANGE_REQUIRED"], attempt
        assert refused["data"] is None
    assert (
        await superuser.fetchval(
            "select count(*) from patients where clinic_id = $1 and name = 'Fulano'",
            world.clinic_id,
        )
        == 0
    )
    # The temporary password may not stay.
    same = await graphql(client, CHANGE, {"current": temporary, "new": temporary}, token=limited)
    assert error_codes(same) == ["BAD_USER_INPUT"]

    changed = await graphql(
        client, CHANGE, {"current": temporary, "new": NEW_PASSWORD}, token=limited
    )
    assert changed["data"]["changePassword"]["mustChangePassword"] is False
    fresh = changed["data"]["changePassword"]["token"]
    assert "errors" not in await graphql(client, PATIENTS, token=fresh)
    assert error_codes(await graphql(client, ME, token=limited)) == ["UNAUTHENTICATED"]
    stored = await row(superuser, world.receptionist)
    assert not stored["must_change_password"] and stored["token_version"] == 2
    again = (await login(client, email, NEW_PASSWORD))["data"]["login"]
    assert again["mustChangePassword"] is False


async def test_an_admin_does_not_reset_their_own_password(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    body = await graphql(
        client, RESET, {"id": staff_id(world.admin)}, token=world.token(world.admin)
    )
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "userId"
    assert (await row(superuser, world.admin))["token_version"] == 0


# -- the policy where logins are created -----------------------------------------------------


async def test_new_logins_meet_the_password_policy(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, world: ClinicWorld
) -> None:
    admin = world.token(world.admin)
    tag = uuid.uuid4().hex[:6]
    for password in ("senha12345", "Brasil2024", f"nova.{tag}", "curta"):
        body = await graphql(
            client,
            """mutation($email: String!, $password: String!) {
              createStaffUser(input: {email: $email, password: $password, role: RECEPTIONIST})
              { id } }""",
            {"email": f"nova.{tag}@example.com", "password": password},
            token=admin,
        )
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "password", password
    body = await graphql(
        client,
        """mutation($id: ID!) { grantPatientAccess(input: {patientId: $id, password: "mudar@123"})
           { id } }""",
        {"id": to_global_id("Patient", world.patient_ids[1])},
        token=admin,
    )
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "password"
    assert (
        await superuser.fetchval("select count(*) from users where email like $1", f"nova.{tag}%")
        == 0
    )
