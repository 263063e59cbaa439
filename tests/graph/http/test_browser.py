"""A real browser: headless Chromium opens the GraphiQL page of a running `fisioflow serve`,
runs `{ me { email role } }` with a token in the Headers editor and sees the answer, and runs a
subscription (GraphiQL's bundled graphql-ws client over the browser's WebSocket, the Headers
editor's values as connection_init payload) that shows an event of a mutation made over HTTP.

Skipped only where Chromium or ChromeDriver is not installed (.ci/run installs Debian's).
"""

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.support.factories import ClinicWorld, make_clinic, session_booking
from tests.support.servers import running_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

# In CI (`CI` set) a missing browser is a failure, not a skip: .ci/run installs it.
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"),
    reason="Debian's chromium and chromium-driver are not installed",
)

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESULT = ".result-window .CodeMirror"


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    return await make_clinic(superuser)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with running_server(database_url) as running:
        yield running.http


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM and CHROMEDRIVER, "install Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="fisioflow-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _set_editor(driver: object, selector: str, value: str) -> None:
    driver.execute_script(  # type: ignore[attr-defined]
        "document.querySelector(arguments[0]).CodeMirror.setValue(arguments[1])", selector, value
    )


def test_graphiql_runs_a_query_with_a_token_header(
    server: str, world: ClinicWorld, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver: object = browser
    token = world.token(world.admin)
    driver.get(f"{server}/graphql")  # type: ignore[attr-defined]
    wait = WebDriverWait(driver, 60)
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, QUERY_EDITOR)))
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, HEADERS_EDITOR)))

    _set_editor(driver, QUERY_EDITOR, "{ me { email role } }")
    _set_editor(driver, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {token}"}))
    driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()  # type: ignore[attr-defined]

    def answer(d: object) -> str | None:
        text: str = d.execute_script(  # type: ignore[attr-defined]
            "const e = document.querySelector(arguments[0]); return e && e.CodeMirror.getValue()",
            RESULT,
        )
        return text if text and "data" in text else None

    result = json.loads(wait.until(answer))
    assert result == {"data": {"me": {"email": world.emails["admin"], "role": "ADMIN"}}}

    # CVE-2026-45739: the token is neither in the address bar nor kept in browser storage.
    assert token not in driver.current_url  # type: ignore[attr-defined]
    storage: str = driver.execute_script("return JSON.stringify(window.localStorage)")  # type: ignore[attr-defined]
    assert token not in storage
    errors = [
        entry
        for entry in driver.get_log("browser")  # type: ignore[attr-defined]
        if entry["level"] == "SEVERE"
    ]
    assert not errors, errors  # no blocked asset, CSP violation or failed request


SUBSCRIPTION = "subscription { appointmentChanged { op appointment { id status } } }"
SCHEDULE = """mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) { id } }"""


def _schedule(server: str, world: ClinicWorld, hours_ahead: int) -> str:
    starts = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
        days=5, hours=hours_ahead
    )
    response = httpx.post(
        f"{server}/graphql",
        json={
            "query": SCHEDULE,
            "variables": {"input": session_booking(world, starts)},
        },
        headers={"Authorization": f"Bearer {world.token(world.receptionist)}"},
    )
    appointment_id: str = response.json()["data"]["scheduleAppointment"]["id"]
    return appointment_id


def test_graphiql_subscription_shows_an_event(
    server: str, world: ClinicWorld, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver: object = browser
    driver.get(f"{server}/graphql")  # type: ignore[attr-defined]
    wait = WebDriverWait(driver, 60)
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, QUERY_EDITOR)))
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, HEADERS_EDITOR)))
    _set_editor(driver, QUERY_EDITOR, SUBSCRIPTION)
    token = world.token(world.admin)
    _set_editor(driver, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {token}"}))
    driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()  # type: ignore[attr-defined]

    # The subscription is registered a moment after the click: schedule until an event shows.
    created: list[str] = []
    shown: dict[str, object] | None = None
    deadline = time.monotonic() + 60
    while shown is None and time.monotonic() < deadline:
        created.append(_schedule(server, world, len(created)))
        for _ in range(10):
            text: str = driver.execute_script(  # type: ignore[attr-defined]
                "const e = document.querySelector(arguments[0]);"
                " return e && e.CodeMirror.getValue()",
                RESULT,
            )
            if text and "appointmentChanged" in text:
                shown = json.loads(text)
                break
            if text and "Subscriptions are served over a websocket" in text:
                # GraphiQL runs a subscription over its websocket once it has parsed the
                # editor's new text (debounced); a click before that sent it over HTTP.
                driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()  # type: ignore[attr-defined]
            time.sleep(0.3)
    assert shown is not None, f"no event reached the result pane: {text!r}"
    event = shown["data"]["appointmentChanged"]  # type: ignore[index]
    assert event["op"] == "CREATED"
    assert event["appointment"]["id"] in created
    errors = [
        entry
        for entry in driver.get_log("browser")  # type: ignore[attr-defined]
        if entry["level"] == "SEVERE"
    ]
    assert not errors, errors  # no refused websocket, CSP violation or failed request
