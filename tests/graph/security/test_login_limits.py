"""Login limits that hold under concurrency, per (e-mail, address) pair with a per-e-mail
ceiling and a per-address limit; a successful login is recorded (`users.last_login_at`)."""

import asyncio
import re
from typing import Any

import asyncpg
import httpx
import pytest

import resolvers.accounts.mutations as accounts
from graph.core.settings import Settings
from graph.security.ratelimit import LoginRateLimiter
from tests.support.apps import app_client, client_of, custom_app
from tests.support.factories import PASSWORD, ClinicWorld, make_clinic
from tests.support.graphql_client import error_codes, graphql

LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { viewer { role } }
}"""
WRONG = "wrong-password"


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await make_clinic(superuser)


def login(client: httpx.AsyncClient, email: str, password: str) -> Any:
    return graphql(client, LOGIN, {"email": email, "password": password})


def counted(bodies: list[dict[str, Any]]) -> dict[str, int]:
    codes = [(error_codes(body) or ["OK"])[0] for body in bodies]
    return {code: codes.count(code) for code in set(codes)}


async def test_concurrent_wrong_passwords_evaluate_only_the_limit(
    database_url: str, world: ClinicWorld
) -> None:
    email = world.emails["admin"]
    async with app_client(database_url, login_max_failures_per_email_and_address=5) as client:
        bodies = await asyncio.gather(*(login(client, email, WRONG) for _ in range(60)))
    assert counted(bodies) == {"UNAUTHENTICATED": 5, "RATE_LIMITED": 55}


async def test_a_correct_password_among_concurrent_guesses_is_refused(
    database_url: str, world: ClinicWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guesses are held inside the password check (the window in which a limit counted
    after the check let everything through); the correct password arrives meanwhile."""
    checked: list[str] = []
    release = asyncio.Event()
    verify = accounts.verify_password_async

    async def held_verify(password_hash: str | None, password: str) -> bool:
        checked.append(password)
        if password != PASSWORD:
            await release.wait()
        return await verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password_async", held_verify)
    email = world.emails["admin"]
    async with app_client(database_url, login_max_failures_per_email_and_address=5) as client:
        guesses = [asyncio.create_task(login(client, email, WRONG)) for _ in range(60)]
        for _ in range(2000):  # until every guess is being checked or has been answered
            if len(checked) + sum(guess.done() for guess in guesses) == len(guesses):
                break
            await asyncio.sleep(0.01)
        correct = await login(client, email, PASSWORD)
        release.set()
        bodies = await asyncio.gather(*guesses)
    assert error_codes(correct) == ["RATE_LIMITED"]
    assert checked == [WRONG] * 5
    assert counted(bodies) == {"UNAUTHENTICATED": 5, "RATE_LIMITED": 55}


async def test_an_attacker_elsewhere_cannot_lock_the_staff_out(
    database_url: str, world: ClinicWorld
) -> None:
    email = world.emails["receptionist"]
    async with (
        custom_app(database_url, login_max_failures_per_email_and_address=3) as app,
        client_of(app, address="203.0.113.7") as attacker,
        client_of(app, address="198.51.100.2") as staff,
    ):
        for _ in range(3):
            assert error_codes(await login(attacker, email, WRONG)) == ["UNAUTHENTICATED"]
        refused = await login(attacker, email, PASSWORD)
        assert error_codes(refused) == ["RATE_LIMITED"]
        retry_after = refused["errors"][0]["extensions"]["retryAfter"]
        assert isinstance(retry_after, int) and 0 < retry_after <= 900
        # The staff member's own address: a typo, then the right password.
        assert error_codes(await login(staff, email, WRONG)) == ["UNAUTHENTICATED"]
        ok = await login(staff, email, PASSWORD)
        assert ok["data"]["login"]["viewer"]["role"] == "RECEPTIONIST"
        # The attacker's address is still locked out of that e-mail, not of others.
        assert error_codes(await login(attacker, email, PASSWORD)) == ["RATE_LIMITED"]
        other = await login(attacker, world.emails["physio"], PASSWORD)
        assert other["data"]["login"]["viewer"]["role"] == "PHYSIOTHERAPIST"


async def test_the_per_email_ceiling_stops_guessing_from_many_addresses(
    database_url: str, world: ClinicWorld
) -> None:
    email = world.emails["physio"]
    limits = {"login_max_failures_per_email_and_address": 2, "login_max_failures_per_email": 5}
    async with custom_app(database_url, **limits) as app:
        outcomes = []
        for n in range(8):  # 8 addresses, 1 guess each: under each pair's limit
            async with client_of(app, address=f"192.0.2.{n + 1}") as guesser:
                outcomes.append(await login(guesser, email, WRONG))
        assert counted(outcomes) == {"UNAUTHENTICATED": 5, "RATE_LIMITED": 3}
        async with client_of(app, address="198.51.100.9") as fresh:
            # The ceiling holds for the account from everywhere (the price of stopping a
            # distributed guesser), and for it alone.
            assert error_codes(await login(fresh, email, PASSWORD)) == ["RATE_LIMITED"]
            other = await login(fresh, world.emails["admin"], PASSWORD)
            assert other["data"]["login"]["viewer"]["role"] == "ADMIN"


async def test_one_address_spraying_many_emails_is_stopped_for_a_window(
    database_url: str, world: ClinicWorld
) -> None:
    now = [1000.0]
    limits = {"login_max_failures_per_address": 4, "login_window_seconds": 60}
    async with custom_app(database_url, **limits) as app:
        app.state.login_limiter = LoginRateLimiter(Settings(**limits), lambda: now[0])
        async with (
            client_of(app, address="203.0.113.7") as attacker,
            client_of(app, address="198.51.100.2") as colleague,
        ):
            for i in range(4):
                body = await login(attacker, f"x{i}@example.com", "guess-guess")
                assert error_codes(body) == ["UNAUTHENTICATED"]
                now[0] += 1
            refused = await login(attacker, world.emails["admin"], PASSWORD)
            assert error_codes(refused) == ["RATE_LIMITED"]
            assert refused["errors"][0]["extensions"]["retryAfter"] == 56
            ok = await login(colleague, world.emails["admin"], PASSWORD)
            assert ok["data"]["login"]["viewer"]["role"] == "ADMIN"
            now[0] += 60  # the window has passed
            again = await login(attacker, world.emails["admin"], PASSWORD)
            assert again["data"]["login"]["viewer"]["role"] == "ADMIN"


async def test_a_successful_login_clears_its_pairs_failures_only(
    database_url: str, world: ClinicWorld
) -> None:
    email = world.emails["receptionist"]
    limits = {"login_max_failures_per_email_and_address": 2, "login_max_failures_per_email": 4}
    async with app_client(database_url, **limits) as client:
        for _ in range(3):  # the pair's limit (2) would refuse the second round uncleared
            assert error_codes(await login(client, email, WRONG)) == ["UNAUTHENTICATED"]
            ok = await login(client, email, PASSWORD)
            assert ok["data"]["login"]["viewer"]["role"] == "RECEPTIONIST"
        # 3 failures so far; successes gave their reservations back but left the ceiling's
        # count: the 4th failure reaches it.
        assert error_codes(await login(client, email, WRONG)) == ["UNAUTHENTICATED"]
        assert error_codes(await login(client, email, PASSWORD)) == ["RATE_LIMITED"]


async def test_a_login_sets_last_login_at(
    client: httpx.AsyncClient, world: ClinicWorld, superuser: asyncpg.Connection
) -> None:
    user_id = world.admin.user_id
    last_login = "select last_login_at from users where id = $1"
    assert await superuser.fetchval(last_login, user_id) is None
    await login(client, world.emails["admin"], WRONG)
    assert await superuser.fetchval(last_login, user_id) is None
    database_now = await superuser.fetchval("select now()")
    ok = await login(client, world.emails["admin"], PASSWORD)
    assert ok["data"]["login"]["viewer"]["role"] == "ADMIN"
    recorded = await superuser.fetchval(last_login, user_id)
    assert recorded is not None and recorded >= database_now


async def test_refusals_are_counted_in_the_metrics(database_url: str, world: ClinicWorld) -> None:
    def refusals(metrics: str) -> float:
        found = re.search(r"^fisioflow_login_rate_limited_total (\S+)$", metrics, re.M)
        assert found is not None, metrics
        return float(found.group(1))

    email = world.emails["patient"]
    async with app_client(database_url, login_max_failures_per_email_and_address=1) as client:
        assert refusals((await client.get("/metrics")).text) == 0
        await login(client, email, WRONG)
        for _ in range(3):
            assert error_codes(await login(client, email, PASSWORD)) == ["RATE_LIMITED"]
        assert refusals((await client.get("/metrics")).text) == 3


async def test_logins_during_a_database_outage_lock_nobody_out(world: ClinicWorld) -> None:
    async with app_client(
        "postgresql://postgres@127.0.0.1:18498/down", login_max_failures_per_email_and_address=2
    ) as client:
        for _ in range(4):
            body = await login(client, world.emails["admin"], PASSWORD)
            assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
