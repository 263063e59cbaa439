"""A real browser: headless Chromium opens the GraphiQL page of a running `fisioflow serve`,
runs `{ me { email role } }` with a token in the Headers editor, and sees the answer.

Skipped only where Chromium or ChromeDriver is not installed (.ci/run installs Debian's).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.factories import ClinicWorld, make_clinic

FISIOFLOW = str(Path(sys.executable).parent / "fisioflow")
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


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "DATABASE_URL": database_url}
    process = subprocess.Popen(
        [FISIOFLOW, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=60)


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
