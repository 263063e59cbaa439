"""413 for a request body over `FISIOFLOW_MAX_BODY_BYTES`, before it is read whole."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.core.errors import QUERY_TOO_COMPLEX
from graph.http.media import error_response, negotiate


class BodyLimitMiddleware:
    """413 for a request body over `max_bytes`: by `Content-Length` before reading, and by
    counting while reading for a chunked body. The answer is a GraphQL-shaped JSON error."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        response = error_response(
            413,
            negotiate(accept),
            f"The request body is larger than {self.max_bytes} bytes",
            QUERY_TOO_COMPLEX,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass
