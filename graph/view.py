"""The GraphQL endpoint: Strawberry's ASGI view with our context, transaction end and JSON."""

from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from graph.auth import Identity, bearer_token, decode_token
from graph.context import Context
from graph.errors import ApiError
from graph.schema import schema
from graph.settings import Settings


def _has_errors(result: Any) -> bool:
    results = result if isinstance(result, list) else [result]
    return any(getattr(r, "errors", None) for r in results)


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self, settings: Settings, engine: AsyncEngine, jwt_secret: str, **kwargs: Any
    ) -> None:
        super().__init__(schema, **kwargs)
        self.settings = settings
        self.engine = engine
        self.jwt_secret = jwt_secret

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        identity: Identity | None = None
        auth_error: ApiError | None = None
        try:
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                identity = decode_token(token, self.jwt_secret)
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
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult]:
        """Run the operation in the request's transaction: commit if it had no error."""
        committed = False
        try:
            result = await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
            await context.db.finish(commit=not _has_errors(result))
            committed = True
            return result  # type: ignore[return-value]
        finally:
            if not committed:
                await context.db.finish(commit=False)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
