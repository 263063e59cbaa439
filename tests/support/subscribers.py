"""Subscriptions as a client application makes them: the third-party Python `gql` client over its
websockets transport, for either protocol (graphql-transport-ws, or the legacy graphql-ws that
gql calls "apollo"). gql answers pings and parses frames itself: it refuses binary frames.
"""

import asyncio
from typing import Any

from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.exceptions import ConnectionClosed

TRANSPORT_WS = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL  # "graphql-transport-ws"
LEGACY_WS = WebsocketsTransport.APOLLO_SUBPROTOCOL  # "graphql-ws"


def close_code(error: BaseException) -> int | None:
    """The close code the server sent, found behind the exception gql raised for it."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionClosed):
            return seen.rcvd.code if seen.rcvd else None
        seen = seen.__cause__ or seen.__context__
    return None


class Subscription:
    """One subscription that gql runs in a background task; what it yields queues up."""

    def __init__(self, session: AsyncClientSession, query: str, variables: dict[str, Any]) -> None:
        self._results: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()
        request = GraphQLRequest(query, variable_values=variables)
        self._task = asyncio.create_task(self._run(session, request))

    async def _run(self, session: AsyncClientSession, request: GraphQLRequest) -> None:
        try:
            async for data in session.subscribe(request):
                await self._results.put(data)
        except Exception as error:  # the test that reads it asserts on it
            await self._results.put(error)

    async def data(self, within: float = 10) -> dict[str, Any]:
        """The next event's data; a refusal (gql's TransportQueryError) or a close is raised."""
        result = await asyncio.wait_for(self._results.get(), within)
        if isinstance(result, BaseException):
            raise result
        return result

    async def errors(self, within: float = 10) -> list[dict[str, Any]]:
        """The errors that refused the subscription (an `error`, or a `next` with errors)."""
        try:
            data = await self.data(within)
        except TransportQueryError as refusal:
            assert refusal.errors is not None
            return refusal.errors
        raise AssertionError(f"expected a refusal, got {data}")

    async def closed_with(self, within: float = 10) -> int | None:
        """The close code that ended the subscription's connection."""
        while True:
            try:
                await self.data(within)
            except TimeoutError:
                raise
            except Exception as error:
                return close_code(error)

    async def silent_for(self, seconds: float) -> bool:
        try:
            data = await self.data(seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected event: {data}")


class Connection:
    """A gql websocket connection, acknowledged, with a token in its connection_init payload."""

    def __init__(self, client: Client, session: AsyncClientSession) -> None:
        self.client = client
        self.session = session

    @classmethod
    async def open(
        cls,
        url: str,
        token: str | None,
        protocol: str = TRANSPORT_WS,
        origin: str | None = None,
    ) -> "Connection":
        transport = WebsocketsTransport(
            url=url,
            init_payload={"Authorization": f"Bearer {token}"} if token else {},
            subprotocols=[protocol],
            connect_args={"origin": origin} if origin else None,
        )
        client = Client(transport=transport)
        session = await client.connect_async()
        assert isinstance(session, AsyncClientSession)
        return cls(client, session)

    @property
    def subprotocol(self) -> str:
        transport = self.client.transport
        assert isinstance(transport, WebsocketsTransport)
        return str(transport.subprotocol)

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None, *, settle: float = 0.2
    ) -> Subscription:
        subscription = Subscription(self.session, query, variables or {})
        await asyncio.sleep(settle)  # the server registers the subscriber
        return subscription

    async def close(self) -> None:
        await self.client.close_async()


async def subscribed(
    url: str,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
    protocol: str = TRANSPORT_WS,
) -> tuple[Connection, Subscription]:
    """A new connection with one subscription running on it."""
    connection = await Connection.open(url, token, protocol)
    return connection, await connection.subscribe(query, variables)


# Connections a test opened, closed when it ends (the `close_connections` fixture).
_open: list[Connection] = []


def closed_at_test_end(connection: Connection) -> Connection:
    _open.append(connection)
    return connection


async def subscribed_for_test(
    url: str, token: str, query: str, variables: dict[str, Any] | None = None
) -> Subscription:
    """A subscription on a connection of its own, closed when the test ends."""
    connection, subscription = await subscribed(url, token, query, variables)
    closed_at_test_end(connection)
    return subscription


async def close_test_connections() -> None:
    while _open:
        await _open.pop().close()
