"""The README's receptionist's morning is true: its five operations, in order, against the demo
clinic, as the demo receptionist, through the HTTP app."""

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from graph.sql import migrate
from seed.demo import DEMO_PASSWORD, DEMO_SPEC, seed_demo
from tests.support.apps import app_client
from tests.support.database import create_database, drop_database, plain_dsn
from tests.support.graphql_client import graphql

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## A receptionist's morning, five queries"


def morning_operations() -> list[str]:
    """The README section's GraphQL blocks, in order."""
    text = README.read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```graphql\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture(scope="module")
async def demo_url(server_url: str) -> AsyncIterator[str]:
    url = await create_database(server_url)
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_demo(plain_dsn(url))
    yield url
    await drop_database(server_url, url)


def data(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


async def login(client: Any, email: str) -> str:
    body = await graphql(
        client,
        "mutation($email: String!, $password: String!) {"
        " login(input: {email: $email, password: $password}) { token } }",
        {"email": email, "password": DEMO_PASSWORD},
    )
    token: str = data(body)["login"]["token"]
    return token


async def a_session_starting_soon(client: Any, admin: str, physiotherapists: list[str]) -> str:
    """An appointment of a new patient starting within the check-in window (the admin books it
    outside working hours if need be): the demo's own sessions may all be hours away."""
    patient = data(
        await graphql(
            client,
            'mutation { createPatient(input: {name: "Paciente da Manhã"}) { id } }',
            token=admin,
        )
    )["createPatient"]["id"]
    book = """mutation($input: ScheduleAppointmentInput!) {
        scheduleAppointment(input: $input) { id } }"""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for minutes in range(15, 120, 20):
        for physiotherapist in physiotherapists:
            body = await graphql(
                client,
                book,
                {
                    "input": {
                        "patientId": patient,
                        "physiotherapistId": physiotherapist,
                        "startsAt": (now + timedelta(minutes=minutes)).isoformat(),
                        "durationMinutes": 20,
                        "type": "SESSION",
                        "outsideWorkingHours": True,
                    }
                },
                admin,
            )
            if "errors" not in body:
                appointment: str = body["data"]["scheduleAppointment"]["id"]
                return appointment
    raise AssertionError("no physiotherapist of the demo is free in the next two hours")


async def test_the_receptionists_morning_runs_as_written(demo_url: str) -> None:
    agenda, free_slots, book_series, confirm, check_in = morning_operations()
    zone = ZoneInfo("America/Sao_Paulo")
    today = datetime.now(zone).date()
    midnight = datetime.combine(today, time(), zone)
    async with app_client(demo_url) as client:
        receptionist = await login(client, DEMO_SPEC.receptionist_email)
        admin = await login(client, DEMO_SPEC.admin_email)

        bounds = {"from": midnight.isoformat(), "to": (midnight + timedelta(days=1)).isoformat()}
        day = data(await graphql(client, agenda, bounds, receptionist))["appointments"]["edges"]
        starts = [datetime.fromisoformat(edge["node"]["startsAt"]) for edge in day]
        assert starts == sorted(starts)
        assert all(midnight <= s < midnight + timedelta(days=1) for s in starts)

        now = datetime.now(UTC)
        week = {"from": now.isoformat(), "to": (now + timedelta(days=7)).isoformat()}
        slots = data(await graphql(client, free_slots, week, receptionist))["availableSlots"]
        assert slots, "the demo's physiotherapists have free time this week"
        physiotherapists = list(dict.fromkeys(s["physiotherapist"]["id"] for s in slots))

        monday_or_wednesday = next(
            s
            for s in slots
            if datetime.fromisoformat(s["startsAt"]).astimezone(zone).weekday() in (0, 2)
        )
        patients = data(
            await graphql(client, "{ patients(first: 1) { edges { node { id } } } }", {}, admin)
        )["patients"]["edges"]
        series = data(
            await graphql(
                client,
                book_series,
                {
                    "patientId": patients[0]["node"]["id"],
                    "physiotherapistId": monday_or_wednesday["physiotherapist"]["id"],
                    "firstStartsAt": monday_or_wednesday["startsAt"],
                },
                receptionist,
            )
        )["scheduleAppointmentSeries"]
        booked = [edge["node"] for edge in series["appointments"]["edges"]]
        assert {b["status"] for b in booked} == {"SCHEDULED"}
        occurrences = sorted(
            datetime.fromisoformat(start)
            for start in [b["startsAt"] for b in booked] + series["conflicts"]
        )
        assert len(occurrences) == 10
        assert occurrences[0] == datetime.fromisoformat(monday_or_wednesday["startsAt"])
        assert {o.astimezone(zone).weekday() for o in occurrences} == {0, 2}

        soon = await a_session_starting_soon(client, admin, physiotherapists)
        confirmed = data(await graphql(client, confirm, {"id": soon}, receptionist))
        assert confirmed["confirmAppointment"] == {"id": soon, "status": "CONFIRMED"}
        arrived = data(await graphql(client, check_in, {"id": soon}, receptionist))
        assert arrived["checkInAppointment"]["status"] == "CHECKED_IN"
        arrived_at = datetime.fromisoformat(arrived["checkInAppointment"]["checkedInAt"])
        assert abs(arrived_at - datetime.now(UTC)) < timedelta(minutes=5)
