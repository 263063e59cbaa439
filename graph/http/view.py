"""The GraphQL endpoint: Strawberry's ASGI view with our context, transaction end and JSON."""

from collections.abc import Mapping
from contextlib import suppress
from datetime import timedelta
from functools import partial
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from graph.api.context import Context
from graph.core.errors import ApiError
from graph.core.identity import Identity
from graph.core.settings import Settings
from graph.realtime.broker import Broker
from graph.schema import schema
from graph.security.auth import TokenVerifier, bearer_token
from graph.security.credentials import login_by_external_subject
from graph.security.jwks import JwksKeys


def _has_errors(result: Any) -> bool:
    results = result if isinstance(result, list) else [result]
    return any(getattr(r, "errors", None) for r in results)


class TextFrameWebSocketAdapter(ASGIWebSocketAdapter):
    """graphql-transport-ws and the legacy graphql-ws are text protocols: every message goes out
    as a JSON *text* frame. (Strawberry's adapter sends bytes when `encode_json` returns bytes, as
    ours does for HTTP; standard clients such as graphql-ws and gql refuse binary frames.)"""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


def withheld(error: ApiError) -> ExecutionResult:
    """The response of an operation whose end failed: its error, and no data."""
    return ExecutionResult(
        data=None, errors=[GraphQLError(str(error), extensions=dict(error.extensions))]
    )


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = TextFrameWebSocketAdapter

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        jwt_secret: str,
        broker: Broker | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            schema,
            allowed_origins=settings.allowed_origins,
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            connection_init_wait_timeout=timedelta(seconds=10),
            **kwargs,
        )
        self.settings = settings
        self.engine = engine
        self.jwt_secret = jwt_secret
        self.tokens = TokenVerifier(
            jwt_secret,
            JwksKeys(settings.jwks_url) if settings.jwks_url else None,
            settings.jwt_audience,
            external_logins=partial(login_by_external_subject, engine),
        )
        self.broker = broker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        websocket = WebSocket(scope, receive=receive, send=send)
        context = await self.get_context(websocket, websocket)
        if self.broker is not None:
            self.broker.websockets.add(websocket)
        try:
            await self.run(websocket, context=context)
        finally:
            if self.broker is not None:
                self.broker.websockets.discard(websocket)
            context.stop_expiry_watch()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        identity: Identity | None = None
        auth_error: ApiError | None = None
        try:
            # A websocket authenticates in its connection_init payload (on_ws_connect).
            token = (
                None
                if isinstance(request, WebSocket)
                else bearer_token(request.headers.get("authorization"))
            )
            if token is not None:
                identity = (await self.tokens.verify(token))[0]
        except ApiError as error:
            auth_error = error
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            engine=self.engine,
            jwt_secret=self.jwt_secret,
            identity=identity,
            auth_error=auth_error,
            broker=self.broker,
        )

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """A cross-origin handshake: the same rule as CORS on HTTP (Settings.origin_allowed)."""
        return self.settings.origin_allowed(origin)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the websocket from `connection_init`: no valid token, or a login that may
        no longer act (deactivated, anonymized), no connection (4403). The login is checked by
        the same identity round trip that opens every HTTP request's transaction."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        if not header and params.get("token"):
            header = f"Bearer {params['token']}"
        try:
            token = bearer_token(str(header) if header else None)
            if token is None:
                raise ConnectionRejectionError({"message": "Authentication required"})
            identity, expires_at = await self.tokens.verify(token)
        except ApiError as error:
            raise ConnectionRejectionError({"message": str(error)}) from None
        context.authenticate(identity, expires_at)
        try:
            await context.db.begin()
        except ApiError as error:
            raise ConnectionRejectionError({"message": str(error)}) from None
        finally:
            await context.db.finish(commit=False)
        context.start_expiry_watch()
        return cast(UnsetType, UNSET)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult]:
        """Run the operation; end the request's last transaction (commit if the response has
        no error: a mutation's root fields committed each on its own,
        graph/extensions/units.py) and free
        its connection. If reads of clinical records could not be audited, the response shows
        no data."""
        try:
            result = await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        except BaseException:
            with suppress(ApiError):
                await context.db.finish(commit=False)
            raise
        try:
            await context.db.finish(commit=not _has_errors(result))
        except ApiError as error:
            return (
                [withheld(error) for _ in result] if isinstance(result, list) else withheld(error)
            )
        return result  # type: ignore[return-value]

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
