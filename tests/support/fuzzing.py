"""What the fuzz tests share (tests/graph/schema/test_fuzz_queries.py and
test_fuzz_mutations.py): hypothesis settings, scalar strategies, a synchronous client of the
app (and of the resolver-only oracle), the tokens of every role, and the check every answer
must pass: no 500, no `INTERNAL`, no error text leaking SQL, the driver or a file name.

Deterministic (derandomized) so CI is stable; explore further with e.g.
`FISIOFLOW_FUZZ_EXAMPLES=2000 FISIOFLOW_FUZZ_RANDOM=1 pytest tests/graph/schema/test_fuzz_*.py`.
"""

import asyncio
import functools
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from graph.core.settings import Settings
from graph.http.app import create_app
from tests.support.apps import JWT_SECRET, close_app
from tests.support.database import plain_dsn
from tests.support.factories import ClinicWorld, make_clinic
from tests.support.graphql_client import was_compiled

EXAMPLES = int(os.environ.get("FISIOFLOW_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FISIOFLOW_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

CUSTOM_SCALARS = {
    "DateTime": st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
    ).map(lambda moment: nodes.String(moment.isoformat())),
    "Date": st.dates().map(lambda day: nodes.String(day.isoformat())),
    "Time": st.times().map(lambda moment: nodes.String(moment.isoformat())),
    "Decimal": st.decimals(
        min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False
    ).map(lambda amount: nodes.String(str(amount))),
    "JSON": st.one_of(
        st.text(max_size=20).map(nodes.String),
        st.integers(-1000, 1000).map(nodes.Int),
        st.booleans().map(nodes.Boolean),
    ),
}

# What an error message must never contain: SQL, driver and library names, paths, traces.
LEAKS = re.compile(
    r"asyncpg|sqlalchemy|psycopg|postgres|SQLSTATE|DETAIL:|Traceback|site-packages|/work/|\.py\b"
    r"|\b(?:SELECT|INSERT|UPDATE|DELETE)\s|\bfrom\s+\w+\s+where\b|relation \"|column \"|violates",
    re.IGNORECASE,
)


def make_world(database_url: str) -> ClinicWorld:
    async def make() -> ClinicWorld:
        connection = await asyncpg.connect(plain_dsn(database_url))
        try:
            return await make_clinic(connection, name="Clínica Fuzz")
        finally:
            await connection.close()

    return asyncio.run(make())


class Client:
    """Sync calls into the app, which runs on an event loop of its own (an anyio portal):
    Hypothesis drives synchronous tests."""

    def __init__(
        self, portal: BlockingPortal, client: httpx.AsyncClient, oracle: httpx.AsyncClient
    ) -> None:
        self.portal = portal
        self.client = client
        self.oracle = oracle

    def post(
        self, document: str, headers: dict[str, str], *, oracle: bool = False
    ) -> httpx.Response:
        client = self.oracle if oracle else self.client
        return self.portal.call(
            functools.partial(client.post, "/graphql", json={"query": document}, headers=headers)
        )

    def send(self, document: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
        """The answer to `document` with `variables`, checked equal to the resolvers' when the
        app compiled it."""
        headers = {"Authorization": f"Bearer {token}"}
        payload = {"query": document, "variables": variables}
        calls = [
            functools.partial(c.post, "/graphql", json=payload, headers=headers)
            for c in (self.client, self.oracle)
        ]
        response = self.portal.call(calls[0])
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if was_compiled(document, variables):
            assert body == self.portal.call(calls[1]).json(), (document, variables)
        return body


def clients(database_url: str) -> Iterator[Client]:
    """The app, and the same app with the query compiler off (the differential oracle)."""
    app = create_app(Settings(database_url=database_url, jwt_secret=JWT_SECRET))
    resolvers_only = create_app(
        Settings(database_url=database_url, jwt_secret=JWT_SECRET, compile_queries=False)
    )
    base = "http://fisioflow.test"
    with start_blocking_portal() as portal:
        async_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)
        oracle = httpx.AsyncClient(transport=httpx.ASGITransport(app=resolvers_only), base_url=base)
        try:
            yield Client(portal, async_client, oracle)
        finally:
            for each in (async_client, oracle):
                portal.call(each.aclose)
            for application in (app, resolvers_only):
                portal.call(close_app, application)


def tokens(world: ClinicWorld) -> dict[str, str | None]:
    return {
        "anonymous": None,
        "admin": world.token(world.admin),
        "receptionist": world.token(world.receptionist),
        "physiotherapist": world.token(world.physio),
        "patient": world.token(world.patient),
    }


def check(client: Client, document: str, tokens: dict[str, str | None]) -> list[str | None]:
    """Sends `document` as every role; each answer must be a 200 whose errors all carry a
    code other than INTERNAL and leak nothing. The error codes seen, for tests to tally."""
    seen: list[str | None] = []
    for role, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.post(document, headers)
        context = f"as {role}:\n{document[:3000]}\n{response.text[:2000]}"
        assert response.status_code == 200, context
        body: dict[str, Any] = response.json()
        for error in body.get("errors") or []:
            code = error.get("extensions", {}).get("code")
            assert code not in (None, "INTERNAL"), context
            assert not LEAKS.search(error["message"]), context
            seen.append(code)
        if was_compiled(document, {}):
            assert body == client.post(document, headers, oracle=True).json(), context
    return seen
